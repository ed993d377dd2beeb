"""Calls as the PBX records them: one row per call with its legs folded in."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime, timedelta


class CallDirection(enum.StrEnum):
    INBOUND = "inbound"
    OUTBOUND = "outbound"
    INTERNAL = "internal"
    UNKNOWN = "unknown"


class CallOutcome(enum.StrEnum):
    ANSWERED = "answered"
    MISSED = "missed"  # settled: nobody answered and it did not reach voicemail
    VOICEMAIL = "voicemail"
    UNANSWERED_OUTBOUND = "not answered by the other party"
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class CallRecord:
    """One call-history row as both API generations can describe it."""

    call_id: str
    started_at: datetime | None
    direction: CallDirection
    caller: str  # raw caller id as the PBX stored it
    callee: str
    extension: str | None  # the internal DN that handled (or missed) the call
    answered: bool | None
    talking: timedelta | None = None
    ringing: timedelta | None = None
    recording_ids: tuple[int, ...] = ()
    recording_url: str | None = None
    outcome: CallOutcome = CallOutcome.UNKNOWN
    segment_id: str | None = None
    extra: dict[str, str] = field(default_factory=dict, compare=False, hash=False)

    @property
    def external_number(self) -> str | None:
        """The outside party's number: the caller for inbound calls, the callee for outbound."""
        if self.direction is CallDirection.INBOUND:
            return self.caller
        if self.direction is CallDirection.OUTBOUND:
            return self.callee
        return None

    @property
    def is_external(self) -> bool:
        return self.direction in (CallDirection.INBOUND, CallDirection.OUTBOUND)


def merge_call_segments(rows: list[CallRecord]) -> list[CallRecord]:
    """Fold the per-leg rows 3CX writes for one call into one call, in first-seen order.

    A ring-all queue writes a row per agent leg; the call was answered if any leg was, and its
    recordings are the union of the legs' recordings.
    """
    merged: dict[str, CallRecord] = {}
    for row in rows:
        seen = merged.get(row.call_id)
        if seen is None:
            merged[row.call_id] = row
            continue
        answered_row = row if row.answered else seen
        first = seen if _earlier(seen, row) else row
        merged[row.call_id] = CallRecord(
            call_id=row.call_id,
            started_at=first.started_at,
            direction=first.direction
            if first.direction is not CallDirection.UNKNOWN
            else row.direction,
            caller=first.caller or row.caller,
            callee=answered_row.callee or first.callee,
            extension=answered_row.extension or first.extension,
            answered=bool(seen.answered or row.answered)
            if seen.answered is not None or row.answered is not None
            else None,
            talking=_longest(seen.talking, row.talking),
            ringing=_longest(seen.ringing, row.ringing),
            recording_ids=tuple(dict.fromkeys(seen.recording_ids + row.recording_ids)),
            recording_url=seen.recording_url or row.recording_url,
            outcome=_merge_outcome(seen.outcome, row.outcome),
            segment_id=first.segment_id,
        )
    return list(merged.values())


def _earlier(a: CallRecord, b: CallRecord) -> bool:
    if a.started_at is None or b.started_at is None:
        return True
    return a.started_at <= b.started_at


def _longest(a: timedelta | None, b: timedelta | None) -> timedelta | None:
    if a is None:
        return b
    if b is None:
        return a
    return max(a, b)


_OUTCOME_RANK = {
    CallOutcome.ANSWERED: 4,
    CallOutcome.VOICEMAIL: 3,
    CallOutcome.UNANSWERED_OUTBOUND: 2,
    CallOutcome.MISSED: 1,
    CallOutcome.UNKNOWN: 0,
}


def _merge_outcome(a: CallOutcome, b: CallOutcome) -> CallOutcome:
    return a if _OUTCOME_RANK[a] >= _OUTCOME_RANK[b] else b
