"""How far back "recent calls" reach: far enough to judge, even after a weekend or a holiday.

A check that samples recent calls (the extension cross-check, the contact match) starts with
the days the engineer asked for (7 by default) and widens to the next window while it has too
few calls to judge. Monday 07:00 after a quiet Friday, or the first day back after Christmas,
then gives the same verdicts as a Wednesday, and the evidence says which window was used.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from app.domain.business_hours import BusinessHours, customer_time

MIN_RECENT_CALLS = 20  # fewer than this and a percentage of "recent calls" means little
WIDEN_STEPS_DAYS = (7, 30, 60, 90)  # the call-log windows a wider look costs nothing extra for


def widening_steps(asked_days: int) -> tuple[int, ...]:
    """The windows to try, in order: the one asked for, then each wider step."""
    return (asked_days, *(days for days in WIDEN_STEPS_DAYS if days > asked_days))


def enough_to_judge(call_count: int) -> bool:
    return call_count >= MIN_RECENT_CALLS


@dataclass(frozen=True)
class RecentWindow:
    """The window a check judged: ``days`` back from ``until``; ``asked_days`` was the ask."""

    days: int
    until: datetime
    asked_days: int
    calls: int

    @property
    def since(self) -> datetime:
        return self.until - timedelta(days=self.days)

    @property
    def widened(self) -> bool:
        return self.days > self.asked_days

    def label(self) -> str:
        """ "last 7 days" — the words the findings use."""
        return f"last {self.days} day{'' if self.days == 1 else 's'}"

    def describe(self, hours: BusinessHours) -> str:
        """Which window, on the customer's clock, and why it was widened if it was."""
        span = (
            f"{customer_time(self.since, hours, '%a %d %b %H:%M')} – "
            f"{customer_time(self.until, hours, '%a %d %b %H:%M')} ({hours.timezone})"
        )
        text = f"Recent calls: the {self.label()}, {span}"
        if self.widened:
            text += (
                f"; widened from {self.asked_days} days, which held fewer than "
                f"{MIN_RECENT_CALLS} calls (a weekend, a holiday or a quiet line)"
            )
        return text


def choose_window(
    asked_days: int, until: datetime, starts: Iterable[datetime | None]
) -> RecentWindow:
    """The narrowest window, from ``asked_days`` up, holding enough calls to judge."""
    known = [s for s in starts if s is not None]
    steps = widening_steps(asked_days)
    for days in steps:
        since = until - timedelta(days=days)
        count = sum(1 for s in known if since <= s <= until)
        if enough_to_judge(count) or days == steps[-1]:
            return RecentWindow(days, until, asked_days, count)
    raise AssertionError("unreachable: the last step always returns")
