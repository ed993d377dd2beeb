"""Cause 6 from hand-built facts: the policy against the requirement and the deleted files."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from app.domain.causes.api_answers import Answer, ProbeAnswer
from app.domain.causes.retention import (
    DEFAULT_RETENTION_DAYS,
    DELETED_FIX,
    ReferencedRecording,
    RetentionDetails,
    RetentionFacts,
    judge_retention,
    read_by_hand,
    retention_fix,
)
from app.domain.diagnosis import CheckId, CheckStatus
from app.domain.recordings import RetentionPolicy

NOW = datetime(2026, 11, 18, 0, 30, tzinfo=UTC)


def days_ago(days: int) -> datetime:
    return NOW - timedelta(days=days)


def facts(**changes: object) -> RetentionFacts:
    base = RetentionFacts(
        now=NOW,
        required_days=DEFAULT_RETENTION_DAYS,
        v20=True,
        policy=RetentionPolicy(auto_delete=True, auto_delete_days=120, archive_enabled=False),
        compared=True,
        referenced=tuple(ReferencedRecording(i, days_ago(i)) for i in (5, 40, 70)),
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def test_the_default_requirement_is_ninety_days() -> None:
    assert DEFAULT_RETENTION_DAYS == 90
    assert facts().required_days == 90


def test_a_long_enough_window_passes() -> None:
    result = judge_retention(facts())
    assert (result.id, result.status) == (CheckId.RETENTION, CheckStatus.PASS)
    assert result.finding == "Recordings are kept 120 days, at least the 90 required."
    assert "Auto-delete after 120 days" in result.evidence


def test_a_short_window_fails_and_names_what_it_already_deleted() -> None:
    f = facts(
        policy=RetentionPolicy(auto_delete=True, auto_delete_days=30),
        referenced=tuple(ReferencedRecording(i, days_ago(i)) for i in (5, 40, 70)),
        gone=(40, 70),
    )
    result = judge_retention(f)
    assert result.status is CheckStatus.FAIL
    assert result.finding.startswith(
        "Recordings are deleted after 30 days, but the customer needs 90."
    )
    assert "2 recordings the call log still points at are already gone" in result.finding
    assert result.fix == retention_fix(90) and "System, Settings, Storage" in result.fix
    assert result.details["deleted_by_retention"] == [70, 40]  # oldest first
    assert any("Recording 70 of the call on" in line for line in result.evidence)


def test_a_recording_younger_than_the_window_is_missing_not_retention() -> None:
    result = judge_retention(facts(gone=(5,)))
    assert result.status is CheckStatus.WARN
    assert "younger than any auto-delete window" in result.finding
    assert result.fix == DELETED_FIX
    assert result.details["missing"] == [5] and result.details["deleted_by_retention"] == []


def test_auto_delete_off_passes() -> None:
    result = judge_retention(
        facts(policy=RetentionPolicy(auto_delete=False, auto_delete_days=None))
    )
    assert result.status is CheckStatus.PASS and "Auto-delete is off" in result.finding


def test_an_unsaid_window_is_read_by_hand() -> None:
    result = judge_retention(facts(policy=RetentionPolicy(auto_delete=None, auto_delete_days=None)))
    assert (result.status, result.fix) == (CheckStatus.WARN, read_by_hand(90))


def test_no_retention_api_is_skipped_and_an_unreadable_one_warns() -> None:
    unsupported = judge_retention(facts(policy=None, policy_unsupported=True, v20=False))
    assert unsupported.status is CheckStatus.SKIP
    assert "does not expose its retention policy" in unsupported.finding
    assert unsupported.fix == read_by_hand(90)
    failed = ProbeAnswer(Answer.FAILED, "The PBX answered with a server error.", what="5xx")
    unreadable = judge_retention(facts(policy=None, policy_read=failed))
    assert unreadable.status is CheckStatus.WARN
    assert (
        unreadable.finding
        == "Could not read the retention policy: The PBX answered with a server error."
    )
    assert "Retention settings not readable: 5xx" in unreadable.evidence


def test_a_refused_listing_is_said_on_a_pass() -> None:
    result = judge_retention(facts(compared=False, compare_error="403", listing_refused=True))
    assert result.status is CheckStatus.PASS
    assert "may not list recordings (check 2)" in result.finding
    assert "Recordings not compared with the call log: 403" in result.evidence


def test_details_read_back() -> None:
    result = judge_retention(facts(gone=(5,), archived=(40,), unconfirmed=(70,)))
    details = RetentionDetails.from_json(result.details)
    assert details.archived == (40,) and details.absent_unconfirmed == (70,)
    assert details.as_json() == result.details
