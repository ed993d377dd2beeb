"""Arguments shared by the headless commands, and how a bad one is reported."""

from __future__ import annotations

import argparse
import getpass
import os
import sys
from dataclasses import dataclass
from pathlib import Path

from app.domain.addresses import AddressError, parse_pbx_address, plain_http_warning
from app.domain.bridge import NumberMatch
from app.domain.cli_ranges import (
    BRIDGE_WINDOW_S,
    DEADLINE_S,
    RETENTION_DAYS,
    TIMEOUT_S,
    WATCH_S,
    ranged,
    ranged_int,
)
from app.domain.deadlines import seconds
from app.services.connections.secrets import normalise_pasted_key
from app.services.facts.options import (
    DEFAULT_BRIDGE_WINDOW_S,
    DEFAULT_DOCTOR_DEADLINE_S,
    DEFAULT_RETENTION_DAYS,
)
from app.services.logs.setup import REDACTOR
from app.threecx.connect import ConnectionParams
from app.threecx.tls import TlsOptions, build_ssl_context, normalise_fingerprint
from app.threecx.transport import Timeouts

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2
EXIT_INTERRUPTED = 130  # the shell's code for Ctrl-C


class UsageError(Exception):
    """A bad argument; the message names it."""


def add_secret_arguments(parser: argparse.ArgumentParser, *, required: bool = True) -> None:
    secret = parser.add_mutually_exclusive_group(required=required)
    secret.add_argument("--secret-env", metavar="VAR", help="read the API key from this variable")
    secret.add_argument(
        "--secret-stdin",
        action="store_true",
        help="read the API key from stdin (one line; not shown when typed)",
    )


def add_connection_arguments(parser: argparse.ArgumentParser, *, required: bool = True) -> None:
    """The PBX and key to use; ``required`` False when a saved connection can stand in."""
    parser.add_argument(
        "--url", required=required, help="PBX address, e.g. https://pbx.example.com:5001"
    )
    parser.add_argument("--client-id", required=required, help="API client id (v18: the user name)")
    add_secret_arguments(parser, required=required)
    parser.add_argument("--ca-file", help="trust this CA (PEM) instead of the OS store")
    parser.add_argument("--pin-sha256", help="accept only this certificate (SHA-256 fingerprint)")
    add_timeout_argument(parser)


def add_timeout_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--timeout",
        type=ranged(TIMEOUT_S),
        default=10.0,
        metavar="SECONDS",
        help=f"seconds per request (default 10; {TIMEOUT_S.describe()}: past that a request "
        "is a hang)",
    )


def add_deadline_argument(parser: argparse.ArgumentParser, default: float, what: str) -> None:
    """``--deadline SECONDS``: the most ``what`` may take, however the PBX behaves."""
    parser.add_argument(
        "--deadline",
        type=ranged(DEADLINE_S),
        default=default,
        metavar="SECONDS",
        help=f"the most {what} may take against a slow or endless PBX (default "
        f"{seconds(default)}; {DEADLINE_S.describe()})",
    )


def add_doctor_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--region",
        metavar="CC",
        help="country for local numbers, e.g. AU (default: the PBX's licence country)",
    )
    parser.add_argument(
        "--contacts",
        metavar="FILE",
        help="CRM contacts export (CSV from HubSpot, Salesforce, GoHighLevel, Zoho or a sheet)",
    )
    parser.add_argument(
        "--no-phonebook",
        action="store_true",
        help="without --contacts, do not let the 3CX phonebook stand in for the CRM's contacts",
    )
    parser.add_argument(
        "--bridge-match",
        choices=[match.value for match in NumberMatch],
        help="how the customer's bridge compares numbers: e164 (exact E.164 strings, on the "
        "CRM), 3cx-phonebook (3CX's own integration: its phonebook and resolution settings) "
        "or normalised (default: the saved connection's, else e164)",
    )
    parser.add_argument(
        "--watch",
        type=ranged(WATCH_S),
        default=0.0,
        metavar="SECONDS",
        help="watch this long for a call to end and time its recording (default: no watch; "
        f"{WATCH_S.describe()})",
    )
    parser.add_argument(
        "--bridge-window",
        type=ranged(BRIDGE_WINDOW_S),
        default=DEFAULT_BRIDGE_WINDOW_S,
        metavar="SECONDS",
        help="how long the bridge retries for a recording after hang-up (default 120; "
        f"{BRIDGE_WINDOW_S.describe()})",
    )
    parser.add_argument(
        "--required-retention-days",
        type=ranged_int(RETENTION_DAYS),
        default=DEFAULT_RETENTION_DAYS,
        metavar="N",
        help="how many days recordings must stay playable from the CRM (default 90; "
        f"{RETENTION_DAYS.describe()})",
    )
    add_deadline_argument(
        parser,
        DEFAULT_DOCTOR_DEADLINE_S,
        "the checks (a --watch adds its own time on top; an unanswered check is then "
        "'not verified')",
    )
    parser.add_argument("--json", action="store_true", help="print one JSON document")


