"""Play, Save… and Verify: each downloads the selected call's recording from the PBX.

Play streams the file into the lookup's private temporary folder and hands it to the OS
player; Save… writes it where the engineer chooses (asking before replacing a file); Verify
downloads it once to prove it is there. What each one did is said in the details box.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import tzinfo
from pathlib import Path

from PySide6.QtCore import QObject, QStandardPaths, QUrl, Signal
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import QDialog, QFileDialog, QWidget

from app.services.recordings.lookup import RecordingLookup, RecordingLookupError, RecordingRow
from app.ui.dialogs import confirm, run_dialog
from app.ui.presenter import Presenter
from app.ui.recordings.details import RecordingDetails
from app.ui.recordings.text import default_file_name


def open_with_os_player(path: Path) -> bool:
    """Hand the file to whatever plays WAV files on this computer."""
    return QDesktopServices.openUrl(QUrl.fromLocalFile(str(path)))


class RecordingDownloads(QObject):
    """The three downloads of one pane; dialogs open over ``window``."""

    saveDialogOpened = Signal(object)  # the QFileDialog, just before it is shown
    rowChecked = Signal(object)  # RecordingRow the PBX re-judged, or None: re-render anyway

    def __init__(
        self,
        window: QWidget,
        details: RecordingDetails,
        presenter: Presenter,
        open_file: Callable[[Path], bool],
    ) -> None:
        super().__init__(window)
        self._window = window
        self._details = details
        self._presenter = presenter
        self._open_file = open_file
        self._save_dir: Path | None = None  # where the last one was saved: the next goes there

    async def play(self, lookup: RecordingLookup, row: RecordingRow) -> Path | None:
        self._details.set_action("Downloading the recording…")
        try:
            path = await lookup.fetch_to_temp(row)
        except RecordingLookupError as error:
            self._failed(error)
            return None
        if self._open_file(path):
            self._details.set_action(
                "Opened in this computer's player. The temporary copy is deleted when you "
                "switch connection or close the app."
            )
        else:
            self._details.set_action(
                "No program on this computer opens WAV files: use Save… and open the file "
                "yourself.",
                error=True,
            )
        return path

    async def save(self, lookup: RecordingLookup, row: RecordingRow, zone: tzinfo) -> Path | None:
        path = await self._ask_target(row, zone)
        if path is None:
            return None
        self._details.set_action("Saving the recording…")
        try:
            saved = await lookup.save(row, path)
        except RecordingLookupError as error:
            self._failed(error)
            return None
        self._save_dir = saved.parent
        self._details.set_action(f"Saved as {saved.name} in {saved.parent}.")
        return saved

    async def verify(self, lookup: RecordingLookup, row: RecordingRow) -> RecordingRow | None:
        self._details.set_action("Downloading once to check the file…")
        checked = await lookup.verify(row)
        self.rowChecked.emit(checked)
        self._details.set_action(checked.check)
        return checked

    def _failed(self, error: RecordingLookupError) -> None:
        self._details.set_action(f"{error.what} {error.fix}".strip(), error=True)
        self.rowChecked.emit(error.row)

    # ---- where to save ---------------------------------------------------------------------
    async def _ask_target(self, row: RecordingRow, zone: tzinfo) -> Path | None:
        """The file the engineer chose, once they agreed to replace it if it exists."""
        folder = self._save_dir or Path(
            QStandardPaths.writableLocation(QStandardPaths.StandardLocation.DownloadLocation)
        )
        if not await asyncio.to_thread(folder.is_dir):
            folder = Path.home()
        name = default_file_name(row, zone, presenter=self._presenter.enabled)
        dialog = self._save_dialog(folder / name)
        self.saveDialogOpened.emit(dialog)
        try:
            accepted = await run_dialog(dialog) == QDialog.DialogCode.Accepted
            chosen = dialog.selectedFiles()
        finally:
            dialog.deleteLater()
        if not accepted or not chosen:
            return None
        path = Path(chosen[0])
        if await asyncio.to_thread(path.exists) and not await self._replace_ok(path):
            return None
        return path

    def _save_dialog(self, suggested: Path) -> QFileDialog:
        dialog = QFileDialog(self._window, "Save recording", str(suggested), "WAV audio (*.wav)")
        dialog.setObjectName("recordingsSaveDialog")
        dialog.setAcceptMode(QFileDialog.AcceptMode.AcceptSave)
        dialog.setFileMode(QFileDialog.FileMode.AnyFile)
        dialog.setDefaultSuffix("wav")
        # The overwrite question is asked below: Qt's own would run a nested event loop.
        dialog.setOption(QFileDialog.Option.DontConfirmOverwrite, True)
        return dialog

    async def _replace_ok(self, path: Path) -> bool:
        return await confirm(
            self._window,
            "Replace file?",
            self._presenter.text(f"{path.name} already exists in {path.parent}. Replace it?"),
            destructive="Replace",
        )
