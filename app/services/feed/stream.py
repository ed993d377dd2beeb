"""The one live event stream the window's feed and ``pbx watch`` both read.

It never ends and never raises for PBX trouble: when the client's event stream fails or ends,
the domain's backoff rule says how long to wait, the status says so ("reconnecting (attempt
2, next in 3.1 s): ..."), and the calls that ended meanwhile are read from the call log and
marked as filled. The Call Control watcher inside reports its own reconnects and skipped
frames through the same status.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import OrderedDict, deque
from collections.abc import AsyncGenerator, Awaitable, Callable
from dataclasses import replace
from datetime import datetime

from app.domain.addresses import AddressError
from app.domain.clock import utc_now
from app.domain.live import CallEvent, LiveState
from app.domain.reconnect import (
    DEFAULT_POLICY,
    Backoff,
    Gap,
    Random,
    ReconnectPolicy,
    StreamState,
    StreamStatus,
)
from app.threecx.client import PbxClient
from app.threecx.errors import ThreeCXError
from app.threecx.v20.callcontrol import SETTLED_STATES, observed
from app.threecx.v20.callcontrol_frames import failure_reason, fill_gap, needs_action

log = logging.getLogger(__name__)

REMEMBERED = 5000  # (call, state) pairs told, so a reconnect's resync does not repeat them

ClientSource = Callable[[], Awaitable[PbxClient]]
Sleep = Callable[[float], Awaitable[None]]
StatusCallback = Callable[[StreamStatus], None]


class FeedStream:
    """Live call events from one PBX, reconnecting for as long as it is read."""

    def __init__(
        self,
        client: ClientSource,
        *,
        on_status: StatusCallback | None = None,
        on_connect: Callable[[PbxClient], Awaitable[None]] | None = None,
        policy: ReconnectPolicy = DEFAULT_POLICY,
        random: Random | None = None,
        sleep: Sleep = asyncio.sleep,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self._client = client
        self._on_status = on_status
        self._on_connect = on_connect
        self._policy, self._random = policy, random
        self._backoff = Backoff(policy, random)
        self._sleep = sleep
        self._clock = clock
        self._told: OrderedDict[tuple[str, LiveState], None] = OrderedDict()
        self._settled: deque[CallEvent] = deque(maxlen=REMEMBERED)
        self._skipped_before = 0  # skipped frames of watchers that have ended
        self._skipped_now = 0
        self.status = StreamStatus()
        self.reconnects = self.filled = 0
        self._last_retry: StreamStatus | None = None  # since the stream last proved itself
        self._up_since = 0.0  # loop time of the last "connected"

    @property
    def skipped_frames(self) -> int:
        return self._skipped_before + self._skipped_now

    async def events(self) -> AsyncGenerator[CallEvent, None]:
        gap_start: datetime | None = None
        while True:
            delivered = 0
            try:
                client = await self._client()
                if self._on_connect is not None:
                    await self._on_connect(client)
                self._report(StreamStatus(StreamState.CONNECTED))
                if gap_start is not None:
                    for filled in await self._fill(client, Gap(gap_start, self._clock())):
                        yield filled
                    gap_start = None
                stream = client.watch_calls()
                async with contextlib.aclosing(stream):
                    # The watcher is built on the first read: it reports to us from then on.
                    with observed(
                        self._watcher_status,
                        policy=self._policy,
                        random=self._random,
                        sleep=self._sleep,
                    ):
                        event = await _next(stream)
                    while event is not None:
                        delivered += 1
                        self._backoff.proved()
                        self._last_retry = None  # events flow: the stream has proved itself
                        if self._new(event):
                            yield event
                        event = await _next(stream)
                reason, action = "the PBX closed the event stream", False
            except ThreeCXError as error:
                reason, action = failure_reason(error), needs_action(error)
            except AddressError as error:
                reason, action = str(error), True
            except Exception as error:  # a bug must not silence the feed for the session
                log.exception("Live event stream failed")
                reason, action = f"unexpected {type(error).__name__} (see the log)", False
            if delivered and gap_start is None:
                gap_start = self._clock()
            self._skipped_before += self._skipped_now
            self._skipped_now = 0
            status = self._backoff.reconnecting(reason, action)
            self._report(status)
            await self._sleep(status.delay_s)

    async def _fill(self, client: PbxClient, gap: Gap) -> list[CallEvent]:
        try:
            events = await fill_gap(client.call_history, gap, self._settled)
        except ThreeCXError as error:
            log.warning("Could not read the call log for the gap: %s", error.message)
            return []
        return [event for event in events if self._new(event)]

    def _new(self, event: CallEvent) -> bool:
        """False for a (call, state) already told: a resync after a reconnect repeats them."""
        key = (event.call_id, event.state)
        if key in self._told:
            return False
        self._told[key] = None
        while len(self._told) > REMEMBERED:
            self._told.popitem(last=False)
        if event.state in SETTLED_STATES:
            self._settled.append(event)
        if event.filled is not None:
            self.filled += 1
        return True

    def _watcher_status(self, status: StreamStatus) -> None:
        self._skipped_now = status.skipped_frames
        self._report(status)

    @property
    def settled_status(self) -> StreamStatus:
        """The status to end a watch on. A stream that had to reconnect and has not proved
        itself since (no event, not up for the policy's ``stable_s``) is still reconnecting,
        whatever the last instant showed: a socket that opens and closes at once flickers
        "connected" between its attempts."""
        retry = self._last_retry
        if retry is None or self.status.state is StreamState.RECONNECTING:
            return self.status
        up_for = asyncio.get_running_loop().time() - self._up_since
        if up_for >= self._policy.stable_s:
            return self.status
        return replace(retry, skipped_frames=self.skipped_frames)

    def _report(self, status: StreamStatus) -> None:
        status = replace(status, skipped_frames=self.skipped_frames)
        if status == self.status:
            return
        if status.state is StreamState.RECONNECTING:
            self.reconnects += 1  # the watcher's own attempts and this stream's alike
            self._last_retry = status
        elif status.state is StreamState.CONNECTED and self.status.state is not status.state:
            self._up_since = asyncio.get_running_loop().time()
        self.status = status
        if self._on_status is not None:
            self._on_status(status)


async def _next(stream: AsyncGenerator[CallEvent, None]) -> CallEvent | None:
    try:
        return await anext(stream)
    except StopAsyncIteration:
        return None
