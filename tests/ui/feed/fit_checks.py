"""Whether a table's cells fit their columns: the shared check of the tables' fit tests.

A cell's text fits when the view's font measures it, plus the item's margins and its icon,
within the column. A column the view marks as free (the one that takes the spare width) may
elide a long text only when its tooltip says it all.
"""

from __future__ import annotations

from PySide6.QtCore import QModelIndex, Qt
from PySide6.QtGui import QFontMetrics
from PySide6.QtWidgets import QStyle, QTableView

MARGIN = 8  # px: the style's text margins either side, and the grid line


def _needed(view: QTableView, index: QModelIndex, text: str) -> int:
    font = index.data(Qt.ItemDataRole.FontRole)  # set attributes over the view's, as painted
    metrics = QFontMetrics(font.resolve(view.font()) if font is not None else view.font())
    width = metrics.horizontalAdvance(text) + MARGIN
    if index.data(Qt.ItemDataRole.DecorationRole) is not None:
        width += view.style().pixelMetric(QStyle.PixelMetric.PM_SmallIconSize) + 4
    return width


def visible_rows(view: QTableView) -> range:
    model = view.model()
    top = max(0, view.rowAt(0))
    bottom = view.rowAt(view.viewport().height() - 1)
    return range(top, (bottom if bottom >= 0 else model.rowCount() - 1) + 1)


def cut_cells(view: QTableView, *, free: int | None = None) -> list[str]:
    """Every visible cell (and header) whose text does not fit its column, said as text."""
    model = view.model()
    problems = []
    for column in range(model.columnCount()):
        if view.isColumnHidden(column):
            continue
        width = view.columnWidth(column)
        header = str(model.headerData(column, Qt.Orientation.Horizontal) or "")
        if QFontMetrics(view.horizontalHeader().font()).horizontalAdvance(header) + 12 > width:
            problems.append(f"header {header!r}: {width} px")
        for row in visible_rows(view):
            index = model.index(row, column)
            text = str(index.data() or "")
            if not text or _needed(view, index, text) <= width:
                continue
            tooltip = str(index.data(Qt.ItemDataRole.ToolTipRole) or "")
            if column == free and text in tooltip:
                continue
            problems.append(f"row {row} column {header!r}: {text!r} in {width} px")
    return problems
