"""The allowed range of every number a command line takes, and one argparse type that asks it.

A number from a command line is finite, in range, and (where it counts things) whole: ``inf``
would make a timer wait forever, ``nan`` compares false with every bound and slips past any
``< 0`` test, and a 20-digit day count overflows the date arithmetic. The message names the
value and the range; argparse adds the option's name and exits 2 ("argument --watch: 'inf' is
not a finite number of seconds (0 to 3600; 0: off)").
"""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable
from dataclasses import dataclass

# Longer than any number in range: refused before int() or float() spends time on it.
_MAX_TEXT = 32
_SHOWN = 24  # how much of a bad value the message repeats


@dataclass(frozen=True)
class NumberRange:
    """``low`` to ``high`` ``unit``; ``above_low`` excludes ``low`` itself (more than 0)."""

    unit: str  # "seconds", "days", "rows" ("a finite number of seconds"); "" for an id
    low: float
    high: float
    whole: bool = False
    above_low: bool = False
    zero_means: str | None = None  # "off": 0 is allowed and means this

    def describe(self) -> str:
        """ "0 to 3600 seconds; 0: off", "more than 0, up to 3650 days", "1 to 65535"."""
        low, high = _plain(self.low), _plain(self.high)
        text = f"more than {low}, up to {high}" if self.above_low else f"{low} to {high}"
        text += f" {self.unit}" if self.unit else ""
        return f"{text}; 0: {self.zero_means}" if self.zero_means else text

    def parse(self, text: str) -> float:
        """The number in ``text``, or ValueError whose message names the value and the range."""
        raw = text.strip()
        shown = repr(raw if len(raw) <= _SHOWN else raw[:_SHOWN] + "…")
        kind = ("whole number" if self.whole else "finite number") + (
            f" of {self.unit}" if self.unit else ""
        )
        if len(raw) > _MAX_TEXT:
            raise ValueError(f"{shown} is too long to be a {kind} ({self.describe()})")
        try:
            value = float(int(raw)) if self.whole else float(raw)
        except ValueError:
            value = math.nan
        if self.whole and not raw.lstrip("+-").isdigit():
            raise ValueError(f"{shown} is not a {kind} ({self.describe()})")
        if not math.isfinite(value):
            raise ValueError(f"{shown} is not a {kind} ({self.describe()})")
        low_ok = value > self.low if self.above_low else value >= self.low
        if not (low_ok and value <= self.high) and not (value == 0 and self.zero_means):
            raise ValueError(f"{shown} is out of range ({self.describe()})")
        return value


def _plain(number: float) -> str:
    return str(int(number)) if float(number).is_integer() else str(number)


# ---- the ranges, and why each bound ----------------------------------------------------------
# Per request: under half a second a loopback TLS handshake may not finish on a busy machine;
# a request still unanswered after five minutes is a hang, which the overall deadline names.
TIMEOUT_S = NumberRange("seconds", 0.5, 300)
# Watching for a test call: minutes are enough to ring, answer and hang up; an hour is the
# most a technician would leave a terminal on purpose.
WATCH_S = NumberRange("seconds", 0, 3600, zero_means="off")
# How long a CRM bridge retries for a recording after hang-up: bridges retry for minutes; the
# window's spin box stops at an hour as well.
BRIDGE_WINDOW_S = NumberRange("seconds", 1, 3600)
# Ten years: past that it is a legal hold, not a bridge setting (and the call log the doctor
# reads back in 90-day windows stays a few dozen requests).
RETENTION_DAYS = NumberRange("days", 1, 3650, whole=True)
# How far back ``pbx calls`` and ``pbx recordings`` read: the same ten years.
HISTORY_DAYS = NumberRange("days", 0, 3650, above_low=True)
# Rows a listing prints: the most the doctor itself reads back in one go.
LIST_LIMIT = NumberRange("rows", 1, 20000, whole=True)
# 3CX numbers recordings with a 32-bit database id.
RECORDING_ID = NumberRange("", 1, 2**31 - 1, whole=True)
# ``pbx watch --seconds`` and ``--demo-seconds``: at most a day; without it, until Ctrl-C.
RUN_SECONDS = NumberRange("seconds", 0, 86400, above_low=True)
# The whole doctor run, or one ``pbx`` command, against a PBX that answers slowly or never.
DEADLINE_S = NumberRange("seconds", 1, 3600)
# A fleet sweep. Each doctor holds a few connections to its PBX while its checks overlap: 100
# at a time keeps a sweep well inside the usual 1,024 open files a process may have. Processes
# share a sweep's doctors: a laptop's cores; past 16 the PBXs' answers are the limit.
FLEET_CONCURRENCY = NumberRange("PBXs at a time", 1, 100, whole=True)
FLEET_PROCESSES = NumberRange("processes", 1, 16, whole=True)

# The simulator's own knobs.
RECONCILE_DAYS = NumberRange("days", 1, 92, whole=True)  # a quarter: one ledger at a time
PORT_OR_FREE = NumberRange("", 0, 65535, whole=True)  # 0: pick a free port
LATENCY_MS = NumberRange("milliseconds", 0, 60000, whole=True)  # a minute: past any timeout
# The feed benchmark drives about 13,600 a minute (1,000 Call Control events a second); the cap
# keeps a typo from asking for millions.
CALLS_PER_MINUTE = NumberRange("calls a minute", 0, 60000)
RECORDING_DELAY_S = NumberRange("seconds", 0, 3600)
SEED = NumberRange("", 0, 2**32 - 1, whole=True)  # what random.Random takes whole


def ranged(bounds: NumberRange) -> Callable[[str], float]:
    """An argparse ``type``: the value as a float, or argparse's exit 2 with the range named."""

    def convert(text: str) -> float:
        try:
            return bounds.parse(text)
        except ValueError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None

    return convert


def ranged_int(bounds: NumberRange) -> Callable[[str], int]:
    """As ``ranged``, for whole numbers: the value as an int."""

    def convert(text: str) -> int:
        try:
            return int(bounds.parse(text))
        except ValueError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None

    return convert
