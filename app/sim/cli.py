"""`pbx-companion sim`: run the simulated PBX until SIGINT/SIGTERM."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import signal
import sys

from app.domain.cli_ranges import (
    BRIDGE_WINDOW_S,
    CALLS_PER_MINUTE,
    HISTORY_DAYS,
    LATENCY_MS,
    PORT_OR_FREE,
    RECORDING_DELAY_S,
    SEED,
    ranged,
    ranged_int,
)
from app.domain.clock import CLOCK_ENV, parse_pinned_instant
from app.sim.bridge_faults import BRIDGE_FAULTS, BRIDGE_PRESETS
from app.sim.bridge_formats import LOG_FORMATS
from app.sim.bridge_playback import CRM_FILE, LOG_FILE, TRUTH_FILE
from app.sim.config import SimConfig
from app.sim.faults import DESCRIPTIONS, FAULTS, KNOBS, PRESETS, UnknownFault
from app.sim.simulator import Simulator
from app.sim.webhooks import WebhookTargetError
from app.sim.wire_quirks import WireQuirk, parse_quirks


def _epilog() -> str:
    def rows(names: list[str]) -> str:
        return "\n".join(f"  {name:<24} {DESCRIPTIONS.get(name, '')}" for name in names)

    presets = ", ".join(name for name in PRESETS)
    return (
        "faults (--fault NAME[=VALUE], repeatable; each is also a --scenario):\n"
        + rows(list(FAULTS))
        + "\n\nknobs (--fault NAME=VALUE):\n"
        + rows(list(KNOBS))
        + f"\n\nother presets: {presets}"
        + "\n\nwire quirks (live-PBX shapes, all on unless --clean-wire; API-NOTES §9):\n"
        + "\n".join(f"  {quirk.value}" for quirk in WireQuirk)
        + _bridge_epilog()
    )


def _bridge_epilog() -> str:
    rows = "\n".join(f"  {name:<24} {text}" for name, text in BRIDGE_FAULTS.items())
    presets = "; ".join(f"{name}: {' '.join(specs)}" for name, specs in BRIDGE_PRESETS.items())
    return (
        "\n\nbridge faults (--bridge-fault NAME[=VALUE], repeatable, with --bridge-out; N: the "
        "first N calls in time order that can take it (default 1), ID: MainCallHistoryIds):\n"
        + rows
        + f"\n  presets: {presets}"
    )


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.epilog = _epilog()
    _add_server_arguments(parser)
    _add_traffic_arguments(parser)
    _add_clock_arguments(parser)
    _add_wire_arguments(parser)
    _add_bridge_arguments(parser)


def _add_server_arguments(parser: argparse.ArgumentParser) -> None:
    """Where the PBX listens, which version it plays and what is wrong with it."""
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument(
        "--port", type=ranged_int(PORT_OR_FREE), default=0, help="0 picks a free port"
    )
    parser.add_argument("--tls", action="store_true", help="serve HTTPS with a local CA")
    parser.add_argument(
        "--pbx-version",
        default="20.0.10.1116",
        help="e.g. 20.0.10.1116; 18.x switches to the v18 web API",
    )
    parser.add_argument(
        "--scenario",
        action="append",
        default=None,
        metavar="NAME",
        help="named preset (healthy, au, us, gb or any fault name)",
    )
    parser.add_argument("--fault", action="append", default=[], metavar="NAME[=VALUE]")


def _add_traffic_arguments(parser: argparse.ArgumentParser) -> None:
    """How the PBX behaves: its pace, its seed, its state and its webhooks."""
    parser.add_argument("--latency-ms", type=ranged_int(LATENCY_MS), default=0)
    parser.add_argument("--calls-per-minute", type=ranged(CALLS_PER_MINUTE), default=6.0)
    parser.add_argument(
        "--recording-delay", type=ranged(RECORDING_DELAY_S), default=3.0, metavar="S"
    )
    parser.add_argument("--seed", type=ranged_int(SEED), default=1)
    parser.add_argument("--state-dir", default=None)
    parser.add_argument(
        "--webhook-url",
        default=None,
        metavar="URL",
        help="play the 3CX 'Webhook generator' add-on: send its ringing, call start, call end "
        "and recording-link webhooks for every external call to URL",
    )


def _add_clock_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--now",
        default=None,
        metavar="ISO",
        help="start the PBX clock at this instant, e.g. 2026-11-18T10:00:00+10:30 (default: "
        f"${CLOCK_ENV}, else the real time); its call history is built back from there",
    )
    parser.add_argument(
        "--time-zone",
        default=None,
        metavar="IANA",
        help="the PBX's office-hours time zone, e.g. Pacific/Auckland (default: the country's)",
    )


def _add_wire_arguments(parser: argparse.ArgumentParser) -> None:
    """Which live-PBX quirks the wire shapes carry (API-NOTES §9)."""
    parser.add_argument(
        "--clean-wire",
        action="store_true",
        help="send the clean shapes our documents describe, none of the live-PBX quirks",
    )
    parser.add_argument(
        "--wire-quirk",
        action="append",
        default=[],
        metavar="NAME",
        help="turn one live-PBX quirk on (with --clean-wire: only the ones named)",
    )
    parser.add_argument(
        "--no-wire-quirk", action="append", default=[], metavar="NAME", help="turn one quirk off"
    )


def _add_bridge_arguments(parser: argparse.ArgumentParser) -> None:
    """Play a customer's bridge and CRM over the call history (issue 21's reconciliation)."""
    parser.add_argument(
        "--bridge-out",
        default=None,
        metavar="DIR",
        help=f"once the call history is built, write DIR/{LOG_FILE} (the log a customer's "
        f"bridge wrote while handling every external call), DIR/{CRM_FILE} (the CRM's "
        f"activity export, HubSpot's calls shape) and DIR/{TRUTH_FILE} (each call's expected "
        "reconcile state and cause), then serve as usual",
    )
    parser.add_argument(
        "--bridge-fault",
        action="append",
        default=[],
        metavar="NAME[=VALUE]",
        help="a bridge or CRM fault for --bridge-out (listed below)",
    )
    parser.add_argument(
        "--bridge-log-format",
        choices=LOG_FORMATS,
        default="json",
        help="JSON lines (default), logfmt, plain text, or the three mixed",
    )
    numbers = (
        ("--bridge-days", HISTORY_DAYS, "N", "play only the last N days of the history"),
        ("--bridge-window", BRIDGE_WINDOW_S, "S", "retry a recording S s after hang-up (120)"),
    )
    for flag, bounds, metavar, words in numbers:
        parser.add_argument(flag, type=ranged(bounds), default=None, metavar=metavar, help=words)
    parser.add_argument(
        "--crm-zone",
        default=None,
        metavar="IANA",
        help="write the CRM's times zone-less in this zone (default: UTC with Z)",
    )


def _write_bridge_files(sim: Simulator, args: argparse.Namespace) -> None:
    """Raises ValueError for a bridge fault or option that cannot be applied."""
    if args.bridge_out is None:
        asked = (args.bridge_days, args.bridge_window, args.crm_zone)
        if args.bridge_fault or any(value is not None for value in asked):
            raise ValueError(
                "--bridge-fault, --bridge-days, --bridge-window and --crm-zone need "
                "--bridge-out DIR"
            )
        return
    playback = sim.bridge_playback(
        args.bridge_fault,
        fmt=args.bridge_log_format,
        crm_zone=args.crm_zone,
        days=args.bridge_days,
        retry_window_s=args.bridge_window,
    )
    playback.write(args.bridge_out)


def config_from_args(args: argparse.Namespace) -> SimConfig:
    return SimConfig(
        host=args.host,
        port=args.port,
        tls=args.tls,
        pbx_version=args.pbx_version,
        scenarios=list(args.scenario or ["healthy"]),
        faults=list(args.fault or []),
        latency_ms=args.latency_ms,
        calls_per_minute=args.calls_per_minute,
        recording_delay_s=args.recording_delay,
        seed=args.seed,
        state_dir=args.state_dir,
        webhook_url=args.webhook_url,
        now=parse_pinned_instant(args.now) if args.now else None,
        time_zone=args.time_zone,
        wire_quirks=frozenset(
            parse_quirks(clean=args.clean_wire, on=args.wire_quirk, off=args.no_wire_quirk)
        ),
    )


async def _serve(config: SimConfig) -> None:
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        try:
            loop.add_signal_handler(sig, stop.set)
        except NotImplementedError:  # Windows: Ctrl+C arrives as KeyboardInterrupt
            signal.signal(sig, lambda *_: loop.call_soon_threadsafe(stop.set))
    sim = Simulator(config)
    await sim.start()
    try:
        line = {
            "url": sim.url,
            "client_id": sim.client_id,
            "client_secret": sim.client_secret,
            "ca_file": sim.ca_file,
            "version": sim.version,
            # A simulated admin account, for the guided setup's automatic path (v20 only).
            "admin_username": sim.admin_username if sim.is_v20 else None,
            "admin_password": sim.admin_password if sim.is_v20 else None,
        }
        sys.stdout.write(json.dumps(line) + "\n")
        sys.stdout.flush()
        await stop.wait()
    finally:
        await sim.stop()


def run(args: argparse.Namespace) -> int:
    try:
        config = config_from_args(args)
        # Validates faults and scenarios before binding a port; the same seed and clock give
        # the served PBX this very history, so its bridge files are written from here.
        _write_bridge_files(Simulator(config), args)
    except (UnknownFault, WebhookTargetError, ValueError, OSError) as exc:
        print(f"pbx-companion sim: {exc}", file=sys.stderr)
        return 2
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_serve(config))
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="pbx-companion sim", description="Run a simulated 3CX PBX."
    )
    add_arguments(parser)
    return run(parser.parse_args(argv))
