"""How a live event stream comes back after it breaks, and how that is said.

One rule for every caller (the window's live feed, ``pbx watch``, the Call Control watcher):
exponential backoff with "equal jitter" (half the step fixed, half random), so a PBX that
closes every connection at once is asked a handful of times a minute, not hundreds, and many
clients behind one proxy do not reconnect in lockstep. The attempt count starts again only
after a connection that proved itself: it delivered an event or stayed up a while.
"""

from __future__ import annotations

import enum
import random as _random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

Random = Callable[[], float]  # uniform in [0, 1), like random.random


@dataclass(frozen=True)
class ReconnectPolicy:
    first_s: float = 1.0
    factor: float = 2.0
    cap_s: float = 60.0
    stable_s: float = 30.0  # a connection up this long has proved itself without events

    def __post_init__(self) -> None:
        if not 0 < self.first_s <= self.cap_s or self.factor < 1 or self.stable_s < 0:
            raise ValueError(f"unusable reconnect policy {self!r}")

    def step_s(self, attempt: int) -> float:
        """The un-jittered wait before ``attempt`` (1-based), capped."""
        exponent = min(max(attempt - 1, 0), 64)  # beyond this the cap has long been reached
        return min(self.cap_s, self.first_s * self.factor**exponent)

    def delay_s(self, attempt: int, draw: float) -> float:
        """Equal jitter: between half the step and the whole step, ``draw`` in [0, 1)."""
        step = self.step_s(attempt)
        return round(step / 2 + step / 2 * min(max(draw, 0.0), 1.0), 2)


DEFAULT_POLICY = ReconnectPolicy()


@dataclass(frozen=True)
class Retry:
    attempt: int  # 1 for the first reconnect after a working connection
    delay_s: float


class Backoff:
    """The attempt counter of one stream. Not thread-safe; one per stream."""

    def __init__(self, policy: ReconnectPolicy = DEFAULT_POLICY, random: Random | None = None):
        self.policy = policy
        self._random = random or _random.random
        self.attempt = 0

    def next(self) -> Retry:
        self.attempt += 1
        return Retry(self.attempt, self.policy.delay_s(self.attempt, self._random()))

    def reconnecting(self, reason: str, needs_action: bool) -> StreamStatus:
        """The next attempt, said as a status: "reconnecting (attempt n, next in s): reason"."""
        retry = self.next()
        return StreamStatus(
            StreamState.RECONNECTING,
            attempt=retry.attempt,
            delay_s=retry.delay_s,
            reason=reason,
            needs_action=needs_action,
        )

    def proved(self) -> None:
        """The connection delivered events or stayed up ``stable_s``: start again at 1."""
        self.attempt = 0

    def proved_by(self, up_for_s: float, delivered: int) -> None:
        if delivered > 0 or up_for_s >= self.policy.stable_s:
            self.proved()


class StreamState(enum.StrEnum):
    CONNECTING = "connecting"
    CONNECTED = "connected"
    RECONNECTING = "reconnecting"


@dataclass(frozen=True)
class StreamStatus:
    """What a live stream is doing, in the words both the window and ``pbx watch`` show."""

    state: StreamState = StreamState.CONNECTING
    attempt: int = 0
    delay_s: float = 0.0
    reason: str = ""
    needs_action: bool = False  # a changed certificate or a rejected key: waiting will not fix it
    skipped_frames: int = 0
    last_skip: str = ""  # why the latest frame was skipped

    @property
    def text(self) -> str:
        if self.state is StreamState.RECONNECTING:
            head = f"reconnecting (attempt {self.attempt}, next in {self.delay_s:g} s)"
            if self.reason:
                head += f": {self.reason.rstrip('.')}"
        elif self.reason:
            head = f"{self.state} ({self.reason.rstrip('.')})"
        else:
            head = str(self.state)
        skipped = skipped_text(self.skipped_frames)
        return f"{head}; {skipped}" if skipped else head


def skipped_text(count: int) -> str:
    if count <= 0:
        return ""
    return "1 frame skipped" if count == 1 else f"{count:,} frames skipped"


@dataclass(frozen=True)
class Gap:
    """An interval the live stream was down: its calls come from the call log instead."""

    start: datetime
    end: datetime

    def label(self, clock: Callable[[datetime], str]) -> str:
        """``call log (filled after a gap 10:02:11–10:02:52)``; ``clock`` formats a time."""
        return f"call log (filled after a gap {clock(self.start)}–{clock(self.end)})"
