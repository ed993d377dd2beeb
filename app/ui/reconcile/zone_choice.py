"""Which clock an input's times were written on, when they carry no zone: the customer's (the
default) or an IANA zone the engineer types or chooses (a CRM kept in UTC, a bridge host in
another region)."""

from __future__ import annotations

from datetime import tzinfo

from PySide6.QtCore import QSize, QStringListModel, Qt
from PySide6.QtWidgets import QComboBox, QCompleter, QWidget

from app.domain.business_hours import zone_of
from app.ui.widgets.hours_editor import COMMON_ZONES


def zone_name(zone: tzinfo) -> str:
    key = getattr(zone, "key", None)
    return key if isinstance(key, str) else str(zone)


MIN_CHARS = 16  # "America/New_York"
WANTED_CHARS = 26  # "The customer's (Europe/London)" as near whole as the row allows


class ZoneChoice(QComboBox):
    """An editable list: first "The customer's (zone)", then the usual zones; any typed."""

    def __init__(self, object_name: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName(object_name)
        self.setEditable(True)
        self.setInsertPolicy(QComboBox.InsertPolicy.NoInsert)
        # Narrow at a pinch (two of these share a row that must fit a laptop at Larger type
        # beside the connections list), wider where there is room: see sizeHint().
        self.setMinimumContentsLength(MIN_CHARS)
        self.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.addItem(self._customers("UTC"), None)
        self.addItems(COMMON_ZONES)
        completer = QCompleter(QStringListModel(list(COMMON_ZONES), self), self)
        completer.setCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        completer.setFilterMode(Qt.MatchFlag.MatchContains)
        self.setCompleter(completer)
        # Squeezed beside the connections list at Larger type, the whole name is on hover.
        self.editTextChanged.connect(self.setToolTip)

    def sizeHint(self) -> QSize:
        hint = super().sizeHint()
        extra = self.fontMetrics().horizontalAdvance("x") * (WANTED_CHARS - MIN_CHARS)
        return QSize(hint.width() + extra, hint.height())

    @staticmethod
    def _customers(zone: str) -> str:
        return f"The customer's ({zone})"

    def set_customer_zone(self, zone: tzinfo) -> None:
        """Name the customer's zone in the first item (the text typed stays as it is)."""
        was_default, typed = self.is_default(), self.currentText()
        self.blockSignals(True)  # renaming the current item rewrites the typed text: put back
        self.setItemText(0, self._customers(zone_name(zone)))
        self.setEditText(self.itemText(0) if was_default else typed)
        self._show_start()
        self.blockSignals(False)

    def is_default(self) -> bool:
        text = self.currentText().strip()
        return not text or text == self.itemText(0) or text.startswith("The customer's")

    def choose(self, zone: str | None) -> None:
        """Choose ``zone`` by name, or the customer's (None)."""
        if zone is None:
            self.setCurrentIndex(0)
            self.setEditText(self.itemText(0))
        else:
            self.setEditText(zone)
        self._show_start()

    def _show_start(self) -> None:
        # Squeezed, a name shows from its start ("The customer's (Austr"), not its tail.
        edit = self.lineEdit()
        if edit is not None:
            edit.setCursorPosition(0)
        self.setToolTip(self.currentText())

    def zone(self) -> tzinfo | None:
        """The chosen zone; None for the customer's. Raises ``BusinessHoursError`` for a name
        the tz database does not know, naming it."""
        if self.is_default():
            return None
        return zone_of(self.currentText().strip())
