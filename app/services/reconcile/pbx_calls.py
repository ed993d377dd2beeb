"""The PBX's side of the ledger: every external call of a period, with where its recording
stands, read once through the recording lookup (the same rows the Recordings tab shows).

The lookup already decides each call's recording status in the field docs' words; this maps
those statuses onto what the reconciliation needs, so the two never disagree.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from app.domain.reconcile.records import PbxCall, PbxRecording
from app.services.recordings.lookup import RecordingLookup
from app.services.recordings.results import RecordingQuery, RecordingRow, RecordingStatus
from app.services.session import ContactMatcher, PbxSession

log = logging.getLogger(__name__)

# A month of a busy PBX: 150,000 calls (issue 21); the lookup's own default suits one search.
CALL_LIMIT = 250_000
RECORDING_LIMIT = 250_000

_RECORDING = {
    RecordingStatus.READY: PbxRecording.PRESENT,
    RecordingStatus.ARCHIVED: PbxRecording.PRESENT,
    RecordingStatus.PENDING: PbxRecording.PRESENT,  # not written yet: it will be there
    RecordingStatus.DELETED_BY_RETENTION: PbxRecording.DELETED,
    RecordingStatus.NOT_RECORDED: PbxRecording.NOT_RECORDED,
    RecordingStatus.NO_AUDIO: PbxRecording.NONE,
    RecordingStatus.MISSING: PbxRecording.LOST,  # deleted by hand or lost from storage
    RecordingStatus.NO_ACCESS: PbxRecording.UNKNOWN,
    RecordingStatus.UNKNOWN: PbxRecording.UNKNOWN,
}


class PbxPeriod:
    """The calls read, and whether a limit cut the period short."""

    def __init__(self, calls: list[PbxCall], *, incomplete: bool, notes: tuple[str, ...]) -> None:
        self.calls = calls
        self.incomplete = incomplete
        self.notes = notes


async def read_pbx_calls(
    session: PbxSession, since: datetime, until: datetime, *, matcher: ContactMatcher | None
) -> PbxPeriod:
    """Every external call started in [since, until], legs folded, recording status decided."""
    lookup = RecordingLookup(
        session, call_limit=CALL_LIMIT, recording_limit=RECORDING_LIMIT, auto_verify=0
    )
    try:
        result = await lookup.search(RecordingQuery(since=since, until=until))
    finally:
        await lookup.aclose()
    mapped = (pbx_call(row, matcher) for row in result.rows if row.call.is_external)
    calls = [c for c in mapped if c is not None]
    log.info("Reconcile: %d external calls read from the PBX", len(calls))
    return PbxPeriod(calls, incomplete=result.incomplete, notes=tuple(result.notes))


def pbx_call(row: RecordingRow, matcher: ContactMatcher | None) -> PbxCall | None:
    call = row.call
    if call.started_at is None:
        return None  # a row without a time cannot be placed in the period
    held = (call.ringing or timedelta()) + (call.talking or timedelta())
    number = row.number_e164 or row.number_raw
    return PbxCall(
        call_id=call.call_id,
        started_at=call.started_at,
        direction=call.direction,
        external_number=number,
        answered=bool(call.answered),
        extension=call.extension,
        recording=_RECORDING[row.status],
        recording_ids=call.recording_ids,
        ended_at=call.started_at + held if held else None,
        did=call.extra.get("did") or None,
        aliases=tuple(i for i in (call.segment_id,) if i and i != call.call_id),
        bridge_match=matcher.match(row.number_raw) if matcher and row.number_raw else None,
    )
