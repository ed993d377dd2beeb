""" "Now" as an input: the app and the simulator read the time from a clock they are given.

A ``Clock`` is any callable returning an aware UTC ``datetime``. Production code takes one as a
parameter (default ``system_clock``); tests pin it with ``RunningClock`` so nothing depends on
the day, weekday, time of day or zone the suite happens to run in.
"""

from __future__ import annotations

import functools
import os
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

Clock = Callable[[], datetime]

# Set by a test or a reproducible demo: the instant the process's clock starts at (ISO 8601
# with an offset). Read only by the composition roots (the CLI, the app and the simulator).
CLOCK_ENV = "PBX_COMPANION_NOW"


def system_clock() -> datetime:
    return datetime.now(UTC)


def utc_now() -> datetime:
    """The process's "now": the system clock, unless ``CLOCK_ENV`` pins it.

    The one default every module uses where no clock was passed in; reading one environment
    variable is the only thing here that looks outside the process.
    """
    return _clock_for(os.environ.get(CLOCK_ENV, ""))()


@functools.lru_cache(maxsize=4)
def _clock_for(setting: str) -> Clock:
    return clock_from_setting(setting)


class RunningClock:
    """A clock that starts at a pinned instant and then runs at real speed.

    Pinned, so a test always sees the same weekday and hour; running, so live traffic (a call
    that rings for two seconds, a recording written after three) still happens in real time.
    With ``anchor`` (a Unix time), ``start`` is the instant at that real time: every process
    given the same pair agrees on "now" to the millisecond, however late it was started.
    """

    def __init__(self, start: datetime, *, anchor: float | None = None) -> None:
        if start.tzinfo is None:
            raise ValueError("A pinned clock needs a time zone (e.g. 2026-11-18T10:00+10:30).")
        self.start = start.astimezone(UTC)
        self.anchor = anchor
        self._t0 = time.monotonic()

    def __call__(self) -> datetime:
        if self.anchor is not None:
            return self.start + timedelta(seconds=time.time() - self.anchor)
        return self.start + timedelta(seconds=time.monotonic() - self._t0)

    def setting(self) -> str:
        """The value of ``CLOCK_ENV`` that gives another process this same clock."""
        anchor = (
            self.anchor if self.anchor is not None else time.time() - (time.monotonic() - self._t0)
        )
        return f"{self.start.isoformat()}@{anchor:.6f}"

    def __repr__(self) -> str:
        return f"RunningClock(start={self.start.isoformat()})"


def parse_pinned_instant(text: str) -> datetime:
    """``2026-11-18T10:00:00+10:30`` (or ``Z``) → an aware datetime; ValueError names the rule."""
    value = text.strip()
    if value.endswith(("Z", "z")):
        value = value[:-1] + "+00:00"
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError as error:
        raise ValueError(
            f"{text!r} is not an ISO date and time (e.g. 2026-11-18T10:00:00+10:30)."
        ) from error
    if parsed.tzinfo is None:
        raise ValueError(f"{text!r} has no UTC offset (add Z or +HH:MM).")
    return parsed


def clock_from_setting(text: str | None) -> Clock:
    """The clock for ``CLOCK_ENV``: ``ISO`` (that instant from now on) or ``ISO@UNIX`` (that
    instant at that real time, shared by several processes); None or empty: the system clock."""
    if not text or not text.strip():
        return system_clock
    instant, _, anchor = text.strip().partition("@")
    if not anchor:
        return RunningClock(parse_pinned_instant(instant))
    try:
        at = float(anchor)
    except ValueError as error:
        raise ValueError(f"{text!r}: after @ comes a Unix time in seconds.") from error
    return RunningClock(parse_pinned_instant(instant), anchor=at)
