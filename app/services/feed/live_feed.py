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
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any, TypeVar

from app.domain.addresses import AddressError
from app.domain.calls import CallDirection
from app.domain.causes.recording import DEFAULT_BRIDGE_WINDOW_S as DEFAULT_BRIDGE_WINDOW_S
from app.domain.clock import utc_now
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
from app.services.feed.calls import SOURCE_WEBHOOK as SOURCE_WEBHOOK
from app.services.feed.calls import TWIN_WINDOW as TWIN_WINDOW
from app.services.feed.calls import FeedCall as FeedCall
from app.services.feed.calls import FeedStatus as FeedStatus
from app.services.feed.calls import settled_call as settled_call
from app.services.feed.calls import webhook_call_id as webhook_call_id
from app.services.feed.following import RecordingFollower
from app.services.feed.history import FeedHistory
from app.services.feed.stream import FeedStream
from app.services.session import FALLBACK_REGION, ContactMatcher, ContactsUnavailable, PbxSession
from app.threecx.client import PbxClient
from app.threecx.errors import ThreeCXError, Unsupported
from app.threecx.v20.client import V20Client

log = logging.getLogger(__name__)

DEFAULT_HISTORY_LIMIT = 50_000
DEFAULT_MAX_WATCHERS = 25
STOP_TIMEOUT_S = 5.0


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
        self._session = session
        self._history = FeedHistory(history_limit)
        self._recordings = RecordingFollower(
            session,
            row=self._history.get,
            notify=self._notify,
            bridge_window_s=bridge_window_s,
            max_watchers=max_watchers,
            enabled=follow_recordings,
            clock=clock,
        )
        self._reconnect = reconnect
        self._random = random
        self._sleep = sleep
        self._stream: FeedStream | None = None
        self._clock = clock
        self._subscribers = _Subscribers()
        self._status = FeedStatus("connecting")
        self._region: str | None = None
        self._contacts: ContactMatcher | None = None
        self._held: list[FeedCall] = []  # settled while the contacts were being read
        self._reading_contacts = False
        self._tasks: set[asyncio.Task[None]] = set()
        self._started = self._stopped = False
        self.last_event_at: datetime | None = None
        self.events_seen = 0

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
        return bool(self._recordings.extensions)

    @property
    def watching(self) -> int:
        """Recordings being followed right now."""
        return self._recordings.watching

    @property
    def history_limit(self) -> int:
        return self._history.limit

    @property
    def dropped(self) -> int:
        """Calls pushed out of the history by newer ones."""
        return self._history.dropped

    @property
    def bridge_window_s(self) -> float:
        return self._recordings.bridge_window_s

    def __len__(self) -> int:
        return len(self._history)

    def get(self, call_id: str) -> FeedCall | None:
        return self._history.get(call_id)

    def calls(self) -> list[FeedCall]:
        """Every call kept, oldest first."""
        return self._history.rows()

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
        watches = self._recordings.cancel_all()
        tasks: list[asyncio.Task[Any]] = [*self._tasks, *watches]
        for task in tasks:
            task.cancel()
        self._tasks.clear()
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
            self._recordings.extensions = {e.number: e for e in await client.extensions()}
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
        changed = [call for call in self._history.rows() if self._resolve(call)]
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
        call = self._history.find(webhook_call_id(call_id))
        if call is None or not urls:
            return None
        self._recordings.linked(call, urls)
        return call

    def _apply(self, event: CallEvent, *, did: str | None = None) -> FeedCall | None:
        """Fold one event into its row: O(1), so a burst of events costs no more than its size."""
        did = did or event.did
        self.events_seen += 1
        self.last_event_at = event.at
        call = self._history.row_of(event)
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
            dropped = self._history.add(call)
            if dropped is not None:
                self._recordings.forget(dropped.call_id)
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
            if state is LiveState.ENDED and not self._stopped:
                self._recordings.follow(call, event)

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

    def _notify(self, rows: list[FeedCall]) -> None:
        for callback in self._subscribers.rows:
            callback(rows)


_T = TypeVar("_T")


def _discard(callbacks: list[_T], callback: _T) -> None:
    with contextlib.suppress(ValueError):
        callbacks.remove(callback)
