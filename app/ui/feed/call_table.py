"""The Live calls table: a call that leaves the view takes the selection with it.

Qt moves the selection to a neighbouring row when the selected one is removed; here, with a
filter that hides the selected call, that would show another call's journey as if chosen.
"""

from __future__ import annotations

from PySide6.QtCore import QModelIndex, QPersistentModelIndex
from PySide6.QtWidgets import QTableView


class CallTable(QTableView):
    """A ``QTableView`` whose selection ends with its row instead of moving on."""

    def rowsAboutToBeRemoved(
        self, parent: QModelIndex | QPersistentModelIndex, start: int, end: int
    ) -> None:
        selection = self.selectionModel()
        current = selection.currentIndex() if selection is not None else QModelIndex()
        if selection is not None and current.isValid() and start <= current.row() <= end:
            selection.clear()  # no current left for Qt to move on
        super().rowsAboutToBeRemoved(parent, start, end)
