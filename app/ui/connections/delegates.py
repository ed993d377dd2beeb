"""How the connections table paints its cells: roomy default cells and the status pill."""

from __future__ import annotations

from typing import Final

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, QRect, QRectF, QSize, Qt
from PySide6.QtGui import QColor, QPainter
from PySide6.QtWidgets import QStyledItemDelegate, QStyleOptionViewItem

from app.domain.connection import CheckStatusSummary
from app.ui.connections.model import STATUS_LOOKS, STATUS_ROLE, StatusLook
from app.ui.theme import colours
from app.ui.widgets.tables import draw_cell_without_text


class RoomyDelegate(QStyledItemDelegate):
    """Default cells with breathing room, so content-sized columns do not touch."""

    def sizeHint(
        self, option: QStyleOptionViewItem, index: QModelIndex | QPersistentModelIndex
    ) -> QSize:
        base = super().sizeHint(option, index)
        return QSize(base.width() + 16, base.height())


class StatusPillDelegate(QStyledItemDelegate):
    """Paints the status as a rounded, coloured pill with a dot, readable on any selection."""

    PADDING: Final = 8

    def paint(
        self,
        painter: QPainter,
        option: QStyleOptionViewItem,
        index: QModelIndex | QPersistentModelIndex,
    ) -> None:
        look = STATUS_LOOKS.get(CheckStatusSummary(str(index.data(STATUS_ROLE))))
        if look is None:
            super().paint(painter, option, index)
            return
        draw_cell_without_text(self, painter, option, index)  # the pill says it
        self._draw_pill(painter, option, look)

    def _draw_pill(self, painter: QPainter, option: QStyleOptionViewItem, look: StatusLook) -> None:
        metrics = option.fontMetrics
        text_width = metrics.horizontalAdvance(look.label)
        height = metrics.height() + 4
        dot = max(6, metrics.height() // 2 - 1)
        width = text_width + dot + self.PADDING * 2 + 6
        cell: QRect = option.rect
        pill = QRectF(
            cell.x() + 6,
            cell.y() + (cell.height() - height) / 2,
            min(width, cell.width() - 12),
            height,
        )
        tint = colours().tints[look.tint]
        painter.save()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(QColor(tint.background))
        painter.drawRoundedRect(pill, height / 2, height / 2)
        painter.setBrush(QColor(tint.text))
        painter.drawEllipse(QRectF(pill.x() + self.PADDING, pill.center().y() - dot / 2, dot, dot))
        painter.setPen(QColor(tint.text))
        text_rect = pill.adjusted(self.PADDING + dot + 6, 0, -self.PADDING, 0)
        painter.drawText(
            text_rect, int(Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft), look.label
        )
        painter.restore()

    def sizeHint(
        self, option: QStyleOptionViewItem, index: QModelIndex | QPersistentModelIndex
    ) -> QSize:
        base = super().sizeHint(option, index)
        metrics = option.fontMetrics
        widest = max(metrics.horizontalAdvance(look.label) for look in STATUS_LOOKS.values())
        return QSize(
            widest + metrics.height() + self.PADDING * 2 + 20,
            max(base.height(), metrics.height() + 12),
        )
