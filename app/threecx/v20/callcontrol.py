"""The Call Control websocket: participant events folded into call events.

Frames only name the entity that changed; the client then GETs it. Sequence numbers are
checked, and any gap or reconnect is followed by a fresh snapshot so no leg is lost.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Mapping
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any, Protocol

from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus, WebSocketException

from app.domain.calls import CallOutcome, CallRecord
from app.domain.clock import utc_now
from app.domain.live import CallAssembler, CallEvent, LiveState
from app.threecx.errors import AuthRejected, ThreeCXError
from app.threecx.transport import Transport
from app.threecx.v20 import mapping
from app.threecx.wire import rows

log = logging.getLogger("pbx.threecx.callcontrol")

UPSERT = 0
REMOVE = 1


class CallControlSource(Protocol):
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


class CallControlWatcher:
    def __init__(
        self,
        source: CallControlSource,
        transport: Transport,
        *,
        reconnect_delays: tuple[float, ...] = (0.2, 0.5, 1.0, 2.0, 5.0),
        confirm_delays: tuple[float, ...] = (0.3, 1.0, 2.0, 4.0),
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self._confirm_delays = confirm_delays
        self._confirmations: set[asyncio.Task[None]] = set()
        self._source = source
        self._transport = transport
        self._delays = reconnect_delays
        self._clock = clock
        self._assembler = CallAssembler()
        self._dn_types: dict[str, str] = {}
        self.reconnects = 0
        self.gaps = 0

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
                if event.state is LiveState.MISSED:
                    task = asyncio.create_task(self._confirm(event, queue))
                    self._confirmations.add(task)
                    task.add_done_callback(self._confirmations.discard)
                else:
                    queue.put_nowait(event)
        except Exception as exc:
            queue.put_nowait(exc)

    async def _confirm(
        self, event: CallEvent, queue: asyncio.Queue[CallEvent | BaseException]
    ) -> None:
        """A leg that vanished unanswered may have gone to voicemail: ask the call log."""
        for delay in self._confirm_delays:
            await asyncio.sleep(delay)
            try:
                calls = await self._source.call_history(
                    event.at - timedelta(minutes=15),
                    self._clock() + timedelta(minutes=1),
                    limit=200,
                )
            except ThreeCXError as exc:
                log.info("Could not confirm missed call %s: %s", event.call_id, exc.message)
                break
            logged = next((c for c in calls if c.call_id == event.call_id), None)
            if logged is not None:
                state = _SETTLED.get(logged.outcome, LiveState.MISSED)
                queue.put_nowait(replace(event, state=state, source="call-control+call-log"))
                return
        queue.put_nowait(event)

    async def _raw_events(self) -> AsyncIterator[CallEvent]:
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
                    last_sequence: int | None = None
                    async for message in ws:
                        frame = _decode(message)
                        if frame is None:
                            continue
                        sequence = frame.get("sequence")
                        if isinstance(sequence, int):
                            if last_sequence is not None and sequence != last_sequence + 1:
                                self.gaps += 1
                                log.info(
                                    "Call Control sequence gap %s → %s; resyncing",
                                    last_sequence,
                                    sequence,
                                )
                                for event in await self._resync():
                                    yield event
                            last_sequence = sequence
                        for event in await self._apply(frame.get("event")):
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
                participant = mapping.participant_from_row(row, dn_type)
                if participant is not None:
                    present.add(participant.key)
                    events.extend(self._assembler.upsert(participant, now))
        for dn, participant_id in self._assembler.legs() - present:
            events.extend(self._assembler.remove(dn, participant_id, now))
        return events

    async def _apply(self, event: Any) -> list[CallEvent]:
        if not isinstance(event, Mapping):
            return []
        entity = event.get("entity")
        parsed = parse_entity(entity) if isinstance(entity, str) else None
        if parsed is None:
            return []
        dn, participant_id = parsed
        now = self._clock()
        kind = event.get("event_type")
        if kind == REMOVE:
            return self._assembler.remove(dn, participant_id, now)
        if kind != UPSERT:
            return []
        row = await self._source.call_control_entity(str(entity))
        if row is None:  # gone before we asked: it was removed
            return self._assembler.remove(dn, participant_id, self._clock())
        participant = mapping.participant_from_row(row, self._dn_types.get(dn, ""))
        if participant is None:
            return []
        return self._assembler.upsert(participant, self._clock())


_SETTLED = {
    CallOutcome.ANSWERED: LiveState.ENDED,
    CallOutcome.VOICEMAIL: LiveState.VOICEMAIL,
    CallOutcome.MISSED: LiveState.MISSED,
}


def _decode(message: str | bytes) -> dict[str, Any] | None:
    try:
        frame = json.loads(message)
    except (ValueError, UnicodeDecodeError):
        log.warning("Ignored a Call Control frame that is not JSON")
        return None
    return frame if isinstance(frame, dict) else None
