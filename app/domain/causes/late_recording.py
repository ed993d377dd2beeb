"""Cause 4: the bridge asked before 3CX finished writing the recording file.

Seed 000: "3CX writes the recording file after the call ends ... The fix is a retry loop ...
for up to two minutes." The doctor watches calls end and follows each recording on a bridge's
backoff schedule (the live part, in the services); this module judges what it saw.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from app.domain.causes.api_answers import DOWNLOAD_UNCONFIRMED
from app.domain.causes.recording import DEFAULT_BRIDGE_WINDOW_S
from app.domain.causes.wording import listing, plural
from app.domain.diagnosis import CheckId, CheckResult, CheckStatus

HOW_TO_TEST: Final = (
    'Run the doctor again watching for a test call for 180 seconds (in the app: "Watch for '
    'a test call"; on the command line: --watch 180) and, while it watches, place a test '
    "call: ring the customer's main number from a mobile, let a recorded extension answer, "
    "talk for 20 seconds and hang up. The doctor times how long 3CX takes to write the recording."
)
MONITOR_FIX: Final = (
    "In the admin console open Integrations > API, edit the API client and choose the "
    "extensions to monitor (a bridge that listens to Call Control sees nothing either); then "
    "watch a test call again."
)
TIME_BY_HAND: Final = (
    "Nothing to change on the PBX for this. To time it by hand, place a recorded test call and "
    "watch Recordings in the 3CX admin console until its file appears."
)
# A look this close to the window counts as at the window (the schedule rounds to 0.05 s).
AT_WINDOW_S: Final = 0.05


class Followed(enum.StrEnum):
    READY = "ready"
    MISSING = "missing"  # the call was in the log, its recording never downloadable
    UNLOCATED = "never in the call log"  # so its recording could not be followed
    BLOCKED = "blocked"  # the API user may not fetch recordings (cause 2)
    # Listed, but no known v18 download path answered: the product cannot time it there.
    UNCONFIRMED = "download not confirmed"


@dataclass(frozen=True)
class FollowedRecording:
    """One call's recording as the watch followed it from hang-up."""

    call_id: str
    extension: str | None
    state: Followed
    ready_after_s: float | None = None
    upper_bound_only: bool = False  # already there at a late first look: "no later than"
    misses_s: tuple[float, ...] = ()  # seconds after hang-up of the looks that found nothing

    @property
    def who(self) -> str:
        return f"call {self.call_id}" + (
            f" on extension {self.extension}" if self.extension else ""
        )

    def missed_at_or_after(self, window_s: float) -> bool:
        """A look at or past the window still found nothing: the file really came later."""
        return any(after >= window_s - AT_WINDOW_S for after in self.misses_s)


@dataclass(frozen=True)
class LateRecordingFacts:
    watch_s: float
    window_s: float  # the bridge's retry window
    limit_s: float  # how long after hang-up the watch kept looking
    source: str  # "call control" or "the call log (polling)"
    followed: tuple[FollowedRecording, ...] = ()
    journey_lines: tuple[str, ...] = ()  # each journey, described for the evidence
    ignored: tuple[str, ...] = ()  # "call 12: extension 104 does not record (on demand)"
    watch_error: str | None = None  # the watch itself failed
    watch_error_fix: str = ""
    monitors_nothing: bool = False  # Call Control watches no extension (see recording.py)
    details: Mapping[str, Any] = field(default_factory=dict)  # the timelines, JSON-safe


def not_watched() -> CheckResult:
    return CheckResult(
        CheckId.LATE_RECORDING,
        CheckStatus.SKIP,
        "Not measured: no watch was asked for, so no call was timed from hang-up to recording.",
        HOW_TO_TEST,
    )


def judge_late_recording(facts: LateRecordingFacts) -> CheckResult:
    evidence = (
        f"Watched for {facts.watch_s:g} s via {facts.source}; bridge retry window "
        f"{facts.window_s:g} s",
        *facts.journey_lines,
        *facts.ignored,
    )
    verdict = _nothing_to_time(facts)
    if verdict is None:
        verdict = _judge_followed(facts)
    status, finding, fix = verdict
    return CheckResult(CheckId.LATE_RECORDING, status, finding, fix, evidence, dict(facts.details))


