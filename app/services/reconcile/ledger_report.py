"""The ledger report: one reconciliation as PDF, HTML or JSON, in the setup report's family.

- JSON is the ``pbx-companion/reconcile/1`` document the CLI's ``--json`` prints: both come
  from ``ledger_json_text``.
- HTML is the setup report's template and look, with the ledger's body
  (``ledger_report_html``); the PDF is that HTML laid out by the caller's ``PdfRenderer`` (Qt,
  which only ``app.ui`` may import).

Every output passes the family's scrub last (the secrets in hand, anything shaped like a token,
every secret the process registered with the log redactor). Masked, numbers keep their last 3
digits and names become initials, in the evidence and the bridge's lines too: the names are
learned from the ledger itself (the CRM's contacts and the contacts each number belongs to).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from app import __version__
from app.domain.business_hours import BusinessHours
from app.domain.clock import utc_now
from app.domain.masking import Masker
from app.domain.reconcile.ledger import ledger_json, ledger_names
from app.services.reconcile.ledger_report_html import LedgerView, render_page
from app.services.reconcile.ledger_store_compare import Comparison
from app.services.reconcile.run import ReconcileResult
from app.services.reports.export import (
    Logo,
    PdfRenderer,
    ReportExportError,
    ReportFormat,
    final_scrub,
    load_logo,
    report_format,
    scrubbed_json,
    secret_forms,
    write_atomically,
)

__all__ = [
    "default_ledger_report_name",
    "ledger_document",
    "ledger_json_text",
    "ledger_masker",
    "ledger_report_path",
    "render_ledger_report",
    "write_ledger_report",
]


def write_ledger_report(
    result: ReconcileResult,
    path: Path,
    *,
    hours: BusinessHours,
    masked: bool = False,
    customer: str = "",
    comparison: Comparison | None = None,
    pdf_renderer: PdfRenderer | None = None,
    secrets: Iterable[str] = (),
    logo: bytes | str | Path | None = None,
    now: datetime | None = None,
) -> Path:
    """Write the ledger report to ``path`` (the format from its suffix; a folder gets
    ``pbx-reconcile-<UTC time>.pdf``), whole or not at all, and return where it went.

    Blocking: run it off the event loop, except a PDF, which must be rendered on the thread
    that owns the Qt application. ``secrets`` (the API key in hand) never reach a byte of it.
    Raises ``ReportExportError`` with a message naming the file and the problem.
    """
    now = now or utc_now()
    target = ledger_report_path(path, now=now)
    fmt = report_format(target)
    if fmt is ReportFormat.PDF and pdf_renderer is None:
        raise ReportExportError("PDF export needs the Qt renderer (app.ui.reports.pdf)")
    shown_logo = load_logo(logo) if fmt is not ReportFormat.JSON else None
    data = render_ledger_report(
        result,
        fmt,
        hours=hours,
        masked=masked,
        customer=customer,
        comparison=comparison,
        pdf_renderer=pdf_renderer,
        secrets=secrets,
        logo=shown_logo,
        now=now,
    )
    return write_atomically(target, data)


def default_ledger_report_name(now: datetime) -> str:
    """A PDF named by the UTC time, so reports for several customers never overwrite."""
    return f"pbx-reconcile-{now.astimezone(UTC):%Y%m%d-%H%M%S}.pdf"


def ledger_report_path(path: Path, *, now: datetime | None = None) -> Path:
    """The file a report asked for at ``path`` goes to; ``ReportExportError`` for a suffix that
    is not .pdf, .html, .htm or .json (checked before any work, so nothing is half-done)."""
    if path.is_dir():
        path = path / default_ledger_report_name(now or utc_now())
    report_format(path)
    return path


def render_ledger_report(
    result: ReconcileResult,
    fmt: ReportFormat,
    *,
    hours: BusinessHours,
    masked: bool = False,
    customer: str = "",
    comparison: Comparison | None = None,
    pdf_renderer: PdfRenderer | None = None,
    secrets: Iterable[str] = (),
    logo: Logo | None = None,
    now: datetime | None = None,
) -> bytes:
    """The report's bytes in ``fmt``; needs no file and no Qt except for a PDF."""
    secrets = list(secrets)
    masker = ledger_masker(result) if masked else Masker(enabled=False)
    if fmt is ReportFormat.JSON:
        shown = masker if masked else None
        return ledger_json_text(result, masker=shown, secrets=secrets).encode("utf-8")
    forms = secret_forms(secrets)
    view = LedgerView(
        result=result,
        hours=hours,
        masker=masker,
        customer=customer.strip(),
        comparison=comparison,
        generated_at=now or utc_now(),
        app_version=__version__,
    )
    page = final_scrub(render_page(view, logo, forms), forms)
    if fmt is ReportFormat.HTML:
        return page.encode("utf-8")
    if pdf_renderer is None:
        raise ReportExportError("PDF export needs the Qt renderer (app.ui.reports.pdf)")
    return pdf_renderer(
        page, footer=final_scrub(view.footer, forms), title=final_scrub(view.title, forms)
    )


# ---- the JSON document the CLI prints and the report writes ----------------------------------
def ledger_masker(result: ReconcileResult) -> Masker:
    """A masker that also knows the ledger's names, so they are masked inside the evidence."""
    masker = Masker(enabled=True)
    masker.learn_names(ledger_names(result.ledger))
    return masker


def ledger_document(result: ReconcileResult, *, masker: Masker | None = None) -> dict[str, Any]:
    """``pbx-companion/reconcile/1`` with the run's notes. ``masker``: numbers and names masked,
    in the free text (evidence, request paths, notes) as well as in the fields (the domain's
    ``ledger_json`` masks the calls; the notes are this run's)."""
    document = ledger_json(result.ledger, masked=masker)
    text = masker.free_text if masker is not None and masker.enabled else str
    document["notes"] = [text(note) for note in result.notes]
    return document


def ledger_json_text(
    result: ReconcileResult, *, masker: Masker | None = None, secrets: Iterable[str] = ()
) -> str:
    """The document as the CLI prints it and the report writes it, scrubbed like the family's."""
    document = ledger_document(result, masker=masker)
    return scrubbed_json(document, secret_forms(secrets), "the ledger JSON")
