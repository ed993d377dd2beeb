"""``pbx-companion fleet``: every saved connection's PBX checked at once, and what changed.

``fleet sweep`` runs the doctor against each saved connection (keys from the OS keyring, each
read once), prints one progress line per PBX on stderr and a table (or ``--json``) on stdout,
and keeps every run in the fleet history. ``fleet changes`` reads that history only.
``fleet schedule --print`` prints the snippet that runs the sweep unattended.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from app.cli.args import EXIT_FAILED, EXIT_OK, UsageError, timeouts_from
from app.cli.connections import open_store_with_keyring
from app.cli.fleet_args import EXIT_UNREACHABLE
from app.domain.clock import utc_now
from app.domain.connection import ConnectionProfile
from app.domain.deadlines import ran_out_of_time
from app.domain.diagnosis import TITLES
from app.services.atomic_files import write_text_atomically
from app.services.connections.store import ConnectionStore
from app.services.facts.options import DoctorOptions
from app.services.fleet.document import document, summary_json, sweep_json
from app.services.fleet.history import FleetHistory, FleetHistoryError
from app.services.fleet.shards import processes_for, sweep_in_processes
from app.services.fleet.since import rows_since_last_good
from app.services.fleet.sweep import FleetRow, SweepProgress, SweepSettings
from app.services.fleet.targets import UnknownSelection, read_targets, select
from app.services.known_certificates import KnownCertificates

NO_CONNECTIONS = (
    "No saved connections to sweep. Add one with: pbx-companion connections add NAME --url URL "
    "--client-id ID --secret-stdin"
)


async def run_fleet(args: argparse.Namespace) -> int:
    if args.fleet_command == "sweep":
        return await _sweep(args)
    if args.fleet_command == "changes":
        return await _changes(args)
    from app.cli.fleet_schedule import run_schedule

    return run_schedule(args)


def exit_code(rows: Sequence[FleetRow]) -> int:
    """3 when some PBX could not be checked at all, else 1 when a check failed (or a doctor ran
    out of time, as ``doctor`` counts it), else 0."""
    if any(not row.reached for row in rows):
        return EXIT_UNREACHABLE
    if any(row.failed or (row.diagnosis and ran_out_of_time(row.diagnosis)) for row in rows):
        return EXIT_FAILED
    return EXIT_OK


def _selected(store: ConnectionStore, only: Sequence[str]) -> list[ConnectionProfile]:
    try:
        return select(store.connections(), only)
    except UnknownSelection as exc:
        raise UsageError(f"--only: {exc}") from None


async def _open_history() -> FleetHistory | None:
    try:
        return await asyncio.to_thread(FleetHistory.open)
    except FleetHistoryError as exc:
        print(f"pbx-companion: {exc} This sweep is not kept.", file=sys.stderr)
        return None


# ---- fleet sweep -----------------------------------------------------------------------------
async def _sweep(args: argparse.Namespace) -> int:
    out = Path(args.out) if args.out else None
    if out is not None:
        try:
            out.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise UsageError(f"--out: the folder {out.parent} cannot be made ({exc})") from None
    store = await open_store_with_keyring()
    profiles = _selected(store, args.only)
    if not profiles:
        print(NO_CONNECTIONS, file=sys.stderr)
    targets = await read_targets(store, profiles)
    settings = SweepSettings(
        concurrency=args.concurrency,
        deadline_s=float(args.deadline),
        timeouts=timeouts_from(args),
        options=DoctorOptions(required_retention_days=int(args.required_retention_days)),
        key_warning_days=store.settings.key_age_warning_days,
    )
    history = await _open_history()
    try:
        processes = args.processes or processes_for(len(targets), os.cpu_count())
        result = await sweep_in_processes(
            targets,
            settings,
            processes=processes,
            history=history,
            store=store,
            known_certificates=KnownCertificates(),
            on_progress=_progress_line,
        )
    finally:
        if history is not None:
            await asyncio.to_thread(history.close)
    body = sweep_json(result)
    code = exit_code(result.rows)
    if out is not None:
        try:
            text = json.dumps(body, ensure_ascii=False, indent=2) + "\n"
            await asyncio.to_thread(write_text_atomically, out, text)
        except OSError as exc:
            print(f"pbx-companion: --out: {out} was not written ({exc})", file=sys.stderr)
            # An unattended run whose file is stale must not read as "nothing failed".
            code = max(code, EXIT_FAILED)
    if args.json:
        print(json.dumps(body, ensure_ascii=False, indent=2))
    else:
        _print_table(result.rows)
        print(_summary_text(result.rows, result.duration_s))
    return code


def _progress_line(progress: SweepProgress) -> None:
    row = progress.row
    width = len(str(progress.total))
    print(
        f"[{progress.done:>{width}}/{progress.total}] {row.name}: {row.outcome} - {row.finding} "
        f"({row.duration_s:.1f} s)",
        file=sys.stderr,
        flush=True,
    )


# ---- fleet changes ---------------------------------------------------------------------------
async def _changes(args: argparse.Namespace) -> int:
    store = await ConnectionStore.open()
    profiles = _selected(store, args.only)
    now = utc_now()
    try:
        history = await asyncio.to_thread(FleetHistory.open)
    except FleetHistoryError as exc:
        raise UsageError(str(exc)) from None
    try:
        rows = await asyncio.to_thread(
            rows_since_last_good,
            history,
            profiles,
            now=now,
            key_warning_days=store.settings.key_age_warning_days,
        )
    except FleetHistoryError as exc:
        raise UsageError(str(exc)) from None
    finally:
        await asyncio.to_thread(history.close)
    if args.json:
        print(json.dumps(document("changes", rows, now, None), ensure_ascii=False, indent=2))
        return EXIT_OK
    if not rows:
        print(NO_CONNECTIONS)
    for row in rows:
        _print_changes(row, always=True)
    return EXIT_OK


# ---- text ------------------------------------------------------------------------------------
def _print_table(rows: Sequence[FleetRow]) -> None:
    if not rows:
        return
    table = [("NAME", "CUSTOMER", "RESULT", "FINDING", "CHANGES")]
    for row in rows:
        finding = row.finding if len(row.finding) <= 70 else row.finding[:69] + "…"
        table.append((row.name, row.customer, str(row.outcome), finding, str(len(row.changes))))
    widths = [max(len(line[i]) for line in table) for i in range(4)]
    for line in table:
        cells = [cell.ljust(width) for cell, width in zip(line[:4], widths, strict=True)]
        print("  ".join([*cells, line[4]]))
    for row in rows:
        _print_changes(row, always=False)
    for row in rows:
        for note in row.notes:
            print(f"Note, {row.name}: {note}")


def _print_changes(row: FleetRow, *, always: bool) -> None:
    if not row.changes and not always:
        return
    since = (
        f"since the last good run ({row.baseline_at:%Y-%m-%d %H:%M} UTC)"
        if row.baseline_at
        else "(no good run stored before this one)"
    )
    print(f"\n{row.name}: {row.outcome} - {row.finding}")
    if not row.changes:
        print(
            f"  No changes {since}."
            if row.baseline_at
            else "  No good run stored before this one to compare with."
        )
        return
    print(f"  Changes {since}:")
    for change in row.changes:
        check = change.threatens
        print(f"  - [{check.order}. {TITLES[check]}] {change.finding}")
        print(f"    What to do: {change.fix}")


def _summary_text(rows: Sequence[FleetRow], duration_s: float) -> str:
    counts = summary_json(rows)
    parts = [
        f"{counts[key]} {word}"
        for key, word in (
            ("pass", "pass"),
            ("warn", "warn"),
            ("fail", "fail"),
            ("unreachable", "unreachable"),
            ("not_checked", "not checked"),
        )
        if counts[key]
    ]
    pbxs = f"{len(rows)} PBX{'' if len(rows) == 1 else 's'}"
    return (
        f"\n{pbxs}: {', '.join(parts) or 'none'}; {counts['changes']} change"
        f"{'' if counts['changes'] == 1 else 's'} since the last good runs. "
        f"Took {duration_s:.1f} s."
    )
