"""The look every pane shares: a calm light theme, one accent, and the status colours.

A customer watches this window over a screen-share, so colours carry meaning only
(pass/warn/fail), type is plain, and the larger-type switch scales everything at once.
"""

from __future__ import annotations

import functools

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QFont, QIcon, QPainter, QPalette, QPixmap
from PySide6.QtWidgets import QApplication

from app.services.paths import resources_dir

ACCENT = "#1f5f8b"
PASS = "#2e7d32"
WARN = "#a15c00"
FAIL = "#c62828"
SKIP = "#6b7280"
RUNNING = ACCENT
MUTED = "#5f6b76"
BACKGROUND = "#f6f7f9"
BASE_POINT_SIZE = 10.0
LARGE_FACTOR = 1.3

STATUS_COLOURS = {"pass": PASS, "warn": WARN, "fail": FAIL, "skip": SKIP, "running": RUNNING}

STYLE_SHEET = f"""
QMainWindow, QDialog {{ background: {BACKGROUND}; }}
QToolBar {{ background: #ffffff; border: none; border-bottom: 1px solid #dde1e6;
           spacing: 6px; padding: 4px 8px; }}
QToolButton {{ padding: 4px 10px; border-radius: 4px; }}
QToolButton:checked {{ background: {ACCENT}; color: white; }}
QTabWidget::pane {{ border: 1px solid #dde1e6; background: #ffffff; top: -1px; }}
QTabBar::tab {{ padding: 6px 14px; border: 1px solid transparent; color: {MUTED}; }}
QTabBar::tab:selected {{ color: #111827; border: 1px solid #dde1e6; border-bottom-color: #ffffff;
                         background: #ffffff; }}
QTableView {{ background: #ffffff; alternate-background-color: #f8fafc;
              gridline-color: #eef0f3; selection-background-color: #dbe8f3;
              selection-color: #111827; border: 1px solid #dde1e6; }}
QHeaderView::section {{ background: #f1f3f5; color: #374151; padding: 4px 6px; border: none;
                         border-right: 1px solid #e5e7eb; border-bottom: 1px solid #dde1e6; }}
QPushButton {{ padding: 4px 12px; }}
QPushButton[primary="true"] {{ background: {ACCENT}; color: white; border: 1px solid {ACCENT};
                               border-radius: 4px; padding: 6px 16px; font-weight: 600; }}
QLabel#welcomeTitle {{ font-size: 15pt; font-weight: 600; color: #111827; }}
QStatusBar {{ background: #ffffff; border-top: 1px solid #dde1e6; color: {MUTED}; }}
QLabel#banner {{ background: #fff4e5; border: 1px solid #f0c36d; border-radius: 4px;
                 padding: 6px 8px; color: #5c3b00; }}
QLabel#presenterBadge {{ background: {ACCENT}; color: white; border-radius: 3px;
                         padding: 2px 8px; font-weight: 600; }}
"""


def status_colour(status: str) -> QColor:
    return QColor(STATUS_COLOURS.get(status, MUTED))


def apply_theme(app: QApplication, *, large_type: bool = False) -> None:
    """The Fusion style with our palette and sheet; call again when large type toggles."""
    app.setStyle("Fusion")
    palette = app.palette()
    palette.setColor(QPalette.ColorRole.Window, QColor(BACKGROUND))
    palette.setColor(QPalette.ColorRole.Highlight, QColor("#dbe8f3"))
    palette.setColor(QPalette.ColorRole.HighlightedText, QColor("#111827"))
    app.setPalette(palette)
    set_type_size(app, large_type=large_type)
    app.setStyleSheet(STYLE_SHEET)


def set_type_size(app: QApplication, *, large_type: bool) -> None:
    font = QFont(app.font())
    font.setPointSizeF(BASE_POINT_SIZE * (LARGE_FACTOR if large_type else 1.0))
    app.setFont(font)


@functools.cache
def dot_icon(colour: str, diameter: int = 10) -> QIcon:
    """A filled status dot for table cells, one per colour (needs a QGuiApplication)."""
    size = 12
    pixmap = QPixmap(size, size)
    pixmap.fill(Qt.GlobalColor.transparent)
    painter = QPainter(pixmap)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.setPen(Qt.PenStyle.NoPen)
    painter.setBrush(QColor(colour))
    inset = (size - diameter) // 2
    painter.drawEllipse(inset, inset, diameter, diameter)
    painter.end()
    return QIcon(pixmap)


def app_icon() -> QIcon:
    """The app's icon in every size resources/icons holds (window, taskbar, dock)."""
    icon = QIcon()
    for path in sorted((resources_dir() / "icons").glob("pbx-companion-*.png")):
        icon.addFile(str(path))
    return icon
