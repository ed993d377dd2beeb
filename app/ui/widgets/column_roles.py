"""Which column of a CSV export holds each role: one combo per role over the file's headers.

Shared by the contacts import's mapping (name, company, phones) and the CRM activity export's
(time, phone, direction, contact, recording link, call id, ...): each preselects what the
detection found, and the engineer corrects a wrong guess.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QComboBox, QGridLayout, QLabel, QWidget

NONE = "— none —"
DETECTED = "detected"


@dataclass(frozen=True)
class ColumnRole:
    key: str  # the mapping's field, e.g. "phone"
    label: str  # "Phone number:"
    object_name: str
    hint: str = ""  # the combo's tooltip: what the column holds


class ColumnRolesEditor(QWidget):
    """A label and a combo per role, in ``columns`` side-by-side columns; ``changed`` on each
    edit the engineer makes (never while headers are being offered)."""

    changed = Signal()

    def __init__(
        self, roles: Sequence[ColumnRole], parent: QWidget | None = None, *, columns: int = 1
    ) -> None:
        super().__init__(parent)
        self._headers: tuple[str, ...] = ()
        self.roles = tuple(roles)
        self.combos: dict[str, QComboBox] = {}
        self.labels: dict[str, QLabel] = {}
        grid = QGridLayout(self)
        grid.setContentsMargins(0, 0, 0, 0)
        grid.setHorizontalSpacing(8)
        grid.setVerticalSpacing(4)
        per_column = -(-len(self.roles) // max(columns, 1))
        for index, role in enumerate(self.roles):
            row, column = index % per_column, 2 * (index // per_column)
            combo = self._combo(role.object_name)
            combo.setToolTip(role.hint)
            label = QLabel(role.label)
            label.setBuddy(combo)
            grid.addWidget(label, row, column)
            grid.addWidget(combo, row, column + 1)
            self.combos[role.key] = combo
            self.labels[role.key] = label
        for column in range(max(columns, 1)):
            grid.setColumnStretch(2 * column + 1, 1)

    def _combo(self, name: str) -> QComboBox:
        combo = QComboBox()
        combo.setObjectName(name)
        combo.setMinimumWidth(220)
        combo.currentIndexChanged.connect(lambda _index: self.changed.emit())
        return combo

    @property
    def headers(self) -> tuple[str, ...]:
        return self._headers

    def offer(
        self,
        headers: Sequence[str],
        chosen: Mapping[str, str | None],
        detected: Mapping[str, str | None] | None = None,
    ) -> None:
        """Offer ``headers`` in every combo and preselect ``chosen`` (role -> header); with
        ``detected``, the detection's guess for each role is marked in its list."""
        self._headers = tuple(h for h in headers if h)
        for key, combo in self.combos.items():
            guess = detected.get(key) if detected is not None else None
            self.fill(combo, chosen.get(key), guess)
        self.changed.emit()

    def fill(self, combo: QComboBox, chosen: str | None, guess: str | None = None) -> None:
        combo.blockSignals(True)
        combo.clear()
        combo.addItem(NONE, None)
        for header in self._headers:
            combo.addItem(f"{header} ({DETECTED})" if header == guess else header, header)
        index = combo.findData(chosen) if chosen is not None else 0
        combo.setCurrentIndex(max(index, 0))
        combo.blockSignals(False)

    def select(self, combo: QComboBox, header: str | None) -> None:
        index = combo.findData(header) if header is not None else 0
        if index < 0:
            raise ValueError(f"{header!r} is not a column of the file")
        combo.setCurrentIndex(index)

    def chosen(self, key: str) -> str | None:
        value = self.combos[key].currentData()
        return value if isinstance(value, str) else None

    def chosen_all(self) -> dict[str, str | None]:
        return {key: self.chosen(key) for key in self.combos}
