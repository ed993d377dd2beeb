"""``pbx-companion doctor``: the seven checks from a terminal or a script."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from pathlib import Path
from typing import Any

from app.cli_args import EXIT_FAILED, EXIT_OK, UsageError, connection_from_args
from app.cli_report import report_target, write_doctor_report
from app.domain.diagnosis import CHECK_ORDER, CheckResult
from app.domain.phones import NumberError, validate_region
from app.services.contacts_import import ContactsFileError, read_contacts_csv
from app.services.doctor import Doctor, DoctorOptions
from app.services.doctor.text import render_text
from app.services.known_certificates import KnownCertificates


async def run_doctor(args: argparse.Namespace) -> int:
    options = await _options_from_args(args)
    conn = connection_from_args(args)
    target = report_target(args, "--report", args.report)
    live = sys.stdout.isatty() and not args.json
    done: list[CheckResult] = []

    def progress(result: CheckResult) -> None:
        done.append(result)
        if live:
            print(f"  [{len(done)}/{len(CHECK_ORDER)}] {result.id}: {result.status}", flush=True)

    if live:
        print(f"Checking {conn.params.url} ...", flush=True)
    doctor = Doctor(
        conn.params,
        conn.secret,
        options,
        known_certificates=KnownCertificates(),
        on_result=progress,
    )
    diagnosis = await doctor.run()
    output = (
        json.dumps(diagnosis.as_json(), ensure_ascii=False, indent=2)
        if args.json
        else render_text(diagnosis)
    )
    try:
        print(output, flush=True)
    except BrokenPipeError:
        # The reader went away (`| head`): not an error, and the report below is still wanted.
        _discard_stdout()
    code = EXIT_FAILED if diagnosis.failed else EXIT_OK
    if target is not None and write_doctor_report(args, diagnosis, target, conn.secret):
        code = EXIT_FAILED
    return code


def _discard_stdout() -> None:
    """Point stdout at the null device, so later prints and the exit flush cannot fail."""
    null = os.open(os.devnull, os.O_WRONLY)
    os.dup2(null, sys.stdout.fileno())
    os.close(null)


async def _options_from_args(args: argparse.Namespace) -> DoctorOptions:
    usage = UsageError
    region = None
    if args.region:
        try:
            region = validate_region(args.region)
        except NumberError as exc:
            raise usage(f"--region: {exc}") from exc
    if args.watch < 0:
        raise usage("--watch: give a number of seconds, 0 or more")
    if args.bridge_window <= 0:
        raise usage("--bridge-window: give a number of seconds above 0")
    if args.required_retention_days < 1:
        raise usage("--required-retention-days: give a number of days, 1 or more")
    contacts: tuple[Any, ...] = ()
    label = None
    if args.contacts:
        path = Path(args.contacts)
        try:
            imported = await asyncio.to_thread(read_contacts_csv, path)
        except (ContactsFileError, OSError) as exc:
            raise usage(f"--contacts: {exc}") from exc
        for problem in imported.problems[:10]:
            print(
                f"pbx-companion: --contacts: line {problem.line} skipped: {problem.message}",
                file=sys.stderr,
            )
        if len(imported.problems) > 10:
            print(
                f"pbx-companion: --contacts: {len(imported.problems) - 10} more rows skipped",
                file=sys.stderr,
            )
        contacts = imported.contacts
        label = f"{path.name} ({imported.mapping.flavour})"
    return DoctorOptions(
        region=region,
        crm_contacts=contacts,
        crm_contacts_label=label,
        use_phonebook=not args.no_phonebook,
        watch_s=float(args.watch),
        bridge_window_s=float(args.bridge_window),
        required_retention_days=int(args.required_retention_days),
    )
