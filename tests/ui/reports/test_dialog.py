"""The report preview: shows the report, masks on demand, saves the chosen format."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import TypeVar

import pytest
from PySide6.QtWidgets import QApplication, QFileDialog, QLineEdit, QWidget

from app.domain.diagnosis import TITLES, Diagnosis
from app.domain.report import Report, ReportMeta
from app.services.doctor import Doctor
from app.services.reports.export import ReportFormat
from app.sim import SimConfig, Simulator
from app.ui.context import UiContext
from app.ui.reports.dialog import ReportPreviewDialog
from tests.conftest import SimFactory
from tests.support.pdf import pdf_text
from tests.support.screenshots import distinct_colours, render_scene
from tests.support.xvfb import XvfbDisplay
from tests.threecx.conftest import params_for

T = TypeVar("T")


async def eventually(probe: Callable[[], T | None]) -> T:
    """Wait (running the Qt loop) until ``probe`` returns something truthy."""
    async with asyncio.timeout(10):
        # A child dialog appearing has no signal to await: poll, while the Qt loop runs.
        while not (value := probe()):  # noqa: ASYNC110
            await asyncio.sleep(0.02)
    return value


async def diagnosed(sim: Simulator) -> Diagnosis:
    return await Doctor(params_for(sim), sim.client_secret).run()


def report_for(diagnosis: Diagnosis) -> Report:
    return Report.build(
        diagnosis,
        ReportMeta(
            generated_at=datetime(2026, 11, 21, 12, 0, tzinfo=UTC),
            customer="Harbour Dental",
            connection="Main office PBX",
            engineer="Sam Engineer",
            app_version="0.1.0",
        ),
    )


@pytest.fixture
async def report(make_sim: SimFactory) -> Report:
    sim = await make_sim(tls=True, faults=["unnormalised-contacts", "retention-deleted=30"])
    return report_for(await diagnosed(sim))


def caller_numbers(report: Report) -> list[str]:
    assert report.contact_match is not None
    return [s.number for s in report.contact_match.sample]


Opener = Callable[..., Awaitable[ReportPreviewDialog]]


@pytest.fixture
async def opened(ui: UiContext) -> AsyncIterator[Opener]:
    """Opens preview dialogs; closes and deletes each after the test."""
    # As in the app (DESIGN: setQuitOnLastWindowClosed(False)): closing the last dialog must
    # not stop the event loop the test runs on.
    app = QApplication.instance()
    assert isinstance(app, QApplication)
    app.setQuitOnLastWindowClosed(False)
    dialogs: list[ReportPreviewDialog] = []

    async def open_one(report: Report, **kwargs: object) -> ReportPreviewDialog:
        dialog = ReportPreviewDialog(None, report, ui, **kwargs)  # type: ignore[arg-type]
        dialogs.append(dialog)
        dialog.show()
        await dialog.prepared()
        return dialog

    yield open_one
    await ui.tasks.aclose()
    for dialog in dialogs:
        dialog.done(0)
        dialog.deleteLater()
    await asyncio.sleep(0.05)


async def test_preview_shows_the_report(report: Report, opened: Opener) -> None:
    dialog = await opened(report)
    text = dialog.preview.toPlainText()
    for check in TITLES.values():
        assert check in text
    assert "Outstanding actions" in text and "Harbour Dental" in text
    assert caller_numbers(report)[0] in text
    assert not dialog.mask_box.isChecked()


async def test_mask_box_re_renders_the_preview(report: Report, opened: Opener) -> None:
    dialog = await opened(report)
    number = caller_numbers(report)[0]
    dialog.mask_box.setChecked(True)
    masked = dialog.preview.toPlainText()
    assert number not in masked and "•" + number[-3:] in masked
    assert "Phone numbers and names in this report are masked." in masked
    dialog.mask_box.setChecked(False)
    assert number in dialog.preview.toPlainText()


async def test_presenter_mode_masks_the_preview_whatever_the_box_says(
    report: Report, ui: UiContext, opened: Opener
) -> None:
    ui.presenter.set_enabled(True)
    dialog = await opened(report)
    assert dialog.mask_box.isChecked()  # masked by default in presenter mode
    dialog.mask_box.setChecked(False)
    number = caller_numbers(report)[0]
    assert number not in dialog.preview.toPlainText()
    assert dialog.presenter_note.isVisibleTo(dialog)
    ui.presenter.set_enabled(False)
    assert number in dialog.preview.toPlainText()  # re-rendered on the presenter's change
    assert not dialog.presenter_note.isVisibleTo(dialog)
    dialog.reject()


@pytest.mark.parametrize("fmt", list(ReportFormat))
async def test_save_writes_the_chosen_format(
    report: Report, opened: Opener, tmp_path: Path, fmt: ReportFormat
) -> None:
    dialog = await opened(report, folder=tmp_path)
    dialog.format_box.setCurrentIndex(dialog.format_box.findData(fmt.value))
    dialog.mask_box.setChecked(True)
    saved: list[Path] = []
    dialog.saved.connect(saved.append)
    written = await dialog.save_to(tmp_path / "onboarding")
    assert written == tmp_path / f"onboarding{fmt.suffix}" and saved == [written]
    assert dialog.status.text() == f"Saved to {written}"
    data = written.read_bytes()
    number = caller_numbers(report)[0]
    if fmt is ReportFormat.PDF:
        assert data.startswith(b"%PDF")
        text = pdf_text(written)
        assert "5. Caller numbers match CRM contacts (E.164)" in text
    elif fmt is ReportFormat.HTML:
        text = data.decode()
        assert text.startswith("<!DOCTYPE html>")
    else:
        text = data.decode()
        assert json.loads(text)["masked"] is True
    assert number not in text  # the box said mask


async def test_save_through_the_file_dialog(report: Report, opened: Opener, tmp_path: Path) -> None:
    dialog = await opened(report, folder=tmp_path)
    dialog.format_box.setCurrentIndex(dialog.format_box.findData(ReportFormat.JSON.value))
    saving = asyncio.ensure_future(dialog.save_as())
    chooser = await eventually(lambda: dialog.findChild(QFileDialog))
    assert chooser.isVisible() and chooser.defaultSuffix() == "json"
    # Named after the day the PBX was checked (the pinned clock's), not the day the suite runs.
    checked = f"{report.checked_at:%Y-%m-%d}"
    assert checked == "2026-11-18"
    assert chooser.selectedFiles()[0].endswith(f"setup-report-harbour-dental-{checked}.json")
    target = tmp_path / "picked.json"
    name = chooser.findChild(QLineEdit, "fileNameEdit")  # what the engineer types into
    assert name is not None
    name.setText(target.name)
    chooser.accept()
    assert await asyncio.wait_for(saving, 10) == target
    assert json.loads(target.read_text())["customer"] == "Harbour Dental"


async def test_cancelling_the_file_dialog_writes_nothing(
    report: Report, opened: Opener, tmp_path: Path
) -> None:
    dialog = await opened(report, folder=tmp_path)
    saving = asyncio.ensure_future(dialog.save_as())
    chooser = await eventually(lambda: dialog.findChild(QFileDialog))
    chooser.reject()
    assert await asyncio.wait_for(saving, 10) is None
    assert await asyncio.to_thread(lambda: list(tmp_path.iterdir())) == []
    assert dialog.status.text() == ""


@pytest.mark.expect_log(
    "app.ui.reports.dialog", r"^Not saved: .*/no-such-folder/r\.html: the folder .* does not exist$"
)
async def test_a_failed_save_says_why_and_keeps_the_dialog_usable(
    report: Report, opened: Opener, tmp_path: Path
) -> None:
    dialog = await opened(report)
    assert await dialog.save_to(tmp_path / "no-such-folder" / "r.html") is None
    assert "does not exist" in dialog.status.text()
    assert dialog.save_button.isEnabled()


async def report_dialog_scene(stack: contextlib.AsyncExitStack, ui: UiContext) -> QWidget:
    sim = Simulator(SimConfig(tls=True, calls_per_minute=0, faults=["retention-deleted=30"]))
    await sim.start()
    stack.push_async_callback(sim.stop)
    dialog = ReportPreviewDialog(None, report_for(await diagnosed(sim)), ui)
    await dialog.prepared()
    return dialog


@pytest.mark.display
def test_dialog_screenshot(xvfb_display: XvfbDisplay) -> None:
    png = render_scene(
        xvfb_display, "tests.ui.reports.test_dialog:report_dialog_scene", "report-dialog"
    )
    assert distinct_colours(png) > 20
    masked = render_scene(
        xvfb_display,
        "tests.ui.reports.test_dialog:report_dialog_scene",
        "report-dialog-presenter",
        presenter=True,
    )
    assert distinct_colours(masked) > 20
