"""The toolbar's icons, drawn here as line art in one ink (no image files, nothing to license).

Drawn on a 24-unit grid at twice the size for sharp HiDPI, in the text colour, and in the
accent's contrast colour for a checked button, so they read in light and dark mode alike.
"""

from __future__ import annotations

import enum
from collections.abc import Callable

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QIcon, QPainter, QPainterPath, QPen, QPixmap

SIZE = 24
SCALE = 2


class ToolIcon(enum.Enum):
    PRESENTER = "presenter"
    LARGER_TYPE = "larger-type"
    SIDEBAR = "sidebar"
    SETUP = "setup"
    DOCTOR = "doctor"
    SETTINGS = "settings"


def tool_icon(which: ToolIcon, ink: str, checked_ink: str) -> QIcon:
    """The icon in ``ink``, and in ``checked_ink`` while its action is checked."""
    icon = QIcon(_drawn(which, ink))
    icon.addPixmap(_drawn(which, checked_ink), QIcon.Mode.Normal, QIcon.State.On)
    return icon


def _drawn(which: ToolIcon, ink: str) -> QPixmap:
    pixmap = QPixmap(SIZE * SCALE, SIZE * SCALE)
    pixmap.fill(Qt.GlobalColor.transparent)
    painter = QPainter(pixmap)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.scale(SCALE, SCALE)
    pen = QPen(QColor(ink), 1.8)
    pen.setCapStyle(Qt.PenCapStyle.RoundCap)
    pen.setJoinStyle(Qt.PenJoinStyle.RoundJoin)
    painter.setPen(pen)
    painter.setBrush(Qt.BrushStyle.NoBrush)
    _PAINTERS[which](painter, QColor(ink))
    painter.end()
    pixmap.setDevicePixelRatio(SCALE)
    return pixmap


def _presenter(p: QPainter, ink: QColor) -> None:
    # A screen on a stand, with an eye on it: what the customer sees.
    p.drawRoundedRect(QRectF(3, 4, 18, 12), 1.5, 1.5)
    p.drawLine(QPointF(12, 16), QPointF(12, 20))
    p.drawLine(QPointF(8, 20), QPointF(16, 20))
    eye = QPainterPath(QPointF(7, 10))
    eye.quadTo(QPointF(12, 5.5), QPointF(17, 10))
    eye.quadTo(QPointF(12, 14.5), QPointF(7, 10))
    p.drawPath(eye)
    p.setBrush(ink)
    p.drawEllipse(QPointF(12, 10), 1.3, 1.3)


def _larger_type(p: QPainter, _ink: QColor) -> None:
    # A small and a large letter A.
    p.drawPolyline([QPointF(2.5, 19), QPointF(6, 10), QPointF(9.5, 19)])
    p.drawLine(QPointF(4, 15.5), QPointF(8, 15.5))
    p.drawPolyline([QPointF(10.5, 20), QPointF(16, 4), QPointF(21.5, 20)])
    p.drawLine(QPointF(12.8, 14), QPointF(19.2, 14))


def _sidebar(p: QPainter, _ink: QColor) -> None:
    # A window with its left column: the connections list.
    p.drawRoundedRect(QRectF(3, 4, 18, 16), 1.5, 1.5)
    p.drawLine(QPointF(9, 4), QPointF(9, 20))
    for y in (8.5, 12, 15.5):
        p.drawLine(QPointF(5, y), QPointF(7, y))


def _setup(p: QPainter, _ink: QColor) -> None:
    # A plus in a circle: a new PBX.
    p.drawEllipse(QPointF(12, 12), 8.5, 8.5)
    p.drawLine(QPointF(12, 7.5), QPointF(12, 16.5))
    p.drawLine(QPointF(7.5, 12), QPointF(16.5, 12))


def _doctor(p: QPainter, _ink: QColor) -> None:
    # A pulse line: check the PBX's health.
    p.drawPolyline(
        [
            QPointF(2.5, 13),
            QPointF(7, 13),
            QPointF(9, 8),
            QPointF(12, 18),
            QPointF(14.5, 5),
            QPointF(16.5, 13),
            QPointF(21.5, 13),
        ]
    )


def _settings(p: QPainter, ink: QColor) -> None:
    # Three sliders.
    for y, knob in ((6.5, 15.5), (12, 8), (17.5, 13)):
        p.drawLine(QPointF(3.5, y), QPointF(20.5, y))
        p.save()
        p.setBrush(ink)
        p.drawEllipse(QPointF(knob, y), 2.2, 2.2)
        p.restore()


_PAINTERS: dict[ToolIcon, Callable[[QPainter, QColor], None]] = {
    ToolIcon.PRESENTER: _presenter,
    ToolIcon.LARGER_TYPE: _larger_type,
    ToolIcon.SIDEBAR: _sidebar,
    ToolIcon.SETUP: _setup,
    ToolIcon.DOCTOR: _doctor,
    ToolIcon.SETTINGS: _settings,
}
