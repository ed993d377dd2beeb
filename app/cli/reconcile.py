"""``pbx-companion reconcile``: did every call land? The PBX's calls of a period against the CRM's
activity export and the bridge's logs, each call with one state and its cause.

``--report FILE`` also writes the ledger report (PDF, HTML or the JSON document), masked with
``--mask``; its name is checked before any work.

Exit codes: 0 every call is ``logged`` or ``missed_triggered``; 1 some call needs a fix, the
PBX failed, or the report could not be written; 2 a bad argument (a missing file, columns that
cannot be read, a bad date, a report name that is not .pdf, .html or .json).
"""

from __future__ import annotations

import argparse
import os
import sys
from dataclasses import replace
from datetime import date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from app.cli.args import (
    EXIT_FAILED,
    EXIT_OK,
    UsageError,
    connection_from_args,
)
from app.cli.reconcile_text import render_ledger
from app.domain.business_hours import BusinessHours
from app.domain.cli_ranges import RECONCILE_DAYS
from app.domain.clock import utc_now
from app.domain.connection import ConnectionProfile
from app.services.reconcile.activity_columns import ActivityColumnsError
from app.services.reconcile.bridge_log import BridgeLogError
from app.services.reconcile.crm_activities import ActivitiesFileError
from app.services.reconcile.ledger_report import (
    ledger_json_text,
    ledger_masker,
    ledger_report_path,
    write_ledger_report,
)
from app.services.reconcile.ledger_store_compare import Comparison
from app.services.reconcile.run import ReconcileInputs, ReconcileResult, run_reconcile
from app.services.reports.export import (
    PdfRenderer,
    ReportExportError,
    ReportFormat,
    report_format,
)
from app.services.session import PbxSession, connection_params

MAX_DAYS = int(RECONCILE_DAYS.high)


async def run_reconcile_command(args: argparse.Namespace) -> int:
    inputs = _inputs(args)
    pack = _pack_target(args.support_pack)
    report = _report_target(args.report, inputs)
    profile, secret = await _profile(args)
    inputs = await _saved_columns(inputs, profile)
    session = PbxSession(profile, secret)
    try:
        hours = await session.customer_hours()
        since, until = _period(args, hours)
        live = sys.stderr.isatty() and not args.json
        result = await run_reconcile(
            session, since, until, inputs, progress=_progress if live else None
        )
    except (ActivitiesFileError, ActivityColumnsError, BridgeLogError) as exc:
        raise UsageError(str(exc)) from exc
    finally:
        await session.aclose()
    _print(result, hours, args)
    compared = await _remember(profile, inputs, result, args)
    code = EXIT_OK if result.exit_fine else EXIT_FAILED
    if report is not None:
        customer = (args.customer or "").strip() or profile.customer
        if not _write_report(report, result, hours, compared, customer, secret, args):
            code = EXIT_FAILED
    if pack is not None and not await _support_pack(pack, profile, secret, result, args):
        code = EXIT_FAILED
    return code


async def _remember(
    profile: ConnectionProfile,
    inputs: ReconcileInputs,
    result: ReconcileResult,
    args: argparse.Namespace,
) -> Comparison | None:
    """Keep the run in the ledger database; after a fix, the same period's earlier run shows
    what changed (returned for the report). A ledger that cannot be kept is said, and the run's
    answer still stands."""
    import asyncio

    from app.cli.reconcile_text import render_comparison
    from app.services.reconcile.ledger_store import LedgerStore, LedgerStoreError

    ledger = result.ledger
    contacts = Path(profile.contacts_csv) if profile.contacts_csv else None

    def keep() -> tuple[int, Comparison | None]:
        with LedgerStore.open() as store:
            before = store.latest_for_period(profile.id, ledger.period_from, ledger.period_to)
            run = store.save(result, connection_id=profile.id, inputs=inputs, contacts=contacts)
            compared = store.compare(before.id, run) if before is not None else None
        return run, compared

    try:
        run, compared = await asyncio.to_thread(keep)
    except LedgerStoreError as exc:
        print(f"pbx-companion: the run was not kept: {exc}", file=sys.stderr)
        return None
    stream = sys.stderr if args.json else sys.stdout
    print(f"Kept as run {run} in the ledger.", file=stream)
    if compared is not None:
        print(render_comparison(compared), file=stream)
    return compared


