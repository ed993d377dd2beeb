"""Follow a call's recording from hang-up to ready, the way a well-built bridge would.

3CX writes the file after the call ends (field doc, cause 4). The watcher looks for it on the
backoff schedule a bridge should use and records when it first became downloadable, so the
engineer can compare that with the bridge's own retry window.
"""

from __future__ import annotations

import asyncio
import enum
import logging
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from app.domain.calls import CallRecord, find_logged_call
from app.domain.clock import utc_now
from app.domain.live import CallEvent
from app.domain.recordings import recording_for_call, retry_delays
from app.threecx.client import PbxClient
from app.threecx.errors import AuthRejected, Forbidden, RecordingFileMissing, ThreeCXError

log = logging.getLogger(__name__)

# How far back to look for the call in the log: calls rarely last longer than this.
CALL_LOOKBACK = timedelta(hours=2)
# A first look later than this (a polled call log reports calls late) only bounds the time.
LATE_FIRST_LOOK_S = 1.0


class JourneyState(enum.StrEnum):
    PENDING = "pending"
    POLLING = "polling"
    READY = "ready"
    MISSING = "missing"  # not downloadable by the end of the watch
    BLOCKED = "blocked"  # the API user may not fetch recordings (cause 2)


@dataclass(frozen=True)
class PollAttempt:
    number: int
    after_s: float  # since hang-up
    found: bool
    note: str = ""


@dataclass(frozen=True)
class RecordingJourney:
    """One call's recording, from hang-up on."""

    call_id: str
    hung_up_at: datetime
    extension: str | None
    external_number: str | None
    state: JourneyState = JourneyState.PENDING
    attempts: tuple[PollAttempt, ...] = ()
    recording_id: int | None = None
    ready_after_s: float | None = None
    # True when the file was already there at the first look: it appeared no later than that.
    upper_bound_only: bool = False
    call: CallRecord | None = field(default=None, compare=False)
    error: str | None = None

    @property
    def located(self) -> bool:
        """The call itself was found in the call log (so its recording could be followed)."""
        return self.call is not None

    def missed_at_or_after(self, window_s: float) -> bool:
        """A look at or past ``window_s`` still found nothing: the file really came later."""
        return any(not a.found and a.after_s >= window_s - 0.05 for a in self.attempts)

    def describe(self) -> str:
        who = f"call {self.call_id}" + (f" on extension {self.extension}" if self.extension else "")
        tries = len(self.attempts)
        if self.state is JourneyState.READY and self.ready_after_s is not None:
            if self.upper_bound_only:
                return (
                    f"{who}: recording already there at the first look, "
                    f"+{self.ready_after_s:.1f} s after hang-up"
                )
            return (
                f"{who}: recording ready at +{self.ready_after_s:.1f} s "
                f"(attempt {tries} of the backoff)"
            )
        if self.state is JourneyState.MISSING:
            last = self.attempts[-1].after_s if self.attempts else 0.0
            if not self.located:
                return (
                    f"{who}: never found in the call log ({tries} looks, the last at +{last:.1f} s)"
                )
            return f"{who}: no recording after {tries} attempts, the last at +{last:.1f} s"
        if self.state is JourneyState.BLOCKED:
            return f"{who}: the API user may not fetch recordings ({self.error})"
        if self.attempts:
            latest = self.attempts[-1]
            return f"{who}: polling, attempt {latest.number} at +{latest.after_s:.1f} s"
        return f"{who}: pending"


Clock = Callable[[], datetime]


