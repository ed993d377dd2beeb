"""What the Call Control watcher makes of what a PBX sends, and of the times it sends nothing.

Frames are read defensively (any shape, depth or type is a reason to skip, never an error),
failures are put in words for the stream's status, and a gap in the stream is filled from the
call log.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from websockets.exceptions import ConnectionClosedError

from app.domain.calls import CallDirection, CallRecord, find_logged_call
from app.domain.live import CallEvent
from app.domain.reconnect import Gap
from app.threecx.errors import (
    AuthRejected,
    ThreeCXError,
    TlsFailure,
    TlsProblem,
    UnreadableAnswer,
)
from app.threecx.json_reading import read_json_text
from app.threecx.polling import event_from_call

# A 3CX frame nests two objects deep; anything past this is not one (and json recurses).
MAX_FRAME_DEPTH = 16
# A gap's call-log read starts this much before the drop: the PBX's clock may be off a little.
GAP_SLACK = timedelta(minutes=1)
GAP_LIMIT = 1000


def logged_call(event: CallEvent, calls: list[CallRecord]) -> CallRecord | None:
    """The miss's call in the call log, however the PBX numbers its calls (the domain's rule).

    With the caller's number known, the extension is left out: a queue's miss is logged on
    the queue, while Call Control named the first agent it rang.
    """
    found = find_logged_call(
        calls,
        event.call_id,
        number=event.external_number,
        extension=None if event.external_number else event.extension,
        ended_at=event.at,
    )
    return found[0] if found else None


HistoryRead = Callable[..., Awaitable[list[CallRecord]]]


async def fill_gap(
    call_history: HistoryRead, gap: Gap, seen: Iterable[CallEvent]
) -> list[CallEvent]:
    """The calls that ended while a live stream was down, from the call log, marked filled.

    A call in ``seen`` (settled events told already: before the drop, or by the resync) is
    not told twice. Raises ``ThreeCXError`` when the call log cannot be read.
    """
    calls = await call_history(
        gap.start - GAP_SLACK, gap.end + timedelta(minutes=1), limit=GAP_LIMIT
    )
    told: set[int] = set()
    for event in seen:
        logged = logged_call(event, calls)
        if logged is not None:
            told.add(id(logged))
    events: list[CallEvent] = []
    for call in sorted(calls, key=lambda c: c.started_at or gap.end):
        ended = _ended_at(call)
        if id(call) in told or ended is None or ended < gap.start - GAP_SLACK:
            continue
        if call.direction is CallDirection.UNKNOWN and not call.caller:
            continue  # a leg the log could not place: not a call of its own
        events.append(replace(event_from_call(call, ended), filled=gap))
    return events


def decode_frame(message: str | bytes) -> tuple[dict[str, Any] | None, str]:
    """(the frame, "") or (None, why it is skipped): never raises, whatever was sent.

    The text is read by the client's bounded JSON reader (numbers, strings, containers and
    depth clamped as for any answer); the cheaper, tighter depth check comes first, as no 3CX
    frame nests past a few levels.
    """
    if not isinstance(message, str):
        return None, f"a binary frame of {len(message):,} bytes"
    if _too_deep(message, MAX_FRAME_DEPTH):
        return None, f"nested more than {MAX_FRAME_DEPTH} deep"
    try:
        frame = read_json_text(message, endpoint="/callcontrol/ws")
    except UnreadableAnswer as exc:
        return None, _unreadable(exc.detail)
    if not isinstance(frame, dict):
        return None, f"a JSON {type(frame).__name__}, not an object"
    return frame, ""


def _unreadable(detail: str) -> str:
    """The reader's sentence ("The answer is not valid JSON (...).") as a skip reason."""
    text = detail.rstrip(".")
    for head in ("The answer is ", "The answer "):
        if text.startswith(head):
            return text[len(head) :]
    return text or "not readable JSON"


def _too_deep(text: str, limit: int) -> bool:
    """Whether arrays and objects nest past ``limit``, counted without recursion.

    Every real frame has a few brackets, so the scan only runs on the odd one out.
    """
    if text.count("{") + text.count("[") <= limit:
        return False
    depth = 0
    in_string = escaped = False
    for char in text:
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
            if depth > limit:
                return True
        elif char in "]}":
            depth -= 1
    return False


def sequence_of(frame: Mapping[str, Any]) -> int | None:
    sequence = frame.get("sequence")
    # bool is an int to Python, not a sequence number to anyone.
    return sequence if isinstance(sequence, int) and not isinstance(sequence, bool) else None


def _ended_at(call: CallRecord) -> datetime | None:
    if call.started_at is None:
        return None
    return call.started_at + (call.ringing or timedelta()) + (call.talking or timedelta())


def needs_action(exc: ThreeCXError) -> bool:
    """Waiting will not fix a certificate the app does not trust or a rejected key."""
    return isinstance(exc, AuthRejected) or (
        isinstance(exc, TlsFailure) and exc.problem is not TlsProblem.HANDSHAKE
    )


_TLS_WORDS = {
    TlsProblem.UNTRUSTED: "the PBX's certificate is untrusted",
    TlsProblem.CHANGED: "the PBX's certificate changed (not the one pinned)",
    TlsProblem.EXPIRED: "the PBX's certificate has expired",
    TlsProblem.HOSTNAME: "the PBX's certificate is for a different name",
    TlsProblem.HANDSHAKE: "the TLS handshake with the PBX failed",
}


def failure_reason(exc: ThreeCXError) -> str:
    """Why the stream is down, in a status line; a certificate problem is named, as waiting
    will not fix it (a renewed certificate, a new CA, an interception)."""
    if isinstance(exc, TlsFailure):
        return f"{_TLS_WORDS[exc.problem]}. {exc.next_step}"
    return exc.message


def close_reason(exc: ConnectionClosedError) -> str:
    frame = exc.rcvd
    if frame is None:
        return "no close frame"
    return f"close code {frame.code}" + (f": {frame.reason[:80]}" if frame.reason else "")


def describe_os_error(exc: BaseException) -> str:
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused"
    return (str(exc) or type(exc).__name__)[:200]


UPSERT = 0
REMOVE = 1


def parse_entity(entity: str) -> tuple[str, int] | None:
    """``/callcontrol/150/participants/8106`` → ("150", 8106)."""
    parts = [p for p in entity.split("/") if p]
    if len(parts) == 4 and parts[0] == "callcontrol" and parts[2] == "participants":
        try:
            return parts[1], int(parts[3])
        except ValueError:
            return None
    return None


def parse_frame(event: Any) -> tuple[int, str, str, int] | None:
    """(event type, entity, dn, participant id) of an upsert or removal frame."""
    if not isinstance(event, Mapping):
        return None
    entity = event.get("entity")
    parsed = parse_entity(entity) if isinstance(entity, str) else None
    kind = event.get("event_type")
    if parsed is None or kind not in (UPSERT, REMOVE):
        return None
    return kind, str(entity), parsed[0], parsed[1]
