"""``pbx-companion connections`` and ``keys``: saved connections and their keys, headless.

A key is read from stdin (or a variable), trimmed, and goes straight into the OS keyring: it is
never echoed, logged or written to a file. ``connections add`` proves the key against the PBX
before saving (``--no-verify`` skips that, for a PBX reachable only from the customer's
network); ``keys rotate`` always proves the new key first and keeps the old one when the PBX
refuses it. Exit codes: 0 done, 1 the PBX refused (nothing changed), 2 bad arguments or no
usable keyring.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import shlex
import sys
from dataclasses import replace
from datetime import datetime
from typing import Any, Final

from app.cli.args import (
    EXIT_FAILED,
    EXIT_OK,
    UsageError,
    add_secret_arguments,
    add_timeout_argument,
    check_ca_file,
    read_secret,
    timeouts_from,
    warn_about_address,
)
from app.domain.clock import utc_now
from app.domain.connection import (
    ConnectionProfile,
    key_age_days,
    key_age_text,
    key_age_warning,
    new_connection_id,
    parse_tags,
)
from app.domain.pbx import hosting_of_url
from app.services.connections.store import (
    ConnectionStore,
    ConnectionStoreError,
    InvalidConnectionError,
    KeyRotationRejected,
    check_profile,
    file_problems,
)
from app.services.session import connection_params
from app.services.settings.file import encode_last_check, profile_identity
from app.services.setup.capabilities import CapabilityReport, verify_capabilities

# The option (or argument) a technician typed for each field ConnectionStore names.
OPTIONS: Final[dict[str, str]] = {
    "name": "NAME",
    "customer": "--customer",
    "tags": "--tag",
    "url": "--url",
    "client_id": "--client-id",
    "secret": "API key",
    "region": "--region",
    "ca_file": "--ca-file",
    "pin_sha256": "--pin-sha256",
    "contacts_csv": "--contacts",
}
MARKS: Final[dict[bool | None, str]] = {True: " OK ", False: "FAIL", None: " -- "}


def add_commands(commands: Any) -> None:
    """The ``connections`` and ``keys`` subcommands (``commands`` from add_subparsers)."""
    connections = commands.add_parser(
        "connections",
        help="saved connections: add, list, remove (keys in the OS keyring)",
        description="Connections the app and `doctor --connection NAME` use. Keys live in the "
        "OS keyring, never in the settings file.",
    )
    what = connections.add_subparsers(dest="connections_command", metavar="WHAT", required=True)

    add = what.add_parser(
        "add",
        help="save a connection; its key goes into the OS keyring",
        description="Save a connection. The key is read from stdin (or --secret-env), trimmed, "
        "stored in the OS keyring and never shown. The PBX must accept it first: the key, call "
        "history (Reports User) and recordings (Recording Manager) are checked, unless "
        "--no-verify.",
    )
    add.add_argument("name", metavar="NAME", help="what to call it, e.g. the customer's site")
    add.add_argument("--url", required=True, help="PBX address, e.g. https://pbx.example.com:5001")
    add.add_argument("--client-id", required=True, help="API client id (v18: the user name)")
    add_secret_arguments(add)
    add.add_argument(
        "--region", metavar="CC", help="country for local numbers (default: the PBX's own)"
    )
    add.add_argument("--ca-file", metavar="PEM", help="trust this CA instead of the OS store")
    add.add_argument("--pin-sha256", help="accept only this certificate (SHA-256 fingerprint)")
    add.add_argument("--customer", default="", metavar="TEXT", help="the customer's name")
    add.add_argument(
        "--tag",
        action="append",
        default=[],
        metavar="TAG",
        help="a label of yours for `fleet sweep --only TAG` (repeatable; commas also separate)",
    )
    add.add_argument("--contacts", metavar="CSV", help="a CRM contacts export to match against")
    add.add_argument(
        "--no-verify",
        action="store_true",
        help="save without asking the PBX (e.g. it is reachable only from the customer's site)",
    )
    add_timeout_argument(add)

    listing = what.add_parser("list", help="saved connections with key age and last check")
    listing.add_argument("--json", action="store_true", help="print JSON")

    remove = what.add_parser("remove", help="forget a connection and delete its key")
    remove.add_argument("name", metavar="NAME")

    tag = what.add_parser(
        "tag",
        help="set a connection's tags (none given: clear them)",
        description="Replace a saved connection's tags with those given; `fleet sweep --only "
        "TAG` then picks every connection carrying TAG. Nothing is sent to the PBX.",
    )
    tag.add_argument("name", metavar="NAME")
    tag.add_argument("tags", nargs="*", metavar="TAG", help="e.g. north monthly-review")

    keys = commands.add_parser("keys", help="API keys of saved connections: rotate")
    key_commands = keys.add_subparsers(dest="keys_command", metavar="WHAT", required=True)
    rotate = key_commands.add_parser(
        "rotate",
        help="replace a connection's key once the PBX accepts the new one",
        description="Prove the new key against the PBX (key, call history, recordings), then "
        "swap it into the OS keyring. A refused key changes nothing: the old key stays and the "
        "command exits 1.",
    )
    rotate.add_argument("name", metavar="NAME")
    add_secret_arguments(rotate)
    add_timeout_argument(rotate)


async def run_connections(args: argparse.Namespace) -> int:
    what = args.connections_command
    if what == "add":
        return await _add(args)
    store = await ConnectionStore.open()
    if what == "list":
        return _list(store, as_json=args.json)
    if what == "tag":
        return await _tag(store, args.name, args.tags)
    return await _remove(store, args.name)


async def run_keys(args: argparse.Namespace) -> int:
    key = read_secret(args)
    store = await open_store_with_keyring()
    profile = find_saved(store, args.name, "NAME")
    timeouts = timeouts_from(args)

    async def verify(candidate: ConnectionProfile, new_key: str) -> CapabilityReport:
        params = replace(connection_params(candidate), timeouts=timeouts)
        return await verify_capabilities(params, new_key, timeout_s=timeouts.read)

    print(f"Checking the new key against {profile.url} ...", flush=True)
    try:
        rotation = await store.rotate_key(profile.id, key, verify=verify)
    except KeyRotationRejected as exc:
        _print_report(exc.report)
        _fail(exc.message, exc.report.first_problem.fix if exc.report.first_problem else None)
        return EXIT_FAILED
    except ConnectionStoreError as exc:
        raise _usage(exc) from None
    _print_report(rotation.report)
    print(
        f"Key rotated for {profile.name}: the new key is in {store.key_backend}; the old key "
        "is gone from it."
    )
    print(f"Next: {rotation.bridges_reminder}")
    return EXIT_OK


# ---- connections add -------------------------------------------------------------------------
async def _add(args: argparse.Namespace) -> int:
    key = read_secret(args)
    if args.ca_file:
        check_ca_file(args.ca_file)
    store = await open_store_with_keyring()
    draft = ConnectionProfile(
        id=new_connection_id(),
        name=args.name,
        url=args.url,
        client_id=args.client_id,
        customer=args.customer,
        tags=parse_tags(",".join(args.tag)),
        region=args.region,
        ca_file=args.ca_file,
        pin_sha256=args.pin_sha256,
        contacts_csv=args.contacts,
    )
    checked, problems = check_profile(draft, taken_names=[c.name for c in store.connections()])
    problems.update(await asyncio.to_thread(file_problems, checked))
    if problems:
        raise _usage(InvalidConnectionError(problems))
    warn_about_address(checked.url)
    report: CapabilityReport | None = None
    if not args.no_verify:
        print(f"Checking the key against {checked.url} ...", flush=True)
        params = replace(connection_params(checked), timeouts=timeouts_from(args))
        report = await verify_capabilities(params, key, timeout_s=float(args.timeout))
        _print_report(report)
        if not report.key_accepted:
            problem = report.first_problem
            _fail(
                f"{checked.name} was not saved: {problem.detail if problem else 'no answer'}",
                (problem.fix if problem else None),
            )
            print(
                "To save it anyway (e.g. the PBX is reachable only from the customer's "
                "network), add --no-verify.",
                file=sys.stderr,
            )
            return EXIT_FAILED
        checked = replace(checked, version=report.version, hosting=hosting_of_url(checked.url))
    try:
        saved = await store.add(checked, key)
    except ConnectionStoreError as exc:
        raise _usage(exc) from None
    print(
        f"Saved {saved.name}: the key is in {store.key_backend}, never in the settings file "
        f"({store.path})."
    )
    problem = report.first_problem if report is not None else None
    if problem is not None:
        print(
            f"The API user cannot do everything a CRM bridge needs yet. What to do: {problem.fix}"
        )
        print(f"Then run: pbx-companion doctor --connection {shlex.quote(saved.name)}")
    return EXIT_OK


# ---- connections list / remove -------------------------------------------------------------
def _list(store: ConnectionStore, *, as_json: bool) -> int:
    now = utc_now()
    warn_days = store.settings.key_age_warning_days
    profiles = [p for p in store.connections() if not p.demo]
    if as_json:
        rows = [_profile_json(p, now, warn_days) for p in profiles]
        print(json.dumps(rows, ensure_ascii=False, indent=2))
        return EXIT_OK
    if not profiles:
        print(
            "No saved connections. Add one with: pbx-companion connections add NAME --url URL "
            "--client-id ID --secret-stdin"
        )
        return EXIT_OK
    table = [("NAME", "CUSTOMER", "TAGS", "URL", "VERSION", "KEY", "LAST CHECK")]
    warnings: list[str] = []
    for p in profiles:
        warning = key_age_warning(p, now=now, warn_days=warn_days)
        age = key_age_text(p, now=now) + (" (old)" if warning else "")
        tags = ", ".join(p.tags)
        table.append((p.name, p.customer, tags, p.url, p.version or "?", age, _last_check_text(p)))
        if warning:
            warnings.append(warning)
    widths = [max(len(row[i]) for row in table) for i in range(len(table[0]) - 1)]
    for row in table:
        cells = [cell.ljust(width) for cell, width in zip(row, widths, strict=False)]
        print("  ".join([*cells, row[-1]]).rstrip())
    for warning in warnings:
        print(f"\nWarning: {warning}")
    return EXIT_OK


def _last_check_text(profile: ConnectionProfile) -> str:
    check = profile.last_check
    if check is None:
        return "not checked"
    when = check.at.astimezone().strftime("%Y-%m-%d %H:%M")
    return f"{check.status} {when}: {check.summary}"


def _profile_json(profile: ConnectionProfile, now: datetime, warn_days: int) -> dict[str, Any]:
    return {
        **profile_identity(profile),
        "key_rotated_at": profile.key_rotated_at.isoformat() if profile.key_rotated_at else None,
        "key_age_days": key_age_days(profile, now=now),
        "key_age": key_age_text(profile, now=now),
        "key_age_warning": key_age_warning(profile, now=now, warn_days=warn_days),
        "last_check": encode_last_check(profile.last_check),
    }


async def _remove(store: ConnectionStore, name: str) -> int:
    profile = find_saved(store, name, "NAME")
    try:
        await store.remove(profile.id)
    except ConnectionStoreError as exc:
        raise _usage(exc) from None
    where = f" from {store.key_backend}" if store.key_backend else ""
    print(f"Removed {profile.name} and deleted its key{where}.")
    return EXIT_OK


async def _tag(store: ConnectionStore, name: str, tags: list[str]) -> int:
    profile = find_saved(store, name, "NAME")
    try:
        saved = await store.update(replace(profile, tags=parse_tags(",".join(tags))), None)
    except ConnectionStoreError as exc:  # a tag too long, a read-only settings file
        raise _usage(exc) from None
    shown = ", ".join(saved.tags) if saved.tags else "none"
    print(f"Tags of {saved.name}: {shown}.")
    return EXIT_OK


# ---- shared ----------------------------------------------------------------------------------
async def open_store_with_keyring() -> ConnectionStore:
    """The saved connections, with a working OS keyring (or a UsageError saying why not)."""
    store = await ConnectionStore.open()
    if not store.keyring_status.available:
        raise UsageError(
            f"{store.keyring_status.reason}. The command line cannot keep a key between "
            "commands without one; for a one-off check pass the key to `pbx-companion doctor "
            "--url URL --client-id ID --secret-env VAR` instead"
        )
    return store


def find_saved(store: ConnectionStore, name: str, option: str) -> ConnectionProfile:
    """The saved connection called ``name``, or a UsageError listing the saved names."""
    profile = store.find(name)
    if profile is None or profile.demo:
        names = ", ".join(repr(p.name) for p in store.connections() if not p.demo)
        known = f" (saved: {names})" if names else " (none are saved yet)"
        raise UsageError(f"{option}: no saved connection is called {name!r}{known}")
    return profile


def _usage(error: ConnectionStoreError) -> UsageError:
    if isinstance(error, InvalidConnectionError):
        return UsageError("; ".join(f"{OPTIONS.get(f, f)}: {m}" for f, m in error.problems.items()))
    option = OPTIONS.get(error.field or "")
    return UsageError(f"{option}: {error.message}" if option else error.message)


def _print_report(report: CapabilityReport) -> None:
    for check in report.checks:
        print(f"  [{MARKS[check.ok]}] {check.label}: {check.detail}")
    if report.over_privileged:
        print(
            "  Note: the key carries admin-level claims "
            f"({', '.join(report.admin_claims)}); a dedicated API user with only the two "
            "capabilities limits the damage if it leaks."
        )


def _fail(message: str, fix: str | None) -> None:
    print(f"pbx-companion: {message}", file=sys.stderr)
    if fix:
        print(f"What to do: {fix}", file=sys.stderr)
