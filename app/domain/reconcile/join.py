"""Tying CRM activities and bridge log lines to the PBX's calls, with or without a shared id.

A call id on both sides is certain. Without one, an activity goes to the call from the same
number nearest in time within the tolerance, and says how far apart they were. Each activity
goes to one call at most (the nearest), so two calls from one caller minutes apart each keep
their own activity, and two activities on one call show as a duplicate.

Indexes, not nested loops: a month of a busy PBX (150,000 calls against 150,000 activities) is
a sort and a bisect per activity.
"""

from __future__ import annotations

import bisect
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from app.domain.reconcile.records import (
    BridgeEvent,
    Confidence,
    CrmActivity,
    CrmMatch,
    PbxCall,
)

# The CRM stamps an activity at the call's start, its end, or when the bridge posted it.
CALL_TOLERANCE = timedelta(minutes=5)
# A missed-call workflow fires after the call settles, and a morning task may be stamped at
# the next opening: a trigger is looked for within this long of the call.
TRIGGER_TOLERANCE = timedelta(hours=16)


@dataclass
class Joined:
    """What each call was tied to, by the call's id, and what was tied to none."""

    crm: dict[str, list[CrmMatch]] = field(default_factory=lambda: defaultdict(list))
    triggers: dict[str, list[CrmMatch]] = field(default_factory=lambda: defaultdict(list))
    bridge: dict[str, list[BridgeEvent]] = field(default_factory=lambda: defaultdict(list))
    unmatched_crm: list[CrmActivity] = field(default_factory=list)
    unmatched_bridge: int = 0  # readable lines about no call of this period


class _ByNumber:
    """The calls of one external number in start order, for the nearest-in-time lookup."""

    def __init__(self) -> None:
        self.starts: list[datetime] = []
        self.calls: list[PbxCall] = []

    def add(self, call: PbxCall) -> None:
        at = bisect.bisect(self.starts, call.started_at)
        self.starts.insert(at, call.started_at)
        self.calls.insert(at, call)

    def nearest(
        self, when: datetime, tolerance: timedelta, *, before_only: bool = False
    ) -> tuple[PbxCall, float] | None:
        """The call nearest ``when`` (by its start or hang-up) within ``tolerance``."""
        lo = bisect.bisect_left(self.starts, when - tolerance - timedelta(hours=4))
        hi = bisect.bisect_right(self.starts, when + tolerance)
        best: tuple[PbxCall, float] | None = None
        for call in self.calls[lo:hi]:
            if before_only and call.started_at > when:
                continue
            apart = _apart(call, when)
            if apart <= tolerance.total_seconds() and (best is None or apart < best[1]):
                best = (call, apart)
        return best


def _apart(call: PbxCall, when: datetime) -> float:
    if call.started_at <= when <= call.hung_up_at:
        return 0.0
    return min(
        abs((when - call.started_at).total_seconds()),
        abs((when - call.hung_up_at).total_seconds()),
    )


class CallIndex:
    """The period's calls by every id they go by, by recording id, and by number."""

    def __init__(self, calls: Iterable[PbxCall]) -> None:
        self.by_id: dict[str, PbxCall] = {}
        self.by_recording: dict[int, PbxCall] = {}
        self.by_number: dict[str, _ByNumber] = defaultdict(_ByNumber)
        for call in calls:
            for call_id in call.ids:
                self.by_id.setdefault(call_id.lower(), call)
            for recording in call.recording_ids:
                self.by_recording[recording] = call
            if call.external_number:
                self.by_number[call.external_number].add(call)

    def find(self, call_id: str | None) -> PbxCall | None:
        return self.by_id.get(call_id.lower()) if call_id else None

    def for_activity(self, activity: CrmActivity) -> tuple[CrmMatch, PbxCall] | None:
        """The call ``activity`` belongs to, and how sure that is; None: no call of ours."""
        call = self.find(activity.call_id)
        if call is not None:
            return CrmMatch(activity, Confidence.CALL_ID), call
        if activity.at is None or not activity.phone_e164:
            return None
        calls = self.by_number.get(activity.phone_e164)
        if calls is None:
            return None
        trigger = activity.kind.is_trigger
        # A trigger follows its call: never tie a morning task to the next day's call.
        tolerance = TRIGGER_TOLERANCE if trigger else CALL_TOLERANCE
        found = calls.nearest(activity.at, tolerance, before_only=trigger)
        if found is None:
            return None
        near, apart = found
        return CrmMatch(activity, Confidence.NUMBER_AND_TIME, round(apart, 1)), near


def join(
    calls: list[PbxCall],
    activities: Iterable[CrmActivity],
    bridge_events: Iterable[BridgeEvent],
) -> Joined:
    """Tie every activity and bridge line to at most one call of ``calls``."""
    index = CallIndex(calls)
    joined = Joined()
    for activity in activities:
        found = index.for_activity(activity)
        if found is None:
            joined.unmatched_crm.append(activity)
            continue
        match, call = found
        into = joined.triggers if activity.kind.is_trigger else joined.crm
        into[call.call_id].append(match)
    for event in bridge_events:
        about = _call_of_event(index, event)
        if about is None:
            joined.unmatched_bridge += 1
        else:
            joined.bridge[about.call_id].append(event)
    return joined


def _call_of_event(index: CallIndex, event: BridgeEvent) -> PbxCall | None:
    call = index.find(event.call_id)
    if call is None and event.recording_id is not None:
        call = index.by_recording.get(event.recording_id)
    return call


def in_time_order(events: Sequence[BridgeEvent]) -> list[BridgeEvent]:
    """Bridge lines by time (lines without one keep their file order, last)."""
    timed = [e for e in events if e.at is not None]
    timed.sort(key=lambda e: (e.at or datetime.min, e.line))
    return timed + [e for e in events if e.at is None]
