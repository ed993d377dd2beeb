"""The connection form's three tabs: every field of one PBX connection, each with its message.

The form holds the inputs and shows what it is told: the dialog (dialog.py) decides what is
wrong and when to say it. ``edited`` fires on any change, ``touched`` with a field's key when
the engineer leaves it (or removes a DID), so its message may show even while it is empty.
"""

from __future__ import annotations

from typing import Final

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from app.domain.addresses import AddressError, parse_pbx_address, plain_http_warning
from app.domain.business_hours import BusinessHours, BusinessHoursError
from app.domain.connection import ConnectionProfile
from app.services.connections.store import FIELD_LABELS
from app.ui.connections.did_sources_editor import DidSourcesEditor
from app.ui.connections.form_labels import HINT_TONE, WARN_TONE, hint_label, message_label
from app.ui.presenter import Presenter
from app.ui.theme import set_tone
from app.ui.widgets.hours_editor import HoursEditor, hours_source_text
from app.ui.widgets.presenter_fields import hide_while_presenting
from app.ui.widgets.secret_field import SecretField

REQUIRED: Final = ("name", "url", "client_id")
TAB_OF: Final[dict[str, int]] = {
    "name": 0,
    "customer": 0,
    "tags": 0,
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
TAB_TITLES: Final = ("Connection", "Security", "Numbers && hours")


class ConnectionForm(QTabWidget):
    """Connection, Security, Numbers && hours; ``errors`` holds each field's message label."""

    edited = Signal()
    touched = Signal(str)

    def __init__(self, presenter: Presenter, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._presenter = presenter
        self._file_dialog: QFileDialog | None = None
        self.errors: dict[str, QLabel] = {}
        self.addTab(self._build_connection_tab(), TAB_TITLES[0])
        self.addTab(self._build_security_tab(), TAB_TITLES[1])
        self.addTab(self._build_numbers_tab(), TAB_TITLES[2])

    # ---- building --------------------------------------------------------------------------
    def _field(self, form: QFormLayout, key: str, widget: QWidget, *extra: QWidget) -> None:
        """A row: the input, then any hint, then its (hidden until needed) error message."""
        column = QVBoxLayout()
        column.setSpacing(2)
        column.addWidget(widget)
        for item in extra:
            column.addWidget(item)
        error = message_label()
        error.setObjectName(f"error_{key}")
        column.addWidget(error)
        self.errors[key] = error
        label = FIELD_LABELS[key]
        form.addRow(f"{label}:" if key not in REQUIRED else f"{label} *:", column)

    def _line(self, key: str, placeholder: str = "") -> QLineEdit:
        edit = QLineEdit()
        edit.setObjectName(f"field_{key}")
        edit.setPlaceholderText(placeholder)
        self._watch(key, edit)
        return edit

    def _watch(self, key: str, edit: QLineEdit) -> None:
        edit.textChanged.connect(self._on_edited)
        edit.editingFinished.connect(lambda: self.touched.emit(key))

    def _on_edited(self) -> None:
        self.edited.emit()

    def _page(self) -> tuple[QWidget, QFormLayout]:
        page = QWidget()
        form = QFormLayout(page)
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        form.setRowWrapPolicy(QFormLayout.RowWrapPolicy.DontWrapRows)
        form.setLabelAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignTop)
        return page, form

    def _build_connection_tab(self) -> QWidget:
        page, form = self._page()
        self.name_edit = self._line("name", "e.g. Harbour Dental – Sydney office")
        self._field(form, "name", self.name_edit)
        self.customer_edit = self._line("customer", "The customer's company")
        self._field(form, "customer", self.customer_edit)
        self.tags_edit = self._line("tags", "Your labels, comma-separated, e.g. north, monthly")
        self.tags_edit.setToolTip(
            "The Fleet view's filter and `fleet sweep --only TAG` pick connections by tag."
        )
        self._field(form, "tags", self.tags_edit)
        # Whose they are: another customer may be watching (the list shows initials for them).
        hide_while_presenting(self._presenter, self.name_edit, self.customer_edit, self.tags_edit)

        self.url_edit = self._line("url", "Paste the admin console address, e.g. pbx.example.com")
        self.url_preview = hint_label()
        self.url_preview.setObjectName("urlPreview")
        self._field(form, "url", self.url_edit, self.url_preview)

        self.client_id_edit = self._line("client_id", "Admin console → Integrations → API")
        self._field(form, "client_id", self.client_id_edit)

        self.key_edit = SecretField.api_key("field_secret")
        self._watch("secret", self.key_edit)
        self.key_note = hint_label()
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
        page, form = self._page()
        row, self.ca_edit = self._file_row(
            "ca_file",
            "Choose the CA certificate",
            "Certificates (*.pem *.crt *.cer);;All files (*)",
        )
        self._field(
            form,
            "ca_file",
            row,
            hint_label(
                "Only for a PBX whose certificate comes from the customer's own CA. "
                "Leave empty to use the system's trusted certificates."
            ),
        )
        self.pin_edit = self._line("pin_sha256", "Optional SHA-256 fingerprint (colons allowed)")
        self._field(
            form,
            "pin_sha256",
            self.pin_edit,
            hint_label("Accept only this exact certificate. A renewed certificate then fails."),
        )
        return page

    def _build_numbers_tab(self) -> QWidget:
        page, form = self._page()
        self._field(
            form,
            "region",
            self._build_region_box(),
            hint_label("Two-letter country for numbers written without +; empty: the PBX's own."),
        )
        self._field(form, "business_hours", self._build_hours_box())
        self.dids = DidSourcesEditor(self._presenter)
        self.dids.edited.connect(self._on_edited)
        self.dids.rowRemoved.connect(lambda: self.touched.emit("did_sources"))
        self._field(form, "did_sources", self.dids, self.dids.note)
        row, self.contacts_edit = self._file_row(
            "contacts_csv", "Choose the CRM contacts export", "CSV files (*.csv);;All files (*)"
        )
        self._field(
            form,
            "contacts_csv",
            row,
            hint_label("A CRM export (HubSpot, Salesforce, Zoho, …) to match callers against."),
        )
        return page

    def _build_region_box(self) -> QWidget:
        self.region_edit = self._line("region", "PBX default")
        self.region_edit.setMaxLength(3)
        self.region_edit.setMaximumWidth(120)
        region_row = QHBoxLayout()
        region_row.setContentsMargins(0, 0, 0, 0)
        region_row.addWidget(self.region_edit)
        region_row.addStretch(1)
        region_box = QWidget()
        region_box.setLayout(region_row)
        return region_box

    def _build_hours_box(self) -> QWidget:
        self.hours_editor = HoursEditor()
        self.hours_editor.edited.connect(self._on_edited)
        # The editor's fields, under the names the form has always had.
        self.timezone_combo = self.hours_editor.timezone_combo
        self.day_boxes = self.hours_editor.day_boxes
        self.opens_edit = self.hours_editor.opens_edit
        self.closes_edit = self.hours_editor.closes_edit
        self.hours_source = hint_label()
        self.hours_source.setObjectName("hoursSource")
        self.hours_source.setWordWrap(True)  # the PBX's hours, breaks and holidays are long
        hours = QWidget()
        hours_layout = QVBoxLayout(hours)
        hours_layout.setContentsMargins(0, 0, 0, 0)
        hours_layout.addWidget(self.hours_editor)
        hours_layout.addWidget(self.hours_source)
        return hours

    # ---- filling and reading ---------------------------------------------------------------
    def fill(self, profile: ConnectionProfile) -> None:
        self.name_edit.setText(profile.name)
        self.customer_edit.setText(profile.customer)
        self.tags_edit.setText(", ".join(profile.tags))
        self.url_edit.setText(profile.url)
        self.client_id_edit.setText(profile.client_id)
        self.region_edit.setText(profile.region or "")
        self.ca_edit.setText(profile.ca_file or "")
        self.pin_edit.setText(profile.pin_sha256 or "")
        self.contacts_edit.setText(profile.contacts_csv or "")
        self.hours_editor.set_hours(profile.business_hours)
        for did, source in profile.did_sources.items():
            self.dids.append(did, source)
        self.dids.apply_presenter_mode()

    def hours(self) -> tuple[BusinessHours, str | None]:
        """The hours as entered (or the base ones, with what is wrong), said under the editor."""
        problem: str | None = None
        try:
            hours = self.hours_editor.hours()
        except BusinessHoursError as exc:
            problem = str(exc)
            hours = self.hours_editor.base
        self.hours_source.setText(hours_source_text(hours))
        return hours, problem

    def profile(
        self, connection_id: str, hours: BusinessHours, dids: dict[str, str]
    ) -> ConnectionProfile:
        """The fields as typed (not yet tidied or checked)."""
        return ConnectionProfile(
            id=connection_id,
            name=self.name_edit.text(),
            url=self.url_edit.text(),
            client_id=self.client_id_edit.text(),
            customer=self.customer_edit.text(),
            tags=tuple(self.tags_edit.text().split(",")),  # tidied by the store's check
            region=self.region_edit.text() or None,
            ca_file=self.ca_edit.text() or None,
            pin_sha256=self.pin_edit.text() or None,
            business_hours=hours,
            did_sources=dids,
            contacts_csv=self.contacts_edit.text() or None,
        )

    def _edits(self) -> dict[str, QLineEdit]:
        return {
            "name": self.name_edit,
            "customer": self.customer_edit,
            "tags": self.tags_edit,
            "url": self.url_edit,
            "client_id": self.client_id_edit,
            "secret": self.key_edit,
            "region": self.region_edit,
            "ca_file": self.ca_edit,
            "pin_sha256": self.pin_edit,
            "contacts_csv": self.contacts_edit,
        }

    def filled(self, field: str) -> bool:
        edit = self._edits().get(field)
        # Hours and DIDs always hold something the engineer chose.
        return edit is None or bool(edit.text().strip())

    def field_value(self, field: str) -> object:
        edit = self._edits().get(field)
        if edit is not None:
            return edit.text()
        if field == "business_hours":
            return self.hours_editor.field_value()
        if field == "did_sources":
            return tuple(self.dids.rows())
        return None

    # ---- showing ---------------------------------------------------------------------------
    def show_problems(self, problems: dict[str, str], touched: set[str]) -> None:
        """Each field's message, and ⚠ on the tabs that hold one."""
        shown_tabs: set[int] = set()
        for field, label in self.errors.items():
            message = problems.get(field)
            # Empty fields nobody has visited yet are listed under "Still needed" instead.
            visible = message is not None and (field in touched or self.filled(field))
            label.setText(self._presenter.text(message) if visible and message else "")
            label.setVisible(visible)
            if visible:
                shown_tabs.add(TAB_OF[field])
        for index, title in enumerate(TAB_TITLES):
            self.setTabText(index, f"{title} ⚠" if index in shown_tabs else title)

    def show_tab_of(self, field: str) -> None:
        self.setCurrentIndex(TAB_OF.get(field, 0))

    def show_url_preview(self, problems: dict[str, str]) -> None:
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
        set_tone(self.url_preview, WARN_TONE if warning else HINT_TONE)
        self.url_preview.setVisible(True)

    # ---- choosing files --------------------------------------------------------------------
    def _browse(self, target: QLineEdit, caption: str, name_filter: str) -> None:
        """A non-blocking file chooser (``open()``, not the static helpers' nested loop)."""
        if self._file_dialog is not None:
            self._file_dialog.close()
        chooser = QFileDialog(self.window(), caption, target.text().strip(), name_filter)
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
