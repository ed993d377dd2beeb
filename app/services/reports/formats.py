"""The report's file formats and names: PDF, HTML or JSON, chosen by the file's extension."""

import enum
import re
from pathlib import Path

from app.domain.report import (
    Report,
    customer_zone,
)


class ReportExportError(Exception):
    """The report could not be written; the message names the file and says why."""


class ReportFormat(enum.StrEnum):
    PDF = "pdf"
    HTML = "html"
    JSON = "json"

    @property
    def suffix(self) -> str:
        return f".{self.value}"

    @property
    def label(self) -> str:
        return {"pdf": "PDF document", "html": "Web page (HTML)", "json": "JSON data"}[self.value]

    @property
    def name_filter(self) -> str:
        patterns = "*.html *.htm" if self is ReportFormat.HTML else f"*{self.suffix}"
        return f"{self.label} ({patterns})"


SUFFIXES = {
    ".pdf": ReportFormat.PDF,
    ".html": ReportFormat.HTML,
    ".htm": ReportFormat.HTML,
    ".json": ReportFormat.JSON,
}


def report_format(path: Path) -> ReportFormat:
    """The format a file name asks for; anything but .pdf, .html, .htm or .json is an error."""
    try:
        return SUFFIXES[path.suffix.lower()]
    except KeyError:
        found = f"'{path.suffix}'" if path.suffix else "no extension"
        raise ReportExportError(
            f"{path}: {found} is not a report format; end the file name in .pdf, .html or .json"
        ) from None


def default_file_name(report: Report, fmt: ReportFormat) -> str:
    who = re.sub(r"[^a-z0-9]+", "-", report.meta.customer.lower()).strip("-") or "pbx"
    day = report.checked_at.astimezone(customer_zone(report.pbx.time_zone))  # the customer's
    return f"setup-report-{who}-{day:%Y-%m-%d}{fmt.suffix}"