def _nothing_to_time(facts: LateRecordingFacts) -> tuple[CheckStatus, str, str] | None:
    """A SKIP when the watch followed no recording, or only ones it may not fetch."""
    followed = facts.followed
    if facts.watch_error is not None and not followed:
        return (
            CheckStatus.SKIP,
            f"Could not watch for calls: {facts.watch_error}",
            facts.watch_error_fix or HOW_TO_TEST,
        )
    if not followed and facts.monitors_nothing:
        return (
            CheckStatus.SKIP,
            "Call Control monitors no extension, so no call can be seen live: the API client's "
            "'Extensions to Monitor' list is empty.",
            MONITOR_FIX,
        )
    if not followed:
        finding = f"No recorded call ended during the {facts.watch_s:g} s watch."
        if facts.ignored:
            finding += (
                f" {plural(len(facts.ignored), 'call')} ended on extensions that do not record "
                "(see check 3)."
            )
        return CheckStatus.SKIP, finding, HOW_TO_TEST
    if all(f.state is Followed.BLOCKED for f in followed):
        return (
            CheckStatus.SKIP,
            "Not measured: blocked by check 2, the API user may not fetch recordings.",
            "Fix the API user's roles (check 2), then watch a test call again.",
        )
    return None


def _judge_followed(facts: LateRecordingFacts) -> tuple[CheckStatus, str, str]:
    """The verdict on the recordings the watch followed from hang-up."""
    followed, window = facts.followed, facts.window_s
    never = [f for f in followed if f.state is Followed.MISSING]
    unlocated = [f for f in followed if f.state is Followed.UNLOCATED]
    ready = [f for f in followed if f.state is Followed.READY and f.ready_after_s is not None]
    late = [
        f
        for f in ready
        if (f.ready_after_s or 0.0) > window
        and f.missed_at_or_after(window)
        and not f.upper_bound_only
    ]
    if never:
        return _never_ready(facts.limit_s, never)
    if late:
        return _too_late(window, max(f.ready_after_s or 0.0 for f in late))
    unconfirmed = [f for f in followed if f.state is Followed.UNCONFIRMED]
    if unconfirmed and not ready:
        return CheckStatus.SKIP, f"Not measured: {DOWNLOAD_UNCONFIRMED}", TIME_BY_HAND
    if unlocated and not ready:
        return (
            CheckStatus.WARN,
            f"{listing([f.who for f in unlocated])} ended but never showed up in the call log, "
            "so its recording could not be followed.",
            "Look the call up in the 3CX call history by hand, then watch another test call.",
        )
    return _in_time(window, [f.ready_after_s or 0.0 for f in ready if not f.upper_bound_only])


def _never_ready(limit_s: float, never: list[FollowedRecording]) -> tuple[CheckStatus, str, str]:
    return (
        CheckStatus.FAIL,
        f"No recording appeared within {limit_s:g} s of hang-up for "
        f"{listing([f.who for f in never])}, although the extension records.",
        "Look the call up in the 3CX call history: if its recording shows up later, the "
        "bridge must retry for longer (poll with exponential backoff until the file is "
        "there); if it never does, the PBX did not record it (see checks 1 and 3).",
    )


def _too_late(window: float, worst: float) -> tuple[CheckStatus, str, str]:
    return (
        CheckStatus.FAIL,
        f"The recording appeared {worst:.0f} s after hang-up, later than the bridge's "
        f"{window:g} s retry window: the bridge gives up before 3CX has written the file.",
        "Make the bridge retry for longer: post the call with a placeholder, poll the "
        "recording with exponential backoff for at least "
        f"{max(worst * 1.5, DEFAULT_BRIDGE_WINDOW_S):.0f} s after hang-up, then attach the "
        "recording when it appears. Busy and hosted PBXs write later at peak times.",
    )


def _in_time(window: float, timed: list[float]) -> tuple[CheckStatus, str, str]:
    """A PASS; ``timed`` holds the measured delays (none: all there at the first look)."""
    if not timed:
        return (
            CheckStatus.PASS,
            "The recordings were already there at the first look, within the retry window; "
            "the exact delay was not measured.",
            "",
        )
    return (
        CheckStatus.PASS,
        f"The recording appeared {max(timed):.1f} s after hang-up, within the bridge's "
        f"{window:g} s retry window. A bridge that asks once at hang-up and does not retry "
        "would miss it.",
        f"Make sure the bridge retries with backoff for up to {DEFAULT_BRIDGE_WINDOW_S / 60:g} "
        "minutes after hang-up.",
    )
