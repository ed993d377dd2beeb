"""``pbx-companion doctor``: the seven checks from a terminal or a script.

The PBX is given on the command line (``--url``, ``--client-id``, ``--secret-env``) or as a
saved connection (``--connection NAME``: its profile gives the address, Client ID, CA file or
pin, region and contacts CSV, the OS keyring gives the key, and the result is remembered as the
connection's last check).
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import sys
from dataclasses import dataclass, replace
from pathlib import Path

from app.cli.args import (
    EXIT_FAILED,
    EXIT_OK,
    ConnectionArgs,
    UsageError,
    connection_from_args,
    timeouts_from,
    warn_about_address,
)
from app.cli.connections import find_saved, open_store_with_keyring
from app.cli.report import report_target, write_doctor_report
from app.domain.bridge import Bridge, ContactStore, NumberMatch
from app.domain.clock import utc_now
from app.domain.connection import ConnectionProfile
from app.domain.deadlines import DEFAULT_DOCTOR_DEADLINE_S, ran_out_of_time
from app.domain.diagnosis import CHECK_ORDER, CheckResult, Diagnosis
from app.domain.phones import NumberError, validate_region
from app.services.connections.store import (
    ConnectionStore,
    ConnectionStoreError,
    last_check_of,
)
from app.services.contacts.crm_import import ContactsFileError
from app.services.doctor import Doctor
from app.services.doctor.text import render_text
from app.services.facts.connection_options import options_for_connection
from app.services.facts.options import DoctorOptions
from app.services.known_certificates import KnownCertificates
from app.services.logs.setup import REDACTOR
from app.services.session import connection_params

# Given with --connection these come from the saved profile (and the key from the keyring).
_FROM_PROFILE = (
    ("--client-id", "client_id"),
    ("--secret-env", "secret_env"),
    ("--secret-stdin", "secret_stdin"),
    ("--ca-file", "ca_file"),
    ("--pin-sha256", "pin_sha256"),
)


@dataclass(frozen=True)
class SavedConnection:
    store: ConnectionStore
    profile: ConnectionProfile
    conn: ConnectionArgs


async def run_doctor(args: argparse.Namespace) -> int:
    saved = await saved_connection(args) if args.url is None and args.connection else None
    options = await _options_from_args(args, saved.profile if saved else None)
    conn = saved.conn if saved else connection_from_args(args)
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
    # A run the deadline cut short is incomplete: not "nothing failed".
    code = EXIT_FAILED if diagnosis.failed or ran_out_of_time(diagnosis) else EXIT_OK
    if saved is not None:
        await _remember(saved, diagnosis)
    if target is not None and write_doctor_report(args, diagnosis, target, conn.secret):
        code = EXIT_FAILED
    return code


async def saved_connection(args: argparse.Namespace) -> SavedConnection:
    """``--connection NAME``: the saved profile and its key from the OS keyring."""
    given = [option for option, attr in _FROM_PROFILE if getattr(args, attr)]
    if given:
        raise UsageError(
            f"{', '.join(given)}: the saved connection {args.connection!r} provides this; leave "
            "it out, or give --url for a check that does not use a saved connection"
        )
    store = await open_store_with_keyring()
    profile = find_saved(store, args.connection, "--connection")
    try:
        secret = await store.secret(profile.id)
    except ConnectionStoreError as exc:
        raise UsageError(f"--connection: {exc.message}") from None
    if secret is None:
        raise UsageError(
            f"--connection: no key is stored for {profile.name} in {store.key_backend}; store "
            f"one with: pbx-companion keys rotate {shlex.quote(profile.name)} --secret-stdin"
        )
    REDACTOR.register(secret)
    # The report names the connection and its customer unless told otherwise.
    args.connection = profile.name
    args.customer = args.customer or profile.customer
    warn_about_address(profile.url, "--connection")
    params = replace(connection_params(profile), timeouts=timeouts_from(args))
    return SavedConnection(store, profile, ConnectionArgs(params, secret))


async def _remember(saved: SavedConnection, diagnosis: Diagnosis) -> None:
    """The run becomes the connection's last check (the list's status column)."""
    try:
        await saved.store.record_check(
            saved.profile.id,
            last_check_of(diagnosis),
            version=diagnosis.pbx.version,
            hosting=diagnosis.pbx.hosting,
        )
    except ConnectionStoreError as exc:
        print(f"pbx-companion: the result was not remembered: {exc.message}", file=sys.stderr)
    # And in the fleet's run history, so `fleet changes` compares against it too.
    from app.services.fleet.tracking import record_doctor_run

    problem = await record_doctor_run(
        saved.profile,
        diagnosis,
        source="doctor",
        key_warning_days=saved.store.settings.key_age_warning_days,
        now=utc_now(),
    )
    if problem is not None:
        print(f"pbx-companion: the run was not kept in the run history: {problem}", file=sys.stderr)


def _discard_stdout() -> None:
    """Point stdout at the null device, so later prints and the exit flush cannot fail."""
    null = os.open(os.devnull, os.O_WRONLY)
    os.dup2(null, sys.stdout.fileno())
    os.close(null)


async def _options_from_args(
    args: argparse.Namespace, profile: ConnectionProfile | None = None
) -> DoctorOptions:
    """The options; with a saved profile, its region, contacts CSV and bridge unless given here."""
    usage = UsageError
    region = None
    if args.region:
        try:
            region = validate_region(args.region)
        except NumberError as exc:
            raise usage(f"--region: {exc}") from exc
    # --watch, --bridge-window, --required-retention-days and --deadline are range-checked
    # by the parser (app.domain.cli_ranges).
    bridge = _bridge_from_args(args, profile)
    base = DoctorOptions(
        use_phonebook=not args.no_phonebook,
        watch_s=float(args.watch),
        bridge_window_s=float(args.bridge_window),
        required_retention_days=int(args.required_retention_days),
        deadline_s=float(getattr(args, "deadline", DEFAULT_DOCTOR_DEADLINE_S)),
    )
    try:
        built = await options_for_connection(
            profile,
            base,
            region=region,
            contacts_csv=Path(args.contacts) if args.contacts else None,
            bridge=bridge,
        )
    except (ContactsFileError, OSError) as exc:
        raise usage(f"--contacts: {exc}") from exc
    skipped = built.contacts.skipped if built.contacts else ()
    skipped_in_all = built.contacts.rows_skipped if built.contacts else 0
    for line in skipped[:10]:
        print(
            f"pbx-companion: {built.contacts.label if built.contacts else ''}: {line}",
            file=sys.stderr,
        )
    if skipped_in_all > len(skipped[:10]):
        more = skipped_in_all - len(skipped[:10])
        print(f"pbx-companion: {more:,} more rows skipped", file=sys.stderr)
        if built.contacts and built.contacts.summary:
            print(
                f"pbx-companion: {built.contacts.label}: {built.contacts.summary}", file=sys.stderr
            )
    for notice in built.notices:
        if not notice.startswith("CRM export") or "not read" in notice:
            print(f"pbx-companion: {notice}", file=sys.stderr)
    return built.options


def _bridge_from_args(args: argparse.Namespace, profile: ConnectionProfile | None) -> Bridge:
    """``--bridge-match``, else the saved connection's bridge, else the field docs' (E.164)."""
    if args.bridge_match:
        bridge = Bridge.for_match(NumberMatch(args.bridge_match))
    else:
        bridge = profile.bridge if profile is not None else Bridge()
    if args.no_phonebook and bridge.store is ContactStore.PHONEBOOK:
        raise UsageError(
            "--no-phonebook: this bridge is 3CX's own integration, which looks callers up in "
            "the 3CX phonebook; leave --no-phonebook out, or give another --bridge-match"
        )
    return bridge
