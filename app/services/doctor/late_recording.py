"""Cause 4: the bridge asked before 3CX finished writing the recording file.

Watch for calls to end (Call Control, or the call log where Call Control is off), then poll
for each recording on a bridge's backoff schedule and time when it becomes downloadable.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from app.domain.diagnosis import CheckId, CheckResult, CheckStatus
from app.domain.extensions import Extension, RecordingMode
from app.domain.live import CallEvent, LiveState
from app.services.doctor.common import CheckContext, attempt, listing, plural
from app.services.recording_watcher import JourneyState, RecordingJourney, RecordingWatcher
from app.threecx.errors import ThreeCXError
from app.threecx.v20.client import V20Client

log = logging.getLogger(__name__)

HOW_TO_TEST = (
    'Run the doctor again watching for a test call for 180 seconds (in the app: "Watch for '
    'a test call"; on the command line: --watch 180) and, while it watches, place a test '
    "call: ring the "
    "customer's main number from a mobile, let a recorded extension answer, talk for 20 "
    "seconds and hang up. The doctor times how long 3CX takes to write the recording."
)


async def check_late_recording(ctx: CheckContext) -> CheckResult:
    options = ctx.options
    window = options.bridge_window_s
    if options.watch_s <= 0:
        return CheckResult(
            CheckId.LATE_RECORDING,
            CheckStatus.SKIP,
            "Not measured: no watch was asked for, so no call was timed from hang-up to recording.",
            HOW_TO_TEST,
        )
    extensions = await attempt(ctx.facts.extensions())
    unmonitored = await _monitors_nothing(ctx)
    modes = {e.number: e for e in extensions.value or []}
    watcher = RecordingWatcher(
        ctx.client, limit_s=options.watch_limit_s, window_s=window, on_update=ctx.on_journey
    )
    follows: list[asyncio.Task[RecordingJourney]] = []
    ignored: list[str] = []
    source = "call control"
    watch_error: ThreeCXError | None = None

    async def consume() -> None:
        nonlocal source
        stream = ctx.client.watch_calls()
        async with contextlib.aclosing(stream):
            async for event in stream:
                source = "the call log (polling)" if event.source == "call-log" else source
                if event.state is not LiveState.ENDED:
                    continue
                reason = _not_expected(event, modes)
                if reason:
                    ignored.append(f"call {event.call_id}: {reason}")
                    continue
                follows.append(asyncio.create_task(watcher.follow(event)))

    try:
        async with asyncio.timeout(options.watch_s):
            await consume()
    except TimeoutError:
        pass
    except ThreeCXError as exc:
        watch_error = exc
    try:
        journeys = list(await asyncio.gather(*follows))
    finally:
        for task in follows:
            task.cancel()
        await asyncio.gather(*follows, return_exceptions=True)

    evidence = [f"Watched for {options.watch_s:g} s via {source}; bridge retry window {window:g} s"]
    evidence += [j.describe() for j in journeys]
    evidence += ignored
    details: dict[str, Any] = {
        "bridge_window_s": window,
        "watch_s": options.watch_s,
        "journeys": [_journey_json(j) for j in journeys],
    }
    if watch_error is not None and not journeys:
        return CheckResult(
            CheckId.LATE_RECORDING,
            CheckStatus.SKIP,
            f"Could not watch for calls: {watch_error.message}",
            watch_error.next_step or HOW_TO_TEST,
            tuple(evidence),
            details,
        )
    if not journeys and unmonitored:
        return CheckResult(
            CheckId.LATE_RECORDING,
            CheckStatus.SKIP,
            "Call Control monitors no extension, so no call can be seen live: the API client's "
            "'Extensions to Monitor' list is empty.",
            "In the admin console open Integrations > API, edit the API client and choose the "
            "extensions to monitor (a bridge that listens to Call Control sees nothing either); "
            "then watch a test call again.",
            tuple(evidence),
            details,
        )
    if not journeys:
        finding = f"No recorded call ended during the {options.watch_s:g} s watch."
        if ignored:
            finding += f" {plural(len(ignored), 'call')} ended on extensions that do not record."
        return CheckResult(
            CheckId.LATE_RECORDING, CheckStatus.SKIP, finding, HOW_TO_TEST, tuple(evidence), details
        )
    blocked = [j for j in journeys if j.state is JourneyState.BLOCKED]
    if blocked and len(blocked) == len(journeys):
        return CheckResult(
            CheckId.LATE_RECORDING,
            CheckStatus.SKIP,
            "Not measured: blocked by check 2, the API user may not fetch recordings.",
            "Fix the API user's roles (check 2), then watch a test call again.",
            tuple(evidence),
            details,
        )
    never = [j for j in journeys if j.state is JourneyState.MISSING and j.located]
    lost = [j for j in journeys if j.state is JourneyState.MISSING and not j.located]
    late = [
        j
        for j in journeys
        if j.state is JourneyState.READY
        and j.ready_after_s is not None
        and j.ready_after_s > window
        and j.missed_at_or_after(window)
        and not j.upper_bound_only
    ]
    ready = [j for j in journeys if j.state is JourneyState.READY and j.ready_after_s is not None]
    slowest = max((j.ready_after_s or 0.0 for j in ready if not j.upper_bound_only), default=None)
    if never:
        limit = options.watch_limit_s
        return CheckResult(
            CheckId.LATE_RECORDING,
            CheckStatus.FAIL,
            f"No recording appeared within {limit:g} s of hang-up for "
            f"{listing([_who(j) for j in never])}, although the extension records.",
            "Look the call up in the 3CX call history: if its recording shows up later, the "
            "bridge must retry for longer (poll with exponential backoff until the file is "
            "there); if it never does, the PBX did not record it (see checks 1 and 3).",
            tuple(evidence),
            details,
        )
    if late:
        worst = max(j.ready_after_s or 0.0 for j in late)
        return CheckResult(
            CheckId.LATE_RECORDING,
            CheckStatus.FAIL,
            f"The recording appeared {worst:.0f} s after hang-up, later than the bridge's "
            f"{window:g} s retry window: the bridge gives up before 3CX has written the file.",
            f"Make the bridge retry for longer: post the call with a placeholder, poll the "
            f"recording with exponential backoff for at least {max(worst * 1.5, 120):.0f} s "
            "after hang-up, then attach the recording when it appears. Busy and hosted PBXs "
            "write later at peak times.",
            tuple(evidence),
            details,
        )
    if lost and not ready:
        return CheckResult(
            CheckId.LATE_RECORDING,
            CheckStatus.WARN,
            f"{listing([_who(j) for j in lost])} ended but never showed up in the call log, so "
            "its recording could not be followed.",
            "Look the call up in the 3CX call history by hand, then watch another test call.",
            tuple(evidence),
            details,
        )
    if slowest is None:
        return CheckResult(
            CheckId.LATE_RECORDING,
            CheckStatus.PASS,
            "The recordings were already there at the first look, within the retry window; "
            "the exact delay was not measured.",
            "",
            tuple(evidence),
            details,
        )
    return CheckResult(
        CheckId.LATE_RECORDING,
        CheckStatus.PASS,
        f"The recording appeared {slowest:.1f} s after hang-up, within the bridge's {window:g} s "
        "retry window. A bridge that asks once at hang-up and does not retry would miss it.",
        "Make sure the bridge retries with backoff for up to two minutes after hang-up.",
        tuple(evidence),
        details,
    )


async def _monitors_nothing(ctx: CheckContext) -> bool:
    """Call Control answers but watches no DN: a setup-form trap (API-NOTES §8.10)."""
    if not isinstance(ctx.client, V20Client):
        return False
    try:
        snapshot = await ctx.client.call_control_snapshot()
    except ThreeCXError:
        return False  # no Call Control at all: the watch polls the call log instead
    return not snapshot


def _not_expected(event: CallEvent, modes: dict[str, Extension]) -> str | None:
    """Why this call will have no recording whatever the timing (cause 3, not 4)."""
    ext = modes.get(event.extension or "")
    if ext is None:
        return None
    if ext.recording in (RecordingMode.DISABLED, RecordingMode.FORBIDDEN, RecordingMode.ON_DEMAND):
        return f"extension {ext.number} does not record ({ext.recording}; see check 3)"
    if ext.recording is RecordingMode.EXTERNAL_ONLY and event.external_number is None:
        return f"extension {ext.number} records external calls only"
    return None


def _who(j: RecordingJourney) -> str:
    return f"call {j.call_id}" + (f" on extension {j.extension}" if j.extension else "")


def _journey_json(j: RecordingJourney) -> dict[str, Any]:
    return {
        "call_id": j.call_id,
        "extension": j.extension,
        "number": j.external_number,
        "hung_up_at": j.hung_up_at.isoformat(),
        "state": str(j.state),
        "ready_after_s": j.ready_after_s,
        "upper_bound_only": j.upper_bound_only,
        "recording_id": j.recording_id,
        "attempts": [
            {"n": a.number, "after_s": a.after_s, "found": a.found, "note": a.note}
            for a in j.attempts
        ],
    }