def _report_target(value: str | None, inputs: ReconcileInputs) -> Path | None:
    """The report's file, checked before any work: a bad name costs nothing and writes nothing.
    A folder gets pbx-reconcile-<UTC time>.pdf; an input file is never overwritten."""
    if not value:
        return None
    path = Path(value)
    if value.endswith(("/", os.sep)) and not path.is_dir():
        raise UsageError(f"--report: the folder {path} does not exist")
    try:
        path = ledger_report_path(path)
    except ReportExportError as exc:
        raise UsageError(f"--report: {exc}") from exc
    if not path.parent.is_dir():
        raise UsageError(f"--report: {path}: the folder {path.parent} does not exist")
    if path.is_dir():
        raise UsageError(f"--report: {path} is a folder; give a file name")
    if any(
        path.resolve() == given.resolve() for given in (inputs.crm_activities, *inputs.bridge_logs)
    ):
        raise UsageError(f"--report: {path} is one of the inputs; choose another name")
    return path


def _write_report(
    path: Path,
    result: ReconcileResult,
    hours: BusinessHours,
    compared: Comparison | None,
    customer: str,
    secret: str,
    args: argparse.Namespace,
) -> bool:
    """Write the ledger report (on this thread: a PDF is laid out by Qt, which wants the
    thread that made its application); say where, or why not."""
    renderer: PdfRenderer | None = None
    if report_format(path) is ReportFormat.PDF:
        # Qt only when a PDF is asked for: the other formats never load it.
        from app.ui.reports.pdf import render_pdf

        renderer = render_pdf
    try:
        written = write_ledger_report(
            result,
            path,
            hours=hours,
            masked=args.mask,
            customer=customer,
            comparison=compared,
            pdf_renderer=renderer,
            secrets=(secret,),
        )
    except ReportExportError as exc:
        print(f"pbx-companion: the ledger report was not written: {exc}", file=sys.stderr)
        return False
    stream = sys.stderr if args.json else sys.stdout
    print(f"Ledger report written to {written}", file=stream)
    return True


def _pack_target(value: str | None) -> Path | None:
    if not value:
        return None
    path = Path(value)
    if path.suffix.lower() != ".zip":
        raise UsageError(f"--support-pack: {value}: end the file name in .zip")
    if not path.parent.is_dir():
        raise UsageError(f"--support-pack: the folder {path.parent} does not exist")
    return path


async def _support_pack(
    path: Path,
    profile: ConnectionProfile,
    secret: str,
    result: ReconcileResult,
    args: argparse.Namespace,
) -> bool:
    """The doctor's seven checks run too (a few seconds), then one masked zip is written."""
    import asyncio

    from app.cli.report import meta_from_args
    from app.services.doctor import Doctor
    from app.services.facts.connection_options import options_for_connection
    from app.services.logs.buffer import log_file_path
    from app.services.paths import log_dir
    from app.services.reconcile.support_pack import SupportPackError, write_support_pack

    built = await options_for_connection(profile)
    diagnosis = await Doctor(connection_params(profile), secret, built.options).run()
    try:
        written = await asyncio.to_thread(
            write_support_pack,
            path,
            ledger=result.ledger,
            diagnosis=diagnosis,
            meta=meta_from_args(args),
            log_file=log_file_path(log_dir()),
            secrets=(secret,),
            now=utc_now(),
        )
    except SupportPackError as exc:
        print(f"pbx-companion: {exc}", file=sys.stderr)
        return False
    stream = sys.stderr if args.json else sys.stdout
    print(f"Support pack written to {written.path} ({', '.join(written.files)})", file=stream)
    return True