class RecordingWatcher:
    """Polls for one call's recording until it is downloadable or ``limit_s`` has passed."""

    def __init__(
        self,
        client: PbxClient,
        *,
        limit_s: float,
        window_s: float | None = None,
        on_update: Callable[[RecordingJourney], None] | None = None,
        clock: Clock = utc_now,
    ) -> None:
        self._client = client
        self._limit_s = limit_s
        # Look exactly at the bridge's deadline too, so "later than the window" is a fact.
        self._schedule = sorted(
            set(retry_delays(limit_s)) | ({round(window_s, 3)} if window_s else set())
        )
        self._on_update = on_update
        self._clock = clock

    async def follow(self, event: CallEvent) -> RecordingJourney:
        journey = RecordingJourney(
            call_id=event.call_id,
            hung_up_at=event.at,
            extension=event.extension,
            external_number=event.external_number,
        )
        self._emit(journey)
        for number, offset in enumerate(self._schedule, start=1):
            wait = offset - self._elapsed(journey)
            if wait > 0:
                await asyncio.sleep(wait)
            journey = await self._look(journey, number, from_call_log=event.source == "call-log")
            self._emit(journey)
            if journey.state in (JourneyState.READY, JourneyState.BLOCKED):
                return journey
        journey = replace(journey, state=JourneyState.MISSING)
        self._emit(journey)
        return journey

    def _elapsed(self, journey: RecordingJourney) -> float:
        return (self._clock() - journey.hung_up_at).total_seconds()

    async def _look(
        self, journey: RecordingJourney, number: int, *, from_call_log: bool
    ) -> RecordingJourney:
        now = self._clock()
        try:
            call = await self._find_call(journey, now)
        except (AuthRejected, Forbidden) as exc:
            return replace(journey, state=JourneyState.BLOCKED, error=exc.message)
        except ThreeCXError as exc:
            return self._attempt(journey, number, False, f"call log: {exc.what}")
        if call is not None and from_call_log and journey.call is None:
            # A polled event arrives late; the log's own end time is the real hang-up.
            ended = _end_of(call)
            if ended is not None and ended < journey.hung_up_at:
                journey = replace(journey, hung_up_at=ended)
        journey = replace(journey, call=call or journey.call)
        if call is None:
            return self._attempt(journey, number, False, "not in the call log yet")
        try:
            rec_id = await self._recording_id(call, journey)
        except (AuthRejected, Forbidden) as exc:
            return replace(journey, state=JourneyState.BLOCKED, error=exc.message)
        except ThreeCXError as exc:
            return self._attempt(journey, number, False, f"recordings: {exc.what}")
        if rec_id is None:
            return self._attempt(journey, number, False, "no recording referenced yet")
        try:
            await self._client.download_recording(rec_id)
        except RecordingFileMissing:
            return self._attempt(journey, number, False, f"recording {rec_id} not written yet")
        except (AuthRejected, Forbidden) as exc:
            return replace(journey, state=JourneyState.BLOCKED, error=exc.message)
        except ThreeCXError as exc:
            return self._attempt(journey, number, False, exc.what)
        journey = self._attempt(journey, number, True, f"recording {rec_id} downloadable")
        return replace(
            journey,
            state=JourneyState.READY,
            recording_id=rec_id,
            ready_after_s=journey.attempts[-1].after_s,
            upper_bound_only=number == 1 and journey.attempts[-1].after_s > LATE_FIRST_LOOK_S,
        )

    def _attempt(
        self, journey: RecordingJourney, number: int, found: bool, note: str
    ) -> RecordingJourney:
        attempt = PollAttempt(number, round(self._elapsed(journey), 2), found, note)
        return replace(journey, state=JourneyState.POLLING, attempts=(*journey.attempts, attempt))

    async def _recording_id(self, call: CallRecord, journey: RecordingJourney) -> int | None:
        if call.recording_ids:
            return call.recording_ids[0]
        if self._client.generation != "v18":
            return None
        # v18's call log does not reference recordings: look for one by number and time.
        recent = await self._client.recordings(since=journey.hung_up_at - CALL_LOOKBACK, limit=500)
        found = recording_for_call(call, recent)
        return found.id if found else None

    async def _find_call(self, journey: RecordingJourney, now: datetime) -> CallRecord | None:
        calls = await self._client.call_history(
            journey.hung_up_at - CALL_LOOKBACK, now + timedelta(minutes=1), limit=2000
        )
        return logged_call_of(journey, calls)

    def _emit(self, journey: RecordingJourney) -> None:
        if self._on_update is not None:
            self._on_update(journey)


def logged_call_of(journey: RecordingJourney, calls: list[CallRecord]) -> CallRecord | None:
    """The journey's call in the call log: by id when the log's ids are Call Control's, else
    by number, extension and time (API-NOTES §9.1: that they agree is unconfirmed)."""
    found = find_logged_call(
        calls,
        journey.call_id,
        number=journey.external_number,
        extension=journey.extension,
        ended_at=journey.hung_up_at,
    )
    return found[0] if found else None


def _end_of(call: CallRecord) -> datetime | None:
    if call.started_at is None:
        return None
    ringing = call.ringing or timedelta()
    talking = call.talking or timedelta()
    return call.started_at + ringing + talking
