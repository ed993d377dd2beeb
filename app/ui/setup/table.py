"""A read-only table over a tuple of result rows, every cell rendered through the presenter.

The audit and the contact preview show tens of rows of frozen dataclasses; each column is a
function of (row, presenter), so presenter mode re-renders the whole table at once.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QObject, QPersistentModelIndex, Qt
from PySide6.QtGui import QBrush, QColor, QFont, QIcon

from app.ui.presenter import Presenter
from app.ui.theme import colours

R = TypeVar("R")
Index = QModelIndex | QPersistentModelIndex


@dataclass(frozen=True)
class Column(Generic[R]):
    header: str
    text: Callable[[R, Presenter], str]
    icon: Callable[[R], QIcon | None] | None = None
    tooltip: Callable[[R, Presenter], str] | None = None


class ResultTableModel(QAbstractTableModel, Generic[R]):
    def __init__(
        self,
        presenter: Presenter,
        columns: Sequence[Column[R]],
        *,
        marked: Callable[[R], bool] | None = None,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._presenter = presenter
        self._columns = tuple(columns)
        self._marked = marked
        self._rows: tuple[R, ...] = ()
        presenter.changed.connect(self.refresh)

    @property
    def rows(self) -> tuple[R, ...]:
        return self._rows

    def set_rows(self, rows: Sequence[R]) -> None:
        self.beginResetModel()
        self._rows = tuple(rows)
        self.endResetModel()

    def refresh(self) -> None:
        if self._rows:
            last = self.index(len(self._rows) - 1, len(self._columns) - 1)
            self.dataChanged.emit(self.index(0, 0), last)

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._columns)

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return self._columns[section].header
        return None

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        row = self._rows[index.row()]
        column = self._columns[index.column()]
        if role == Qt.ItemDataRole.DisplayRole:
            return column.text(row, self._presenter)
        if role == Qt.ItemDataRole.DecorationRole and column.icon is not None:
            return column.icon(row)
        if role == Qt.ItemDataRole.ToolTipRole and column.tooltip is not None:
            return column.tooltip(row, self._presenter)
        marked = self._marked is not None and self._marked(row)
        if role == Qt.ItemDataRole.BackgroundRole and marked:
            return QBrush(QColor(colours().tints["fail"].background))
        if role == Qt.ItemDataRole.FontRole and marked:
            font = QFont()
            font.setBold(True)
            return font
        return None
