"""Add or edit one customer PBX: what the engineer pastes from the 3CX admin console, checked live.

Each field has its message right under it, in red, and OK stays disabled until everything can be
used. Saving happens while the dialog is still open (``submit``): when the keyring or the file
refuses, the message appears next to the field and nothing typed is lost. Open it with
``app.ui.dialogs.run_dialog``; it never runs a nested event loop.

The API key field is a password field: the key is never shown, logged or put in a tooltip. On
edit, a stored key is not editable here: Rotate key… replaces it after proving the new one.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
from collections.abc import Awaitable, Callable
from typing import Final

from PySide6.QtCore import Qt
from PySide6.QtGui import QShowEvent, QStandardItem, QStandardItemModel
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QTableView,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from app.domain.addresses import AddressError, parse_pbx_address, plain_http_warning
from app.domain.business_hours import BusinessHoursError
from app.domain.clock import utc_now
from app.domain.connection import (
    ConnectionProfile,
    key_age_text,
    key_age_warning,
    new_connection_id,
)
from app.services.connections import (
    FIELD_LABELS,
    ConnectionStoreError,
    InvalidConnectionError,
    check_profile,
)
from app.ui.context import UiContext
from app.ui.widgets.hours_editor import HoursEditor, hours_source_text
from app.ui.widgets.secret_field import SecretField

Submit = Callable[[ConnectionProfile, str | None], Awaitable[ConnectionProfile]]

ERROR_STYLE: Final = "color: #b42318;"
HINT_STYLE: Final = "color: #5a6472;"
WARN_STYLE: Final = "color: #8a5a00;"
_REQUIRED: Final = ("name", "url", "client_id")
_TAB_OF: Final[dict[str, int]] = {
    "name": 0,
    "customer": 0,
    "url": 0,
    "client_id": 0,
    "secret": 0,
    "ca_file": 1,
    "pin_sha256": 1,
    "region": 2,
    "business_hours": 2,
    "did_sources": 2,
    "contacts_csv": 2,
}
_TAB_TITLES: Final = ("Connection", "Security", "Numbers && hours")
_PHONE_CHARS: Final = frozenset("+0123456789 -().")


def _message_label() -> QLabel:
    label = QLabel()
    label.setWordWrap(True)
    label.setStyleSheet(ERROR_STYLE)
    label.setVisible(False)
    label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    return label


def _hint_label(text: str = "") -> QLabel:
    label = QLabel(text)
    label.setWordWrap(True)
    label.setStyleSheet(HINT_STYLE)
    return label


class ConnectionDialog(QDialog):
    """The add/edit form. After it is accepted, ``saved_profile`` is what was stored."""

    def __init__(
        self,
        ui: UiContext,
        parent: QWidget | None = None,
        *,
        existing: ConnectionProfile | None = None,
        taken_names: tuple[str, ...] = (),
        key_backend: str | None = None,
        key_stored: bool = False,
        key_age_warning_days: int = 180,
        submit: Submit | None = None,
    ) -> None:
        """``key_backend`` is where a key goes (None: no keyring works); ``key_stored`` says
        whether the existing connection has one. Without ``submit`` the dialog just accepts
        and the caller reads ``entered()``.
        """
        super().__init__(parent)
        self.setObjectName("connectionDialog")
        self._ui = ui
        self._existing = existing
        self._taken_names = taken_names
        self._key_backend = key_backend
        self._key_stored = key_stored
        self._key_age_warning_days = key_age_warning_days
        self._submit = submit
        self._busy = False
        self._ready = False  # signals fire while the form is built; validate once it is
        self._rendering_dids = False  # our own writes to the DID cells are not edits
        self._touched: set[str] = set()
        # Messages from the last save attempt, each with the field's value it was about.
        self._server_problems: dict[str, tuple[str, object]] = {}
        self._candidate: ConnectionProfile | None = None
        self._key: str | None = None
        self._key_by_rotation = False
        self.saved_profile: ConnectionProfile | None = None
        self._file_dialog: QFileDialog | None = None
        self._zones_loaded = False

        editing = existing is not None
        self.setWindowTitle(f"Edit connection: {existing.name}" if existing else "Add connection")
        self.setModal(True)
        self._errors: dict[str, QLabel] = {}

        self._tabs = QTabWidget()
        self._tabs.addTab(self._build_connection_tab(), _TAB_TITLES[0])
        self._tabs.addTab(self._build_security_tab(), _TAB_TITLES[1])
        self._tabs.addTab(self._build_numbers_tab(), _TAB_TITLES[2])

        self._status = _message_label()
        self._status.setObjectName("dialogStatus")
        self._missing = _hint_label()
        self._missing.setObjectName("missingFields")
        self._buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        ok = self._ok_button
        ok.setText("Save" if editing else "Add connection")
        ok.setDefault(True)
        self._buttons.accepted.connect(self._on_ok)
        self._buttons.rejected.connect(self.reject)

        layout = QVBoxLayout(self)
        layout.addWidget(self._tabs)
        layout.addWidget(self._missing)
        layout.addWidget(self._status)
        layout.addWidget(self._buttons)

        self._fill(
            existing or ConnectionProfile(id=new_connection_id(), name="", url="", client_id="")
        )
        if editing:
            self._touched.update(FIELD_LABELS)  # show a stored value's problem at once
        self._ui.presenter.changed.connect(self._on_presenter_changed)
        self._ready = True
        self._revalidate()
        self.setMinimumWidth(600)

    # ---- building --------------------------------------------------------------------------
    def _field(self, form: QFormLayout, key: str, widget: QWidget, *extra: QWidget) -> None:
        """A row: the input, then any hint, then its (hidden until needed) error message."""
        column = QVBoxLayout()
        column.setSpacing(2)
        column.addWidget(widget)
        for item in extra:
            column.addWidget(item)
        error = _message_label()
        error.setObjectName(f"error_{key}")
        column.addWidget(error)
        self._errors[key] = error
        label = FIELD_LABELS[key]
        form.addRow(f"{label}:" if key not in _REQUIRED else f"{label} *:", column)

    def _line(self, key: str, placeholder: str = "") -> QLineEdit:
        edit = QLineEdit()
        edit.setObjectName(f"field_{key}")
        edit.setPlaceholderText(placeholder)
        self._watch(key, edit)
        return edit

    def _watch(self, key: str, edit: QLineEdit) -> None:
        edit.textChanged.connect(self._revalidate)
        edit.editingFinished.connect(lambda: self._touch(key))

    def _form(self) -> tuple[QWidget, QFormLayout]:
        page = QWidget()
        form = QFormLayout(page)
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        form.setRowWrapPolicy(QFormLayout.RowWrapPolicy.DontWrapRows)
        form.setLabelAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignTop)
        return page, form

    def _build_connection_tab(self) -> QWidget:
        page, form = self._form()
        self.name_edit = self._line("name", "e.g. Harbour Dental – Sydney office")
        self._field(form, "name", self.name_edit)
        self.customer_edit = self._line("customer", "The customer's company")
        self._field(form, "customer", self.customer_edit)

        self.url_edit = self._line("url", "Paste the admin console address, e.g. pbx.example.com")
        self.url_preview = _hint_label()
        self.url_preview.setObjectName("urlPreview")
        self._field(form, "url", self.url_edit, self.url_preview)

        self.client_id_edit = self._line("client_id", "Admin console → Integrations → API")
        self._field(form, "client_id", self.client_id_edit)

        self.key_edit = SecretField.api_key("field_secret")
        self._watch("secret", self.key_edit)
        self.key_note = _hint_label()
        self.key_note.setObjectName("keyNote")
        self._field(form, "secret", self.key_edit, self.key_note)
        return page

    def _file_row(self, key: str, caption: str, name_filter: str) -> tuple[QWidget, QLineEdit]:
        row = QWidget()
        layout = QHBoxLayout(row)
        layout.setContentsMargins(0, 0, 0, 0)
        edit = self._line(key, "Optional")
        browse = QPushButton("Browse…")
        browse.setObjectName(f"browse_{key}")
        browse.clicked.connect(lambda: self._browse(edit, caption, name_filter))
        layout.addWidget(edit, 1)
        layout.addWidget(browse)
        return row, edit

    def _build_security_tab(self) -> QWidget:
        page, form = self._form()
        row, self.ca_edit = self._file_row(
            "ca_file",
            "Choose the CA certificate",
            "Certificates (*.pem *.crt *.cer);;All files (*)",
        )
        self._field(
            form,
            "ca_file",
            row,
            _hint_label(
                "Only for a PBX whose certificate comes from the customer's own CA. "
                "Leave empty to use the system's trusted certificates."
            ),
        )
        self.pin_edit = self._line("pin_sha256", "Optional SHA-256 fingerprint (colons allowed)")
        self._field(
            form,
            "pin_sha256",
            self.pin_edit,
            _hint_label("Accept only this exact certificate. A renewed certificate then fails."),
        )
        return page

    def _build_numbers_tab(self) -> QWidget:
        page, form = self._form()
        self.region_edit = self._line("region", "PBX default")
        self.region_edit.setMaxLength(3)
        self.region_edit.setMaximumWidth(120)
        region_row = QHBoxLayout()
        region_row.setContentsMargins(0, 0, 0, 0)
        region_row.addWidget(self.region_edit)
        region_row.addStretch(1)
        region_box = QWidget()
        region_box.setLayout(region_row)
        self._field(
            form,
            "region",
            region_box,
            _hint_label("Two-letter country for numbers written without +; empty: the PBX's own."),
        )

        self.hours_editor = HoursEditor()
        self.hours_editor.edited.connect(self._revalidate)
        # The editor's fields, under the names the dialog has always had.
        self.timezone_combo = self.hours_editor.timezone_combo
        self.day_boxes = self.hours_editor.day_boxes
        self.opens_edit = self.hours_editor.opens_edit
        self.closes_edit = self.hours_editor.closes_edit
        self.hours_source = _hint_label()
        self.hours_source.setObjectName("hoursSource")
        hours = QWidget()
        hours_layout = QVBoxLayout(hours)
        hours_layout.setContentsMargins(0, 0, 0, 0)
        hours_layout.addWidget(self.hours_editor)
        hours_layout.addWidget(self.hours_source)
        self._field(form, "business_hours", hours)

        dids = QWidget()
        did_layout = QVBoxLayout(dids)
        did_layout.setContentsMargins(0, 0, 0, 0)
        self.did_model = QStandardItemModel(0, 2, self)
        self.did_model.setHorizontalHeaderLabels(["DID (the number dialled)", "Source list"])
        self.did_table = QTableView()
        self.did_table.setObjectName("didTable")
        self.did_table.setModel(self.did_model)
        header = self.did_table.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        self.did_table.verticalHeader().setVisible(False)
        self.did_table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.did_table.setMinimumHeight(110)
        self.did_model.itemChanged.connect(self._on_did_changed)
        did_buttons = QHBoxLayout()
        self.add_did_button = QPushButton("Add DID")
        self.add_did_button.clicked.connect(self._add_did_row)
        self.remove_did_button = QPushButton("Remove DID")
        self.remove_did_button.clicked.connect(self._remove_did_row)
        did_buttons.addWidget(self.add_did_button)
        did_buttons.addWidget(self.remove_did_button)
        did_buttons.addStretch(1)
        self.did_note = _hint_label()
        self.did_note.setObjectName("didNote")
        did_layout.addWidget(self.did_table)
        did_layout.addLayout(did_buttons)
        self._field(form, "did_sources", dids, self.did_note)

        row, self.contacts_edit = self._file_row(
            "contacts_csv", "Choose the CRM contacts export", "CSV files (*.csv);;All files (*)"
        )
        self._field(
            form,
            "contacts_csv",
            row,
            _hint_label("A CRM export (HubSpot, Salesforce, Zoho, …) to match callers against."),
        )
        return page

    # ---- filling and reading ---------------------------------------------------------------
    def _fill(self, profile: ConnectionProfile) -> None:
        self._id = profile.id
        self.name_edit.setText(profile.name)
        self.customer_edit.setText(profile.customer)
        self.url_edit.setText(profile.url)
        self.client_id_edit.setText(profile.client_id)
        self.region_edit.setText(profile.region or "")
        self.ca_edit.setText(profile.ca_file or "")
        self.pin_edit.setText(profile.pin_sha256 or "")
        self.contacts_edit.setText(profile.contacts_csv or "")
        self.hours_editor.set_hours(profile.business_hours)
        for did, source in profile.did_sources.items():
            self._append_did(did, source)
        self._render_dids()
        self._render_key_note()

    def _append_did(self, did: str, source: str) -> None:
        number = QStandardItem(self._ui.presenter.number(did))
        number.setData(did, Qt.ItemDataRole.UserRole)  # the real DID; the cell may be masked
        self.did_model.appendRow([number, QStandardItem(source)])

    def _on_did_changed(self, item: QStandardItem) -> None:
        if self._rendering_dids:
            return
        if item.column() == 0 and not self._ui.presenter.enabled:
            self._rendering_dids = True
            try:
                item.setData(item.text(), Qt.ItemDataRole.UserRole)
            finally:
                self._rendering_dids = False
        self._revalidate()

    def _did_rows(self) -> list[tuple[str, str]]:
        rows = []
        for row in range(self.did_model.rowCount()):
            number = self.did_model.item(row, 0)
            source = self.did_model.item(row, 1)
            did = str(number.data(Qt.ItemDataRole.UserRole) or "") if number else ""
            rows.append((did.strip(), source.text().strip() if source else ""))
        return rows

    def _render_dids(self) -> None:
        """Masked, read-only DIDs in presenter mode; the real, editable ones otherwise."""
        masked = self._ui.presenter.enabled
        self._rendering_dids = True
        try:
            for row in range(self.did_model.rowCount()):
                item = self.did_model.item(row, 0)
                if item is not None:
                    real = str(item.data(Qt.ItemDataRole.UserRole) or "")
                    item.setText(self._ui.presenter.number(real))
        finally:
            self._rendering_dids = False
        self.did_table.setEditTriggers(
            QAbstractItemView.EditTrigger.NoEditTriggers
            if masked
            else QAbstractItemView.EditTrigger.AllEditTriggers
        )
        self.add_did_button.setEnabled(not masked)
        self.remove_did_button.setEnabled(not masked)
        self.did_note.setText(
            "DIDs are masked in presenter mode; turn it off to edit them."
            if masked
            else "Calls to a DID are tagged with its source list in the missed-call preview."
        )

    def _add_did_row(self) -> None:
        self._append_did("", "")
        index = self.did_model.index(self.did_model.rowCount() - 1, 0)
        self.did_table.setCurrentIndex(index)
        self.did_table.edit(index)

    def _remove_did_row(self) -> None:
        row = self.did_table.currentIndex().row()
        if row >= 0:
            self.did_model.removeRow(row)
            self._touch("did_sources")

    def _render_key_note(self) -> None:
        backend = self._key_backend
        existing = self._existing
        style = HINT_STYLE
        # A stored key is replaced only through Rotate key…, which proves the new key first.
        replace_by_rotation = backend is not None and existing is not None and self._key_stored
        self._key_by_rotation = replace_by_rotation
        self.key_edit.setEnabled(not replace_by_rotation)
        self.key_edit.setPlaceholderText("Rotate key… replaces it" if replace_by_rotation else "")
        if backend is None:
            text = (
                "No OS keyring is available, so the key cannot be stored. Close this dialog and "
                'choose "Hold keys in memory for this session" in the connections list.'
            )
            style = ERROR_STYLE
        elif replace_by_rotation:
            text = (
                f"A key is stored in {backend}. To replace it, use Rotate key… in the connections "
                "list: it checks the new key against the PBX before the old one is let go."
            )
        elif existing is not None:
            text = f"No key is stored for this connection: paste the key (it goes to {backend})."
        else:
            text = f"Shown once by 3CX when the API client is created. Stored in {backend}, never in the settings file."
        if existing is not None and existing.key_rotated_at is not None:
            now = utc_now()
            when = f"{existing.key_rotated_at.astimezone():%d %b %Y}"
            text += f" Key {key_age_text(existing, now=now)} ({when})."
            if key_age_warning(existing, now=now, warn_days=self._key_age_warning_days):
                text += " Consider generating a new key and rotating it."
                style = WARN_STYLE if style == HINT_STYLE else style
        self.key_note.setText(text)
        self.key_note.setStyleSheet(style)

    def _key_required(self) -> bool:
        return self._existing is None or not self._key_stored

    def entered(self) -> tuple[ConnectionProfile, str | None]:
        """The profile as entered (tidied) and the new key (None: keep the stored one)."""
        if self._candidate is None:
            raise ValueError("The form is not valid yet.")
        return self._candidate, self._key

    # ---- validation ------------------------------------------------------------------------
    def _touch(self, key: str) -> None:
        self._touched.add(key)
        self._revalidate()

    def _did_problem(self) -> tuple[dict[str, str], str | None]:
        dids: dict[str, str] = {}
        first_row: dict[str, int] = {}
        for row, (did, source) in enumerate(self._did_rows(), start=1):
            if not did and not source:
                continue
            shown = self._ui.presenter.number(did)
            if not did:
                return dids, f"Row {row}: the DID is empty."
            digits = sum(ch.isdigit() for ch in did)
            if any(ch not in _PHONE_CHARS for ch in did) or digits < 3:
                return dids, f"Row {row}: {shown!r} is not a phone number."
            if not source:
                return dids, f"Row {row}: DID {shown} has no source list."
            if did in first_row:
                return dids, f"Row {row}: DID {shown} is already on row {first_row[did]}."
            first_row[did] = row
            dids[did] = source
        return dids, None

    def _revalidate(self) -> None:
        if not self._ready:
            return
        problems: dict[str, str] = {}
        try:
            hours = self.hours_editor.hours()
        except BusinessHoursError as exc:
            problems["business_hours"] = str(exc)
            hours = self.hours_editor.base
        self.hours_source.setText(hours_source_text(hours))
        dids, did_problem = self._did_problem()
        if did_problem:
            problems["did_sources"] = did_problem
        profile = ConnectionProfile(
            id=self._id,
            name=self.name_edit.text(),
            url=self.url_edit.text(),
            client_id=self.client_id_edit.text(),
            customer=self.customer_edit.text(),
            region=self.region_edit.text() or None,
            ca_file=self.ca_edit.text() or None,
            pin_sha256=self.pin_edit.text() or None,
            business_hours=hours,
            did_sources=dids,
            contacts_csv=self.contacts_edit.text() or None,
        )
        if self._existing is not None:
            profile = dataclasses.replace(
                profile,
                version=self._existing.version,
                hosting=self._existing.hosting,
                last_check=self._existing.last_check,
                key_rotated_at=self._existing.key_rotated_at,
                bridge=self._existing.bridge,  # chosen in the guided setup; not edited here
                # The columns mapped in the guided setup belong to that file only.
                contacts_columns=self._existing.contacts_columns
                if profile.contacts_csv == self._existing.contacts_csv
                else None,
            )
        checked, found = check_profile(profile, taken_names=self._taken_names)
        for field, problem in found.items():
            problems.setdefault(field, problem)

        key: str | None = None
        # A key being replaced by rotation is not typed here (the field is disabled).
        typed = not self._key_by_rotation and bool(self.key_edit.text().strip())
        if typed or self._key_required():
            try:
                key = self.key_edit.checked_key()
            except InvalidConnectionError as exc:
                problems["secret"] = exc.problems["secret"]
        if self._key_backend is None and self._key_required():
            problems["secret"] = "No OS keyring is available to store the key (see above)."

        # A message from the last save attempt stays until that field is changed.
        for field, (problem, value) in self._server_problems.items():
            if self._field_value(field) == value:
                problems.setdefault(field, problem)

        self._show_url_preview(problems)
        shown_tabs: set[int] = set()
        for field, label in self._errors.items():
            message = problems.get(field)
            # Empty fields nobody has visited yet are listed under "Still needed" instead.
            visible = message is not None and (field in self._touched or self._filled(field))
            label.setText(self._ui.presenter.text(message) if visible and message else "")
            label.setVisible(visible)
            if visible:
                shown_tabs.add(_TAB_OF[field])
        for index, title in enumerate(_TAB_TITLES):
            self._tabs.setTabText(index, f"{title} ⚠" if index in shown_tabs else title)

        missing = [
            FIELD_LABELS[f]
            for f in (*_REQUIRED, "secret")
            if f in problems and not self._filled(f) and f not in self._touched
        ]
        self._missing.setText(f"Still needed: {', '.join(missing)}." if missing else "")
        self._missing.setVisible(bool(missing))

        valid = not problems
        self._candidate = checked if valid else None
        self._key = key if valid else None
        self._ok_button.setEnabled(valid and not self._busy)

    def _edits(self) -> dict[str, QLineEdit]:
        return {
            "name": self.name_edit,
            "customer": self.customer_edit,
            "url": self.url_edit,
            "client_id": self.client_id_edit,
            "secret": self.key_edit,
            "region": self.region_edit,
            "ca_file": self.ca_edit,
            "pin_sha256": self.pin_edit,
            "contacts_csv": self.contacts_edit,
        }

    def _filled(self, field: str) -> bool:
        edit = self._edits().get(field)
        # Hours and DIDs always hold something the engineer chose.
        return edit is None or bool(edit.text().strip())

    def _field_value(self, field: str) -> object:
        edit = self._edits().get(field)
        if edit is not None:
            return edit.text()
        if field == "business_hours":
            return self.hours_editor.field_value()
        if field == "did_sources":
            return tuple(self._did_rows())
        return None

    def _show_url_preview(self, problems: dict[str, str]) -> None:
        text = self.url_edit.text().strip()
        if not text or "url" in problems:
            self.url_preview.setText("")
            self.url_preview.setVisible(False)
            return
        try:
            address = parse_pbx_address(text)
        except AddressError:
            self.url_preview.setText("")
            self.url_preview.setVisible(False)
            return
        # http:// to 3CX's HTTPS port is saved as given (a proxy may translate), but said.
        warning = plain_http_warning(address)
        preview = f"Connects to {address.base_url}"
        self.url_preview.setText(f"{preview}. {warning}" if warning else preview)
        self.url_preview.setStyleSheet(WARN_STYLE if warning else HINT_STYLE)
        self.url_preview.setVisible(True)

    @property
    def _ok_button(self) -> QPushButton:
        button = self._buttons.button(QDialogButtonBox.StandardButton.Ok)
        assert button is not None
        return button

    # ---- actions ---------------------------------------------------------------------------
    def _browse(self, target: QLineEdit, caption: str, name_filter: str) -> None:
        """A non-blocking file chooser (``open()``, not the static helpers' nested loop)."""
        if self._file_dialog is not None:
            self._file_dialog.close()
        chooser = QFileDialog(self, caption, target.text().strip(), name_filter)
        chooser.setFileMode(QFileDialog.FileMode.ExistingFile)
        chooser.setAcceptMode(QFileDialog.AcceptMode.AcceptOpen)
        chooser.fileSelected.connect(target.setText)
        chooser.finished.connect(chooser.deleteLater)
        chooser.finished.connect(lambda _result: self._forget_chooser(chooser))
        self._file_dialog = chooser
        chooser.open()

    def _forget_chooser(self, chooser: QFileDialog) -> None:
        if self._file_dialog is chooser:
            self._file_dialog = None

    def _on_ok(self) -> None:
        if self._busy or self._candidate is None:
            return
        profile, key = self._candidate, self._key
        if self._submit is None:
            self.saved_profile = profile
            self.accept()
            return
        self._set_busy(True)
        self._ui.tasks.start(self._save(self._submit, profile, key), name="save connection")

    async def _save(self, submit: Submit, profile: ConnectionProfile, key: str | None) -> None:
        try:
            saved = await submit(profile, key)
        except InvalidConnectionError as exc:
            self._report(exc.problems)
        except ConnectionStoreError as exc:
            if exc.field in self._errors:
                self._report({exc.field: exc.message})
            else:
                self._report({}, general=exc.message)
        except asyncio.CancelledError:
            with contextlib.suppress(RuntimeError):  # the window is closing; may be deleted
                self._set_busy(False)
            raise
        else:
            self.saved_profile = saved
            self._set_busy(False)
            self.accept()
            return
        self._set_busy(False)
        self._revalidate()

    def _report(self, problems: dict[str, str], *, general: str = "") -> None:
        self._server_problems = {f: (m, self._field_value(f)) for f, m in problems.items()}
        self._touched.update(problems)
        first = next(iter(problems), None)
        if first is not None:
            self._tabs.setCurrentIndex(_TAB_OF.get(first, 0))
        self._status.setText(self._ui.presenter.text(general))
        self._status.setVisible(bool(general))

    def _set_busy(self, busy: bool) -> None:
        self._busy = busy
        self._tabs.setEnabled(not busy)
        cancel = self._buttons.button(QDialogButtonBox.StandardButton.Cancel)
        if cancel is not None:
            cancel.setEnabled(not busy)
        self._ok_button.setEnabled(not busy and self._candidate is not None)
        if busy:
            self._status.setStyleSheet(HINT_STYLE)
            self._status.setText("Saving…")
            self._status.setVisible(True)
        else:
            self._status.setStyleSheet(ERROR_STYLE)
            if self._status.text() == "Saving…":
                self._status.setVisible(False)

    def reject(self) -> None:
        # A save in flight finishes first, so the list and the store never disagree.
        if not self._busy:
            super().reject()

    def _on_presenter_changed(self) -> None:
        self._render_dids()
        self._revalidate()

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        if not self._zones_loaded:
            self._zones_loaded = True
            self._ui.tasks.start(self.hours_editor.load_all_zones(), name="time zones")
