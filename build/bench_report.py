"""`make bench`: how long a setup report takes to export, in each format.

A realistic report: the doctor's answer for a simulated customer with three field faults, and
the same report with a 200-extension PBX. PDF is timed against Qt's own one-call print
(``QTextDocument.print_``: no page numbers, no footer) to show what drawing page by page costs.
Used by build/bench.py; run alone with ``.venv/bin/python build/bench_report.py``.
"""

from __future__ import annotations

import asyncio
import os
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from app.domain.diagnosis import CheckId, Diagnosis
from app.domain.report import Report, ReportMeta
from app.services.doctor import Doctor
from app.services.reports.export import load_logo, render_html, render_json
from app.sim import SimConfig, Simulator
from app.threecx.connect import ConnectionParams
from app.threecx.tls import TlsOptions

if TYPE_CHECKING:
    from bench import Figure

FAULTS = ["retention-deleted=30", "extension-not-recording", "unnormalised-contacts"]


async def _diagnosis() -> Diagnosis:
    async with Simulator(SimConfig(tls=True, calls_per_minute=0, faults=FAULTS)) as sim:
        params = ConnectionParams(
            url=sim.url, client_id=sim.client_id, tls=TlsOptions(ca_file=sim.ca_file)
        )
        return await Doctor(params, sim.client_secret).run()


def _with_extensions(diagnosis: Diagnosis, count: int) -> Diagnosis:
    rows = [
        {
            "number": str(1000 + n),
            "name": f"Staff Member {n:03d}",
            "recording": "all calls",
            "records_external_calls": True,
            "answered_external_without_recording": 0,
        }
        for n in range(count)
    ]
    result = diagnosis.result(CheckId.EXTENSION_RECORDING)
    longer = replace(result, details={**result.details, "extensions": rows})
    return replace(
        diagnosis, checks=tuple(longer if c.id is longer.id else c for c in diagnosis.checks)
    )


def _median_ms(run: Callable[[], object], repeats: int) -> float:
    times = []
    for _ in range(repeats):
        began = time.perf_counter()
        run()
        times.append(time.perf_counter() - began)
    return statistics.median(times) * 1000


def _qt_print(html: str) -> bytes:
    """The naive PDF: Qt paginates and prints in one call (no footer, no page numbers)."""
    from PySide6.QtCore import QBuffer, QByteArray, QIODevice
    from PySide6.QtGui import QPageSize, QPdfWriter, QTextDocument

    data = QByteArray()
    buffer = QBuffer(data)
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    writer = QPdfWriter(buffer)
    writer.setPageSize(QPageSize(QPageSize.PageSizeId.A4))
    document = QTextDocument()
    document.setHtml(html)
    document.print_(writer)
    buffer.close()
    return bytes(data.data())


async def bench_report(repeats: int = 5) -> list[Figure]:
    from bench import Figure

    from app.ui.reports.pdf import ensure_gui_application, render_pdf

    ensure_gui_application()
    meta = ReportMeta(
        generated_at=datetime.now(UTC),
        customer="Harbour Dental",
        engineer="Sam Engineer",
        app_version="bench",
    )
    logo = load_logo(None)
    diagnosis = await _diagnosis()
    figures = []
    for label, source in (
        ("report", diagnosis),
        ("200-ext report", _with_extensions(diagnosis, 200)),
    ):
        report = Report.build(source, meta)
        html = render_html(report, logo=logo)
        pages = render_pdf(html, footer="bench", title="bench").count(b"/Type /Page\n")
        build = _median_ms(partial(Report.build, source, meta), repeats)
        as_html = _median_ms(partial(render_html, report, logo=logo), repeats)
        as_json = _median_ms(partial(render_json, report), repeats)
        pdf = _median_ms(partial(render_pdf, html, footer="bench", title="bench"), repeats)
        naive = _median_ms(partial(_qt_print, html), repeats)
        figures += [
            Figure(
                f"{label}: model from diagnosis",
                f"{build:.1f} ms",
                "-",
                "-",
                f"median of {repeats}",
            ),
            Figure(f"{label}: HTML", f"{as_html:.1f} ms", "-", "-", f"median of {repeats}"),
            Figure(f"{label}: JSON", f"{as_json:.1f} ms", "-", "-", f"median of {repeats}"),
            Figure(
                f"{label}: PDF, {pages or '?'} pages",
                f"{pdf:.0f} ms",
                f"{naive:.0f} ms QTextDocument.print_",
                f"{pdf / naive:.1f}x the time",
                "ours adds page numbers, footer, kept headings; GUI thread",
                value=pdf,
                unit="ms",
                baseline=naive,
            ),
        ]
    return figures


def main() -> None:
    from bench import print_table

    print_table(asyncio.run(bench_report()))


if __name__ == "__main__":
    main()
