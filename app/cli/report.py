"""``pbx-companion report``: a setup report (PDF, HTML or JSON) from a saved doctor result.

``pbx-companion doctor ... --report FILE`` writes the same report straight after the checks.
Exit codes: 0 the report was written, 1 it could not be written (disk, rendering), 2 a bad
argument (the message names it: a missing or unreadable --from file, a document that is not a
doctor result, an unknown --out extension, a missing --logo).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import TextIO

from app import __version__
from app.cli.args import EXIT_FAILED, EXIT_OK, UsageError
from app.domain.clock import utc_now
from app.domain.diagnosis import Diagnosis, DiagnosisFormatError
from app.domain.report import Report, ReportMeta
from app.services.reports.export import (
    PdfRenderer,
    ReportExportError,
    ReportFormat,
    load_logo,
    report_format,
    write_report,
)

MAX_DOCTOR_JSON_BYTES = 50_000_000


def add_report_meta_arguments(parser: argparse.ArgumentParser) -> None:
    """Who the report is for and by, how it is masked, and whose logo it carries."""
    parser.add_argument(
        "--customer", default="", metavar="NAME", help="customer name on the report"
    )
    parser.add_argument(
        "--connection",
        default="",
        metavar="NAME",
        help="connection name on the report (doctor without --url: the saved connection to check)",
    )
    parser.add_argument(
        "--engineer", default="", metavar="NAME", help="who checked the PBX (shown as 'by whom')"
    )
    parser.add_argument(
        "--mask",
        action=argparse.BooleanOptionalAction,
        default=False,
        help="mask phone numbers (last 3 digits kept), names (initials) and the PBX host name "
        "(default: --no-mask)",
    )
    parser.add_argument(
        "--logo", metavar="PNG", help="your logo (PNG or JPEG) for the report; default: the app's"
    )


def add_report_arguments(parser: argparse.ArgumentParser) -> None:
    """The ``report`` subcommand's arguments."""
    parser.add_argument(
        "--from",
        dest="source",
        required=True,
        metavar="DOCTOR.json",
        help="a result saved with `pbx-companion doctor ... --json > DOCTOR.json`",
    )
    parser.add_argument(
        "--out",
        required=True,
        metavar="FILE",
        help="the report to write: .pdf, .html or .json; a folder gets pbx-report-<UTC time>.pdf",
    )
    add_report_meta_arguments(parser)


def add_doctor_report_arguments(parser: argparse.ArgumentParser) -> None:
    """``doctor --report FILE`` and the report's own options."""
    parser.add_argument(
        "--report",
        metavar="FILE",
        help="also write a setup report; the format follows the extension (.pdf, .html, .json); "
        "a folder gets pbx-report-<UTC time>.pdf",
    )
    add_report_meta_arguments(parser)


def run_report(args: argparse.Namespace) -> int:
    out = report_target(args, "--out", args.out)
    assert out is not None
    source = Path(args.source)
    if out.resolve() == source.resolve():
        raise UsageError(f"--out: {out} is the --from file; choose another name for the report")
    diagnosis = read_doctor_json(source)
    return _export(diagnosis, out, meta_from_args(args), (), sys.stdout)


def default_report_name(now: datetime) -> str:
    """The file a report gets when only a folder is given: a PDF (the customer's copy), named
    by the UTC time, so runs for several customers into one folder never overwrite each other."""
    return f"pbx-report-{now.astimezone(UTC):%Y%m%d-%H%M%S}.pdf"


