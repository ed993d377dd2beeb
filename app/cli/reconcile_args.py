"""The ``reconcile`` subcommand's arguments (light: the command's work loads only when run)."""

from __future__ import annotations

from typing import Any

from app.cli.args import add_connection_arguments
from app.domain.cli_ranges import RECONCILE_DAYS, ranged_int


def add_reconcile_command(commands: Any) -> None:
    parser = commands.add_parser(
        "reconcile",
        help="did every call land? the PBX's calls against the CRM and the bridge's log",
        description="Every external call of a period from the PBX's call log, joined with the "
        "CRM's activity export (--crm-activities) and the bridge's logs (--bridge-log), each "
        "with one state (logged, no_recording, wrong_contact, duplicated, missing, "
        "missed_triggered, missed_not_triggered) and its cause in the doctor's words. Exit 0: "
        "every call logged or its missed-call workflow fired; 1: some call needs a fix; 2: bad "
        "arguments.",
    )
    add_connection_arguments(parser, required=False)  # --timeout comes with it
    parser.add_argument("--connection", metavar="NAME", help="a saved connection to use")
    period = parser.add_mutually_exclusive_group()
    period.add_argument(
        "--days",
        type=ranged_int(RECONCILE_DAYS),
        metavar="N",
        help=f"the last N days (default 7; {RECONCILE_DAYS.describe()})",
    )
    period.add_argument("--from", dest="date_from", metavar="DATE", help="first day, YYYY-MM-DD")
    parser.add_argument("--to", dest="date_to", metavar="DATE", help="last day, YYYY-MM-DD")
    parser.add_argument(
        "--crm-activities",
        required=True,
        metavar="FILE",
        help="the CRM's calls, tasks and texts as CSV (HubSpot, Salesforce, Zoho, "
        "GoHighLevel or any sheet)",
    )
    parser.add_argument(
        "--bridge-log",
        action="append",
        default=[],
        metavar="FILE",
        help="the bridge's log (JSON lines, logfmt or text); repeatable",
    )
    journal = parser.add_mutually_exclusive_group()
    journal.add_argument(
        "--webhook-journal",
        metavar="FILE",
        help="the webhook receiver's journal to read the add-on's events from (default: this "
        "machine's, when the receiver ran)",
    )
    journal.add_argument(
        "--no-webhook-journal",
        action="store_true",
        help="leave the webhook add-on's events out",
    )
    parser.add_argument(
        "--contacts",
        metavar="FILE",
        help="the CRM's contacts export: which contact each number belongs to",
    )
    parser.add_argument("--region", help="country for numbers without a country code")
    parser.add_argument(
        "--crm-zone",
        metavar="ZONE",
        help="the zone of the export's times (default: the customer's)",
    )
    parser.add_argument(
        "--bridge-zone",
        metavar="ZONE",
        help="the zone of the log's times (default: the customer's)",
    )
    parser.add_argument("--json", action="store_true", help="print pbx-companion/reconcile/1")
    parser.add_argument(
        "--mask", action="store_true", help="mask numbers (last 3 digits kept) and names (initials)"
    )
    parser.add_argument(
        "--report",
        metavar="FILE",
        help="also write the ledger report: .pdf, .html or .json (the --json document); a "
        "folder gets pbx-reconcile-<UTC time>.pdf; masked with --mask, never holds a key",
    )
    parser.add_argument(
        "--customer",
        default="",
        metavar="NAME",
        help="the customer's name on the report (default: the saved connection's)",
    )
    parser.add_argument(
        "--support-pack",
        metavar="FILE.zip",
        help="also write one file for a support ticket: the setup report, the doctor result, "
        "the ledger, the app's log and the versions, masked, with no secret in it",
    )
