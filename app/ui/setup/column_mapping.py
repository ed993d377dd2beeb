"""The column-mapping step of a CRM export: which column holds the name, which the numbers.

The columns are detected from the header row (HubSpot, Salesforce, GoHighLevel, Zoho, or
generic names); a combo per role lets the engineer correct a wrong guess, e.g. a "Direct Dial"
column the detection did not recognise as a phone number.
"""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QComboBox, QFormLayout, QWidget

from app.services.contacts.crm_import import ColumnMapping, CrmFlavour, build_mapping

NONE = "— none —"
PHONE_SLOTS = 3


class ColumnMappingEditor(QWidget):
    """Combos for the name, company and up to three phone columns; ``changed`` on each edit."""

    changed = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._headers: tuple[str, ...] = ()
        self._detected: ColumnMapping | None = None
        self.first_name = self._combo("mapFirstName")
        self.last_name = self._combo("mapLastName")
        self.company = self._combo("mapCompany")
        self.phones = [self._combo(f"mapPhone{n}") for n in range(1, PHONE_SLOTS + 1)]
        form = QFormLayout(self)
        form.setContentsMargins(0, 0, 0, 0)
        form.addRow("Name (or first name):", self.first_name)
        form.addRow("Last name:", self.last_name)
        form.addRow("Company:", self.company)
        for number, combo in enumerate(self.phones, start=1):
            form.addRow(f"Phone column {number}:", combo)

    def _combo(self, name: str) -> QComboBox:
        combo = QComboBox()
        combo.setObjectName(name)
        combo.setMinimumWidth(220)
        combo.currentIndexChanged.connect(lambda _index: self.changed.emit())
        return combo

    def set_columns(self, headers: Sequence[str], detected: ColumnMapping | None) -> None:
        """Offer ``headers`` and preselect what the detection found (None: nothing found)."""
        self._headers = tuple(h for h in headers if h)
        self._detected = detected
        names = detected.name_columns if detected else ()
        phones = [h for h, _ in detected.phone_columns] if detected else []
        self._fill(self.first_name, names[0] if names else None)
        self._fill(self.last_name, names[1] if len(names) > 1 else None)
        self._fill(self.company, detected.company_column if detected else None)
        for slot, combo in enumerate(self.phones):
            self._fill(combo, phones[slot] if slot < len(phones) else None)
        self.changed.emit()

    def _fill(self, combo: QComboBox, chosen: str | None) -> None:
        combo.blockSignals(True)
        combo.clear()
        combo.addItem(NONE, None)
        for header in self._headers:
            combo.addItem(header, header)
        index = combo.findData(chosen) if chosen is not None else 0
        combo.setCurrentIndex(max(index, 0))
        combo.blockSignals(False)

    def select(self, combo: QComboBox, header: str | None) -> None:
        index = combo.findData(header) if header is not None else 0
        if index < 0:
            raise ValueError(f"{header!r} is not a column of the file")
        combo.setCurrentIndex(index)

    def problem(self) -> str | None:
        """Why the chosen columns cannot be read yet, or None."""
        if not any(combo.currentData() for combo in self.phones):
            return "Choose at least one phone column: the column holding the contacts' numbers."
        return None

    def mapping(self) -> ColumnMapping:
        """The mapping as chosen; raises ContactsFileError naming what cannot be used."""
        detected = self._detected
        return build_mapping(
            self._headers,
            phone_columns=[c.currentData() for c in self.phones if c.currentData()],
            name_columns=[
                c.currentData() for c in (self.first_name, self.last_name) if c.currentData()
            ],
            company_column=self.company.currentData(),
            id_column=detected.id_column if detected else None,
            email_column=detected.email_column if detected else None,
            flavour=detected.flavour if detected else CrmFlavour.GENERIC,
        )
