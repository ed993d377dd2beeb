"""Following the recordings of the live feed's calls, from hang-up to a download or a verdict.

An answered outside call gets a ``RecordingJourney``: the PBX's calls are watched on a
bridge's backoff schedule (``RingTimeWatcher``), calls seen only through the webhook add-on
wait for its recording link, and calls that will not be recorded whatever the timing (cause
3, not 4) say why and are not followed. At most ``max_watchers`` are followed at once.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import datetime
from functools import partial

from app.domain.addresses import AddressError
from app.domain.calls import CallDirection
from app.domain.causes.recording import unrecorded_reason
from app.domain.extensions import Extension
from app.domain.live import CallEvent
from app.services.feed.calls import SOURCE_WEBHOOK, FeedCall
from app.services.feed.recordings import RingTimeWatcher, linked_journey
from app.services.recordings.watcher import JourneyState, RecordingJourney, RecordingWatcher
from app.services.session import PbxSession
from app.threecx.errors import ThreeCXError

log = logging.getLogger(__name__)

EXTERNAL = frozenset({CallDirection.INBOUND, CallDirection.OUTBOUND})

Rows = Callable[[list[FeedCall]], None]


class RecordingFollower:
    """The recording journeys of one feed's calls; rows are changed in place, then ``notify``."""

    def __init__(
        self,
        session: PbxSession,
        *,
        row: Callable[[str], FeedCall | None],
        notify: Rows,
        bridge_window_s: float,
        max_watchers: int,
        enabled: bool,
        clock: Callable[[], datetime],
    ) -> None:
        self._session = session
        self._row = row
        self._notify = notify
        self.bridge_window_s = bridge_window_s
        self.max_watchers = max_watchers
        self._enabled = enabled
        self._clock = clock
        self.extensions: dict[str, Extension] = {}  # recording modes, once the feed read them
        self._watcher: RecordingWatcher | None = None
        self._watches: dict[str, asyncio.Task[RecordingJourney]] = {}
        self._addon_deadlines: dict[str, asyncio.TimerHandle] = {}

    @property
    def watching(self) -> int:
        return len(self._watches)

    def follow(self, call: FeedCall, event: CallEvent) -> None:
        """Follow an answered outside call's recording from hang-up, within the bounds."""
        # The call log only reports a call once it is over: "ended" there means answered
        # (an outbound call nobody picked up is dropped in _journey_updated, once the log says).
        answered = call.connected_at is not None or "call-log" in event.source
        if call.direction not in EXTERNAL or not answered:
            return
        if not self._enabled:
            call.journey_note = "recordings are not followed in this view"
            return
        if call.sources == (SOURCE_WEBHOOK,):
            self._await_addon_link(call, event.at)
            return
        reason = self._not_recorded(call)
        if reason is not None:
            call.journey_note = reason
            return
        if len(self._watches) >= self.max_watchers:
            many = "recording" if self.max_watchers == 1 else "recordings"
            call.journey_note = f"not followed: {self.max_watchers} {many} already being followed"
            return
        call.journey = RecordingJourney(call.call_id, event.at, call.extension, call.number)
        task = asyncio.get_running_loop().create_task(
            self._watch_recording(event), name=f"recording of call {call.call_id}"
        )
        self._watches[call.call_id] = task
        task.add_done_callback(partial(self._watch_done, call.call_id))

    def linked(self, call: FeedCall, urls: Sequence[str]) -> None:
        """The webhook add-on posted the call's recording link: its journey is ready now."""
        self.forget(call.call_id)
        call.journey = linked_journey(call, urls, self._clock())
        call.journey_note = None
        self._notify([call])

    def forget(self, call_id: str) -> None:
        """Stop following a call (its row left the history, or its journey is settled)."""
        watch = self._watches.pop(call_id, None)
        if watch is not None:
            watch.cancel()
        handle = self._addon_deadlines.pop(call_id, None)
        if handle is not None:
            handle.cancel()

    def cancel_all(self) -> list[asyncio.Task[RecordingJourney]]:
        """Cancel every journey; returns the tasks, for the caller to wait on."""
        for handle in self._addon_deadlines.values():
            handle.cancel()
        self._addon_deadlines.clear()
        tasks = list(self._watches.values())
        for task in tasks:
            task.cancel()
        self._watches.clear()
        return tasks

    def _not_recorded(self, call: FeedCall) -> str | None:
        """Why this call will have no recording whatever the timing (cause 3, not 4)."""
        reason = unrecorded_reason(
            self.extensions.get(call.extension or ""), external=call.direction in EXTERNAL
        )
        if reason is None:
            return None
        return f"{reason}: no recording expected, not followed (see the doctor's check 3)"

    async def _watch_recording(self, event: CallEvent) -> RecordingJourney:
        if self._watcher is None:
            client = await self._session.client()
            window = self.bridge_window_s
            self._watcher = RingTimeWatcher(
                client,
                limit_s=window,
                window_s=window,
                on_update=self._journey_updated,
                rang_at=self._rang_at,
            )
        return await self._watcher.follow(event)

    def _rang_at(self, call_id: str) -> datetime | None:
        """When the feed saw the call ring (None: it only learned of it from the call log)."""
        call = self._row(call_id)
        if call is None or "call-control" not in call.sources:
            return None
        return call.first_seen

    def _watch_done(self, call_id: str, task: asyncio.Task[RecordingJourney]) -> None:
        if self._watches.get(call_id) is task:
            del self._watches[call_id]
        if task.cancelled():
            return
        error = task.exception()
        call = self._row(call_id)
        if error is not None and call is not None:
            if not isinstance(error, ThreeCXError | AddressError):
                log.error("Following call %s's recording failed", call_id, exc_info=error)
            what = error.message if isinstance(error, ThreeCXError) else type(error).__name__
            call.journey_note = f"not followed: {what}"
            call.journey = None
            self._notify([call])

    def _journey_updated(self, journey: RecordingJourney) -> None:
        call = self._row(journey.call_id)
        if call is None or journey.call_id not in self._watches:
            return
        logged = journey.call
        if logged is not None and call.connected_at is None and call.talked is None:
            # Seen only through the call log: its figures are better than our poll times.
            call.talked = logged.talking
            call.first_seen = logged.started_at or call.first_seen
        if logged is not None and logged.answered is False:
            # A polled call that ended unanswered (an outbound call nobody picked up).
            self._watches.pop(call.call_id).cancel()
            call.journey = None
            call.journey_note = "not answered: no recording expected"
        else:
            call.journey = journey
        self._notify([call])

    def _await_addon_link(self, call: FeedCall, hung_up_at: datetime) -> None:
        """Webhook-only calls: the add-on posts the recording link; give it the bridge window."""
        call.journey = RecordingJourney(call.call_id, hung_up_at, call.extension, call.number)
        loop = asyncio.get_running_loop()
        self._addon_deadlines[call.call_id] = loop.call_later(
            self.bridge_window_s, self._addon_missed, call.call_id
        )

    def _addon_missed(self, call_id: str) -> None:
        self._addon_deadlines.pop(call_id, None)
        call = self._row(call_id)
        if call is None or call.journey is None or call.journey.state is JourneyState.READY:
            return
        call.journey = replace(
            call.journey, state=JourneyState.MISSING, error="no recording link from the add-on"
        )
        self._notify([call])
