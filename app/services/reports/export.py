"""Write a setup report as PDF, HTML or JSON, chosen by the file's extension.

HTML comes from one template (resources/report/report.html.template); the PDF is that same
HTML laid out by Qt, which only ``app.ui`` may import, so the PDF step is a callable the caller
passes in (``app.ui.reports.pdf.render_pdf``). Every output passes through ``scrub`` last: the
model holds no secret, and this makes sure one never reaches a file by accident either.
"""

from __future__ import annotations

import html
import json
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any, Protocol

from app.domain.report import (
    Report,
    scrub,
)
from app.services.atomic_files import write_bytes_atomically
from app.services.logs.setup import REDACTOR
from app.services.paths import resources_dir
from app.services.reports.formats import (
    SUFFIXES,
    ReportExportError,
    ReportFormat,
    default_file_name,
    report_format,
)
from app.services.reports.html import TEMPLATE, HtmlBody, escaped, load_template
from app.services.reports.logo import APP_LOGO, Logo, load_logo, logo_from_bytes

# Callers import the whole export API from here; the formats, logo and HTML live beside it.
__all__ = [
    "APP_LOGO",
    "RESOURCES",
    "SUFFIXES",
    "TEMPLATE",
    "Logo",
    "PdfRenderer",
    "ReportExportError",
    "ReportFormat",
    "default_file_name",
    "load_logo",
    "load_template",
    "logo_from_bytes",
    "pdf_footer",
    "render",
    "render_html",
    "render_json",
    "report_format",
    "write_atomically",
    "write_report",
]

RESOURCES = resources_dir()


class PdfRenderer(Protocol):
    """Lays out the report's HTML on A4 pages with ``footer`` and page numbers on each."""

    def __call__(self, html: str, *, footer: str, title: str) -> bytes: ...


def pdf_footer(report: Report) -> str:
    who = report.meta.customer or report.pbx.host or "PBX"
    return f"Setup report · {who} · checked {report.pbx.clock(report.checked_at, '%Y-%m-%d %H:%M')}"


def secret_forms(secrets: Iterable[str]) -> list[str]:
    explicit = [s for s in secrets if s]
    # Each form a secret can take in the output: as is, HTML-escaped, JSON-escaped.
    forms = explicit + [html.escape(s) for s in explicit] + [json.dumps(s)[1:-1] for s in explicit]
    return list(dict.fromkeys(forms))


def final_scrub(text: str, secrets: Sequence[str]) -> str:
    # REDACTOR also knows every secret this process registered (the CLI's key, the sessions').
    return REDACTOR.redact(scrub(text, secrets))


def render_html(report: Report, *, logo: Logo | None = None, secrets: Iterable[str] = ()) -> str:
    forms = secret_forms(secrets)
    body = HtmlBody(report, logo, forms).render()
    page = load_template().substitute(
        title=escaped(report.title, forms),
        app_version=escaped(report.meta.app_version, forms),
        body=body,
    )
    return final_scrub(page, forms)


def render_json(report: Report, *, secrets: Iterable[str] = ()) -> str:
    return scrubbed_json(report.as_json(), secret_forms(secrets), "the JSON report")


def scrubbed_json(document: Any, forms: Sequence[str], what: str) -> str:
    """``document`` as indented JSON with every secret form removed, from each string and
    then from the text; raises ``ReportExportError`` rather than write a broken document."""
    text = json.dumps(_scrub_tree(document, forms), ensure_ascii=False, indent=2) + "\n"
    cleaned = final_scrub(text, forms)
    if cleaned != text:
        # A secret survived inside a number or an escape: never write it, and never write
        # a broken document either.
        try:
            json.loads(cleaned)
        except ValueError:
            raise ReportExportError(f"a secret could not be removed from {what}") from None
    return cleaned


def render(
    report: Report,
    fmt: ReportFormat,
    *,
    logo: Logo | None = None,
    pdf_renderer: PdfRenderer | None = None,
    secrets: Iterable[str] = (),
) -> bytes:
    """The report's bytes in ``fmt``. PDF needs ``pdf_renderer`` (Qt: the GUI thread)."""
    secrets = list(secrets)
    if fmt is ReportFormat.JSON:
        return render_json(report, secrets=secrets).encode("utf-8")
    page = render_html(report, logo=logo, secrets=secrets)
    if fmt is ReportFormat.HTML:
        return page.encode("utf-8")
    if pdf_renderer is None:
        raise ReportExportError("PDF export needs the Qt renderer (app.ui.reports.pdf)")
    forms = secret_forms(secrets)
    return pdf_renderer(
        page,
        footer=final_scrub(pdf_footer(report), forms),
        title=final_scrub(report.title, forms),
    )


def write_atomically(path: Path, data: bytes) -> Path:
    """Write ``data`` to ``path`` whole or not at all (a temporary file, then a rename)."""
    folder = path.parent
    if not folder.is_dir():
        raise ReportExportError(f"{path}: the folder {folder} does not exist")
    # A report is an ordinary document, not a private file: it gets the mode of the file it
    # replaces, or the usual 0644.
    try:
        write_bytes_atomically(path, data, mode=0o644, keep_mode=True, suffix=".part")
    except OSError as exc:
        raise ReportExportError(
            f"{path}: could not write the report ({exc.strerror or exc})"
        ) from exc
    return path


def write_report(
    report: Report,
    path: Path,
    *,
    pdf_renderer: PdfRenderer | None = None,
    secrets: Iterable[str] = (),
) -> Path:
    """Render and write in one go (blocking: run it from a script or ``asyncio.to_thread``;
    a PDF must be rendered on the thread that owns the Qt application)."""
    fmt = report_format(path)
    logo = load_logo(report.meta.logo) if fmt is not ReportFormat.JSON else None
    data = render(report, fmt, logo=logo, pdf_renderer=pdf_renderer, secrets=secrets)
    return write_atomically(path, data)


def _scrub_tree(value: Any, secrets: Sequence[str]) -> Any:
    if isinstance(value, str):
        return REDACTOR.redact(scrub(value, secrets))
    if isinstance(value, dict):
        return {_scrub_tree(k, secrets): _scrub_tree(v, secrets) for k, v in value.items()}
    if isinstance(value, list):
        return [_scrub_tree(v, secrets) for v in value]
    return value
