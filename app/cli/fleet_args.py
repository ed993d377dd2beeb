"""The ``fleet`` subcommand's arguments (light: the sweep's work loads only when it runs)."""

from __future__ import annotations

from typing import Any, Final

from app.cli.args import add_deadline_argument, add_timeout_argument
from app.domain.cli_ranges import (
    FLEET_CONCURRENCY as CONCURRENCY,
)
from app.domain.cli_ranges import (
    FLEET_PROCESSES as PROCESSES,
)
from app.domain.cli_ranges import (
    RETENTION_DAYS,
    ranged_int,
)
from app.domain.deadlines import DEFAULT_DOCTOR_DEADLINE_S

EXIT_UNREACHABLE: Final = 3  # some PBX could not be checked at all
DEFAULT_CONCURRENCY: Final = 20
OPERATING_SYSTEMS: Final = ("windows", "macos", "linux")


def add_fleet_command(commands: Any) -> None:
    fleet = commands.add_parser(
        "fleet",
        help="every saved connection at once: sweep, what changed, an unattended schedule",
        description="Run the doctor (no watch) against every saved connection at once, keep "
        "each run in the fleet history, and say what changed since each PBX's last good run.",
    )
    what = fleet.add_subparsers(dest="fleet_command", metavar="WHAT", required=True)

    sweep = what.add_parser(
        "sweep",
        help="doctor every saved connection at once, one progress line per PBX on stderr",
        description="Run the doctor (no watch) against every saved connection (or those "
        "--only names), at most --concurrency at a time, each key read once from the OS "
        "keyring and each PBX within its own --deadline. Every run is kept in the fleet "
        "history. Exit 0: nothing failed; 1: some check failed (or a PBX did not answer every "
        "check in time); 3: some PBX could not be checked at all (unreachable, no key), "
        "whatever else failed; 2: bad arguments.",
    )
    _add_only(sweep)
    sweep.add_argument(
        "--concurrency",
        type=ranged_int(CONCURRENCY),
        default=DEFAULT_CONCURRENCY,
        metavar="N",
        help=f"doctors running at once (default {DEFAULT_CONCURRENCY}; {CONCURRENCY.describe()})",
    )
    sweep.add_argument(
        "--processes",
        type=ranged_int(PROCESSES),
        default=None,
        metavar="N",
        help="share the doctors among N processes (default: one per 50 PBXs, at most 4 and "
        f"one fewer than the CPUs; {PROCESSES.describe()})",
    )
    add_deadline_argument(sweep, DEFAULT_DOCTOR_DEADLINE_S, "each PBX's doctor run")
    add_timeout_argument(sweep)
    sweep.add_argument(
        "--required-retention-days",
        type=ranged_int(RETENTION_DAYS),
        default=90,
        metavar="N",
        help=f"how many days recordings must stay playable (default 90; "
        f"{RETENTION_DAYS.describe()})",
    )
    sweep.add_argument("--json", action="store_true", help="print one JSON document")
    sweep.add_argument(
        "--out",
        metavar="FILE",
        help="also write the JSON document to FILE (replaced whole, for an RMM to pick up)",
    )

    changes = what.add_parser(
        "changes",
        help="what changed since each connection's last good run (from the history; no PBX asked)",
        description="For each saved connection, its latest stored run against its last good "
        "run (no check failed): upgrades, expiring licence or certificate, a renewed "
        "certificate, an old or rotated key, a lost capability, an extension that stopped "
        "recording, lower retention. Each with the check it threatens and the fix. Exit 0.",
    )
    _add_only(changes)
    changes.add_argument("--json", action="store_true", help="print one JSON document")

    schedule = what.add_parser(
        "schedule",
        help="print the snippet that runs the sweep unattended (Task Scheduler, launchd, cron)",
        description="Print a Windows Task Scheduler task (XML), a macOS launchd agent (plist) "
        "or a crontab line that runs `fleet sweep --json --out FILE` daily as you, with your "
        "OS keyring. Nothing is installed: the snippet is printed for you (or your RMM) to "
        "install.",
    )
    schedule.add_argument(
        "--print", dest="print_snippet", action="store_true", help="print the snippet (required)"
    )
    schedule.add_argument(
        "--os", dest="target_os", choices=OPERATING_SYSTEMS, help="for this OS (default: this one)"
    )
    schedule.add_argument(
        "--at", default="06:30", metavar="HH:MM", help="the time of day to sweep (default 06:30)"
    )
    _add_only(schedule)


def _add_only(parser: Any) -> None:
    parser.add_argument(
        "--only",
        action="append",
        default=[],
        metavar="NAME|TAG",
        help="only this saved connection, or every connection of this customer; repeatable",
    )
