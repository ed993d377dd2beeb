"""The Call Control watcher's connection attempts: what each one proved and why it ended."""

from __future__ import annotations

import ssl
from dataclasses import dataclass
from datetime import datetime

from websockets.exceptions import ConnectionClosedError, WebSocketException

from app.threecx.errors import ThreeCXError, TlsFailure, TlsProblem
from app.threecx.tls import classify_ssl_error
from app.threecx.v20.callcontrol_frames import (
    close_reason,
    describe_os_error,
    failure_reason,
    needs_action,
)

# What ends a connection attempt and is retried after a backoff.
RETRIED = (
    ThreeCXError,
    ssl.SSLError,
    ConnectionClosedError,
    TimeoutError,
    WebSocketException,
    OSError,
)


@dataclass(slots=True)
class Attempts:
    """What carries over from one connection attempt to the next."""

    rejected: int = 0  # 401s in a row: the first drops the token, the second is final
    gap_start: datetime | None = None  # when a working connection was lost


@dataclass(slots=True)
class Attempt:
    """One connection attempt: the token it offered, when it opened, what it delivered."""

    token: str | None = None
    opened_at: float | None = None
    delivered: int = 0


def why_down(exc: ThreeCXError | WebSocketException | OSError, *, pinned: bool) -> tuple[str, bool]:
    """The status line for a broken stream, and whether waiting alone will not mend it."""
    if isinstance(exc, ThreeCXError):
        return failure_reason(exc), needs_action(exc)
    if isinstance(exc, ssl.SSLError):
        failure = tls_failure(exc, pinned=pinned)
        return failure_reason(failure), needs_action(failure)
    if isinstance(exc, ConnectionClosedError):
        return f"the websocket broke ({close_reason(exc)})", False
    if isinstance(exc, TimeoutError):
        return "the websocket did not open in time", False
    return f"the websocket failed ({describe_os_error(exc)})", False


def tls_failure(exc: ssl.SSLError, *, pinned: bool) -> TlsFailure:
    """The websocket's TLS error in the words the HTTP requests use (a pin that no
    longer matches is a changed certificate, not an untrusted one)."""
    problem = classify_ssl_error(exc)
    if pinned and problem in (TlsProblem.UNTRUSTED, TlsProblem.HOSTNAME):
        problem = TlsProblem.CHANGED
    return TlsFailure(problem, str(exc), endpoint="/callcontrol/ws")
