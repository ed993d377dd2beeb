"""A table model over a list of rows: the row and column counts, ``hasChildren`` and the
header's dispatch, so a feature's model only says what each cell shows."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Generic, TypeVar

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QObject, QPersistentModelIndex, Qt

R = TypeVar("R")

ALIGN_RIGHT = int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
ALIGN_LEFT = int(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)


class RowsTableModel(QAbstractTableModel, Generic[R]):
    """One row per item of ``self._rows`` under ``headers``.

    ``right`` columns are right-aligned, in their header and their cells; with
    ``align_headers_left`` every other header says left-aligned (otherwise it says nothing).
    Subclasses answer ``cell()``, and ``header()`` for more than the header's words.
    """

    def __init__(
        self,
        headers: tuple[str, ...],
        *,
        right: Iterable[int] = (),
        align_headers_left: bool = False,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._headers = headers
        self._right = frozenset(right)
        self._align_headers_left = align_headers_left
        self._rows: list[R] = []

    def refresh(self) -> None:
        """Re-render every cell (presenter mode toggled, another clock)."""
        if self._rows:
            last = self.index(len(self._rows) - 1, self.columnCount() - 1)
            self.dataChanged.emit(self.index(0, 0), last)

    def refresh_header(self, section: int) -> None:
        """Re-read one column's header (its words name the clock, say)."""
        self.headerDataChanged.emit(Qt.Orientation.Horizontal, section, section)

    # ---- Qt --------------------------------------------------------------------------------
    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._headers)

    def hasChildren(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> bool:  # noqa: B008
        # PySide6 makes QAbstractTableModel.hasChildren private; tools that walk models need it.
        return not parent.isValid() and bool(self._rows)

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if orientation is not Qt.Orientation.Horizontal or not 0 <= section < len(self._headers):
            return None
        return self.header(section, role)

    def header(self, section: int, role: int) -> Any:
        """The horizontal header of ``section`` (in range) for ``role``."""
        if role == Qt.ItemDataRole.DisplayRole:
            return self._headers[section]
        if role == Qt.ItemDataRole.TextAlignmentRole:
            if section in self._right:
                return ALIGN_RIGHT
            if self._align_headers_left:
                return ALIGN_LEFT
        return None

    def data(
        self,
        index: QModelIndex | QPersistentModelIndex,
        role: int = Qt.ItemDataRole.DisplayRole,
    ) -> Any:
        if not index.isValid() or not 0 <= index.row() < len(self._rows):
            return None
        column = index.column()
        if role == Qt.ItemDataRole.TextAlignmentRole and column in self._right:
            return ALIGN_RIGHT
        return self.cell(self._rows[index.row()], column, role)

    def cell(self, row: R, column: int, role: int) -> Any:
        """What the cell of ``row`` in ``column`` holds for ``role`` (None: nothing)."""
        return None
