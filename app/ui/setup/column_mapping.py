"""The column-mapping step of a CRM export: which column holds the name, which the numbers.

The columns are detected from the header row (HubSpot, Salesforce, GoHighLevel, Zoho, or
generic names); a combo per role lets the engineer correct a wrong guess, e.g. a "Direct Dial"
column the detection did not recognise as a phone number.
"""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtWidgets import QComboBox, QWidget

from app.services.contacts.crm_import import ColumnMapping, CrmFlavour, build_mapping
from app.ui.widgets.column_roles import NONE, ColumnRole, ColumnRolesEditor

__all__ = ["NONE", "PHONE_SLOTS", "ColumnMappingEditor"]

PHONE_SLOTS = 3
CONTACT_ROLES = (
    ColumnRole("first_name", "Name (or first name):", "mapFirstName"),
    ColumnRole("last_name", "Last name:", "mapLastName"),
    ColumnRole("company", "Company:", "mapCompany"),
    *(
        ColumnRole(f"phone{n}", f"Phone column {n}:", f"mapPhone{n}")
        for n in range(1, PHONE_SLOTS + 1)
    ),
)


class ColumnMappingEditor(ColumnRolesEditor):
    """Combos for the name, company and up to three phone columns; ``changed`` on each edit."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(CONTACT_ROLES, parent)
        self._detected: ColumnMapping | None = None
        self.first_name = self.combos["first_name"]
        self.last_name = self.combos["last_name"]
        self.company = self.combos["company"]
        self.phones: list[QComboBox] = [self.combos[f"phone{n}"] for n in range(1, PHONE_SLOTS + 1)]

    def set_columns(self, headers: Sequence[str], detected: ColumnMapping | None) -> None:
        """Offer ``headers`` and preselect what the detection found (None: nothing found)."""
        self._detected = detected
        names = detected.name_columns if detected else ()
        phones = [h for h, _ in detected.phone_columns] if detected else []
        chosen: dict[str, str | None] = {
            "first_name": names[0] if names else None,
            "last_name": names[1] if len(names) > 1 else None,
            "company": detected.company_column if detected else None,
        }
        for slot in range(PHONE_SLOTS):
            chosen[f"phone{slot + 1}"] = phones[slot] if slot < len(phones) else None
        self.offer(headers, chosen)

    def problem(self) -> str | None:
        """Why the chosen columns cannot be read yet, or None."""
        if not any(combo.currentData() for combo in self.phones):
            return "Choose at least one phone column: the column holding the contacts' numbers."
        return None

    def mapping(self) -> ColumnMapping:
        """The mapping as chosen; raises ContactsFileError naming what cannot be used."""
        detected = self._detected
        return build_mapping(
            self.headers,
            phone_columns=[c.currentData() for c in self.phones if c.currentData()],
            name_columns=[
                c.currentData() for c in (self.first_name, self.last_name) if c.currentData()
            ],
            company_column=self.company.currentData(),
            id_column=detected.id_column if detected else None,
            email_column=detected.email_column if detected else None,
            flavour=detected.flavour if detected else CrmFlavour.GENERIC,
        )
