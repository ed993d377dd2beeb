"""The dialogs the connections pane opens, one at a time: add, edit and rotate key.

Each is opened with ``run_dialog`` (never a nested event loop) and deleted once closed;
``open_dialog`` is the one on screen, so the window can close it on shutdown.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from PySide6.QtWidgets import QDialog, QWidget

from app.domain.connection import ConnectionProfile
from app.services.connections.store import ConnectionStore, ConnectionStoreError
from app.ui.connections.dialog import ConnectionDialog
from app.ui.connections.key_rotation_dialog import KeyRotationDialog
from app.ui.context import UiContext
from app.ui.dialogs import run_dialog

log = logging.getLogger(__name__)


class ConnectionEditing:
    """Opens the dialogs over ``parent`` and hands back what they saved."""

    def __init__(self, ui: UiContext, store: ConnectionStore, parent: QWidget) -> None:
        self._ui = ui
        self._store = store
        self._parent = parent
        self.open_dialog: QDialog | None = None  # the dialog on screen, if any

    async def add(self) -> ConnectionProfile | None:
        """The new connection, stored (None: the engineer cancelled)."""
        dialog = ConnectionDialog(
            self._ui,
            self._parent,
            taken_names=self._taken_names(None),
            key_backend=self._store.key_backend,
            key_age_warning_days=self._store.settings.key_age_warning_days,
            submit=self._submit_add,
        )
        return await self._run(dialog)

    async def edit(self, existing: ConnectionProfile) -> ConnectionProfile | None:
        """The connection as saved (None: the engineer cancelled)."""
        key_stored = await self._key_stored(existing.id)
        dialog = ConnectionDialog(
            self._ui,
            self._parent,
            existing=existing,
            taken_names=self._taken_names(existing.id),
            key_backend=self._store.key_backend,
            key_stored=key_stored,
            key_age_warning_days=self._store.settings.key_age_warning_days,
            submit=self._store.update,
        )
        return await self._run(dialog)

    async def rotate(
        self, profile: ConnectionProfile, on_rotated: Callable[[ConnectionProfile], None]
    ) -> None:
        """Offer a new key; ``on_rotated`` gets the profile once the new key is in."""
        dialog = KeyRotationDialog(self._ui, self._store, profile, self._parent)
        dialog.rotated.connect(on_rotated)
        self.open_dialog = dialog
        try:
            await run_dialog(dialog)
        finally:
            self.open_dialog = None
            dialog.deleteLater()

    def close(self) -> None:
        if self.open_dialog is not None:
            self.open_dialog.done(QDialog.DialogCode.Rejected)

    async def _run(self, dialog: ConnectionDialog) -> ConnectionProfile | None:
        self.open_dialog = dialog
        try:
            result = await run_dialog(dialog)
        finally:
            self.open_dialog = None
            dialog.deleteLater()
        saved = dialog.saved_profile
        return saved if result == QDialog.DialogCode.Accepted else None

    async def _key_stored(self, connection_id: str) -> bool:
        try:
            return await self._store.secret(connection_id) is not None
        except ConnectionStoreError as exc:
            log.warning("Could not tell whether a key is stored: %s", exc.message)
            return False

    async def _submit_add(self, profile: ConnectionProfile, key: str | None) -> ConnectionProfile:
        if key is None:
            raise ConnectionStoreError("Paste the API key.", field="secret")
        return await self._store.add(profile, key)

    def _taken_names(self, except_id: str | None) -> tuple[str, ...]:
        return tuple(c.name for c in self._store.connections() if c.id != except_id)
