"""Calls as the PBX records them: one row per call with its legs folded in."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from app.domain.phones import line_tail


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
    segment_id: str | None = None  # the leg's own id (CdrId/CallHistoryId), for evidence
    leg: str = ""  # "queue" for a queue's own leg (the call waited there, no one answered it)
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
        # Nobody answered: the call belongs to the queue it waited in, not to an agent's leg.
        handler = answered_row if answered_row.answered else _queue_leg(seen, row) or first
        merged[row.call_id] = CallRecord(
            call_id=row.call_id,
            started_at=first.started_at,
            direction=first.direction
            if first.direction is not CallDirection.UNKNOWN
            else row.direction,
            caller=first.caller or row.caller,
            callee=answered_row.callee or first.callee,
            extension=handler.extension or first.extension,
            answered=bool(seen.answered or row.answered)
            if seen.answered is not None or row.answered is not None
            else None,
            talking=_longest(seen.talking, row.talking),
            ringing=_longest(seen.ringing, row.ringing),
            recording_ids=tuple(dict.fromkeys(seen.recording_ids + row.recording_ids)),
            recording_url=seen.recording_url or row.recording_url,
            outcome=_merge_outcome(seen.outcome, row.outcome),
            segment_id=first.segment_id,
            leg=handler.leg,
        )
    return list(merged.values())


def newest_first(calls: list[CallRecord]) -> list[CallRecord]:
    """A PBX may ignore ``$orderby`` (API-NOTES §9.3): order here, never trust the server."""
    floor = datetime.min.replace(tzinfo=UTC)
    return sorted(calls, key=lambda c: (c.started_at or floor, c.call_id), reverse=True)


def _queue_leg(a: CallRecord, b: CallRecord) -> CallRecord | None:
    return a if a.leg == "queue" else b if b.leg == "queue" else None


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


class LogMatch(enum.StrEnum):
    BY_ID = "by id"
    BY_NUMBER_DN_TIME = "by number, extension and time"


# How far a live call's hang-up may be from the logged call's end, for the fallback match.
LOG_MATCH_SLACK = timedelta(minutes=2)


def find_logged_call(
    calls: list[CallRecord],
    call_id: str,
    *,
    number: str | None,
    extension: str | None,
    ended_at: datetime,
) -> tuple[CallRecord, LogMatch] | None:
    """The call-log entry of a call seen live (Call Control, a webhook).

    Whether the call log's ids equal Call Control's ``callid`` is unconfirmed (API-NOTES
    §9.1): take the id when it agrees, else the call with the same outside number (last nine
    digits) on the same extension that started before the hang-up and ended near it.
    """
    for call in calls:
        if call.call_id == call_id:
            return call, LogMatch.BY_ID
    wanted = line_tail(number)
    best: tuple[timedelta, CallRecord] | None = None
    for call in calls:
        if call.started_at is None or call.started_at > ended_at + LOG_MATCH_SLACK:
            continue
        if wanted and line_tail(call.external_number or call.caller) != wanted:
            continue
        if extension and call.extension and call.extension != extension:
            continue
        if not wanted and not extension:
            continue
        end = call.started_at + (call.ringing or timedelta()) + (call.talking or timedelta())
        gap = abs(end - ended_at)
        if gap <= LOG_MATCH_SLACK and (best is None or gap < best[0]):
            best = (gap, call)
    return (best[1], LogMatch.BY_NUMBER_DN_TIME) if best else None
