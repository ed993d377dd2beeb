"""``fleet changes``: each connection's latest stored run against its last good run, read from
the history alone (no PBX is contacted)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from app.domain.connection import CheckStatusSummary, ConnectionProfile
from app.services.fleet.history import FleetHistory
from app.services.fleet.sweep import FleetRow
from app.services.fleet.tracking import compare

NEVER_SWEPT = "No run stored yet: run `pbx-companion fleet sweep` (or the doctor) first."


def rows_since_last_good(
    history: FleetHistory,
    profiles: Sequence[ConnectionProfile],
    *,
    now: datetime,
    key_warning_days: int,
) -> list[FleetRow]:
    """One row per profile, in the profiles' order (blocking: run it in a worker thread)."""
    rows: list[FleetRow] = []
    for profile in profiles:
        latest = history.latest(profile.id)
        if latest is None:
            rows.append(
                FleetRow(
                    profile.id,
                    profile.name,
                    profile.customer,
                    profile.url,
                    CheckStatusSummary.NEVER,
                    NEVER_SWEPT,
                    None,
                    tags=profile.tags,
                )
            )
            continue
        compared = compare(history, latest, now=now, key_warning_days=key_warning_days)
        rows.append(
            FleetRow(
                profile.id,
                profile.name,
                profile.customer,
                profile.url,
                latest.outcome,
                latest.finding,
                latest.diagnosis,
                changes=compared.changes,
                baseline_at=compared.baseline.ran_at if compared.baseline else None,
                checked_at=latest.ran_at,
                tags=profile.tags,
            )
        )
    return rows
