"""The PDF report as a customer gets it: text in order, page numbers, headers on every page.

The pages are also rendered to PNG (test-artifacts/report/) so a developer can look at them.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest
from PySide6.QtGui import QColor, QImage

from app.domain.diagnosis import CHECK_ORDER, TITLES, CheckId, Diagnosis
from app.domain.report import Report, ReportMeta
from app.services.doctor import Doctor
from app.services.reports.export import ReportFormat, render, write_report
from app.ui.reports.pdf import render_pdf
from tests.conftest import SimFactory
from tests.support.pdf import pdf_pages, pdf_text, pdf_to_pngs
from tests.support.screenshots import artifacts_dir
from tests.threecx.conftest import params_for

ROOT = Path(__file__).resolve().parents[2]
FAIL_BACKGROUND = QColor("#fde4e1")
PASS_BACKGROUND = QColor("#e3f3e7")
WARN_BACKGROUND = QColor("#fff1cc")


def meta(**changes: object) -> ReportMeta:
    fields: dict[str, object] = {
        "generated_at": datetime(2026, 11, 21, 12, 0, tzinfo=UTC),
        "customer": "Harbour Dental",
        "connection": "Main office PBX",
        "engineer": "Sam Engineer",
        "app_version": "0.1.0",
    }
    fields.update(changes)
    return ReportMeta(**fields)  # type: ignore[arg-type]


async def broken_pbx(make_sim: SimFactory) -> Diagnosis:
    sim = await make_sim(
        tls=True, faults=["retention-deleted=30", "extension-not-recording", "tls-expiring=5"]
    )
    return await Doctor(params_for(sim), sim.client_secret).run()


def report_folder() -> Path:
    folder = artifacts_dir().parent / "report"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def with_extensions(diagnosis: Diagnosis, count: int) -> Diagnosis:
    rows = [
        {
            "number": str(1000 + n),
            "name": f"Staff Member {n:03d}",
            "recording": "all calls" if n % 7 else "disabled",
            "records_external_calls": bool(n % 7),
            "answered_external_without_recording": 0 if n % 7 else 2,
        }
        for n in range(count)
    ]
    result = diagnosis.result(CheckId.EXTENSION_RECORDING)
    longer = replace(result, details={**result.details, "extensions": rows})
    checks = tuple(longer if c.id is longer.id else c for c in diagnosis.checks)
    return replace(diagnosis, checks=checks)


def colour_near(image: QImage, colour: QColor, tolerance: int = 6) -> bool:
    target = (colour.red(), colour.green(), colour.blue())
    for y in range(0, image.height(), 2):
        for x in range(0, image.width(), 2):
            pixel = image.pixelColor(x, y)
            got = (pixel.red(), pixel.green(), pixel.blue())
            if all(abs(a - b) <= tolerance for a, b in zip(got, target, strict=True)):
                return True
    return False


async def test_the_seven_checks_in_order_with_the_outstanding_actions(
    make_sim: SimFactory,
) -> None:
    report = Report.build(await broken_pbx(make_sim), meta())
    pdf = write_report(report, report_folder() / "broken-pbx.pdf", pdf_renderer=render_pdf)
    text = pdf_text(pdf)
    headings = [
        line.strip()
        for line in text.splitlines()
        if re.match(r"^\s*[1-7]\. ", line) and any(t in line for t in TITLES.values())
    ]
    # Each title appears in the summary table and as a heading; the headings are in seed order.
    numbered = [h for h in headings if re.match(r"^[1-7]\. ", h)]
    order = [int(h.split(".")[0]) for h in numbered]
    assert sorted(set(order)) == list(range(1, 8))
    last_seven = [int(h.split(".")[0]) for h in numbered][-7:]
    assert last_seven == list(range(1, 8))
    for check in CHECK_ORDER:
        assert f"{check.order}. {TITLES[check]}"[:40] in text

    assert "Outstanding actions" in text
    actions = report.actions
    assert [a.check for a in actions][:2] == [CheckId.EXTENSION_RECORDING, CheckId.RETENTION]
    flat = " ".join(text.split())
    for action in actions:
        assert f"{action.order}. {action.title}" in flat
        assert " ".join(action.text.split())[:60] in flat

    pages = pdf_pages(pdf)
    assert pages >= 3
    for page in range(1, pages + 1):
        assert f"Page {page} of {pages}" in pdf_text(pdf, first=page, last=page)


async def test_a_long_extension_table_repeats_its_header_on_every_page(
    make_sim: SimFactory,
) -> None:
    report = Report.build(with_extensions(await broken_pbx(make_sim), 200), meta())
    pdf = write_report(report, report_folder() / "200-extensions.pdf", pdf_renderer=render_pdf)
    pages = pdf_pages(pdf)
    table_pages = [
        page
        for page in range(1, pages + 1)
        if "Staff Member" in (page_text := pdf_text(pdf, first=page, last=page))
    ]
    assert len(table_pages) >= 3, "200 rows span several pages"
    assert table_pages == list(range(table_pages[0], table_pages[-1] + 1))
    for page in table_pages:
        page_text = pdf_text(pdf, first=page, last=page)
        header = next(line for line in page_text.splitlines() if "Recording setting" in line)
        assert "Ext." in header and "Name" in header, f"page {page} lacks the header row"
        first_row = page_text.index("Staff Member")
        assert page_text.index("Recording setting") < first_row
    rows = "\n".join(pdf_text(pdf, first=p, last=p) for p in table_pages)
    assert all(f"Staff Member {n:03d}" in rows for n in range(200)), "no row lost at a break"


async def test_pages_render_with_status_colours_and_the_logo(make_sim: SimFactory) -> None:
    report = Report.build(await broken_pbx(make_sim), meta())
    pdf = write_report(report, report_folder() / "colours.pdf", pdf_renderer=render_pdf)
    pngs = pdf_to_pngs(pdf, report_folder() / "png", dpi=60, prefix="broken-pbx")
    assert len(pngs) == pdf_pages(pdf)
    first = QImage(str(pngs[0]))
    assert first.width() > 400 and first.height() > 600  # A4 portrait at 60 dpi: 496 x 702
    assert first.height() / first.width() == pytest.approx(297 / 210, rel=0.01)
    for colour in (FAIL_BACKGROUND, PASS_BACKGROUND, WARN_BACKGROUND):
        assert colour_near(first, colour), f"page 1 shows no {colour.name()} status badge"
    # The logo sits top-left: its teal tile is in the page's top-left corner.
    corner = first.copy(0, 0, first.width() // 3, first.height() // 8)
    assert colour_near(corner, QColor("#0f6e78"), tolerance=20)


def test_renders_headless_in_a_process_without_a_display(tmp_path: Path) -> None:
    out = tmp_path / "headless.pdf"
    script = (
        "import sys; from pathlib import Path; from app.ui.reports.pdf import render_pdf;"
        "Path(sys.argv[1]).write_bytes(render_pdf('<h1>Hello</h1><p>world</p>', "
        "footer='Setup report', title='t'))"
    )
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")
    }
    done = subprocess.run(
        [sys.executable, "-c", script, str(out)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert out.read_bytes().startswith(b"%PDF")
    assert "Hello" in pdf_text(out) and "Page 1 of 1" in pdf_text(out)


async def test_the_pdf_says_what_the_html_says(make_sim: SimFactory, tmp_path: Path) -> None:
    report = Report.build(await broken_pbx(make_sim), meta(mask=True))
    html = render(report, ReportFormat.HTML).decode("utf-8")
    text = " ".join(
        pdf_text(write_report(report, tmp_path / "r.pdf", pdf_renderer=render_pdf)).split()
    )
    for section in ("Customer and PBX", "Results at a glance", "Outstanding actions"):
        assert section in html and section in text
    assert report.summary_line() in text
    assert "Phone numbers and names in this report are masked." in text
