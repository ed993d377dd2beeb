"""Choosing a file without a nested event loop: ``open()`` the chooser and await its answer.

One chooser per owner, created on first use and kept for the owner's life: deleting a
non-native file dialog while its file-system watcher still reports is a crash waiting.
"""

from __future__ import annotations

from PySide6.QtWidgets import QDialog, QFileDialog, QWidget

from app.ui.dialogs import run_dialog

CERTIFICATE_FILTER = "Certificates (*.pem *.crt *.cer);;All files (*)"
CSV_FILTER = "CSV files (*.csv);;All files (*)"


class FileChooser:
    def __init__(self, owner: QWidget) -> None:
        self._owner = owner
        self._dialog: QFileDialog | None = None

    def _chooser(self) -> QFileDialog:
        if self._dialog is None:
            self._dialog = QFileDialog(self._owner)
            self._dialog.setOption(QFileDialog.Option.DontUseNativeDialog, True)
        return self._dialog

    async def open_file(self, caption: str, start: str, name_filter: str) -> str | None:
        """An existing file the engineer picks, or None."""
        chooser = self._chooser()
        chooser.setWindowTitle(caption)
        chooser.setAcceptMode(QFileDialog.AcceptMode.AcceptOpen)
        chooser.setFileMode(QFileDialog.FileMode.ExistingFile)
        chooser.setNameFilter(name_filter)
        chooser.setDefaultSuffix("")
        if start:
            chooser.selectFile(start)
        return await self._answer(chooser)

    async def save_file(
        self, caption: str, suggested: str, name_filter: str, suffix: str
    ) -> str | None:
        """Where to save (the chooser asks before overwriting), or None."""
        chooser = self._chooser()
        chooser.setWindowTitle(caption)
        chooser.setAcceptMode(QFileDialog.AcceptMode.AcceptSave)
        chooser.setFileMode(QFileDialog.FileMode.AnyFile)
        chooser.setNameFilter(name_filter)
        chooser.setDefaultSuffix(suffix)
        chooser.selectFile(suggested)
        return await self._answer(chooser)

    def close(self) -> None:
        """End a chooser that is open (its awaited answer is then None)."""
        if self._dialog is not None and self._dialog.isVisible():
            self._dialog.reject()

    @staticmethod
    async def _answer(chooser: QFileDialog) -> str | None:
        if await run_dialog(chooser) != QDialog.DialogCode.Accepted:
            return None
        chosen = chooser.selectedFiles()
        return chosen[0] if chosen else None
