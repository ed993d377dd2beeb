"""Preview a setup report, choose PDF, HTML or JSON, and save it.

The preview is the very HTML the files are made from. Presenter mode always masks the preview
(the customer may be watching), whatever the "Mask" box says about the saved file.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QTextOption
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from app.domain.report import Report
from app.services.reports.export import (
    SUFFIXES,
    Logo,
    ReportExportError,
    ReportFormat,
    default_file_name,
    load_logo,
    load_template,
    render,
    render_html,
    write_atomically,
)
from app.ui.context import UiContext
from app.ui.dialogs import run_dialog
from app.ui.reports.pdf import render_pdf
from app.ui.theme import set_paper, set_tone

log = logging.getLogger(__name__)

PREPARING = "<p>Preparing the preview…</p>"


class ReportPreviewDialog(QDialog):
    """``await run_dialog(ReportPreviewDialog(parent, report, ui))``; ``saved`` says where."""

    saved = Signal(Path)

    def __init__(
        self,
        parent: QWidget | None,
        report: Report,
        ui: UiContext,
        *,
        secrets: Sequence[str] = (),
        folder: Path | None = None,
    ) -> None:
        super().__init__(parent)
        self._report = report
        self._ui = ui
        self._secrets = tuple(secrets)
        self._folder = folder or Path.home()
        self._logo: Logo | None = None
        self._ready = False
        self._chooser: QFileDialog | None = None
        self.setWindowTitle("Setup report")
        self.resize(860, 760)

        close = self._build_widgets()
        self._lay_out(close)

        self.mask_box.toggled.connect(self._render_preview)
        ui.presenter.changed.connect(self._render_preview)
        self._listening = True
        self.save_button.clicked.connect(self._save_clicked)
        close.clicked.connect(self.accept)
        self.finished.connect(self._disconnect)
        self._render_preview()
        self._preparing = ui.tasks.start(self._prepare(), name="report preview")

    def _build_widgets(self) -> QPushButton:
        """The format and mask choices, the preview, the status and Save; returns Close."""
        self.format_box = QComboBox()
        for fmt in ReportFormat:
            self.format_box.addItem(fmt.label, fmt.value)
        self.mask_box = QCheckBox("Mask numbers and names")
        self.mask_box.setToolTip(
            "Phone numbers keep their last 3 digits, names become initials, the PBX address "
            "is masked. Secrets are never in a report."
        )
        self.mask_box.setChecked(self._ui.presenter.enabled or self._report.masked)
        self.presenter_note = QLabel(
            "Presenter mode is on: the preview stays masked; the saved file follows the box."
        )
        set_tone(self.presenter_note, "warn")
        self.preview = QTextBrowser()
        self.preview.setOpenLinks(False)
        # The page is the report as printed: paper-coloured in dark mode too, and as wide as
        # the window (a long token breaks anywhere rather than push a sideways scroll bar;
        # a 100%-wide table can overhang its frame by one pixel, which is not worth a bar).
        set_paper(self.preview)
        self.preview.setWordWrapMode(QTextOption.WrapMode.WrapAtWordBoundaryOrAnywhere)
        self.preview.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.preview.setHtml(PREPARING)
        self.status = QLabel("")
        self.status.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.status.setWordWrap(True)
        self.save_button = QPushButton("Save…")
        self.save_button.setDefault(True)
        self.save_button.setEnabled(False)
        return QPushButton("Close")

    def _lay_out(self, close: QPushButton) -> None:
        options = QHBoxLayout()
        options.addWidget(QLabel("Format:"))
        options.addWidget(self.format_box)
        options.addSpacing(16)
        options.addWidget(self.mask_box)
        options.addStretch(1)
        buttons = QHBoxLayout()
        buttons.addWidget(self.status, 1)
        buttons.addWidget(self.save_button)
        buttons.addWidget(close)
        layout = QVBoxLayout(self)
        layout.addLayout(options)
        layout.addWidget(self.presenter_note)
        layout.addWidget(self.preview, 1)
        layout.addLayout(buttons)

    async def prepared(self) -> None:
        """Wait until the preview shows the report (its template and logo are read)."""
        await asyncio.shield(self._preparing)

    # What is shown and what is saved

    def report_to_save(self) -> Report:
        return self._report.with_mask(self.mask_box.isChecked())

    def shown_report(self) -> Report:
        return self._report.with_mask(self.mask_box.isChecked() or self._ui.presenter.enabled)

    def chosen_format(self) -> ReportFormat:
        return ReportFormat(self.format_box.currentData())

    async def _prepare(self) -> None:
        # The template and the logo are files: read them off the GUI thread.
        try:
            await asyncio.to_thread(load_template)
            self._logo = await asyncio.to_thread(load_logo, self._report.meta.logo)
        except ReportExportError as exc:
            self._show_error(f"Cannot show the report: {exc}")
            return
        self._ready = True
        self.save_button.setEnabled(True)
        self._render_preview()

    def _render_preview(self) -> None:
        self.presenter_note.setVisible(self._ui.presenter.enabled and not self.mask_box.isChecked())
        if not self._ready:
            return
        bar = self.preview.verticalScrollBar()
        at = bar.value()
        self.preview.setHtml(
            render_html(self.shown_report(), logo=self._logo, secrets=self._secrets)
        )
        bar.setValue(at)

    # Saving

    def _save_clicked(self) -> None:
        self._ui.tasks.start(self.save_as(), name="report save")

    async def save_as(self) -> Path | None:
        """Ask where (a non-native, window-modal file dialog), then save there."""
        fmt = self.chosen_format()
        chooser = self._file_chooser()
        chooser.setNameFilter(fmt.name_filter)
        chooser.setDefaultSuffix(fmt.value)
        chooser.setDirectory(str(self._folder))
        chooser.selectFile(default_file_name(self._report, fmt))
        if await run_dialog(chooser) != QDialog.DialogCode.Accepted:
            return None
        chosen = chooser.selectedFiles()
        if not chosen:
            return None
        return await self.save_to(Path(chosen[0]))

    def _file_chooser(self) -> QFileDialog:
        # One chooser for the dialog's life, deleted with it: deleting a non-native file
        # dialog while its file-system watcher thread still reports is a crash waiting.
        if self._chooser is None:
            self._chooser = QFileDialog(self, "Save the report")
            self._chooser.setAcceptMode(QFileDialog.AcceptMode.AcceptSave)
            self._chooser.setFileMode(QFileDialog.FileMode.AnyFile)
            self._chooser.setOption(QFileDialog.Option.DontUseNativeDialog, True)
        return self._chooser

    async def save_to(self, path: Path) -> Path | None:
        """Render and write the report; the extension picks the format (else the box's)."""
        fmt = SUFFIXES.get(path.suffix.lower())
        if fmt is None:
            fmt = self.chosen_format()
            path = path.with_name(path.name + fmt.suffix)
        self.save_button.setEnabled(False)
        set_tone(self.status, None)
        self.status.setText(f"Saving {fmt.label}…")
        try:
            if not self._ready:
                await self._preparing
            report = self.report_to_save()
            if fmt is ReportFormat.PDF:
                # Qt lays the PDF out on the GUI thread (a few hundred ms for a long report).
                data = render(
                    report, fmt, logo=self._logo, pdf_renderer=render_pdf, secrets=self._secrets
                )
            else:
                data = await asyncio.to_thread(
                    render, report, fmt, logo=self._logo, secrets=self._secrets
                )
            written = await asyncio.to_thread(write_atomically, path, data)
        except ReportExportError as exc:
            self._show_error(f"Not saved: {exc}")
            return None
        finally:
            self.save_button.setEnabled(self._ready)
        self._folder = written.parent
        self.status.setText(f"Saved to {written}")
        self.saved.emit(written)
        return written

    def _show_error(self, text: str) -> None:
        log.warning("%s", text)
        set_tone(self.status, "fail")
        self.status.setText(text)

    def _disconnect(self) -> None:
        # The presenter outlives this dialog: stop it calling into a closed one.
        if self._listening:
            self._listening = False
            self._ui.presenter.changed.disconnect(self._render_preview)
