"""The seven status dots of a Fleet row: one per cause, in the doctor's order.

Each dot is the theme's mark of the check's state, as the doctor pane draws it: a tick, a "!",
a cross, a dash or an empty ring on its colour, so a dot reads without its colour too; the
cell's tooltip says each in the doctor's words.
"""

from __future__ import annotations

from typing import Final

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, QRect, QSize
from PySide6.QtGui import QPainter
from PySide6.QtWidgets import QStyledItemDelegate, QStyleOptionViewItem

from app.domain.diagnosis import CHECK_ORDER
from app.ui.fleet.model import STATES_ROLE
from app.ui.theme import Mark, mark_icon
from app.ui.widgets.tables import draw_cell_without_text

GAP: Final = 4  # px between dots
PADDING: Final = 8  # px either side of the row of dots


def dot_size(option: QStyleOptionViewItem) -> int:
    """As tall as a line of text, so Larger type grows the dots with it."""
    return max(12, option.fontMetrics.height() - 2)


class StatusDotsDelegate(QStyledItemDelegate):
    def paint(
        self,
        painter: QPainter,
        option: QStyleOptionViewItem,
        index: QModelIndex | QPersistentModelIndex,
    ) -> None:
        states = index.data(STATES_ROLE)
        draw_cell_without_text(self, painter, option, index)  # the dots say it
        if not isinstance(states, tuple):
            return
        size = dot_size(option)
        cell: QRect = option.rect
        top = cell.y() + (cell.height() - size) // 2
        for n, state in enumerate(states):
            if not isinstance(state, Mark):
                continue
            icon = mark_icon(state, size)
            icon.paint(painter, QRect(cell.x() + PADDING + n * (size + GAP), top, size, size))

    def sizeHint(
        self, option: QStyleOptionViewItem, index: QModelIndex | QPersistentModelIndex
    ) -> QSize:
        base = super().sizeHint(option, index)
        size = dot_size(option)
        count = len(CHECK_ORDER)
        return QSize(2 * PADDING + count * size + (count - 1) * GAP, max(base.height(), size + 6))
