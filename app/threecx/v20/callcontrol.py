"""The Call Control websocket: participant events folded into call events.

Frames only name the entity that changed; the client then GETs it. Sequence numbers are
checked, and any gap or reconnect is followed by a fresh snapshot so no leg is lost.

A busy PBX sends a thousand frames a second, so the GETs run side by side (a bounded number at
once), frames for one participant that pile up behind its GET share the next one, and the rows
are folded in the order the frames came. A leg that vanishes unanswered is confirmed in the
call log, where one read answers for every miss waiting at the time.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import math
from collections.abc import AsyncGenerator, Awaitable, Callable, Coroutine, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from functools import partial
from typing import Any, Protocol

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import InvalidStatus, WebSocketException

from app.domain.calls import CallOutcome, CallRecord, find_logged_call
from app.domain.clock import utc_now
from app.domain.live import CallAssembler, CallEvent, LiveState
from app.domain.wire_shapes import WireSeen
from app.threecx.errors import AuthRejected, ThreeCXError
from app.threecx.transport import Transport
from app.threecx.v20 import mapping
from app.threecx.wire import rows

log = logging.getLogger("pbx.threecx.callcontrol")

UPSERT = 0
REMOVE = 1

Row = Mapping[str, Any]

# The call log is read from this long before a miss: a queue call can wait minutes first.
CONFIRM_LOOKBACK = timedelta(minutes=15)
CONFIRM_LIMIT = 200
FOLDS_PER_TURN = 200  # frames read or folded at once before the loop is let go of


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


class CallControlSource(Protocol):
    wire_seen: WireSeen  # where the live-PBX shapes met are noted (doctor evidence)

    async def call_control_snapshot(self) -> list[Mapping[str, Any]]: ...

    async def call_history(
        self, since: datetime, until: datetime, *, limit: int = 1000
    ) -> list[CallRecord]: ...

    async def call_control_entity(self, entity: str) -> Mapping[str, Any] | None: ...

    async def bearer(self) -> str: ...

    def drop_bearer(self, token: str) -> None: ...


def parse_entity(entity: str) -> tuple[str, int] | None:
    """``/callcontrol/150/participants/8106`` → ("150", 8106)."""
    parts = [p for p in entity.split("/") if p]
    if len(parts) == 4 and parts[0] == "callcontrol" and parts[2] == "participants":
        try:
            return parts[1], int(parts[3])
        except ValueError:
            return None
    return None


@dataclass(frozen=True, slots=True)
class _Change:
    """One frame: a participant upserted (``row`` is its GET) or removed (``row`` is None)."""

    dn: str
    participant_id: int
    row: Awaitable[Row | None] | None


@dataclass(slots=True)
class _Resync:
    """A sequence gap: the frames after it are read once the snapshot is in."""

    done: asyncio.Event = field(default_factory=asyncio.Event)


@dataclass(frozen=True, slots=True)
class _Closed:
    error: Exception | None


@dataclass(slots=True)
class _Miss:
    event: CallEvent
    due: float  # loop time of its next look in the call log
    looks: int = 0


class _ParticipantGets:
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


class CallControlWatcher:
    def __init__(
        self,
        source: CallControlSource,
        transport: Transport,
        *,
        reconnect_delays: tuple[float, ...] = (0.2, 0.5, 1.0, 2.0, 5.0),
        confirm_delays: tuple[float, ...] = (0.3, 1.0, 2.0, 4.0),
        clock: Callable[[], datetime] = utc_now,
        policy: FetchPolicy = PIPELINED,
    ) -> None:
        self._confirm_delays = confirm_delays
        self._confirmations: set[asyncio.Task[None]] = set()
        self._source = source
        self._transport = transport
        self._delays = reconnect_delays
        self._clock = clock
        self._policy = policy
        self._window = policy.confirm_window_s
        self._assembler = CallAssembler()
        self._dn_types: dict[str, str] = {}
        self._misses: list[_Miss] = []  # waiting for a batched call-log read
        self._confirmer: asyncio.Task[None] | None = None
        self.reconnects = self.gaps = 0
        self.frames = self.folded = self.upserts = 0  # frames: read, folded, upserts folded
        self.participant_gets = self.call_log_reads = 0

    @property
    def ws_url(self) -> str:
        base = self._transport.base_url
        scheme = "wss" if base.startswith("https") else "ws"
        return scheme + base[base.index(":") :] + "/callcontrol/ws"

    async def events(self) -> AsyncGenerator[CallEvent, None]:
        """Settled call events; a tentative miss is confirmed in the call log first."""
        queue: asyncio.Queue[CallEvent | BaseException] = asyncio.Queue()
        reader = asyncio.create_task(self._pump(queue))
        try:
            while True:
                item = await queue.get()
                if isinstance(item, BaseException):
                    raise item
                yield item
        finally:
            tasks = [reader, *self._confirmations]
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

    async def _pump(self, queue: asyncio.Queue[CallEvent | BaseException]) -> None:
        try:
            async for event in self._raw_events():
                if event.state is not LiveState.MISSED:
                    queue.put_nowait(event)
                elif self._window > 0:
                    self._miss_pending(event, queue)
                else:
                    self._keep(self._confirm(event, queue))
        except Exception as exc:
            queue.put_nowait(exc)

    def _keep(self, coro: Coroutine[Any, Any, None]) -> asyncio.Task[None]:
        task = asyncio.get_running_loop().create_task(coro)
        self._confirmations.add(task)
        task.add_done_callback(self._confirmations.discard)
        return task

    # ---- missed calls: the call log's word -------------------------------------------------
    async def _confirm(
        self, event: CallEvent, queue: asyncio.Queue[CallEvent | BaseException]
    ) -> None:
        """A leg that vanished unanswered may have gone to voicemail: ask the call log."""
        for delay in self._confirm_delays:
            await asyncio.sleep(delay)
            try:
                calls = await self._read_call_log(event.at)
            except ThreeCXError as exc:
                log.info("Could not confirm missed call %s: %s", event.call_id, exc.message)
                break
            logged = _logged(event, calls)
            if logged is not None:
                queue.put_nowait(_settled(event, logged))
                return
        queue.put_nowait(event)

    def _miss_pending(
        self, event: CallEvent, queue: asyncio.Queue[CallEvent | BaseException]
    ) -> None:
        due = asyncio.get_running_loop().time() + self._confirm_delays[0]
        self._misses.append(_Miss(event, due))
        if self._confirmer is None or self._confirmer.done():
            self._confirmer = self._keep(self._confirm_pending(queue))

    async def _confirm_pending(self, queue: asyncio.Queue[CallEvent | BaseException]) -> None:
        """One call-log read for every miss pending; each still gets its looks on schedule.

        Reads are one at a time and ``confirm_window_s`` apart, so a PBX slow to answer them
        is asked less often, not more.
        """
        loop = asyncio.get_running_loop()
        last_read = -math.inf  # when the last read ended
        while self._misses:
            due = min(miss.due for miss in self._misses)
            await asyncio.sleep(max(0.0, due - loop.time(), last_read + self._window - loop.time()))
            pending = list(self._misses)
            looking = {id(miss) for miss in pending if miss.due <= loop.time()}
            try:
                calls = await self._read_call_log(min(miss.event.at for miss in pending))
            except ThreeCXError as exc:
                log.info("Could not confirm %d missed call(s): %s", len(looking), exc.message)
                calls = None
            last_read = loop.time()
            done: list[tuple[_Miss, CallRecord | None]] = []
            for miss in pending:
                logged = _logged(miss.event, calls or [])
                if logged is not None:
                    done.append((miss, logged))
                elif id(miss) in looking:
                    miss.looks += 1
                    if calls is None or miss.looks >= len(self._confirm_delays):
                        done.append((miss, None))
                    else:
                        miss.due = last_read + self._confirm_delays[miss.looks]
            self._settle(queue, done)

    def _settle(
        self,
        queue: asyncio.Queue[CallEvent | BaseException],
        done: Sequence[tuple[_Miss, CallRecord | None]],
    ) -> None:
        settled = {id(miss) for miss, _ in done}
        self._misses = [miss for miss in self._misses if id(miss) not in settled]
        for miss, logged in done:
            queue.put_nowait(miss.event if logged is None else _settled(miss.event, logged))

    async def _read_call_log(self, earliest: datetime) -> list[CallRecord]:
        self.call_log_reads += 1
        return await self._source.call_history(
            earliest - CONFIRM_LOOKBACK,
            self._clock() + timedelta(minutes=1),
            limit=CONFIRM_LIMIT,
        )

    # ---- the websocket ---------------------------------------------------------------------
    async def _raw_events(self) -> AsyncGenerator[CallEvent, None]:
        failures = 0
        while True:
            token = await self._source.bearer()
            try:
                async with connect(
                    self.ws_url,
                    additional_headers={"Authorization": f"Bearer {token}"},
                    ssl=self._transport.ssl_context,
                    open_timeout=self._transport.timeouts.connect + self._transport.timeouts.read,
                    ping_interval=20,
                    ping_timeout=20,
                    close_timeout=2,
                    max_size=2**20,
                ) as ws:
                    # Snapshot after subscribing, so nothing falls between the two.
                    for event in await self._resync():
                        yield event
                    failures = 0
                    changes = (
                        self._pipelined(ws)
                        if self._policy.participant_gets > 0
                        else self._one_at_a_time(ws)
                    )
                    async with contextlib.aclosing(changes):
                        async for event in changes:
                            yield event
            except InvalidStatus as exc:
                if exc.response.status_code == 401:
                    self._source.drop_bearer(token)
                    failures += 1
                    if failures >= 2:
                        raise AuthRejected(endpoint="/callcontrol/ws") from exc
                    continue
                log.warning("Call Control websocket refused: HTTP %s", exc.response.status_code)
            except (WebSocketException, OSError, TimeoutError) as exc:
                log.info("Call Control websocket dropped (%s); reconnecting", type(exc).__name__)
            except ThreeCXError as exc:
                if isinstance(exc, AuthRejected):
                    raise
                log.warning("Call Control resync failed: %s", exc.message)
            self.reconnects += 1
            delay = self._delays[min(failures, len(self._delays) - 1)]
            failures += 1
            await asyncio.sleep(delay)

    async def _one_at_a_time(self, ws: ClientConnection) -> AsyncGenerator[CallEvent, None]:
        """Each frame's GET awaited before the next frame is read."""
        last_sequence: int | None = None
        async for message in ws:
            self.frames += 1
            frame = _decode(message)
            if frame is None:
                continue
            sequence = frame.get("sequence")
            if isinstance(sequence, int):
                if self._gap(last_sequence, sequence):
                    for event in await self._resync():
                        yield event
                last_sequence = sequence
            for event in await self._apply(frame.get("event")):
                yield event

    async def _pipelined(self, ws: ClientConnection) -> AsyncGenerator[CallEvent, None]:
        """Frames read as they come, their GETs side by side, their rows folded in order."""
        changes: asyncio.Queue[_Change | _Resync | _Closed] = asyncio.Queue()
        gets = _ParticipantGets(self._counted_get, self._policy.participant_gets)
        reader = asyncio.create_task(self._read(ws, changes, gets))
        try:
            folded = 0
            while True:
                change = await changes.get()
                if isinstance(change, _Closed):
                    if change.error is not None:
                        raise change.error
                    return
                if isinstance(change, _Resync):
                    events = await self._resync()
                    change.done.set()
                else:
                    events = await self._fold(change)
                for event in events:
                    yield event
                folded += 1
                if folded % FOLDS_PER_TURN == 0:
                    await asyncio.sleep(0)  # a backlog folds in slices: the GUI stays live
        finally:
            reader.cancel()
            await asyncio.gather(reader, return_exceptions=True)
            await gets.aclose()

    async def _read(
        self,
        ws: ClientConnection,
        changes: asyncio.Queue[_Change | _Resync | _Closed],
        gets: _ParticipantGets,
    ) -> None:
        last_sequence: int | None = None
        try:
            async for message in ws:
                self.frames += 1
                if self.frames % FOLDS_PER_TURN == 0:
                    await asyncio.sleep(0)  # frames buffered during a stall: read in slices
                frame = _decode(message)
                if frame is None:
                    continue
                sequence = frame.get("sequence")
                if isinstance(sequence, int):
                    if self._gap(last_sequence, sequence):
                        resync = _Resync()
                        changes.put_nowait(resync)
                        await resync.done.wait()  # GETs after a gap are newer than its snapshot
                    last_sequence = sequence
                change = _planned(frame.get("event"), gets)
                if change is not None:
                    changes.put_nowait(change)
            changes.put_nowait(_Closed(None))
        except Exception as exc:
            changes.put_nowait(_Closed(exc))

    async def _counted_get(self, entity: str) -> Row | None:
        self.participant_gets += 1
        return await self._source.call_control_entity(entity)

    def _gap(self, last: int | None, sequence: int) -> bool:
        if last is None or sequence == last + 1:
            return False
        self.gaps += 1
        log.info("Call Control sequence gap %s → %s; resyncing", last, sequence)
        return True

    async def _resync(self) -> list[CallEvent]:
        snapshot = await self._source.call_control_snapshot()
        now = self._clock()
        events: list[CallEvent] = []
        present: set[tuple[str, int]] = set()
        for dn_row in snapshot:
            dn = str(dn_row.get("dn", ""))
            dn_type = str(dn_row.get("type", "") or "")
            if dn:
                self._dn_types[dn] = dn_type
            for row in rows(dn_row, key="participants"):
                participant = mapping.participant_from_row(row, dn_type, self._source.wire_seen)
                if participant is not None:
                    present.add(participant.key)
                    events.extend(self._assembler.upsert(participant, now))
        for dn, participant_id in self._assembler.legs() - present:
            events.extend(self._assembler.remove(dn, participant_id, now))
        return events

    async def _apply(self, event: Any) -> list[CallEvent]:
        parsed = _parse_frame(event)
        if parsed is None:
            return []
        kind, entity, dn, participant_id = parsed
        row = self._counted_get(entity) if kind == UPSERT else None
        return await self._fold(_Change(dn, participant_id, row))

    async def _fold(self, change: _Change) -> list[CallEvent]:
        self.folded += 1
        if change.row is None:
            return self._assembler.remove(change.dn, change.participant_id, self._clock())
        self.upserts += 1
        return self._upserted(change.dn, change.participant_id, await change.row)

    def _upserted(self, dn: str, participant_id: int, row: Row | None) -> list[CallEvent]:
        if row is None:  # gone before we asked: it was removed
            return self._assembler.remove(dn, participant_id, self._clock())
        participant = mapping.participant_from_row(
            row, self._dn_types.get(dn, ""), self._source.wire_seen
        )
        if participant is None:
            return []
        return self._assembler.upsert(participant, self._clock())


