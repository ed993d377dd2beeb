"""The fleet's JSON document, ``pbx-companion/fleet/1``: one entry per connection with its
doctor result (the ``pbx-companion/doctor/1`` object, or null when it could not be checked) and
the changes since its last good run. resources/schemas/pbx-companion-fleet-1.schema.json
describes it. No key is ever part of it."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from datetime import datetime
from typing import Any, Final

from app.domain.connection import CheckStatusSummary
from app.services.fleet.sweep import FleetRow, FleetSweep

SCHEMA: Final = "pbx-companion/fleet/1"


def row_json(row: FleetRow) -> dict[str, Any]:
    first = row.diagnosis.first_failure if row.diagnosis else None
    return {
        "id": row.connection_id,
        "name": row.name,
        "customer": row.customer,
        "tags": list(row.tags),
        "url": row.url,
        "outcome": row.outcome.value,
        "finding": row.finding,
        "first_failure": first.value if first else None,
        "checked_at": row.checked_at.isoformat() if row.checked_at else None,
        "last_good_run_at": row.baseline_at.isoformat() if row.baseline_at else None,
        "doctor": row.diagnosis.as_json() if row.diagnosis else None,
        "changes": [change.as_json() for change in row.changes],
        "notes": list(row.notes),
    }


def summary_json(rows: Sequence[FleetRow]) -> dict[str, int]:
    counts = Counter(row.outcome for row in rows)
    return {
        "connections": len(rows),
        "pass": counts[CheckStatusSummary.PASS],
        "warn": counts[CheckStatusSummary.WARN],
        "fail": counts[CheckStatusSummary.FAIL],
        "unreachable": counts[CheckStatusSummary.UNREACHABLE],
        "not_checked": counts[CheckStatusSummary.NEVER],
        "changes": sum(len(row.changes) for row in rows),
    }


def sweep_json(result: FleetSweep) -> dict[str, Any]:
    return document("sweep", result.rows, result.started_at, round(result.duration_s * 1000))


def document(
    kind: str, rows: Sequence[FleetRow], generated_at: datetime, duration_ms: int | None
) -> dict[str, Any]:
    """``kind`` "sweep" (the PBXs were just checked) or "changes" (read from the history)."""
    return {
        "schema": SCHEMA,
        "kind": kind,
        "generated_at": generated_at.isoformat(),
        "duration_ms": duration_ms,
        "summary": summary_json(rows),
        "connections": [row_json(row) for row in rows],
    }
