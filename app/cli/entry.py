"""``pbx-companion``'s one entry point: parses the command line and hands it to its command.

Exit codes: 0 success, 1 the PBX check failed, 2 usage or configuration error.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from typing import Any, NoReturn

from app import __version__
from app.domain.cli_ranges import RUN_SECONDS, ranged
from app.services.logs.setup import configure_logging

# The commands' modules (httpx, the keyring, aiohttp, the simulator, the report code) are
# imported by the command that runs: opening the window loads none of them (startup time).


def build_parser() -> argparse.ArgumentParser:
    from app.cli.connections import add_commands as add_connections_commands
    from app.cli.pbx import add_commands as add_pbx_commands
    from app.cli.report import add_report_arguments
    from app.sim import cli as sim_cli

    parser = argparse.ArgumentParser(
        prog="pbx-companion",
        description="Find out why 3CX call recordings do not reach the CRM contact.",
    )
    _add_app_options(parser)
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    sim = commands.add_parser("sim", help="run the simulated 3CX PBX (prints one JSON line)")
    sim_cli.add_arguments(sim)

    _add_doctor_command(commands)
    from app.cli.reconcile_args import add_reconcile_command

    add_reconcile_command(commands)
    from app.cli.fleet_args import add_fleet_command

    add_fleet_command(commands)

    report = commands.add_parser(
        "report",
        help="write a setup report (PDF, HTML or JSON) from a saved doctor --json result",
    )
    add_report_arguments(report)

    add_connections_commands(commands)

    add_pbx_commands(commands)
    return parser


def _add_app_options(parser: argparse.ArgumentParser) -> None:
    """The options of the program itself: the window, the demo and the self-test."""
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


def _add_doctor_command(commands: Any) -> None:
    """The ``doctor`` subcommand (``commands`` from add_subparsers)."""
    from app.cli.args import add_connection_arguments, add_doctor_arguments
    from app.cli.report import add_doctor_report_arguments

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


class _NotAppOnly(Exception):
    """The command line is more than the program's own options."""


class _AppOptionsParser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise _NotAppOnly(message)


def _parse(argv: Sequence[str] | None) -> tuple[argparse.Namespace, argparse.ArgumentParser]:
    """The command line, parsed by the program's options alone when that is all it holds
    (the window, the demo, the self-test: no command module loaded); else by the full parser,
    which also gives every error and help message."""
    light = _AppOptionsParser(prog="pbx-companion", add_help=False)
    _add_app_options(light)
    light.set_defaults(command=None)
    try:
        return light.parse_args(argv), light
    except _NotAppOnly:
        parser = build_parser()
        return parser.parse_args(argv), parser


def main(argv: Sequence[str] | None = None) -> int:
    args, parser = _parse(argv)
    configure_logging(logging.INFO if args.verbose else logging.WARNING)
    try:
        return _run(args, parser)
    except KeyboardInterrupt:
        from app.cli.args import EXIT_INTERRUPTED, EXIT_OK

        # Stopping a watch or the demo is normal; an interrupted doctor checked nothing.
        return EXIT_INTERRUPTED if args.command == "doctor" else EXIT_OK
    except Exception as exc:
        code = _failure_code(exc)
        if code is None:
            raise
        return code


def _run(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    # The self-test and the window load Qt: imported here, so the headless commands never
    # do. This package imports app.main and app.cli.self_test; neither imports it back.
    if args.self_test:
        from app.cli.self_test import run_self_test

        return run_self_test()
    if args.demo and args.headless:
        import asyncio  # not at the top: the window paints its frame before asyncio loads

        from app.cli.demo import run_demo

        return asyncio.run(run_demo(args.demo_seconds))
    if args.command is None:
        # No command: the desktop app (with --demo, on the simulated PBX).
        from app.main import GuiOptions, run_gui

        return run_gui(GuiOptions(args.demo, args.demo_seconds, args.verbose))
    return _run_command(args, parser)


def _run_command(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    import asyncio

    from app.cli.args import EXIT_USAGE

    if args.command == "sim":
        from app.sim import cli as sim_cli

        return sim_cli.run(args)
    if args.command == "pbx":
        from app.cli.pbx import run_pbx

        return asyncio.run(run_pbx(args))
    if args.command == "report":
        from app.cli.report import run_report

        return run_report(args)
    if args.command == "doctor":
        from app.cli.doctor import run_doctor

        return asyncio.run(run_doctor(args))
    if args.command == "reconcile":
        from app.cli.reconcile import run_reconcile_command

        return asyncio.run(run_reconcile_command(args))
    if args.command == "fleet":
        from app.cli.fleet import run_fleet

        return asyncio.run(run_fleet(args))
    if args.command in ("connections", "keys"):
        from app.cli.connections import run_connections, run_keys

        run = run_connections if args.command == "connections" else run_keys
        return asyncio.run(run(args))
    parser.print_help()
    return EXIT_USAGE


def _failure_code(exc: Exception) -> int | None:
    """The exit code for a usage error or a PBX failure, after saying why; None for others."""
    from app.cli.args import EXIT_FAILED, EXIT_USAGE, UsageError
    from app.threecx.errors import ThreeCXError

    if isinstance(exc, UsageError):
        print(f"pbx-companion: {exc}", file=sys.stderr)
        return EXIT_USAGE
    if isinstance(exc, ThreeCXError):
        print(f"pbx-companion: {exc.message}", file=sys.stderr)
        if exc.next_step:
            print(f"What to do: {exc.next_step}", file=sys.stderr)
        return EXIT_FAILED
    return None
