"""A leg that vanished unanswered, confirmed in the call log before it is told as missed.

Call Control cannot tell a missed call from one that went to voicemail; the call log can, a
moment later. Each miss gets a few looks on a schedule. With a window, one read answers for
every miss waiting at the time, so a burst of misses costs a few reads, not one each.
"""

from __future__ import annotations

import asyncio
import logging
import math
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from app.domain.calls import CallOutcome, CallRecord
from app.domain.live import CallEvent, LiveState
from app.threecx.errors import ThreeCXError
from app.threecx.v20.callcontrol_frames import logged_call

log = logging.getLogger(__name__)

ReadCallLog = Callable[[datetime], Awaitable[list[CallRecord]]]  # calls from about a time on
Tell = Callable[[CallEvent], None]


@dataclass(slots=True)
class _Miss:
    event: CallEvent
    due: float  # loop time of its next look in the call log
    looks: int = 0


class MissConfirmer:
    """Tells each miss once: as the call log settles it, or as missed after its last look.

    ``window_s`` > 0: reads are one at a time and at least that far apart, each confirming
    every miss pending; 0: each miss is looked up on its own schedule.
    """

    def __init__(
        self, read: ReadCallLog, delays: Sequence[float], window_s: float, tell: Tell
    ) -> None:
        self._read = read
        self._delays = tuple(delays)
        self._window = window_s
        self._tell = tell
        self._tasks: set[asyncio.Task[None]] = set()
        self._misses: list[_Miss] = []  # waiting for a batched call-log read
        self._batch: asyncio.Task[None] | None = None

    def missed(self, event: CallEvent) -> None:
        if self._window <= 0:
            self._keep(self._confirm(event))
            return
        due = asyncio.get_running_loop().time() + self._delays[0]
        self._misses.append(_Miss(event, due))
        if self._batch is None or self._batch.done():
            self._batch = self._keep(self._confirm_pending())

    async def aclose(self) -> None:
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    def _keep(self, coro: Coroutine[Any, Any, None]) -> asyncio.Task[None]:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def _confirm(self, event: CallEvent) -> None:
        """A leg that vanished unanswered may have gone to voicemail: ask the call log."""
        for delay in self._delays:
            await asyncio.sleep(delay)
            try:
                calls = await self._read(event.at)
            except ThreeCXError as exc:
                log.info("Could not confirm missed call %s: %s", event.call_id, exc.message)
                break
            logged = logged_call(event, calls)
            if logged is not None:
                self._tell(settled(event, logged))
                return
        self._tell(event)

    async def _confirm_pending(self) -> None:
        """One call-log read for every miss pending; each still gets its looks on schedule.

        Reads are one at a time and the window apart, so a PBX slow to answer them is asked
        less often, not more.
        """
        loop = asyncio.get_running_loop()
        last_read = -math.inf  # when the last read ended
        while self._misses:
            due = min(miss.due for miss in self._misses)
            await asyncio.sleep(max(0.0, due - loop.time(), last_read + self._window - loop.time()))
            pending = list(self._misses)
            looking = {id(miss) for miss in pending if miss.due <= loop.time()}
            try:
                calls: list[CallRecord] | None = await self._read(
                    min(miss.event.at for miss in pending)
                )
            except ThreeCXError as exc:
                log.info("Could not confirm %d missed call(s): %s", len(looking), exc.message)
                calls = None
            last_read = loop.time()
            done: list[tuple[_Miss, CallRecord | None]] = []
            for miss in pending:
                logged = logged_call(miss.event, calls or [])
                if logged is not None:
                    done.append((miss, logged))
                elif id(miss) in looking:
                    miss.looks += 1
                    if calls is None or miss.looks >= len(self._delays):
                        done.append((miss, None))
                    else:
                        miss.due = last_read + self._delays[miss.looks]
            self._settle(done)

    def _settle(self, done: Sequence[tuple[_Miss, CallRecord | None]]) -> None:
        gone = {id(miss) for miss, _ in done}
        self._misses = [miss for miss in self._misses if id(miss) not in gone]
        for miss, logged in done:
            self._tell(miss.event if logged is None else settled(miss.event, logged))


_SETTLED = {
    CallOutcome.ANSWERED: LiveState.ENDED,
    CallOutcome.VOICEMAIL: LiveState.VOICEMAIL,
    CallOutcome.MISSED: LiveState.MISSED,
}


def settled(event: CallEvent, logged: CallRecord) -> CallEvent:
    """The miss as the call log settled it (answered elsewhere, voicemail, or missed)."""
    state = _SETTLED.get(logged.outcome, LiveState.MISSED)
    return replace(event, state=state, source="call-control+call-log")