@dataclass(frozen=True)
class ConnectionArgs:
    params: ConnectionParams
    secret: str


def check_ca_file(value: str, option: str = "--ca-file") -> None:
    """A readable PEM file, or a UsageError naming ``option``."""
    path = Path(value)
    if not path.is_file() or not os.access(path, os.R_OK):
        raise UsageError(f"{option}: cannot read {value}")
    try:
        build_ssl_context(TlsOptions(ca_file=value))
    except ValueError as exc:
        raise UsageError(f"{option}: {value} holds no PEM certificate") from exc


def read_secret(args: argparse.Namespace) -> str:
    """The API key from ``--secret-env VAR`` or one line of stdin, trimmed; never echoed.

    Typed at a terminal, the key is read without echo. Raises UsageError naming the source
    (never quoting the key) for a missing variable, an empty key or one with spaces inside.
    """
    if args.secret_env:
        raw = os.environ.get(args.secret_env)
        if raw is None:
            raise UsageError(f"--secret-env: the variable {args.secret_env} is not set")
    elif sys.stdin.isatty():
        raw = getpass.getpass("API key (not shown): ")
    else:
        raw = sys.stdin.readline()
    try:
        secret = normalise_pasted_key(raw)
    except ValueError as exc:
        source = f"--secret-env {args.secret_env}" if args.secret_env else "--secret-stdin"
        raise UsageError(f"{source}: {exc}") from None
    REDACTOR.register(secret)
    return secret


def warn_about_address(url: str, option: str = "--url") -> None:
    """Say on stderr what is odd about an address that is still used as given (http:// to
    3CX's HTTPS port); stdout stays the command's output."""
    try:
        warning = plain_http_warning(parse_pbx_address(url))
    except AddressError:
        return
    if warning:
        print(f"pbx-companion: warning: {option}: {warning}", file=sys.stderr)


def timeouts_from(args: argparse.Namespace) -> Timeouts:
    timeout = max(0.5, float(args.timeout))
    return Timeouts(connect=timeout, read=timeout, total=timeout * 3)


def connection_from_args(args: argparse.Namespace) -> ConnectionArgs:
    missing = [
        option
        for option, value in (("--url", args.url), ("--client-id", args.client_id))
        if value is None
    ]
    if not (args.secret_env or args.secret_stdin):
        missing.append("--secret-env or --secret-stdin")
    if missing:
        raise UsageError(
            f"{', '.join(missing)}: required to reach the PBX (or give --connection NAME to use "
            "a connection saved with `pbx-companion connections add`)"
        )
    try:
        address = parse_pbx_address(args.url)
    except AddressError as exc:
        raise UsageError(f"--url: {exc}") from exc
    warn_about_address(address.base_url)
    if args.ca_file:
        check_ca_file(args.ca_file)
    pin = None
    if args.pin_sha256:
        try:
            pin = normalise_fingerprint(args.pin_sha256)
        except ValueError as exc:
            raise UsageError(f"--pin-sha256: {exc}") from exc
    secret = read_secret(args)
    if not args.client_id.strip():
        raise UsageError("--client-id: the client id is empty")
    params = ConnectionParams(
        url=address.base_url,
        client_id=args.client_id.strip(),
        tls=TlsOptions(ca_file=args.ca_file, pin_sha256=pin),
        timeouts=timeouts_from(args),
    )
    return ConnectionArgs(params, secret)
