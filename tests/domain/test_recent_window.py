"""Recent calls reach back far enough to judge, and say which window they used."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from app.domain.business_hours import BusinessHours
from app.domain.recent_window import MIN_RECENT_CALLS, choose_window, widening_steps

NOW = datetime(2026, 11, 22, 18, 0, tzinfo=UTC)  # Monday 07:00 in Auckland


def calls_days_ago(*days: float) -> list[datetime]:
    return [NOW - timedelta(days=d) for d in days]


def test_a_busy_week_keeps_the_window_asked_for() -> None:
    window = choose_window(7, NOW, calls_days_ago(*([3.0] * MIN_RECENT_CALLS)))
    assert window.days == 7 and not window.widened
    assert window.calls == MIN_RECENT_CALLS


def test_a_quiet_fortnight_widens_to_the_next_step() -> None:
    starts = calls_days_ago(*([1.0] * 3), *([20.0] * MIN_RECENT_CALLS))
    window = choose_window(7, NOW, starts)
    assert window.days == 30 and window.widened
    assert window.calls == 3 + MIN_RECENT_CALLS


def test_a_dead_line_stops_at_the_widest_step() -> None:
    window = choose_window(7, NOW, [None, *calls_days_ago(1.0)])
    assert window.days == 90 and window.calls == 1


def test_steps_start_at_what_was_asked() -> None:
    assert widening_steps(7) == (7, 30, 60, 90)
    assert widening_steps(45) == (45, 60, 90)
    assert widening_steps(120) == (120,)


def test_the_description_says_which_window_and_why() -> None:
    hours = BusinessHours(timezone="Pacific/Auckland")
    window = choose_window(7, NOW, calls_days_ago(*([20.0] * MIN_RECENT_CALLS)))
    text = window.describe(hours)
    assert text.startswith("Recent calls: the last 30 days, Sat 24 Oct 07:00 NZDT – Mon 23 Nov")
    assert "widened from 7 days" in text