def _progress(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def _print(result: ReconcileResult, hours: BusinessHours, args: argparse.Namespace) -> None:
    # The names in the ledger are learned, so --mask masks them inside the evidence too.
    masker = ledger_masker(result) if args.mask else None
    if args.json:
        # The same document the report writes as .json.
        print(ledger_json_text(result, masker=masker), end="")
    else:
        print(render_ledger(result, hours, masker=masker))


def _inputs(args: argparse.Namespace) -> ReconcileInputs:
    crm = _readable(args.crm_activities, "--crm-activities")
    logs = tuple(_readable(value, "--bridge-log") for value in args.bridge_log)
    journal = _readable(args.webhook_journal, "--webhook-journal") if args.webhook_journal else None
    return ReconcileInputs(
        crm,
        logs,
        crm_zone=_zone(args.crm_zone, "--crm-zone"),
        bridge_zone=_zone(args.bridge_zone, "--bridge-zone"),
        use_webhook_journal=not args.no_webhook_journal,
        webhook_journal=journal,
    )


def _readable(value: str, option: str) -> Path:
    path = Path(value)
    if not path.is_file():
        raise UsageError(f"{option}: {value} is not a file that exists")
    return path


def _zone(value: str | None, option: str) -> ZoneInfo | None:
    if not value:
        return None
    try:
        return ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise UsageError(
            f"{option}: {value!r} is not a time zone (e.g. Australia/Adelaide)"
        ) from exc


def _period(args: argparse.Namespace, hours: BusinessHours) -> tuple[datetime, datetime]:
    """The days asked for, on the customer's clock: --days N up to now, or --from/--to whole
    days (the first day's 00:00 to the last day's 24:00 there)."""
    if args.date_to and not args.date_from:
        raise UsageError("--to: give --from too (or --days N)")
    now = utc_now()
    if not args.date_from:
        days = 7 if args.days is None else args.days  # range-checked by the parser
        return now - timedelta(days=days), now
    first = _day(args.date_from, "--from")
    last = _day(args.date_to, "--to") if args.date_to else now.astimezone(hours.zone).date()
    if last < first:
        raise UsageError(f"--to: {last} is before --from {first}")
    if (last - first).days >= MAX_DAYS:
        raise UsageError(f"--from/--to: at most {MAX_DAYS} days at a time")
    since = datetime.combine(first, time(), hours.zone)
    until = datetime.combine(last + timedelta(days=1), time(), hours.zone)
    return since, min(until, now)


def _day(value: str, option: str) -> date:
    try:
        return datetime.strptime(value, "%Y-%m-%d").date()
    except ValueError as exc:
        raise UsageError(f"{option}: {value!r} is not a date like 2026-11-18") from exc


async def _profile(args: argparse.Namespace) -> tuple[ConnectionProfile, str]:
    """A saved connection (its key from the keyring), or the one the arguments describe."""
    if args.url is None and args.connection:
        from app.cli.doctor import saved_connection

        saved = await saved_connection(args)
        profile = saved.profile
        secret = saved.conn.secret
    else:
        conn = connection_from_args(args)
        params = conn.params
        profile = ConnectionProfile(
            id=f"cli:{params.url}",  # one ledger history per PBX address
            name=args.connection or params.url,
            url=params.url,
            client_id=params.client_id,
            ca_file=args.ca_file,
            pin_sha256=params.tls.pin_sha256,
        )
        secret = conn.secret
    if args.contacts:
        profile = replace(profile, contacts_csv=str(_readable(args.contacts, "--contacts")))
    if args.region:
        profile = replace(profile, region=args.region.upper())
    return profile, secret


async def _saved_columns(inputs: ReconcileInputs, profile: ConnectionProfile) -> ReconcileInputs:
    """The connection's activity mapping (made in the Reconcile pane) when it fits the export's
    headers; otherwise the columns are detected."""
    import asyncio

    from app.services.reconcile.activity_columns import remembered_columns
    from app.services.reconcile.crm_activities import preview_crm_activities

    if inputs.crm_columns is not None or profile.activity_columns is None:
        return inputs
    try:
        preview = await asyncio.to_thread(preview_crm_activities, inputs.crm_activities)
    except ActivitiesFileError:
        return inputs  # the run names what is wrong with the file
    columns = remembered_columns(preview.headers, profile.activity_columns)
    return inputs if columns is None else replace(inputs, crm_columns=columns)
