"""``pbx-companion pbx``: read from a PBX (info, extensions, calls, recordings, download, watch).

Each command but ``watch`` ends at ``--deadline``; out of time it says so and exits 1.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from app.cli.args import (
    EXIT_FAILED,
    EXIT_OK,
    ConnectionArgs,
    UsageError,
    add_connection_arguments,
    add_deadline_argument,
    connection_from_args,
)
from app.cli.watch import watch
from app.domain.business_hours import BusinessHours, customer_time
from app.domain.calls import CallRecord
from app.domain.cli_ranges import (
    HISTORY_DAYS,
    LIST_LIMIT,
    RECORDING_ID,
    RUN_SECONDS,
    ranged,
    ranged_int,
)
from app.domain.clock import utc_now
from app.domain.deadlines import (
    COMMAND_OUT_OF_TIME_FIX,
    DEFAULT_COMMAND_DEADLINE_S,
    DEFAULT_DOWNLOAD_DEADLINE_S,
    command_out_of_time,
)
from app.domain.recordings import Recording
from app.services.customer_clock import read_customer_hours
from app.services.pbx_summary import summarise
from app.threecx.client import PbxClient
from app.threecx.connect import open_client


def add_commands(commands: Any) -> None:
    """The ``pbx`` subcommands (``commands`` from add_subparsers)."""
    pbx = commands.add_parser("pbx", help="read from a PBX: info, extensions, calls, recordings")
    pbx_commands = pbx.add_subparsers(dest="pbx_command", metavar="WHAT", required=True)
    for name, text in (
        ("info", "version, licence, recording settings, recent calls and retention"),
        ("extensions", "every extension with its recording mode"),
        ("calls", "call history"),
        ("recordings", "recordings, newest first"),
        ("download", "download one recording"),
        ("watch", "live call events until Ctrl-C"),
    ):
        sub = pbx_commands.add_parser(name, help=text)
        add_connection_arguments(sub)
        sub.add_argument("--json", action="store_true", help="print JSON")
        if name in ("calls", "recordings"):
            sub.add_argument(
                "--days",
                type=ranged(HISTORY_DAYS),
                default=1.0,
                help=f"how far back (default 1; {HISTORY_DAYS.describe()})",
            )
            sub.add_argument(
                "--limit",
                type=ranged_int(LIST_LIMIT),
                default=50,
                help=f"at most this many, newest first (default 50; {LIST_LIMIT.describe()})",
            )
        if name == "download":
            sub.add_argument("recording_id", type=ranged_int(RECORDING_ID))
            sub.add_argument("--out", required=True, help="file to write the WAV to")
        if name == "watch":
            sub.add_argument(
                "--seconds",
                type=ranged(RUN_SECONDS),
                default=None,
                help=f"stop after S seconds (default: until Ctrl-C; {RUN_SECONDS.describe()})",
            )
        else:  # a watch runs until --seconds or Ctrl-C; everything else has a deadline
            default = (
                DEFAULT_DOWNLOAD_DEADLINE_S if name == "download" else DEFAULT_COMMAND_DEADLINE_S
            )
            add_deadline_argument(sub, default, "the command")


async def connected(conn: ConnectionArgs) -> PbxClient:
    client = await open_client(conn.params, conn.secret)
    try:
        await client.authenticate()
    except BaseException:
        await client.aclose()
        raise
    return client


async def run_pbx(args: argparse.Namespace) -> int:
    conn = connection_from_args(args)  # before the clock starts: it may read the key from stdin
    deadline: float | None = getattr(args, "deadline", None)
    scope = asyncio.timeout(deadline)
    try:
        async with scope:
            client = await connected(conn)
            try:
                return await _pbx_command(client, args)
            finally:
                await client.aclose()
    except TimeoutError:
        if deadline is None or not scope.expired():
            raise
        print(f"pbx-companion: {command_out_of_time(args.pbx_command, deadline)}", file=sys.stderr)
        print(f"What to do: {COMMAND_OUT_OF_TIME_FIX}", file=sys.stderr)
        return EXIT_FAILED


async def _pbx_command(client: PbxClient, args: argparse.Namespace) -> int:
    now = utc_now()
    what = args.pbx_command
    if what == "info":
        summary = await summarise(client, now)
        for line in summary.lines():
            print(line)
    elif what == "extensions":
        extensions = await client.extensions()
        _print_rows(
            args.json,
            [
                {"number": e.number, "name": e.name, "recording": str(e.recording)}
                for e in extensions
            ],
            [f"{e.number:>6}  {e.name:<28} {e.recording}" for e in extensions],
        )
    elif what == "calls":
        calls = await client.call_history(now - timedelta(days=args.days), now, limit=args.limit)
        hours = await read_customer_hours(client)
        if not args.json:
            print(f"Times on the customer's clock: {hours.timezone} ({hours.source})")
        _print_rows(
            args.json, [_call_json(c) for c in calls], [_call_line(c, hours) for c in calls]
        )
    elif what == "recordings":
        recordings = await client.recordings(
            since=now - timedelta(days=args.days), limit=args.limit
        )
        _print_rows(
            args.json,
            [_recording_json(r) for r in recordings],
            [_recording_line(r) for r in recordings],
        )
    elif what == "download":
        data = await client.download_recording(args.recording_id)
        await asyncio.to_thread(Path(args.out).write_bytes, data)
        print(f"Saved recording {args.recording_id} ({len(data):,} bytes) to {args.out}")
    elif what == "watch":
        return await watch(client, args.seconds, json_lines=args.json)
    else:
        raise UsageError(f"unknown command {what}")
    return EXIT_OK


def _print_rows(as_json: bool, rows: list[dict[str, object]], lines: list[str]) -> None:
    if as_json:
        _print_json(rows)
    else:
        for line in lines:
            print(line)


def _when(value: datetime | None) -> str:
    return value.isoformat(timespec="seconds") if value else "?"


def _call_line(c: CallRecord, hours: BusinessHours) -> str:
    rec = ",".join(str(r) for r in c.recording_ids) or "-"
    when = customer_time(c.started_at, hours, "%Y-%m-%d %H:%M:%S") if c.started_at else "?"
    return f"{when}  {c.direction:<8} {c.caller:>16} → {c.callee:<16} {c.outcome:<10} rec {rec}"


def _recording_line(r: Recording) -> str:
    return f"{r.id:>7}  {_when(r.started_at)}  {r.from_number:>16} → {r.to_number:<16} {r.state}"


def _call_json(c: CallRecord) -> dict[str, object]:
    return {
        "call_id": c.call_id,
        "started_at": c.started_at.isoformat() if c.started_at else None,
        "direction": str(c.direction),
        "caller": c.caller,
        "callee": c.callee,
        "extension": c.extension,
        "answered": c.answered,
        "outcome": str(c.outcome),
        "talking_s": c.talking.total_seconds() if c.talking else None,
        "recording_ids": list(c.recording_ids),
    }


def _recording_json(r: Recording) -> dict[str, object]:
    return {
        "id": r.id,
        "started_at": r.started_at.isoformat() if r.started_at else None,
        "from": r.from_number,
        "to": r.to_number,
        "call_type": str(r.call_type),
        "state": str(r.state),
    }


def _print_json(value: object) -> None:
    print(json.dumps(value, ensure_ascii=False), flush=True)
