"""Cause 4: the bridge asked before 3CX finished writing the recording file.

Watch for calls to end (Call Control, or the call log where Call Control is off), then poll
for each recording on a bridge's backoff schedule and time when it becomes downloadable. The
verdict is the domain's (app.domain.causes.late_recording).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from app.domain.causes.late_recording import (
    Followed,
    FollowedRecording,
    LateRecordingFacts,
    judge_late_recording,
    not_watched,
)
from app.domain.causes.recording import unrecorded_reason
from app.domain.diagnosis import CheckResult
from app.domain.extensions import Extension
from app.domain.live import LiveState
from app.services.doctor.check_context import CheckContext
from app.services.facts.outcome import attempt
from app.services.feed.call_control import monitors_nothing
from app.services.recordings.watcher import JourneyState, RecordingJourney, RecordingWatcher
from app.threecx.errors import DownloadUnconfirmed, ThreeCXError

log = logging.getLogger(__name__)


async def check_late_recording(ctx: CheckContext) -> CheckResult:
    options = ctx.options
    if options.watch_s <= 0:
        return not_watched()
    extensions = await attempt(ctx.facts.extensions())
    unmonitored = await monitors_nothing(ctx.client)
    watch = _Watch(ctx, {e.number: e for e in extensions.value or []})
    watch_error = await watch.run(options.watch_s)
    journeys = await watch.journeys()
    details: dict[str, Any] = {
        "bridge_window_s": options.bridge_window_s,
        "watch_s": options.watch_s,
        "journeys": [_journey_json(j) for j in journeys],
    }
    return judge_late_recording(
        LateRecordingFacts(
            watch_s=options.watch_s,
            window_s=options.bridge_window_s,
            limit_s=options.watch_limit_s,
            source=watch.source,
            followed=tuple(f for f in map(_followed, journeys) if f is not None),
            journey_lines=tuple(map(_describe, journeys)),
            ignored=tuple(watch.ignored),
            watch_error=watch_error.message if watch_error is not None else None,
            watch_error_fix=(watch_error.next_step or "") if watch_error is not None else "",
            monitors_nothing=unmonitored,
            details=details,
        )
    )


class _Watch:
    """The calls that end while the check watches: each followed to its recording, or
    ignored with the reason."""

    def __init__(self, ctx: CheckContext, modes: dict[str, Extension]) -> None:
        options = ctx.options
        self._client = ctx.client
        self._modes = modes
        self._watcher = RecordingWatcher(
            ctx.client,
            limit_s=options.watch_limit_s,
            window_s=options.bridge_window_s,
            on_update=ctx.on_journey,
        )
        self._follows: list[asyncio.Task[RecordingJourney]] = []
        self.ignored: list[str] = []
        self.source = "call control"

    async def run(self, seconds: float) -> ThreeCXError | None:
        """Watch for ``seconds``; the error that ended the watch early, if one did."""
        try:
            async with asyncio.timeout(seconds):
                await self._consume()
        except TimeoutError:
            pass
        except ThreeCXError as exc:
            return exc
        return None

    async def _consume(self) -> None:
        stream = self._client.watch_calls()
        async with contextlib.aclosing(stream):
            async for event in stream:
                self.source = (
                    "the call log (polling)" if event.source == "call-log" else self.source
                )
                if event.state is not LiveState.ENDED:
                    continue
                # A call the extension's setting does not record is cause 3, not 4.
                reason = unrecorded_reason(
                    self._modes.get(event.extension or ""),
                    external=event.external_number is not None,
                )
                if reason:
                    self.ignored.append(f"call {event.call_id}: {reason}; see check 3")
                    continue
                self._follows.append(asyncio.create_task(self._watcher.follow(event)))

    async def journeys(self) -> list[RecordingJourney]:
        """Every followed recording's journey; on an error none is left running."""
        try:
            return list(await asyncio.gather(*self._follows))
        finally:
            for task in self._follows:
                task.cancel()
            await asyncio.gather(*self._follows, return_exceptions=True)


def _download_unconfirmed(j: RecordingJourney) -> bool:
    """Missing to the end because no known v18 download path answered, not because the file
    never came: the watcher notes each failed look by the failure's name."""
    return (
        j.state is JourneyState.MISSING
        and bool(j.attempts)
        and j.attempts[-1].note == DownloadUnconfirmed.what
    )


def _describe(j: RecordingJourney) -> str:
    if not _download_unconfirmed(j):
        return j.describe()
    who = f"call {j.call_id}" + (f" on extension {j.extension}" if j.extension else "")
    return (
        f"{who}: recording listed, but no known v18 download path answered "
        f"({len(j.attempts)} looks, the last at +{j.attempts[-1].after_s:.1f} s)"
    )


def _followed(j: RecordingJourney) -> FollowedRecording | None:
    """The journey as the verdict needs it; None while it is still under way."""
    missing = Followed.MISSING if j.located else Followed.UNLOCATED
    states = {
        JourneyState.READY: Followed.READY,
        JourneyState.BLOCKED: Followed.BLOCKED,
        JourneyState.MISSING: Followed.UNCONFIRMED if _download_unconfirmed(j) else missing,
    }
    state = states.get(j.state)
    if state is None:
        return None
    return FollowedRecording(
        call_id=j.call_id,
        extension=j.extension,
        state=state,
        ready_after_s=j.ready_after_s,
        upper_bound_only=j.upper_bound_only,
        misses_s=tuple(a.after_s for a in j.attempts if not a.found),
    )


def _journey_json(j: RecordingJourney) -> dict[str, Any]:
    return {
        "call_id": j.call_id,
        "extension": j.extension,
        "number": j.external_number,
        "hung_up_at": j.hung_up_at.isoformat(),
        "state": str(Followed.UNCONFIRMED if _download_unconfirmed(j) else j.state),
        "ready_after_s": j.ready_after_s,
        "upper_bound_only": j.upper_bound_only,
        "recording_id": j.recording_id,
        "attempts": [
            {"n": a.number, "after_s": a.after_s, "found": a.found, "note": a.note}
            for a in j.attempts
        ],
    }
