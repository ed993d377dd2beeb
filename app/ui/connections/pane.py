"""The left-hand list of every customer PBX the engineer looks after, with add, edit, remove.

``ConnectionsPane`` shows ``ConnectionsModel`` (model.py) through a sorting, filtering proxy in
``ConnectionsTable`` (table_view.py), with the buttons (set up, add, edit, rotate key, remove),
a filter, the empty state and two banners: no OS keyring (with the offer to hold keys in memory
for this session) and a settings file that was set aside.

Presenter mode: the pane never holds a key. While it is on, every connection but the selected
one shows its name and customer as initials, so a customer on a shared screen does not read
the MSP's client list.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
from collections.abc import Iterator
from typing import Final

from PySide6.QtCore import QEvent, QModelIndex, QSortFilterProxyModel, Qt, Signal
from PySide6.QtWidgets import (
    QDialog,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from app.domain.connection import ConnectionProfile, LastCheck
from app.services.connections.store import ConnectionStore, ConnectionStoreError
from app.ui.connections.editing import ConnectionEditing
from app.ui.connections.model import ID_ROLE, SORT_ROLE, ConnectionsModel
from app.ui.connections.store_banners import StoreBanners
from app.ui.connections.table_view import ConnectionsTable
from app.ui.context import UiContext
from app.ui.dialogs import confirm, inform
from app.ui.theme import mark_empty_state, mark_heading
from app.ui.widgets.presenter_fields import hide_while_presenting

log = logging.getLogger(__name__)

EMPTY_TEXT: Final = (
    "No customer PBX yet.\n\nChoose Set up a PBX… to be guided from the address to a "
    "verified key, or Add… to paste the PBX address, the Client ID and the API key from "
    "the 3CX admin console (Integrations → API)."
)


def _button(text: str, object_name: str) -> QPushButton:
    button = QPushButton(text)
    button.setObjectName(object_name)
    return button


class ConnectionsPane(QWidget):
    """Every customer PBX: a sortable list with key age and status, plus set up, add, edit,
    rotate key and remove.

    ``selected`` carries the chosen connection id (None: none). ``edited`` carries the id of a
    connection whose address, identity or key changed (reopen its session); ``removed`` the id
    of one that is gone. ``setupRequested`` asks the window for the guided setup.
    """

    selected = Signal(object)
    edited = Signal(str)
    removed = Signal(str)
    setupRequested = Signal()

    def __init__(
        self, ui: UiContext, store: ConnectionStore, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.setObjectName("connectionsPane")
        self._ui = ui
        self._store = store
        self._selected_id: str | None = None
        self._busy = False
        self._editing = ConnectionEditing(ui, store, self)
        # While the filter or a removal moves Qt's current row, that is not the engineer
        # choosing another connection: nothing is emitted.
        self._quiet = False

        self._build_model()
        self._build_banners()
        header_row = self._build_header_row()
        self._build_list()
        self._build_buttons()
        self._lay_out(header_row)

        self.model.rowsInserted.connect(self._update_state)
        self.model.rowsRemoved.connect(self._update_state)
        self.model.modelReset.connect(self._update_state)
        for changed in (self.model.rowsInserted, self.model.rowsRemoved, self.model.modelReset):
            changed.connect(self._banners.render)  # the demo alone does not need the keyring
        self._banners.render()
        self._update_state()

    # ---- building --------------------------------------------------------------------------
    def _build_model(self) -> None:
        store = self._store
        self.model = ConnectionsModel(
            self._ui.presenter, self, key_age_warning_days=store.settings.key_age_warning_days
        )
        self.model.set_connections(store.connections())
        self.proxy = QSortFilterProxyModel(self)
        self.proxy.setSourceModel(self.model)
        self.proxy.setSortRole(SORT_ROLE)
        self.proxy.setFilterCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        self.proxy.setFilterKeyColumn(-1)
        self.proxy.setDynamicSortFilter(True)

    def _build_banners(self) -> None:
        self._banners = StoreBanners(self._store, self._ui.presenter, self)
        self.keyring_banner = self._banners.keyring
        self.session_only_button = self._banners.session_only_button
        self.settings_banner = self._banners.settings
        self.key_place = self._banners.key_place

    def _build_header_row(self) -> QHBoxLayout:
        title = QLabel("Connections")
        title.setObjectName("connectionsTitle")
        mark_heading(title)
        self.filter_edit = QLineEdit()
        self.filter_edit.setObjectName("connectionsFilter")
        self.filter_edit.setPlaceholderText("Filter by name or customer")
        self.filter_edit.setClearButtonEnabled(True)
        hide_while_presenting(self._ui.presenter, self.filter_edit)  # a customer's name
        self.filter_edit.textChanged.connect(self._on_filter)
        header_row = QHBoxLayout()
        header_row.addWidget(title)
        header_row.addStretch(1)
        header_row.addWidget(self.filter_edit)
        return header_row

    def _build_list(self) -> None:
        """The table, or the empty state in its place."""
        self.view = ConnectionsTable(self.proxy, row_height=self.fontMetrics().height() + 16)
        self.view.doubleClicked.connect(lambda _index: self._start_edit())
        selection = self.view.selectionModel()
        selection.currentRowChanged.connect(self._on_current_changed)
        self.empty_label = QLabel(EMPTY_TEXT)
        self.empty_label.setObjectName("connectionsEmpty")
        self.empty_label.setWordWrap(True)
        self.empty_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        mark_empty_state(self.empty_label)
        self.stack = QStackedWidget()
        self.stack.addWidget(self.view)
        self.stack.addWidget(self.empty_label)

    def _build_buttons(self) -> None:
        self.setup_button = _button("Set up a PBX…", "setupConnectionButton")
        self.setup_button.setToolTip(
            "Guided setup: the address, the API client, a verified key, recording and numbers"
        )
        self.add_button = _button("Add…", "addConnectionButton")
        self.edit_button = _button("Edit…", "editConnectionButton")
        self.rotate_button = _button("Rotate key…", "rotateKeyButton")
        self.remove_button = _button("Remove…", "removeConnectionButton")
        self.setup_button.clicked.connect(lambda: self.setupRequested.emit())
        self.add_button.clicked.connect(self._start_add)
        self.edit_button.clicked.connect(self._start_edit)
        self.rotate_button.clicked.connect(self._start_rotate)
        self.remove_button.clicked.connect(self._start_remove)

    def _lay_out(self, header_row: QHBoxLayout) -> None:
        # Two rows of buttons, so the pane stays narrow beside the tabs: new connections, then
        # the selected one.
        new_row = QHBoxLayout()
        new_row.addWidget(self.setup_button)
        new_row.addWidget(self.add_button)
        new_row.addStretch(1)
        selected_row = QHBoxLayout()
        selected_row.addWidget(self.edit_button)
        selected_row.addWidget(self.rotate_button)
        selected_row.addWidget(self.remove_button)
        selected_row.addStretch(1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 8, 8, 8)
        layout.addWidget(self.keyring_banner)
        layout.addWidget(self.settings_banner)
        layout.addLayout(header_row)
        layout.addWidget(self.stack, 1)
        layout.addLayout(selected_row)
        layout.addLayout(new_row)
        layout.addWidget(self.key_place)  # a line of its own: the sidebar stays narrow

    # ---- what the window calls -------------------------------------------------------------
    @property
    def open_dialog(self) -> QDialog | None:
        """The dialog on screen, if any."""
        return self._editing.open_dialog

    def selected_id(self) -> str | None:
        return self._selected_id

    def select(self, connection_id: str | None) -> None:
        """Select a connection (None: clear the selection); ``selected`` fires if it changed."""
        if connection_id is None or self.model.row_of(connection_id) is None:
            with self._quietly():
                self.view.selectionModel().clear()
            self._set_selected(None)
            return
        if not self._view_index(connection_id).isValid():
            self.filter_edit.clear()  # the filter hides it
        index = self._view_index(connection_id)
        self.view.setCurrentIndex(index)
        self.view.scrollTo(index)
        self._set_selected(connection_id)

    def reload(self) -> None:
        """Show the store's connections again (one was saved elsewhere, e.g. by the setup);
        the selection stays."""
        saved = self._store.connections()
        for profile in saved:
            self.model.upsert(profile)
        keep = {profile.id for profile in saved}
        with self._quietly():
            for connection_id in self.model.ids():
                if connection_id not in keep:
                    self.model.remove(connection_id)
        if self._selected_id is not None and self.model.row_of(self._selected_id) is None:
            self.select(None)

    def set_key_age_warning_days(self, days: int) -> None:
        self.model.set_key_age_warning_days(days)

    def add_demo(self, profile: ConnectionProfile) -> None:
        """Show the demo connection (not saved); register its key with ``store.add_demo``."""
        if not profile.demo:
            raise ValueError("add_demo() takes a profile with demo=True")
        self.model.upsert(profile)

    def refresh_status(
        self,
        connection_id: str,
        check: LastCheck,
        *,
        version: str | None = None,
        hosting: str | None = None,
    ) -> None:
        """Show a doctor run's outcome at once, and remember it in the settings file."""
        profile = self.model.profile(connection_id)
        if profile is None:
            return
        self.model.upsert(
            dataclasses.replace(
                profile,
                last_check=check,
                version=version or profile.version,
                hosting=hosting or profile.hosting,
            )
        )
        if self._store.get(connection_id) is not None:
            self._ui.tasks.start(
                self._record(connection_id, check, version, hosting), name="record check"
            )

    async def aclose(self) -> None:
        """Close an open dialog; the rest of the pane's work is the window's tasks."""
        self._editing.close()

    def changeEvent(self, event: QEvent) -> None:
        super().changeEvent(event)
        if event.type() == QEvent.Type.FontChange:  # larger type: taller rows
            self.view.verticalHeader().setDefaultSectionSize(self.fontMetrics().height() + 16)

    # ---- selection and filter --------------------------------------------------------------
    def _on_current_changed(self, current: QModelIndex, _previous: QModelIndex) -> None:
        if self._quiet:
            return
        new_id = current.data(ID_ROLE) if current.isValid() else None
        if (
            new_id is None
            and self._selected_id
            and self.model.row_of(self._selected_id) is not None
        ):
            return  # hidden by the filter, still the connection on screen
        self._set_selected(new_id)

    @contextlib.contextmanager
    def _quietly(self) -> Iterator[None]:
        self._quiet = True
        try:
            yield
        finally:
            self._quiet = False

    def _set_selected(self, connection_id: str | None) -> None:
        if connection_id == self._selected_id:
            self._update_state()
            return
        self._selected_id = connection_id
        self.model.set_current(connection_id)
        self._update_state()
        self.selected.emit(connection_id)

    def _view_index(self, connection_id: str | None) -> QModelIndex:
        row = self.model.row_of(connection_id) if connection_id else None
        if row is None:
            return QModelIndex()
        return self.proxy.mapFromSource(self.model.index(row, 0))

    def _on_filter(self, text: str) -> None:
        with self._quietly():
            self.proxy.setFilterFixedString(text.strip())
            index = self._view_index(self._selected_id)
            if index.isValid():
                self.view.setCurrentIndex(index)
            else:
                self.view.selectionModel().clear()

    def _update_state(self) -> None:
        empty = self.model.rowCount() == 0
        self.stack.setCurrentWidget(self.empty_label if empty else self.view)
        self.filter_edit.setVisible(self.model.rowCount() > 5)
        current = self.model.profile(self._selected_id) if self._selected_id else None
        idle = not self._busy
        self.add_button.setEnabled(idle and self._store.writable)
        self.setup_button.setEnabled(idle and self._store.writable)
        self.edit_button.setEnabled(
            idle and current is not None and not current.demo and self._store.writable
        )
        self.remove_button.setEnabled(idle and current is not None)
        self.edit_button.setToolTip(
            "The demo connection cannot be edited." if current and current.demo else ""
        )
        self.rotate_button.setEnabled(idle and current is not None and not current.demo)
        if current is not None and current.demo:
            self.rotate_button.setToolTip("The demo's key lives in memory only.")
        else:
            warning = self.model.key_warning(current) if current is not None else None
            self.rotate_button.setToolTip(
                warning or "Give the selected connection a new API key, checked against the PBX"
            )

    # ---- add, edit, remove -----------------------------------------------------------------
    def _start_add(self) -> None:
        if not self._busy:
            self._ui.tasks.start(self._add(), name="add connection")

    def _start_edit(self) -> None:
        current = self.model.profile(self._selected_id) if self._selected_id else None
        if not self._busy and current is not None and not current.demo:
            self._ui.tasks.start(self._edit(current.id), name="edit connection")

    def _start_remove(self) -> None:
        if not self._busy and self._selected_id is not None:
            self._ui.tasks.start(self._remove(self._selected_id), name="remove connection")

    def _start_rotate(self) -> None:
        current = self.model.profile(self._selected_id) if self._selected_id else None
        if not self._busy and current is not None and not current.demo:
            self._ui.tasks.start(self._rotate(current.id), name="rotate key")

    def _set_busy(self, busy: bool) -> None:
        self._busy = busy
        self._update_state()

    async def _add(self) -> None:
        self._set_busy(True)
        try:
            saved = await self._editing.add()
            if saved is not None:
                self.model.upsert(saved)
                self.select(saved.id)
        finally:
            self._set_busy(False)

    async def _edit(self, connection_id: str) -> None:
        existing = self._store.get(connection_id)
        if existing is None:
            return
        self._set_busy(True)
        try:
            saved = await self._editing.edit(existing)
            if saved is not None:
                self.model.upsert(saved)
                self.edited.emit(saved.id)
        finally:
            self._set_busy(False)

    async def _rotate(self, connection_id: str) -> None:
        profile = self._store.get(connection_id)
        if profile is None or profile.demo:
            return
        self._set_busy(True)
        try:
            await self._editing.rotate(profile, self._on_key_rotated)
        finally:
            self._set_busy(False)

    def _on_key_rotated(self, profile: ConnectionProfile) -> None:
        if self.model.profile(profile.id) is not None:
            self.model.upsert(profile)
        self.edited.emit(profile.id)  # the open session still holds the old key

    async def _remove(self, connection_id: str) -> None:
        profile = self.model.profile(connection_id)
        if profile is None:
            return
        self._set_busy(True)
        try:
            if await self._confirm_remove(profile) and await self._delete_stored(connection_id):
                self._drop_row(connection_id)
        finally:
            self._set_busy(False)

    async def _confirm_remove(self, profile: ConnectionProfile) -> bool:
        where = self._store.key_backend
        key_text = f" Its API key is deleted from {where}." if where and not profile.demo else ""
        name = self._ui.presenter.text(profile.name)
        return await confirm(
            self,
            "Remove connection",
            f"Remove {name}?{key_text}\n\nThe PBX itself is not changed.",
            destructive="Remove",
        )

    async def _delete_stored(self, connection_id: str) -> bool:
        """Delete it from the store (the demo is not there); False when the store refused."""
        try:
            if self._store.get(connection_id) is not None:
                await self._store.remove(connection_id)
        except ConnectionStoreError as exc:
            await inform(self, "Connection not removed", exc.message, warning=True)
            return False
        return True

    def _drop_row(self, connection_id: str) -> None:
        with self._quietly():
            self.model.remove(connection_id)
        if self._selected_id == connection_id:
            # Nothing selected: opening another customer's PBX unasked could put their
            # calls on a shared screen.
            self.select(None)
        else:
            self.view.setCurrentIndex(self._view_index(self._selected_id))
        self.removed.emit(connection_id)

    async def _record(
        self, connection_id: str, check: LastCheck, version: str | None, hosting: str | None
    ) -> None:
        try:
            saved = await self._store.record_check(
                connection_id, check, version=version, hosting=hosting
            )
        except ConnectionStoreError as exc:
            log.warning("The check result was not saved: %s", exc.message)
            return
        if self.model.profile(connection_id) is not None:
            self.model.upsert(saved)
