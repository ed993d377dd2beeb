"""The clock as an input: pinned, running, shared between processes, and readable errors."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest

from app.domain.clock import (
    CLOCK_ENV,
    RunningClock,
    clock_from_setting,
    parse_pinned_instant,
    system_clock,
    utc_now,
)

START = datetime(2026, 12, 6, 23, 30, tzinfo=UTC)


def test_a_pinned_clock_starts_where_it_was_pinned_and_runs_on() -> None:
    clock = RunningClock(START)
    first = clock()
    assert timedelta(0) <= first - START < timedelta(seconds=5)
    assert clock() >= first


def test_two_processes_given_the_same_setting_agree() -> None:
    clock = RunningClock(START, anchor=time.time())
    other = clock_from_setting(clock.setting())
    assert abs(other() - clock()) < timedelta(seconds=1)


def test_an_unanchored_clock_hands_on_an_anchored_setting() -> None:
    clock = RunningClock(START)
    assert "@" in clock.setting()
    assert abs(clock_from_setting(clock.setting())() - clock()) < timedelta(seconds=1)


def test_no_setting_is_the_system_clock() -> None:
    assert clock_from_setting(None) is system_clock
    assert clock_from_setting("  ") is system_clock


def test_offsets_are_kept_as_the_same_instant() -> None:
    assert parse_pinned_instant("2026-12-07T07:00:00+13:00") == datetime(
        2026, 12, 6, 18, 0, tzinfo=UTC
    )
    assert parse_pinned_instant("2026-12-06T23:30:00Z") == START


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("2026-12-06T23:30:00", "no UTC offset"),
        ("next Sunday", "not an ISO date"),
        ("2026-12-06T23:30:00Z@soon", "Unix time"),
    ],
)
def test_bad_settings_say_what_is_wrong(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        clock_from_setting(text)


def test_the_process_clock_follows_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(CLOCK_ENV, f"{START.isoformat()}@{time.time():.6f}")
    assert abs(utc_now() - START) < timedelta(seconds=5)
    monkeypatch.delenv(CLOCK_ENV)
    assert abs(utc_now() - datetime.now(UTC)) < timedelta(seconds=5)