def _logged(event: CallEvent, calls: list[CallRecord]) -> CallRecord | None:
    """The miss's call in the call log, however the PBX numbers its calls (the domain's rule).

    With the caller's number known, the extension is left out: a queue's miss is logged on
    the queue, while Call Control named the first agent it rang.
    """
    found = find_logged_call(
        calls,
        event.call_id,
        number=event.external_number,
        extension=None if event.external_number else event.extension,
        ended_at=event.at,
    )
    return found[0] if found else None


def _parse_frame(event: Any) -> tuple[int, str, str, int] | None:
    """(event type, entity, dn, participant id) of an upsert or removal frame."""
    if not isinstance(event, Mapping):
        return None
    entity = event.get("entity")
    parsed = parse_entity(entity) if isinstance(entity, str) else None
    kind = event.get("event_type")
    if parsed is None or kind not in (UPSERT, REMOVE):
        return None
    return kind, str(entity), parsed[0], parsed[1]


def _planned(event: Any, gets: _ParticipantGets) -> _Change | None:
    parsed = _parse_frame(event)
    if parsed is None:
        return None
    kind, entity, dn, participant_id = parsed
    if kind == REMOVE:
        gets.removed(entity)
        return _Change(dn, participant_id, None)
    return _Change(dn, participant_id, gets.upserted(entity))


_SETTLED = {
    CallOutcome.ANSWERED: LiveState.ENDED,
    CallOutcome.VOICEMAIL: LiveState.VOICEMAIL,
    CallOutcome.MISSED: LiveState.MISSED,
}


def _settled(event: CallEvent, logged: CallRecord) -> CallEvent:
    state = _SETTLED.get(logged.outcome, LiveState.MISSED)
    return replace(event, state=state, source="call-control+call-log")


def _decode(message: str | bytes) -> dict[str, Any] | None:
    try:
        frame = json.loads(message)
    except (ValueError, UnicodeDecodeError):
        log.warning("Ignored a Call Control frame that is not JSON")
        return None
    return frame if isinstance(frame, dict) else None
