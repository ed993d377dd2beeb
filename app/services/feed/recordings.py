"""Following a feed call's recording: where in the call log to look, and the add-on's link.

The feed knows when it saw a call ring, which narrows the call-log reads of the recording
watcher to a few minutes around it; and a link posted by the webhook add-on settles a
journey at once.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import datetime, timedelta

from app.domain.calls import CallRecord
from app.services.feed.calls import FeedCall
from app.services.recordings.watcher import (
    JourneyState,
    PollAttempt,
    RecordingJourney,
    RecordingWatcher,
    logged_call_of,
)
from app.threecx.client import PbxClient

CLOCK_SKEW = timedelta(minutes=5)  # between this PC and the PBX, when finding a call in the log
RING_WINDOW_CALLS = 500


class RingTimeWatcher(RecordingWatcher):
    """Looks for a call in the log around when the feed saw it ring, not over two hours.

    The stock lookup reads up to 2,000 calls (8,000 log rows) of the last two hours at each
    look, parsed on the GUI thread; on a busy PBX that is most of the feed's cost, and a call
    with 2,000 newer ones is never found at all. A call's log StartTime is when it rang, so
    a window around that (wide enough for a PBX clock that is minutes off) is enough.
    """

    def __init__(
        self,
        client: PbxClient,
        *,
        limit_s: float,
        window_s: float,
        on_update: Callable[[RecordingJourney], None],
        rang_at: Callable[[str], datetime | None],
    ) -> None:
        super().__init__(client, limit_s=limit_s, window_s=window_s, on_update=on_update)
        self._pbx = client
        self._rang_at = rang_at

    async def _find_call(self, journey: RecordingJourney, now: datetime) -> CallRecord | None:
        rang = self._rang_at(journey.call_id)
        if rang is None:
            return await super()._find_call(journey, now)
        calls = await self._pbx.call_history(
            rang - CLOCK_SKEW, rang + CLOCK_SKEW, limit=RING_WINDOW_CALLS
        )
        return logged_call_of(journey, calls)


def linked_journey(call: FeedCall, urls: Sequence[str], now: datetime) -> RecordingJourney:
    """The call's journey once the webhook add-on posted its recording link: ready now."""
    journey = call.journey or RecordingJourney(
        call.call_id, call.ended_at or now, call.extension, call.number
    )
    after = round(max((now - journey.hung_up_at).total_seconds(), 0.0), 2)
    files = f"{len(urls)} files" if len(urls) > 1 else "1 file"
    attempt = PollAttempt(
        len(journey.attempts) + 1, after, True, f"recording link from the webhook add-on ({files})"
    )
    return replace(
        journey,
        state=JourneyState.READY,
        attempts=(*journey.attempts, attempt),
        ready_after_s=after,
        upper_bound_only=False,
    )
