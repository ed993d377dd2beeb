"""The doctor's seven checks as a table: sized from its font, one check selected at a time."""

from __future__ import annotations

from PySide6.QtCore import QEvent, QItemSelection, QItemSelectionModel, Qt, Signal
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QTableView

from app.domain.diagnosis import CHECK_ORDER, TITLES, CheckId
from app.ui.doctor.model import CheckTableModel


class CheckTable(QTableView):
    """Exactly seven rows tall, so the details below take the rest of the pane."""

    # The selected check changed: by a click, a key or ``select``. The selection, not the current
    # row, says which: a click moves the current row before it selects, a key selects first.
    selectionMoved = Signal()

    def __init__(self, model: CheckTableModel) -> None:
        super().__init__()
        self._checks = model
        self.setObjectName("doctorChecks")
        self.setModel(model)
        self.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.verticalHeader().hide()
        self.setShowGrid(False)
        self.setAlternatingRowColors(True)
        self.setWordWrap(False)
        self.setTextElideMode(Qt.TextElideMode.ElideRight)
        header = self.horizontalHeader()
        header.setHighlightSections(False)
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        header.setSectionResizeMode(CheckTableModel.NUMBER, QHeaderView.ResizeMode.Fixed)
        header.setSectionResizeMode(CheckTableModel.FINDING, QHeaderView.ResizeMode.Stretch)
        self.fit()

    def fit(self) -> None:
        """Rows and columns sized from the font (it grows with large type); seven rows, always,
        so the table is exactly as tall as them and the details take the rest."""
        metrics = self.fontMetrics()
        self.verticalHeader().setDefaultSectionSize(metrics.height() + 14)
        header = self.horizontalHeader()
        widest = max(metrics.horizontalAdvance(title) for title in TITLES.values())
        header.resizeSection(CheckTableModel.NUMBER, metrics.horizontalAdvance("7.") + 20)
        header.resizeSection(CheckTableModel.CHECK, widest + 20)
        header.resizeSection(CheckTableModel.RESULT, metrics.horizontalAdvance("Not checked") + 56)
        header.resizeSection(CheckTableModel.TIME, metrics.horizontalAdvance("0000 ms") + 16)
        rows = self.verticalHeader().defaultSectionSize() * len(CHECK_ORDER)
        self.setFixedHeight(rows + header.sizeHint().height() + 2 * self.frameWidth())

    def event(self, event: QEvent) -> bool:
        # Refitted before the view handles the new font, as an event filter would.
        if event.type() == QEvent.Type.FontChange:
            self.fit()
        return super().event(event)

    def select(self, check: CheckId) -> None:
        index = self._checks.index(self._checks.row_of(check), 0)
        self.selectionModel().setCurrentIndex(
            index,
            QItemSelectionModel.SelectionFlag.ClearAndSelect
            | QItemSelectionModel.SelectionFlag.Rows,
        )

    def current_check(self) -> CheckId | None:
        """The selected check; None when no row is selected (a current row alone is not)."""
        rows = self.selectionModel().selectedRows()
        return self._checks.check_at(rows[0].row()) if rows else None

    def selectionChanged(self, selected: QItemSelection, deselected: QItemSelection) -> None:
        super().selectionChanged(selected, deselected)
        self.selectionMoved.emit()
