"""Cause 4 judged: what a watch saw of each recording, against the bridge's retry window."""

from __future__ import annotations

from app.domain.causes.late_recording import (
    HOW_TO_TEST,
    Followed,
    FollowedRecording,
    LateRecordingFacts,
    judge_late_recording,
    not_watched,
)
from app.domain.diagnosis import CheckStatus


def watched(*followed: FollowedRecording, **kwargs: object) -> LateRecordingFacts:
    values: dict[str, object] = {
        "watch_s": 60.0,
        "window_s": 10.0,
        "limit_s": 15.0,
        "source": "call control",
        "followed": followed,
    }
    values.update(kwargs)
    return LateRecordingFacts(**values)  # type: ignore[arg-type]


def ready(
    after: float, *, misses: tuple[float, ...] = (), first_look: bool = False
) -> FollowedRecording:
    return FollowedRecording(
        "881", "101", Followed.READY, after, upper_bound_only=first_look, misses_s=misses
    )


def test_without_a_watch_nothing_is_measured() -> None:
    result = not_watched()
    assert result.status is CheckStatus.SKIP and result.fix == HOW_TO_TEST


def test_a_recording_later_than_the_window_fails_with_a_longer_retry() -> None:
    result = judge_late_recording(watched(ready(12.0, misses=(0.5, 1.5, 10.0))))
    assert result.status is CheckStatus.FAIL
    assert "12 s after hang-up, later than the bridge's 10 s retry window" in result.finding
    # Never shorter than the field docs' two minutes.
    assert "for at least 120 s after hang-up" in result.fix


def test_later_than_the_window_only_counts_when_a_look_at_the_window_missed_it() -> None:
    # Found at +12 s, but no look at +10 s: it may have been there already.
    assert judge_late_recording(watched(ready(12.0, misses=(0.5, 1.5)))).status is (
        CheckStatus.PASS
    )


def test_within_the_window_passes_and_says_why_retrying_matters() -> None:
    result = judge_late_recording(watched(ready(3.2, misses=(0.5, 1.5))))
    assert result.status is CheckStatus.PASS
    assert result.finding.startswith("The recording appeared 3.2 s after hang-up")
    assert "up to 2 minutes after hang-up" in result.fix
    assert result.evidence[0] == "Watched for 60 s via call control; bridge retry window 10 s"


def test_a_recording_that_never_appears_fails() -> None:
    never = FollowedRecording("882", "102", Followed.MISSING, misses_s=(0.5, 15.0))
    result = judge_late_recording(watched(never))
    assert result.status is CheckStatus.FAIL
    assert "No recording appeared within 15 s of hang-up for call 882 on extension 102" in (
        result.finding
    )


def test_blocked_by_the_recording_role() -> None:
    blocked = FollowedRecording("883", None, Followed.BLOCKED)
    result = judge_late_recording(watched(blocked))
    assert result.status is CheckStatus.SKIP and "check 2" in result.finding


def test_call_control_monitoring_nothing_is_named_when_no_call_was_seen() -> None:
    result = judge_late_recording(watched(monitors_nothing=True))
    assert result.status is CheckStatus.SKIP
    assert "'Extensions to Monitor' list is empty" in result.finding
    assert "Integrations > API" in result.fix


def test_calls_on_extensions_that_do_not_record_are_left_to_cause_3() -> None:
    ignored = ("call 884: extension 104 does not record (on demand); see check 3",)
    result = judge_late_recording(watched(ignored=ignored))
    assert result.status is CheckStatus.SKIP
    assert "1 call ended on extensions that do not record (see check 3)" in result.finding
    assert ignored[0] in result.evidence