def report_target(
    args: argparse.Namespace, option: str, value: str | None, *, now: datetime | None = None
) -> Path | None:
    """The report file, checked before any work is done (extension, folder, logo).

    A folder (an existing one, or any path ending in a slash) gets a PDF named by
    ``default_report_name``."""
    if not value:
        return None
    path = Path(value)
    if value.endswith(("/", os.sep)) or path.is_dir():
        if not path.is_dir():
            raise UsageError(f"{option}: the folder {path} does not exist")
        path = path / default_report_name(now or utc_now())
    elif not path.suffix:
        raise UsageError(
            f"{option}: {path}: no extension, and no folder of that name; end the file name in "
            ".pdf, .html or .json, or give a folder that exists"
        )
    try:
        report_format(path)
    except ReportExportError as exc:
        raise UsageError(f"{option}: {exc}") from exc
    if not path.parent.is_dir():
        raise UsageError(f"{option}: {path}: the folder {path.parent} does not exist")
    if path.is_dir():  # the folder holds a folder of the default name
        raise UsageError(f"{option}: {path} is a folder; give a file name")
    if getattr(args, "logo", None):
        try:
            args.logo_bytes = load_logo(args.logo).data
        except ReportExportError as exc:
            raise UsageError(f"--logo: {exc}") from exc
    return path


def read_doctor_json(path: Path) -> Diagnosis:
    """A ``doctor --json`` document, or a UsageError naming --from, the file and the problem."""
    try:
        if path.stat().st_size > MAX_DOCTOR_JSON_BYTES:
            raise UsageError(f"--from: {path}: too large for a doctor result")
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise UsageError(f"--from: {path}: no such file") from None
    except UnicodeDecodeError:
        raise UsageError(
            f"--from: {path}: not a text file (expected doctor --json output)"
        ) from None
    except OSError as exc:
        raise UsageError(f"--from: {path}: {exc.strerror or exc}") from exc
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        raise UsageError(
            f"--from: {path}: not JSON (line {exc.lineno}, column {exc.colno}: {exc.msg}); "
            "save the doctor's result with --json"
        ) from None
    try:
        return Diagnosis.from_json(document)
    except DiagnosisFormatError as exc:
        raise UsageError(f"--from: {path}: {exc}") from exc


def meta_from_args(args: argparse.Namespace, *, now: datetime | None = None) -> ReportMeta:
    """The report's metadata from the command line (``doctor`` or ``report``)."""
    logo = getattr(args, "logo_bytes", None) or getattr(args, "logo", None)
    return ReportMeta(
        generated_at=now or utc_now(),
        customer=(getattr(args, "customer", "") or "").strip(),
        connection=(getattr(args, "connection", "") or "").strip(),
        engineer=(getattr(args, "engineer", "") or "").strip(),
        app_version=__version__,
        logo=logo,
        mask=bool(getattr(args, "mask", False)),
    )


def export_diagnosis(
    diagnosis: Diagnosis, out: Path, meta: ReportMeta, *, secrets: tuple[str, ...] = ()
) -> Path:
    """Write ``diagnosis`` as a report to ``out`` (format from the extension); blocking.

    ``secrets`` (the API key in hand) are scrubbed from every byte written, on top of the
    secrets the process registered with the log redactor. Raises ReportExportError.
    """
    report = Report.build(diagnosis, meta)
    renderer: PdfRenderer | None = None
    if report_format(out) is ReportFormat.PDF:
        # Qt only when a PDF is asked for: the other commands never load it.
        from app.ui.reports.pdf import render_pdf

        renderer = render_pdf
    return write_report(report, out, pdf_renderer=renderer, secrets=secrets)


def write_doctor_report(
    args: argparse.Namespace, diagnosis: Diagnosis, target: Path, secret: str
) -> int:
    """``doctor --report``: write the report, say where; EXIT_FAILED if it could not be.

    The "written to" line goes to stderr with --json, so stdout stays one JSON document."""
    stream = sys.stderr if getattr(args, "json", False) else sys.stdout
    return _export(diagnosis, target, meta_from_args(args), (secret,), stream)


def _export(
    diagnosis: Diagnosis,
    out: Path,
    meta: ReportMeta,
    secrets: tuple[str, ...],
    stream: TextIO,
) -> int:
    try:
        written = export_diagnosis(diagnosis, out, meta, secrets=secrets)
    except ReportExportError as exc:
        print(f"pbx-companion: {exc}", file=sys.stderr)
        return EXIT_FAILED
    print(f"Report written to {written}", file=stream, flush=True)
    return EXIT_OK
