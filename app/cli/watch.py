"""``pbx watch``: live call events in the terminal, and what the stream is doing.

Status lines ("reconnecting (attempt 2, next in 3.1 s): ...") go to stderr with a ``watch:``
prefix in text mode and as ``{"status": ...}`` lines in JSON mode. The exit code says whether
the stream was up when the watch ended: a PBX that went away is never a silent 0.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import sys
from collections.abc import Awaitable, Callable
from datetime import datetime

from app.cli.args import EXIT_FAILED, EXIT_OK
from app.domain.business_hours import customer_time
from app.domain.causes.wording import plural
from app.domain.live import CallEvent
from app.domain.reconnect import DEFAULT_POLICY, Random, ReconnectPolicy, StreamState, StreamStatus
from app.services.customer_clock import read_customer_hours
from app.services.feed.stream import FeedStream
from app.threecx.client import PbxClient


async def watch(
    client: PbxClient,
    seconds: float | None,
    *,
    json_lines: bool = False,
    policy: ReconnectPolicy = DEFAULT_POLICY,
    random: Random | None = None,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
) -> int:
    hours = await read_customer_hours(client)
    if not json_lines:
        print(f"Times on the customer's clock: {hours.timezone} ({hours.source})", flush=True)

    def clock(at: datetime) -> str:
        return customer_time(at, hours, "%H:%M:%S")

    def status_changed(status: StreamStatus) -> None:
        if json_lines:
            _print_json(_status_json(status))
        else:
            print(f"watch: {status.text}", file=sys.stderr, flush=True)

    async def client_source() -> PbxClient:
        return client

    stream = FeedStream(
        client_source, on_status=status_changed, policy=policy, random=random, sleep=sleep
    )

    async def printer() -> None:
        async with contextlib.aclosing(stream.events()) as events:
            async for event in events:
                if json_lines:
                    _print_json(_event_json(event))
                else:
                    print(_event_line(event, clock), flush=True)

    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(printer(), seconds)
    final = stream.settled_status
    summary = (
        f"watch ended: {final.text}; {plural(stream.reconnects, 'reconnect')}, "
        f"{plural(stream.filled, 'call')} filled from the call log"
    )
    if json_lines:
        _print_json({**_status_json(final), "ended": True, "filled": stream.filled})
    else:
        print(f"watch: {summary}", file=sys.stderr, flush=True)
    up = final.state is StreamState.CONNECTED
    return EXIT_OK if up else EXIT_FAILED


def _event_line(event: CallEvent, clock: Callable[[datetime], str]) -> str:
    number = event.external_number or "internal"
    ext = event.extension or "-"
    line = (
        f"{clock(event.at)}  call {event.call_id:<8} {event.state:<10} {event.direction:<8} "
        f"{number:>16}  ext {ext}"
    )
    if event.filled is not None:
        line += f"  [from the {event.filled.label(clock)}]"
    return line


def _event_json(event: CallEvent) -> dict[str, object]:
    row: dict[str, object] = {
        "call_id": event.call_id,
        "state": str(event.state),
        "direction": str(event.direction),
        "number": event.external_number,
        "extension": event.extension,
        "at": event.at.isoformat(),
        "source": event.source,
    }
    if event.filled is not None:
        row["filled"] = {"from": event.filled.start.isoformat(), "to": event.filled.end.isoformat()}
    return row


def _status_json(status: StreamStatus) -> dict[str, object]:
    return {
        "status": str(status.state),
        "text": status.text,
        "attempt": status.attempt,
        "next_in_s": status.delay_s,
        "reason": status.reason,
        "needs_action": status.needs_action,
        "skipped_frames": status.skipped_frames,
    }


def _print_json(value: object) -> None:
    print(json.dumps(value, ensure_ascii=False), flush=True)
