"""The DID → source list table of the connection form, and the check of what it holds.

Each row maps a DID (the number dialled) to the name of the list it was advertised on, so the
missed-call preview can tag a call with its source. In presenter mode the numbers are masked
and the table is read-only; the real DID rides along in each cell's user data.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QStandardItem, QStandardItemModel
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QPushButton,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from app.domain.connection import looks_like_did
from app.ui.connections.form_labels import hint_label
from app.ui.presenter import Presenter


def did_sources_problem(
    rows: list[tuple[str, str]], presenter: Presenter
) -> tuple[dict[str, str], str | None]:
    """The DIDs and their sources, or what is wrong with the first bad row (blank rows skip)."""
    dids: dict[str, str] = {}
    first_row: dict[str, int] = {}
    for row, (did, source) in enumerate(rows, start=1):
        if not did and not source:
            continue
        shown = presenter.number(did)
        if not did:
            return dids, f"Row {row}: the DID is empty."
        if not looks_like_did(did):
            return dids, f"Row {row}: {shown!r} is not a phone number."
        if not source:
            return dids, f"Row {row}: DID {shown} has no source list."
        if did in first_row:
            return dids, f"Row {row}: DID {shown} is already on row {first_row[did]}."
        first_row[did] = row
        dids[did] = source
    return dids, None


class DidSourcesEditor(QWidget):
    """The table with its add and remove buttons; ``note`` is for the caller to place.

    ``edited`` fires when the engineer changes a cell, ``rowRemoved`` when a row is removed.
    """

    edited = Signal()
    rowRemoved = Signal()

    def __init__(self, presenter: Presenter, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._presenter = presenter
        self._rendering = False  # our own writes to the cells are not edits
        self.model = QStandardItemModel(0, 2, self)
        self.model.setHorizontalHeaderLabels(["DID (the number dialled)", "Source list"])
        self.model.itemChanged.connect(self._on_item_changed)
        self.table = self._build_table()
        self.add_button = QPushButton("Add DID")
        self.add_button.clicked.connect(self._add_row)
        self.remove_button = QPushButton("Remove DID")
        self.remove_button.clicked.connect(self._remove_row)
        self.note = hint_label()
        self.note.setObjectName("didNote")
        buttons = QHBoxLayout()
        buttons.addWidget(self.add_button)
        buttons.addWidget(self.remove_button)
        buttons.addStretch(1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.table)
        layout.addLayout(buttons)

    def _build_table(self) -> QTableView:
        table = QTableView()
        table.setObjectName("didTable")
        table.setModel(self.model)
        header = table.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        table.verticalHeader().setVisible(False)
        table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        table.setMinimumHeight(110)
        return table

    def append(self, did: str, source: str) -> None:
        number = QStandardItem(self._presenter.number(did))
        number.setData(did, Qt.ItemDataRole.UserRole)  # the real DID; the cell may be masked
        self.model.appendRow([number, QStandardItem(source)])

    def rows(self) -> list[tuple[str, str]]:
        """Every row as (real DID, source), trimmed."""
        rows = []
        for row in range(self.model.rowCount()):
            number = self.model.item(row, 0)
            source = self.model.item(row, 1)
            did = str(number.data(Qt.ItemDataRole.UserRole) or "") if number else ""
            rows.append((did.strip(), source.text().strip() if source else ""))
        return rows

    def apply_presenter_mode(self) -> None:
        """Masked, read-only DIDs in presenter mode; the real, editable ones otherwise."""
        masked = self._presenter.enabled
        self._rendering = True
        try:
            for row in range(self.model.rowCount()):
                item = self.model.item(row, 0)
                if item is not None:
                    real = str(item.data(Qt.ItemDataRole.UserRole) or "")
                    item.setText(self._presenter.number(real))
        finally:
            self._rendering = False
        self.table.setEditTriggers(
            QAbstractItemView.EditTrigger.NoEditTriggers
            if masked
            else QAbstractItemView.EditTrigger.AllEditTriggers
        )
        self.add_button.setEnabled(not masked)
        self.remove_button.setEnabled(not masked)
        self.note.setText(
            "DIDs are masked in presenter mode; turn it off to edit them."
            if masked
            else "Calls to a DID are tagged with its source list in the missed-call preview."
        )

    def _on_item_changed(self, item: QStandardItem) -> None:
        if self._rendering:
            return
        if item.column() == 0 and not self._presenter.enabled:
            self._rendering = True
            try:
                item.setData(item.text(), Qt.ItemDataRole.UserRole)
            finally:
                self._rendering = False
        self.edited.emit()

    def _add_row(self) -> None:
        self.append("", "")
        index = self.model.index(self.model.rowCount() - 1, 0)
        self.table.setCurrentIndex(index)
        # Making the new row current already opens its editor; asking again makes Qt warn.
        if self.table.state() is not QAbstractItemView.State.EditingState:
            self.table.edit(index)

    def _remove_row(self) -> None:
        row = self.table.currentIndex().row()
        if row >= 0:
            self.model.removeRow(row)
            self.rowRemoved.emit()
