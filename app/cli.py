"""``pbx-companion``: headless commands for technicians and scripts.

Exit codes: 0 success, 1 the PBX check failed, 2 usage or configuration error.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import sys
from collections.abc import Sequence
from datetime import datetime, timedelta
from pathlib import Path

from app import __version__
from app.cli_args import (
    EXIT_FAILED,
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_USAGE,
    ConnectionArgs,
    UsageError,
    add_connection_arguments,
    add_deadline_argument,
    add_doctor_arguments,
    connection_from_args,
)
from app.cli_connections import add_commands as add_connections_commands
from app.cli_connections import run_connections, run_keys
from app.cli_report import add_doctor_report_arguments, add_report_arguments
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
from app.services.log_setup import REDACTOR, configure_logging
from app.services.pbx_summary import summarise
from app.threecx.client import PbxClient
from app.threecx.connect import ConnectionParams, open_client
from app.threecx.errors import ThreeCXError
from app.threecx.tls import TlsOptions


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="pbx-companion",
        description="Find out why 3CX call recordings do not reach the CRM contact.",
    )
    parser.add_argument("--version", action="version", version=f"pbx-companion {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log progress to stderr")
    parser.add_argument(
        "--demo",
        action="store_true",
        help="open the app on a simulated customer PBX with a few field faults (no setup)",
    )
    parser.add_argument(
        "--headless",
        action="store_true",
        help="with --demo: no window; print a summary and the live call feed in the terminal",
    )
    parser.add_argument(
        "--demo-seconds",
        type=ranged(RUN_SECONDS),
        default=None,
        metavar="S",
        help="with --demo: stop after S seconds (default: until the window closes or Ctrl-C; "
        f"{RUN_SECONDS.describe()})",
    )
    parser.add_argument(
        "--self-test",
        action="store_true",
        help="check this installation (Qt window, keyring, phone numbers, simulator, doctor), exit 0 if sound",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    sim = commands.add_parser("sim", help="run the simulated 3CX PBX (prints one JSON line)")
    from app.sim import cli as sim_cli

    sim_cli.add_arguments(sim)

    doctor = commands.add_parser(
        "doctor",
        help="check the seven causes of a missing CRM recording, in the field docs' order",
        description="Check the seven causes of 'my recording is not on the CRM contact' "
        "against a live PBX: licence, API roles, extension recording, late recording, "
        "contact match, retention, reachability. Give a saved connection (--connection NAME: "
        "address, Client ID, CA file or pin, region and contacts from its profile, the key "
        "from the OS keyring) or --url, --client-id and --secret-env/--secret-stdin. Exit 0: "
        "nothing failed; 1: a check failed, or the PBX did not answer every check within "
        "--deadline; 2: bad arguments.",
    )
    add_connection_arguments(doctor, required=False)
    add_doctor_arguments(doctor)
    add_doctor_report_arguments(doctor)

    report = commands.add_parser(
        "report",
        help="write a setup report (PDF, HTML or JSON) from a saved doctor --json result",
    )
    add_report_arguments(report)

    add_connections_commands(commands)

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
    return parser


async def _connected(conn: ConnectionArgs) -> PbxClient:
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
            client = await _connected(conn)
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
        return await _watch(client, args.seconds, json_lines=args.json)
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


async def _watch(client: PbxClient, seconds: float | None, *, json_lines: bool = False) -> int:
    from app.cli_watch import watch

    return await watch(client, seconds, json_lines=json_lines)


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


async def run_demo(seconds: float | None) -> int:
    """The terminal demo (``--demo --headless``): the simulator, a live feed and a summary."""
    from app.sim import SimConfig, Simulator

    config = SimConfig(
        tls=True,
        faults=["extension-not-recording", "late-recording=8"],
        calls_per_minute=20.0,
        recording_delay_s=2.0,
    )
    async with Simulator(config) as sim:
        print(f"Demo PBX running at {sim.url} (3CX {sim.version}, simulated).")
        params = ConnectionParams(
            url=sim.url,
            client_id=sim.client_id,
            tls=TlsOptions(ca_file=sim.ca_file),
            poll_interval_s=2.0,
        )
        REDACTOR.register(sim.client_secret)
        client = await _connected(ConnectionArgs(params, sim.client_secret))
        first_call: asyncio.Task[object] | None = None
        try:
            print("\nSummary")
            for line in (await summarise(client)).lines():
                print(f"  {line}")
            print("\nLive calls (Ctrl-C to stop)", flush=True)
            # A call straight away, so a new user sees the feed move within seconds.
            first_call = asyncio.create_task(sim.place_call("inbound", ring_s=2.0, talk_s=4.0))
            return await _watch(client, seconds)
        finally:
            if first_call is not None:
                first_call.cancel()
                await asyncio.gather(first_call, return_exceptions=True)
            await client.aclose()


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    configure_logging(logging.INFO if args.verbose else logging.WARNING)
    try:
        if args.self_test:
            from app.self_test import run_self_test

            return run_self_test()
        if args.demo and args.headless:
            return asyncio.run(run_demo(args.demo_seconds))
        if args.command is None:
            # No command: the desktop app (with --demo, on the simulated PBX).
            from app.main import GuiOptions, run_gui

            return run_gui(GuiOptions(args.demo, args.demo_seconds, args.verbose))
        if args.command == "sim":
            from app.sim import cli as sim_cli

            return sim_cli.run(args)
        if args.command == "pbx":
            return asyncio.run(run_pbx(args))
        if args.command == "report":
            from app.cli_report import run_report

            return run_report(args)
        if args.command == "doctor":
            from app.cli_doctor import run_doctor

            return asyncio.run(run_doctor(args))
        if args.command == "connections":
            return asyncio.run(run_connections(args))
        if args.command == "keys":
            return asyncio.run(run_keys(args))
        parser.print_help()
        return EXIT_USAGE
    except UsageError as exc:
        print(f"pbx-companion: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except ThreeCXError as exc:
        print(f"pbx-companion: {exc.message}", file=sys.stderr)
        if exc.next_step:
            print(f"What to do: {exc.next_step}", file=sys.stderr)
        return EXIT_FAILED
    except KeyboardInterrupt:
        # Stopping a watch or the demo is normal; an interrupted doctor checked nothing.
        return EXIT_INTERRUPTED if args.command == "doctor" else EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
