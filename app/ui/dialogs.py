"""Dialogs without nested event loops: ``open()`` the dialog and await its result.

``QDialog.exec()`` and the static ``QMessageBox`` helpers run a nested loop, inside which
qasync's tasks stop; the house rule is to never use them.
"""

from __future__ import annotations

import asyncio
import contextlib

from PySide6.QtWidgets import QDialog, QMessageBox, QWidget


async def run_dialog(dialog: QDialog) -> int:
    """Show ``dialog`` (window-modal) and wait until it closes; returns its result code."""
    future: asyncio.Future[int] = asyncio.get_running_loop().create_future()

    def done(result: int) -> None:
        if not future.done():
            future.set_result(result)

    dialog.finished.connect(done)
    dialog.open()
    try:
        return await future
    finally:
        # The dialog may already be gone (its parent closed while this was awaited).
        with contextlib.suppress(RuntimeError):
            dialog.finished.disconnect(done)


async def confirm(
    parent: QWidget, title: str, text: str, *, destructive: str, keep: str | None = None
) -> bool:
    """Ask a yes/no question whose "yes" button says what it does (e.g. "Remove"); ``keep``
    names the "no" button when "Cancel" would read as the same thing as "yes"."""
    box = QMessageBox(
        QMessageBox.Icon.Question, title, text, QMessageBox.StandardButton.Cancel, parent
    )
    no = box.button(QMessageBox.StandardButton.Cancel)
    if keep is not None and no is not None:
        no.setText(keep)
    yes = box.addButton(destructive, QMessageBox.ButtonRole.DestructiveRole)
    box.setDefaultButton(QMessageBox.StandardButton.Cancel)
    await run_dialog(box)
    return box.clickedButton() is yes


async def inform(parent: QWidget, title: str, text: str, *, warning: bool = False) -> None:
    icon = QMessageBox.Icon.Warning if warning else QMessageBox.Icon.Information
    box = QMessageBox(icon, title, text, QMessageBox.StandardButton.Ok, parent)
    await run_dialog(box)
