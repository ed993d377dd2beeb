"""The live call feed: every call as it rings, connects, ends or is missed, with the contact the
customer's bridge would land it on and, once it has ended, its recording's journey from hang-up.

Events come from the PBX client's ``watch_calls()`` (the v20 Call Control websocket, else
polling of the call log) and from ``ingest()`` (the webhook receiver). Each call is one
``FeedCall`` row, kept in a bounded history. Subscribers are told about every changed row at
once and cheaply; coalescing bursts into screen updates is the model's job, not this one's.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from functools import partial
from typing import Any, TypeVar

from app.domain.addresses import AddressError
from app.domain.calls import CallDirection
from app.domain.causes.recording import DEFAULT_BRIDGE_WINDOW_S as DEFAULT_BRIDGE_WINDOW_S
from app.domain.causes.recording import unrecorded_reason
from app.domain.clock import utc_now
from app.domain.extensions import Extension
from app.domain.live import CallEvent, LiveState
from app.domain.phones import NumberError, to_e164
from app.domain.reconnect import (
    DEFAULT_POLICY,
    Random,
    ReconnectPolicy,
    StreamState,
    StreamStatus,
)
from app.domain.triggers import SettledCall
from app.services.feed_calls import SOURCE_WEBHOOK as SOURCE_WEBHOOK
from app.services.feed_calls import TWIN_WINDOW as TWIN_WINDOW
from app.services.feed_calls import FeedCall as FeedCall
from app.services.feed_calls import FeedStatus as FeedStatus
from app.services.feed_calls import number_key
from app.services.feed_calls import settled_call as settled_call
from app.services.feed_calls import webhook_call_id as webhook_call_id
from app.services.feed_recordings import RingTimeWatcher, linked_journey
from app.services.feed_stream import FeedStream
from app.services.recording_watcher import (
    JourneyState,
    RecordingJourney,
    RecordingWatcher,
)
from app.services.session import FALLBACK_REGION, ContactMatcher, ContactsUnavailable, PbxSession
from app.threecx.client import PbxClient
from app.threecx.errors import ThreeCXError, Unsupported
from app.threecx.v20.client import V20Client

log = logging.getLogger(__name__)

DEFAULT_HISTORY_LIMIT = 50_000
DEFAULT_MAX_WATCHERS = 25
STOP_TIMEOUT_S = 5.0

_TWINS_PER_NUMBER = 4
_EXTERNAL = frozenset({CallDirection.INBOUND, CallDirection.OUTBOUND})

Clock = Callable[[], datetime]


RowsCallback = Callable[[list[FeedCall]], None]
SettledCallback = Callable[[SettledCall], None]
StatusCallback = Callable[[FeedStatus], None]


@dataclass
class _Subscribers:
    rows: list[RowsCallback] = field(default_factory=list)
    settled: list[SettledCallback] = field(default_factory=list)
    status: list[StatusCallback] = field(default_factory=list)


class LiveFeed:
    """Consumes one PBX session's live calls into a bounded, observable list of ``FeedCall``."""

    def __init__(
        self,
        session: PbxSession,
        *,
        history_limit: int = DEFAULT_HISTORY_LIMIT,
        bridge_window_s: float = DEFAULT_BRIDGE_WINDOW_S,
        max_watchers: int = DEFAULT_MAX_WATCHERS,
        follow_recordings: bool = True,
        reconnect: ReconnectPolicy = DEFAULT_POLICY,
        random: Random | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        clock: Clock = utc_now,
    ) -> None:
        if history_limit < 1:
            raise ValueError(f"history_limit must be at least 1, not {history_limit}")
        self._session = session
        self.history_limit = history_limit
        self.bridge_window_s = bridge_window_s
        self.max_watchers = max_watchers
        self._follow_recordings = follow_recordings
        self._reconnect = reconnect
        self._random = random
        self._sleep = sleep
        self._stream: FeedStream | None = None
        self._clock = clock
        self._calls: OrderedDict[str, FeedCall] = OrderedDict()
        self._subscribers = _Subscribers()
        self._status = FeedStatus("connecting")
        self._region: str | None = None
        self._contacts: ContactMatcher | None = None
        self._extensions: dict[str, Extension] = {}
        self._watcher: RecordingWatcher | None = None
        self._watches: dict[str, asyncio.Task[RecordingJourney]] = {}
        self._addon_deadlines: dict[str, asyncio.TimerHandle] = {}
        self._aliases: dict[str, str] = {}  # another source's call id -> the row's call id
        self._held: list[FeedCall] = []  # settled while the contacts were being read
        self._reading_contacts = False
        self._by_number: dict[str, list[str]] = {}  # number tail -> recent call ids
        self._tasks: set[asyncio.Task[None]] = set()
        self._started = self._stopped = False
        self.last_event_at: datetime | None = None
        self.events_seen = 0
        self.dropped = 0  # calls pushed out of the history by newer ones

    # ---- observing -------------------------------------------------------------------------
    def subscribe(self, callback: RowsCallback) -> Callable[[], None]:
        """``callback(rows)`` after every change; returns the function that unsubscribes."""
        self._subscribers.rows.append(callback)
        return lambda: _discard(self._subscribers.rows, callback)

    def subscribe_settled(self, callback: SettledCallback) -> Callable[[], None]:
        """``callback(call)`` once per call, when it is settled as missed or voicemail."""
        self._subscribers.settled.append(callback)
        return lambda: _discard(self._subscribers.settled, callback)

    def subscribe_status(self, callback: StatusCallback) -> Callable[[], None]:
        self._subscribers.status.append(callback)
        return lambda: _discard(self._subscribers.status, callback)

    @property
    def status(self) -> FeedStatus:
        return self._status

    @property
    def skipped_frames(self) -> int:
        return self._stream.skipped_frames if self._stream is not None else 0

    @property
    def session(self) -> PbxSession:
        return self._session

    @property
    def region(self) -> str | None:
        return self._region

    @property
    def recording_modes_known(self) -> bool:
        """The extensions' recording settings are loaded: calls on ones that do not record
        are told apart from here on."""
        return bool(self._extensions)

    @property
    def watching(self) -> int:
        """Recordings being followed right now."""
        return len(self._watches)

    def __len__(self) -> int:
        return len(self._calls)

    def get(self, call_id: str) -> FeedCall | None:
        return self._calls.get(call_id)

    def calls(self) -> list[FeedCall]:
        """Every call kept, oldest first."""
        return list(self._calls.values())

    # ---- lifecycle -------------------------------------------------------------------------
    def start(self) -> None:
        """Start watching (returns at once); the PBX is contacted in the background."""
        if self._started or self._stopped:
            raise RuntimeError("a LiveFeed is started once")
        self._started = self._reading_contacts = True
        self._spawn(self._load_lookups(), "live feed: contacts")
        self._spawn(self._watch(), "live feed: events")

    async def stop(self) -> None:
        """Cancel every task of the feed (events, lookups, recording watchers) and wait.

        The wait is bounded: a request cancelled mid-TLS on an overloaded PBX has been seen to
        take minutes to let go, and closing the window must not wait for it.
        """
        self._stopped = True
        for handle in self._addon_deadlines.values():
            handle.cancel()
        self._addon_deadlines.clear()
        tasks: list[asyncio.Task[Any]] = [*self._tasks, *self._watches.values()]
        for task in tasks:
            task.cancel()
        self._tasks.clear()
        self._watches.clear()
        if not tasks:
            return
        done, pending = await asyncio.wait(tasks, timeout=STOP_TIMEOUT_S)
        for task in done:
            if not task.cancelled() and task.exception() is not None:
                log.debug("Live feed task %s ended with %r", task.get_name(), task.exception())
        if pending:
            log.warning(
                "Live feed: %d task(s) still finishing %g s after being cancelled: %s",
                len(pending),
                STOP_TIMEOUT_S,
                ", ".join(sorted(task.get_name() for task in pending)),
            )

    def _spawn(self, coro: Coroutine[Any, Any, None], name: str) -> None:
        task = asyncio.get_running_loop().create_task(coro, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _load_lookups(self) -> None:
        """Region, contacts and extension recording modes: rows are matched once they arrive."""
        try:
            self._region = await self._session.region()
        except (ThreeCXError, AddressError) as error:
            log.info("Live feed: region unknown (%s)", error)
            self._region = FALLBACK_REGION
        self._refresh_numbers()
        await self._load_contacts()
        try:
            client = await self._session.client()
            self._extensions = {e.number: e for e in await client.extensions()}
        except (ThreeCXError, AddressError) as error:
            log.info("Live feed: extension recording modes unknown: %s", error)

    async def _load_contacts(self) -> None:
        """The session's contact matcher: the customer's bridge, as the doctor judges it."""
        try:
            self._contacts = await self._session.contact_matcher()
        except (ThreeCXError, AddressError, NumberError, ContactsUnavailable) as error:
            log.warning("Live feed: contacts not loaded: %s", error)
            text = error.message if isinstance(error, ThreeCXError) else str(error)
            note = f"contacts not loaded: {text}"
        except Exception as error:  # a bug must not hold the missed calls back for good
            log.exception("Live feed: reading the contacts failed")
            note = f"contacts not loaded: unexpected {type(error).__name__} (see the log)"
        else:
            note = self._contacts.describe()
        self._set_status(replace(self._status, contacts=note, contacts_loading=False))
        self._refresh_numbers()
        self._reading_contacts = False
        self._report_settled()

    def _refresh_numbers(self) -> None:
        """Fill in E.164 and contacts for rows that arrived before the lookups were ready."""
        changed = [call for call in self._calls.values() if self._resolve(call)]
        if changed:
            self._notify(changed)

    async def _watch(self) -> None:
        stream = FeedStream(
            self._session.client,
            on_status=self._stream_status,
            on_connect=self._learn_source,
            policy=self._reconnect,
            random=self._random,
            sleep=self._sleep,
            clock=self._clock,
        )
        self._stream = stream
        async with contextlib.aclosing(stream.events()) as events:
            async for event in events:
                self._apply(event)

    def _stream_status(self, stream: StreamStatus) -> None:
        """The stream's words become the pane's: an error line while it is down."""
        error = None
        if stream.state is StreamState.RECONNECTING:
            error = f"Live feed {stream.text}"
        self._set_status(replace(self._status, stream=stream, error=error))

    async def _learn_source(self, client: PbxClient) -> None:
        """Say where events come from before the first one arrives (as watch_calls decides)."""
        polling = f"polling every {self._session.params.poll_interval_s:g} s"
        if isinstance(client, V20Client):
            try:
                await client.call_control_snapshot()
            except Unsupported:
                source = f"{polling} (Call Control is not enabled for this API client)"
            else:
                source = "Call Control websocket"
        else:
            source = polling
        self._set_status(replace(self._status, source=source))

    def _set_status(self, status: FeedStatus) -> None:
        if status != self._status:
            self._status = status
            for callback in list(self._subscribers.status):
                callback(status)

    # ---- events ----------------------------------------------------------------------------
    def ingest(self, event: CallEvent, *, did: str | None = None) -> FeedCall | None:
        """An event from another source (the webhook receiver); same rules as the PBX's own."""
        if event.source == SOURCE_WEBHOOK:
            event = replace(event, call_id=webhook_call_id(event.call_id))
            if not self._status.webhook:
                self._set_status(replace(self._status, webhook=True))
        return self._apply(event, did=did)

    def recording_link(self, call_id: str, urls: Sequence[str]) -> FeedCall | None:
        """The webhook add-on says the call's recording can be downloaded: it is ready."""
        wanted = webhook_call_id(call_id)
        call = self._calls.get(self._aliases.get(wanted, wanted))
        if call is None or not urls:
            return None
        watch = self._watches.pop(call.call_id, None)
        if watch is not None:
            watch.cancel()
        handle = self._addon_deadlines.pop(call.call_id, None)
        if handle is not None:
            handle.cancel()
        call.journey = linked_journey(call, urls, self._clock())
        call.journey_note = None
        self._notify([call])
        return call

    def _apply(self, event: CallEvent, *, did: str | None = None) -> FeedCall | None:
        """Fold one event into its row: O(1), so a burst of events costs no more than its size."""
        did = did or event.did
        self.events_seen += 1
        self.last_event_at = event.at
        call = self._calls.get(self._aliases.get(event.call_id, event.call_id))
        if call is None:
            call = self._twin_of(event)
            if call is not None:
                self._aliases[event.call_id] = call.call_id
                if len(self._aliases) > self.history_limit:  # dicts keep insertion order
                    del self._aliases[next(iter(self._aliases))]
        if call is None:
            call = FeedCall(
                call_id=event.call_id,
                first_seen=event.at,
                state=LiveState.RINGING,  # _advance moves it to the event's state
                direction=event.direction,
                number=event.external_number,
                e164=None,
                match=None,
                extension=event.extension,
                sources=(event.source,),
                did=did,
            )
            self._resolve(call)
            self._calls[call.call_id] = call
            self._remember_number(call)
            if len(self._calls) > self.history_limit:
                self._drop_oldest()
        else:
            self._learn(call, event, did)
        if event.filled is not None and call.filled is None:
            call.filled = event.filled
        self._advance(call, event)
        self._notify([call])
        if call.state in (LiveState.MISSED, LiveState.VOICEMAIL) and not call.settled_reported:
            call.settled_reported = True
            # The triggers' "new contact" follows the bridge: held until the contacts are read.
            self._held.append(call)
            if not self._reading_contacts:
                self._report_settled()
        return call

    def _report_settled(self) -> None:
        held, self._held = self._held, []
        for call in held:
            settled = settled_call(call)
            for callback in list(self._subscribers.settled):
                callback(settled)

    def _learn(self, call: FeedCall, event: CallEvent, did: str | None) -> None:
        if event.source not in call.sources:
            call.sources = (*call.sources, event.source)
        if call.direction is CallDirection.UNKNOWN:
            call.direction = event.direction
        if call.number is None and event.external_number:
            call.number = event.external_number
            self._resolve(call)
        if event.extension:
            call.extension = event.extension  # the answering agent, once someone answers
        if did and call.did is None:
            call.did = did

    def _advance(self, call: FeedCall, event: CallEvent) -> None:
        """Move the call forward; a settled call stays settled (late duplicates are ignored)."""
        state = event.state
        if call.settled and not (state is LiveState.VOICEMAIL and call.voicemail):
            return
        if state is LiveState.RINGING:
            return  # a late ring (another agent of a ring-all queue) changes nothing
        if state is LiveState.CONNECTED:
            call.state = LiveState.CONNECTED
            call.connected_at = call.connected_at or event.at
        elif state is LiveState.VOICEMAIL:
            call.state = LiveState.VOICEMAIL
            call.voicemail = True
            call.ended_at = event.at
        else:
            call.state = state
            call.ended_at = event.at
            if state is LiveState.ENDED:
                self._follow(call, event)

    def _resolve(self, call: FeedCall) -> bool:
        """E.164 and contact for the row's number; True when something new was learned."""
        if call.number is None or self._region is None:
            return False
        learned = False
        if call.e164 is None:
            try:
                call.e164 = to_e164(call.number, self._region)
            except NumberError:
                call.e164 = None
            learned = call.e164 is not None
        if call.match is None and self._contacts is not None:
            call.match = self._contacts.match(call.number)
            learned = True
        return learned

    def _twin_of(self, event: CallEvent) -> FeedCall | None:
        """The same call already seen through the other kind of source (the webhook add-on
        versus the PBX's own API), so one call is one row whose sources show both agree."""
        key = number_key(event.external_number)
        if key is None:
            return None
        from_webhook = event.source == SOURCE_WEBHOOK
        for call_id in reversed(self._by_number.get(key, ())):
            call = self._calls.get(call_id)
            if call is None or abs(call.first_seen - event.at) > TWIN_WINDOW:
                continue
            seen_by_webhook = SOURCE_WEBHOOK in call.sources
            only_webhook = call.sources == (SOURCE_WEBHOOK,)
            if (from_webhook and not seen_by_webhook) or (not from_webhook and only_webhook):
                return call
        return None

    def _remember_number(self, call: FeedCall) -> None:
        key = number_key(call.number)
        if key is not None:
            recent = self._by_number.setdefault(key, [])
            recent.append(call.call_id)
            del recent[:-_TWINS_PER_NUMBER]

    def _forget_number(self, call: FeedCall) -> None:
        key = number_key(call.number)
        recent = self._by_number.get(key or "")
        if recent is not None and call.call_id in recent:
            recent.remove(call.call_id)
            if not recent:
                del self._by_number[key or ""]

    def _drop_oldest(self) -> None:
        call_id, dropped = self._calls.popitem(last=False)
        self._forget_number(dropped)
        self.dropped += 1
        watch = self._watches.pop(call_id, None)
        if watch is not None:
            watch.cancel()
        handle = self._addon_deadlines.pop(call_id, None)
        if handle is not None:
            handle.cancel()

    def _notify(self, rows: list[FeedCall]) -> None:
        for callback in self._subscribers.rows:
            callback(rows)

    # ---- recordings ------------------------------------------------------------------------
    def _follow(self, call: FeedCall, event: CallEvent) -> None:
        """Follow an answered outside call's recording from hang-up, within the bounds."""
        # The call log only reports a call once it is over: "ended" there means answered
        # (an outbound call nobody picked up is dropped below, once the log shows it).
        answered = call.connected_at is not None or "call-log" in event.source
        if call.direction not in _EXTERNAL or not answered or self._stopped:
            return
        if not self._follow_recordings:
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

    def _not_recorded(self, call: FeedCall) -> str | None:
        """Why this call will have no recording whatever the timing (cause 3, not 4)."""
        reason = unrecorded_reason(
            self._extensions.get(call.extension or ""), external=call.direction in _EXTERNAL
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
        call = self._calls.get(call_id)
        if call is None or "call-control" not in call.sources:
            return None
        return call.first_seen

    def _watch_done(self, call_id: str, task: asyncio.Task[RecordingJourney]) -> None:
        if self._watches.get(call_id) is task:
            del self._watches[call_id]
        if task.cancelled():
            return
        error = task.exception()
        call = self._calls.get(call_id)
        if error is not None and call is not None:
            if not isinstance(error, ThreeCXError | AddressError):
                log.error("Following call %s's recording failed", call_id, exc_info=error)
            what = error.message if isinstance(error, ThreeCXError) else type(error).__name__
            call.journey_note = f"not followed: {what}"
            call.journey = None
            self._notify([call])

    def _journey_updated(self, journey: RecordingJourney) -> None:
        call = self._calls.get(journey.call_id)
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
        call = self._calls.get(call_id)
        if call is None or call.journey is None or call.journey.state is JourneyState.READY:
            return
        call.journey = replace(
            call.journey, state=JourneyState.MISSING, error="no recording link from the add-on"
        )
        self._notify([call])


_T = TypeVar("_T")


def _discard(callbacks: list[_T], callback: _T) -> None:
    with contextlib.suppress(ValueError):
        callbacks.remove(callback)
