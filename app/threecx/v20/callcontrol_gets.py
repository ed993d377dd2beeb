"""How the Call Control watcher spends its requests: the participant GETs behind the frames.

A frame only names the participant that changed; its row is a GET. On a busy PBX those GETs
run side by side (a bounded number at once), frames for one participant that pile up behind
its GET share the next one, and one participant's rows are never read out of order.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from functools import partial
from typing import Any

Row = Mapping[str, Any]


@dataclass(frozen=True)
class FetchPolicy:
    """How the watcher spends requests: what lets it keep up with a busy PBX.

    ``participant_gets``: participant GETs in flight at once; 0 asks for each frame's entity
    before reading the next frame, with no sharing. Twelve at once is some 500 GETs a second
    from a PBX 20 ms away; more cost a busy client more than they gain, as the HTTP pool scans
    every connection it holds on each request. ``confirm_window_s``: call-log reads for misses
    are at least this far apart, each confirming every miss pending; 0 reads once per miss on
    its own schedule.
    """

    participant_gets: int = 12
    confirm_window_s: float = 0.25


PIPELINED = FetchPolicy()
ONE_AT_A_TIME = FetchPolicy(participant_gets=0, confirm_window_s=0.0)


class ParticipantGets:
    """Participant GETs for one connection: side by side, in order per entity, shared.

    A frame whose entity's GET is not sent yet shares it (its answer will be as new as that
    frame); one sent already is followed by one more GET, after it, so an entity's rows are
    never read out of order. A removal cancels the GET not sent yet: it could only say 404.
    """

    def __init__(self, get: Callable[[str], Awaitable[Row | None]], in_flight: int) -> None:
        self._get = get
        self._slots = asyncio.Semaphore(in_flight)
        self._unsent: dict[str, asyncio.Task[Row | None]] = {}
        self._latest: dict[str, asyncio.Task[Row | None]] = {}
        self._tasks: set[asyncio.Task[Row | None]] = set()

    def upserted(self, entity: str) -> asyncio.Task[Row | None]:
        unsent = self._unsent.get(entity)
        if unsent is not None:
            return unsent
        task = asyncio.get_running_loop().create_task(self._fetch(entity, self._latest.get(entity)))
        self._unsent[entity] = self._latest[entity] = task
        self._tasks.add(task)
        task.add_done_callback(partial(self._done, entity))
        return task

    def removed(self, entity: str) -> None:
        self._unsent.pop(entity, None)

    async def _fetch(self, entity: str, previous: asyncio.Task[Row | None] | None) -> Row | None:
        me = asyncio.current_task()
        if previous is not None:
            await asyncio.wait([previous])  # its error, if any, is its own frame's to raise
        if self._unsent.get(entity) is not me:
            return None  # removed before we asked
        async with self._slots:
            if self._unsent.get(entity) is not me:
                return None
            del self._unsent[entity]
            return await self._get(entity)

    def _done(self, entity: str, task: asyncio.Task[Row | None]) -> None:
        self._tasks.discard(task)
        if self._latest.get(entity) is task:
            del self._latest[entity]
        if not task.cancelled():
            task.exception()  # raised where its frame is folded; not "never retrieved"

    async def aclose(self) -> None:
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
