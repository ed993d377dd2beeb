"""What the reconcile ledger database holds, as Python values: a run, its inputs' fingerprints and
each call's stored state, with the row encoding both ways.

A fingerprint is the SHA-256 of the file's bytes, read in chunks (a bridge log can be a
gigabyte): two runs over the same files show the same fingerprints, and a changed export shows.
"""

from __future__ import annotations

import enum
import hashlib
import json
import logging
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final

from app.domain.calls import CallDirection
from app.domain.diagnosis import CheckId
from app.domain.reconcile.ledger import Summary
from app.domain.reconcile.records import CallState, LedgerEntry
from app.services.reconcile.redaction import redact
from app.services.reconcile.run import ReconcileResult

log = logging.getLogger(__name__)

_CHUNK: Final = 1 << 20


class InputKind(enum.StrEnum):
    CRM = "crm"
    BRIDGE = "bridge"
    CONTACTS = "contacts"


@dataclass(frozen=True)
class InputFingerprint:
    kind: InputKind
    file_name: str  # the name only: where it lay on the engineer's disk is not kept
    size: int | None  # None: the file could not be read when the run was saved
    sha256: str | None


@dataclass(frozen=True)
class RunInfo:
    id: int
    connection_id: str
    period_from: datetime  # aware, UTC
    period_to: datetime
    ran_at: datetime
    app_version: str
    summary: Mapping[str, Any]  # counts only: the ledger's summary, the CRM's and the bridge's
    inputs: tuple[InputFingerprint, ...] = ()

    @property
    def by_state(self) -> dict[CallState, int]:
        raw = self.summary.get("by_state", {})
        return {state: int(raw.get(state.value, 0)) for state in CallState}


@dataclass(frozen=True)
class StoredCall:
    call_id: str
    started_at: datetime
    direction: CallDirection
    external_number: str | None  # E.164 as the PBX gave it
    answered: bool
    extension: str | None
    state: CallState
    cause: CheckId | None
    evidence: tuple[str, ...]


# ---- fingerprints ------------------------------------------------------------------------------
def fingerprint(kind: InputKind, path: Path) -> InputFingerprint:
    """The file's size and SHA-256, streamed (blocking). An unreadable file is kept by name."""
    digest = hashlib.sha256()
    size = 0
    try:
        with path.open("rb") as file:
            while chunk := file.read(_CHUNK):
                digest.update(chunk)
                size += len(chunk)
    except OSError as exc:
        log.info("Reconcile ledger: %s could not be fingerprinted (%s)", path.name, exc)
        return InputFingerprint(kind, path.name, None, None)
    return InputFingerprint(kind, path.name, size, digest.hexdigest())


# ---- encoding ----------------------------------------------------------------------------------
def utc_text(value: datetime) -> str:
    """One text form for every stored time, so equal instants compare equal and sort in order."""
    if value.tzinfo is None:
        raise ValueError("the ledger stores aware datetimes only")
    return value.astimezone(UTC).isoformat(timespec="microseconds")


def summary_json(result: ReconcileResult) -> str:
    """The run's counts: nothing here is a number, a name or a line of a file."""
    s: Summary = result.ledger.summary
    crm = result.crm
    body = {
        "calls": s.calls,
        "by_state": {state.value: n for state, n in s.by_state.items()},
        "by_cause": s.by_cause,
        "missed_in_pbx": s.missed_in_pbx,
        "missed_triggers_fired": s.missed_triggers_fired,
        "matched": s.matched,
        "unmatched_crm": s.unmatched_crm,
        "unreadable_bridge_lines": s.unreadable_bridge_lines,
        "bridge_lines_for_other_calls": s.bridge_lines_for_other_calls,
        "crm": {
            "rows": crm.rows,
            "activities": crm.activities,
            "problem_rows": crm.problem_rows,
            "dropped": crm.dropped,
        },
        "bridge": [
            {"lines": b.lines, "events": b.events, "other": b.other, "unreadable": b.unreadable}
            for b in result.bridge
        ],
    }
    return json.dumps(body, sort_keys=True)


CallRow = tuple[int, str, str, str, str | None, int, str | None, str, str | None, str]


def call_rows(run_id: int, entries: Iterable[LedgerEntry]) -> Iterator[CallRow]:
    """One row per call, made as ``executemany`` asks for them (150,000 are never all held)."""
    # The evidence is the domain's words; redacting it again keeps a line a bridge logged with a
    # secret in it out of the file whatever the words quote. Many calls share their words, so
    # each distinct evidence is redacted and encoded once per save.
    encoded: dict[tuple[str, ...], str] = {}
    for entry in entries:
        call = entry.call
        evidence = encoded.get(entry.evidence)
        if evidence is None:
            evidence = json.dumps([redact(said) for said in entry.evidence], ensure_ascii=False)
            encoded[entry.evidence] = evidence
        yield (
            run_id,
            call.call_id,
            utc_text(call.started_at),
            call.direction.value,
            call.external_number,
            int(call.answered),
            call.extension,
            entry.state.value,
            entry.cause.value if entry.cause else None,
            evidence,
        )


# ---- decoding ----------------------------------------------------------------------------------
def run_info(row: tuple[Any, ...], inputs: tuple[InputFingerprint, ...]) -> RunInfo:
    run_id, connection_id, period_from, period_to, ran_at, version, summary = row
    return RunInfo(
        id=int(run_id),
        connection_id=connection_id,
        period_from=datetime.fromisoformat(period_from),
        period_to=datetime.fromisoformat(period_to),
        ran_at=datetime.fromisoformat(ran_at),
        app_version=version,
        summary=json.loads(summary),
        inputs=inputs,
    )


def input_fingerprint(row: tuple[Any, ...]) -> InputFingerprint:
    kind, name, size, sha256 = row
    return InputFingerprint(InputKind(kind), name, size, sha256)


def stored_call(row: tuple[Any, ...]) -> StoredCall:
    call_id, started, direction, number, answered, extension, state, cause, evidence = row
    return StoredCall(
        call_id=call_id,
        started_at=datetime.fromisoformat(started),
        direction=CallDirection(direction),
        external_number=number,
        answered=bool(answered),
        extension=extension,
        state=CallState(state),
        cause=CheckId(cause) if cause else None,
        evidence=tuple(json.loads(evidence)),
    )
