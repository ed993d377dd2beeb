"""The Call Control websocket: participant events folded into call events.

Frames only name the entity that changed; the client then GETs it. Sequence numbers are
checked, and any gap or reconnect is followed by a fresh snapshot so no leg is lost.

A busy PBX sends a thousand frames a second, so the GETs run side by side (a bounded number at
once), frames for one participant that pile up behind its GET share the next one, and the rows
are folded in the order the frames came. A leg that vanishes unanswered is confirmed in the
call log, where one read answers for every miss waiting at the time.

A PBX (or what sits in front of it) may send anything: a frame of any shape, depth or type is
skipped and counted, never raised. A broken connection is retried by the domain's backoff
rule, each wait reported to the stream's observer, and the calls that ended while it was down
are read from the call log and marked as filled.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import logging
import math
from collections import deque
from collections.abc import (
    AsyncGenerator,
    Awaitable,
    Callable,
    Iterator,
    Mapping,
)
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any, Protocol

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import InvalidStatus

from app.domain.calls import CallRecord
from app.domain.clock import utc_now
from app.domain.live import CallAssembler, CallEvent, LiveState
from app.domain.reconnect import (
    DEFAULT_POLICY,
    Backoff,
    Gap,
    Random,
    ReconnectPolicy,
    StreamState,
    StreamStatus,
)
from app.domain.wire_shapes import WireSeen
from app.threecx.errors import AuthRejected, ThreeCXError
from app.threecx.tolerant_fields import rows
from app.threecx.transport import Transport
from app.threecx.v20 import mapping
from app.threecx.v20.callcontrol_attempts import RETRIED, Attempt, Attempts, why_down
from app.threecx.v20.callcontrol_frames import (
    REMOVE,
    UPSERT,
    decode_frame,
    fill_gap,
    parse_frame,
    sequence_of,
)
from app.threecx.v20.callcontrol_frames import parse_entity as parse_entity
from app.threecx.v20.callcontrol_gets import ONE_AT_A_TIME as ONE_AT_A_TIME
from app.threecx.v20.callcontrol_gets import PIPELINED as PIPELINED
from app.threecx.v20.callcontrol_gets import FetchPolicy as FetchPolicy
from app.threecx.v20.callcontrol_gets import ParticipantGets, Row
from app.threecx.v20.callcontrol_misses import MissConfirmer

log = logging.getLogger(__name__)

# The call log is read from this long before a miss: a queue call can wait minutes first.
CONFIRM_LOOKBACK = timedelta(minutes=15)
CONFIRM_LIMIT = 200
FOLDS_PER_TURN = 200  # frames read or folded at once before the loop is let go of
REMEMBERED_SETTLED = 2000  # settled calls kept to tell a gap's calls from ones already seen
SKIP_REPORT_S = 1.0  # skipped-frame counts are reported at most this often

SETTLED_STATES = frozenset({LiveState.ENDED, LiveState.MISSED, LiveState.VOICEMAIL})

StatusObserver = Callable[[StreamStatus], None]
Sleep = Callable[[float], Awaitable[None]]


@dataclass(frozen=True)
class Watching:
    """What the stream reading ``watch_calls()`` asks of the watcher it builds there."""

    observer: StatusObserver | None = None
    policy: ReconnectPolicy | None = None
    random: Random | None = None
    sleep: Sleep | None = None


_watching: contextvars.ContextVar[Watching | None] = contextvars.ContextVar(
    "call_control_watching", default=None
)


@contextlib.contextmanager
def observed(
    observer: StatusObserver,
    *,
    policy: ReconnectPolicy | None = None,
    random: Random | None = None,
    sleep: Sleep | None = None,
) -> Iterator[None]:
    """Watchers created inside this block report their status to ``observer``, and back off
    by ``policy``, ``random`` and ``sleep`` when given (tests inject them; nobody waits).

    ``PbxClient.watch_calls()`` builds its watcher itself; this lets the stream that reads it
    hear about reconnects, skipped frames and gaps without a second client interface.
    """
    token = _watching.set(Watching(observer, policy, random, sleep))
    try:
        yield
    finally:
        _watching.reset(token)


class CallControlSource(Protocol):
    wire_seen: WireSeen  # where the live-PBX shapes met are noted (doctor evidence)

    async def call_control_snapshot(self) -> list[Mapping[str, Any]]: ...

    async def call_history(
        self, since: datetime, until: datetime, *, limit: int = 1000
    ) -> list[CallRecord]: ...

    async def call_control_entity(self, entity: str) -> Mapping[str, Any] | None: ...

    async def bearer(self) -> str: ...

    def drop_bearer(self, token: str) -> None: ...


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


class CallControlWatcher:
    def __init__(
        self,
        source: CallControlSource,
        transport: Transport,
        *,
        reconnect: ReconnectPolicy | None = None,
        random: Random | None = None,
        sleep: Sleep | None = None,
        observer: StatusObserver | None = None,
        confirm_delays: tuple[float, ...] = (0.3, 1.0, 2.0, 4.0),
        clock: Callable[[], datetime] = utc_now,
        policy: FetchPolicy = PIPELINED,
    ) -> None:
        self._confirm_delays = confirm_delays
        self._source = source
        self._transport = transport
        asked = (
            _watching.get() or Watching()
        )  # what the reading stream asked, where the caller did not
        self._backoff = Backoff(reconnect or asked.policy or DEFAULT_POLICY, random or asked.random)
        self._sleep = sleep or asked.sleep or asyncio.sleep
        self._observer = observer or asked.observer
        self._status = StreamStatus()
        self._skips_reported_at = -math.inf
        self._skip_report: asyncio.TimerHandle | None = None
        self._settled: deque[CallEvent] = deque(maxlen=REMEMBERED_SETTLED)
        self._clock = clock
        self._policy = policy
        self._window = policy.confirm_window_s
        self._assembler = CallAssembler()
        self._dn_types: dict[str, str] = {}
        self.reconnects = self.gaps = 0
        self.frames = self.folded = self.upserts = 0  # frames: read, folded, upserts folded
        self.participant_gets = self.call_log_reads = 0
        self.skipped_frames = self.filled = 0

    @property
    def status(self) -> StreamStatus:
        return replace(self._status, skipped_frames=self.skipped_frames)

    @property
    def ws_url(self) -> str:
        base = self._transport.base_url
        scheme = "wss" if base.startswith("https") else "ws"
        return scheme + base[base.index(":") :] + "/callcontrol/ws"

    async def events(self) -> AsyncGenerator[CallEvent, None]:
        """Settled call events; a tentative miss is confirmed in the call log first."""
        queue: asyncio.Queue[CallEvent | BaseException] = asyncio.Queue()
        misses = MissConfirmer(
            self._read_call_log, self._confirm_delays, self._window, queue.put_nowait
        )
        reader = asyncio.create_task(self._pump(queue, misses))
        try:
            while True:
                item = await queue.get()
                if isinstance(item, BaseException):
                    raise item
                yield item
        finally:
            reader.cancel()
            await asyncio.gather(reader, return_exceptions=True)
            await misses.aclose()
            if self._skip_report is not None:  # said now: the reader's last word has the count
                self._skip_report.cancel()
                self._report_skips()

    async def _pump(
        self, queue: asyncio.Queue[CallEvent | BaseException], misses: MissConfirmer
    ) -> None:
        try:
            async for event in self._raw_events():
                if event.state is LiveState.MISSED:
                    misses.missed(event)
                else:
                    queue.put_nowait(event)
        except Exception as exc:
            queue.put_nowait(exc)

    async def _read_call_log(self, earliest: datetime) -> list[CallRecord]:
        self.call_log_reads += 1
        return await self._source.call_history(
            earliest - CONFIRM_LOOKBACK,
            self._clock() + timedelta(minutes=1),
            limit=CONFIRM_LIMIT,
        )

    # ---- the websocket ---------------------------------------------------------------------
    async def _raw_events(self) -> AsyncGenerator[CallEvent, None]:
        """Connect, resync, stream; on any break, back off and do it again, saying so."""
        attempts = Attempts()
        while True:
            attempt = Attempt()
            try:
                # Closed with this generator, so the websocket closes when the reader stops.
                async with contextlib.aclosing(self._connection(attempt, attempts)) as events:
                    async for event in events:
                        yield event
                reason, action = "the PBX closed the websocket", False
            except InvalidStatus as exc:
                if self._token_refused(exc, attempt, attempts):
                    continue
                status = exc.response.status_code
                reason, action = f"the PBX refused the websocket (HTTP {status})", False
            except AuthRejected:
                raise
            except RETRIED as exc:
                reason, action = why_down(exc, pinned=self._transport.pinned)
            await self._back_off(attempt, attempts, reason, action)

    async def _connection(
        self, attempt: Attempt, attempts: Attempts
    ) -> AsyncGenerator[CallEvent, None]:
        """One connection: subscribe, resync, fill the gap before it, then stream frames."""
        attempt.token = await self._source.bearer()
        async with self._connect(attempt.token) as ws:
            attempts.rejected = 0
            # Subscribed: from here a break is a gap whose calls the call log must fill,
            # even one during the snapshot below.
            attempt.opened_at = asyncio.get_running_loop().time()
            # Snapshot after subscribing, so nothing falls between the two.
            resynced = await self._resync()
            self._report(StreamStatus(StreamState.CONNECTED))
            for event in resynced:
                yield self._remember(event)
            if attempts.gap_start is not None:
                for event in await self._fill_gap(Gap(attempts.gap_start, self._clock())):
                    yield self._remember(event)
                attempts.gap_start = None
            frames_before, skipped_before = self.frames, self.skipped_frames
            changes = (
                self._pipelined(ws)
                if self._policy.participant_gets > 0
                else self._one_at_a_time(ws)
            )
            try:
                async with contextlib.aclosing(changes):
                    async for event in changes:
                        yield self._remember(event)
            finally:
                # Garbage frames prove nothing: a PBX sending one then closing backs off.
                attempt.delivered = (self.frames - frames_before) - (
                    self.skipped_frames - skipped_before
                )

    def _connect(self, token: str) -> connect:
        timeouts = self._transport.timeouts
        return connect(
            self.ws_url,
            additional_headers={"Authorization": f"Bearer {token}"},
            ssl=self._transport.ssl_context,
            open_timeout=timeouts.connect + timeouts.read,
            ping_interval=20,
            ping_timeout=20,
            close_timeout=2,
            max_size=2**20,
        )

    def _token_refused(self, exc: InvalidStatus, attempt: Attempt, attempts: Attempts) -> bool:
        """A 401 drops the token and retries at once; a second in a row is final."""
        if exc.response.status_code != 401 or attempt.token is None:
            return False
        self._source.drop_bearer(attempt.token)
        attempts.rejected += 1
        if attempts.rejected >= 2:
            raise AuthRejected(endpoint="/callcontrol/ws") from exc
        return True

    async def _back_off(
        self, attempt: Attempt, attempts: Attempts, reason: str, action: bool
    ) -> None:
        """Say the stream is down and wait; a connection that opened starts a gap."""
        if attempt.opened_at is not None:
            attempts.gap_start = attempts.gap_start or self._clock()
            elapsed = asyncio.get_running_loop().time() - attempt.opened_at
            self._backoff.proved_by(elapsed, attempt.delivered)
        self.reconnects += 1
        retry_status = self._backoff.reconnecting(reason, action)
        log.info("Call Control stream down: %s", retry_status.text)
        self._report(retry_status)
        await self._sleep(retry_status.delay_s)

    def _report(self, status: StreamStatus) -> None:
        status = replace(
            status, skipped_frames=self.skipped_frames, last_skip=self._status.last_skip
        )
        self._status = status
        if self._observer is not None:
            self._observer(status)

    def _skipped(self, why: str) -> None:
        """A frame we cannot use: counted and reported (at most once a second, the last of a
        burst too, so the count said is the count skipped), never raised."""
        self.skipped_frames += 1
        log.warning("Skipped a Call Control frame: %s", why)
        self._status = replace(self._status, last_skip=why)
        if self._skip_report is not None:
            return  # a report of the burst is due already
        loop = asyncio.get_running_loop()
        wait = self._skips_reported_at + SKIP_REPORT_S - loop.time()
        if wait <= 0:
            self._report_skips()
        else:
            self._skip_report = loop.call_later(wait, self._report_skips)

    def _report_skips(self) -> None:
        self._skip_report = None
        self._skips_reported_at = asyncio.get_running_loop().time()
        self._report(self._status)

    def _remember(self, event: CallEvent) -> CallEvent:
        if event.state in SETTLED_STATES:
            self._settled.append(event)
        return event

    async def _fill_gap(self, gap: Gap) -> list[CallEvent]:
        try:
            events = await fill_gap(self._source.call_history, gap, self._settled)
        except ThreeCXError as exc:
            log.warning("Could not read the call log for the gap %s: %s", gap, exc.message)
            self._report(
                replace(self._status, reason=f"calls during the gap not read: {exc.message}")
            )
            return []
        self.call_log_reads += 1
        self.filled += len(events)
        return events

    async def _one_at_a_time(self, ws: ClientConnection) -> AsyncGenerator[CallEvent, None]:
        """Each frame's GET awaited before the next frame is read."""
        last_sequence: int | None = None
        async for message in ws:
            self.frames += 1
            frame = self._decode(message)
            if frame is None:
                continue
            sequence = sequence_of(frame)
            if sequence is not None:
                if self._gap(last_sequence, sequence):
                    for event in await self._resync():
                        yield event
                last_sequence = sequence
            for event in await self._apply(frame.get("event")):
                yield event

    async def _pipelined(self, ws: ClientConnection) -> AsyncGenerator[CallEvent, None]:
        """Frames read as they come, their GETs side by side, their rows folded in order."""
        changes: asyncio.Queue[_Change | _Resync | _Closed] = asyncio.Queue()
        gets = ParticipantGets(self._counted_get, self._policy.participant_gets)
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
        gets: ParticipantGets,
    ) -> None:
        last_sequence: int | None = None
        try:
            async for message in ws:
                self.frames += 1
                if self.frames % FOLDS_PER_TURN == 0:
                    await asyncio.sleep(0)  # frames buffered during a stall: read in slices
                frame = self._decode(message)
                if frame is None:
                    continue
                sequence = sequence_of(frame)
                if sequence is not None:
                    if self._gap(last_sequence, sequence):
                        resync = _Resync()
                        changes.put_nowait(resync)
                        await resync.done.wait()  # GETs after a gap are newer than its snapshot
                    last_sequence = sequence
                change = self._planned(frame.get("event"), gets)
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

    def _decode(self, message: str | bytes) -> dict[str, Any] | None:
        frame, why = decode_frame(message)
        if why:
            self._skipped(why)
        return frame

    def _parsed(self, event: Any) -> tuple[int, str, str, int] | None:
        parsed = parse_frame(event)
        if parsed is None:
            self._skipped("its event is not a participant upsert or removal")
        return parsed

    def _planned(self, event: Any, gets: ParticipantGets) -> _Change | None:
        parsed = self._parsed(event)
        if parsed is None:
            return None
        kind, entity, dn, participant_id = parsed
        if kind == REMOVE:
            gets.removed(entity)
            return _Change(dn, participant_id, None)
        return _Change(dn, participant_id, gets.upserted(entity))

    async def _apply(self, event: Any) -> list[CallEvent]:
        parsed = self._parsed(event)
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
