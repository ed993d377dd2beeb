"""Live events without Call Control: poll the call log and report each call once it settles."""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import datetime, timedelta

from app.domain.calls import CallDirection, CallOutcome, CallRecord
from app.domain.clock import utc_now
from app.domain.live import CallEvent, LiveState
from app.threecx.errors import (
    AuthRejected,
    Forbidden,
    MalformedResponse,
    ThreeCXError,
    TokenRevoked,
)

log = logging.getLogger(__name__)

HistoryFetch = Callable[..., Awaitable[list[CallRecord]]]

_STATE_BY_OUTCOME = {
    CallOutcome.ANSWERED: LiveState.ENDED,
    CallOutcome.MISSED: LiveState.MISSED,
    CallOutcome.VOICEMAIL: LiveState.VOICEMAIL,
    CallOutcome.UNANSWERED_OUTBOUND: LiveState.ENDED,
    CallOutcome.UNKNOWN: LiveState.ENDED,
}


def event_from_call(call: CallRecord, at: datetime) -> CallEvent:
    return CallEvent(
        call_id=call.call_id,
        state=_STATE_BY_OUTCOME[call.outcome],
        at=at,
        direction=call.direction,
        external_number=call.external_number,
        extension=call.extension,
        source="call-log",
    )


class CallLogPoller:
    """Calls appear in the log when they end, so every event it yields is already settled."""

    def __init__(
        self,
        fetch: HistoryFetch,
        *,
        interval_s: float = 5.0,
        overlap: timedelta = timedelta(minutes=2),
        remember: int = 5000,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self._fetch = fetch
        self._interval_s = interval_s
        self._overlap = overlap
        self._remember = remember
        self._clock = clock
        self._seen: OrderedDict[str, None] = OrderedDict()
        self.polls = 0

    async def events(self) -> AsyncIterator[CallEvent]:
        started = self._clock()
        since = started - self._overlap
        first = True
        while True:
            now = self._clock()
            try:
                calls = await self._fetch(since, now + timedelta(minutes=1), limit=500)
            except (AuthRejected, Forbidden, TokenRevoked, MalformedResponse):
                # Not a blip: a refused key, or a PBX that answers what cannot be read (endless
                # paging, pages, garbage). The stream ends so its reader says so and backs off.
                raise
            except ThreeCXError as exc:
                log.warning("Polling the call log failed: %s", exc.message)
                calls = []
            self.polls += 1
            for call in sorted(calls, key=lambda c: c.started_at or now):
                if call.call_id in self._seen:
                    continue
                self._remember_id(call.call_id)
                # Calls already in the log when watching began are history, not live events.
                if (
                    first
                    and call.started_at is not None
                    and call.started_at < started - self._overlap
                ):
                    continue
                if call.direction is CallDirection.UNKNOWN and not call.caller:
                    continue
                yield event_from_call(call, now)
            first = False
            since = now - self._overlap
            await asyncio.sleep(self._interval_s)

    def _remember_id(self, call_id: str) -> None:
        self._seen[call_id] = None
        while len(self._seen) > self._remember:
            self._seen.popitem(last=False)
