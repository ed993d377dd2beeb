"""The main window's frame before and around its panes: its first size, the page shown until
the panes are built, and how wide the connections list is given.

Qt only (no services): the frame paints before anything heavy loads (start-up time).
"""

from __future__ import annotations

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QGuiApplication, QPaintEvent
from PySide6.QtWidgets import QLabel

WIDE_ENOUGH_FOR_SIDEBAR = 1600  # px: below this, Larger type hides the connections list
SIDEBAR_SHARE = 0.2  # of the window's width, between these bounds (px)
SIDEBAR_WIDTHS = (260, 400)


def initial_size() -> QSize:
    """1440 x 900, but never larger than the screen (a 1366 x 768 laptop is common)."""
    wanted = QSize(1440, 900)
    screen = QGuiApplication.primaryScreen()
    return wanted if screen is None else wanted.boundedTo(screen.availableGeometry().size())


def sidebar_width(window_width: int) -> int:
    """The connections list's first width: a share of the window, within bounds."""
    low, high = SIDEBAR_WIDTHS
    return max(low, min(high, round(window_width * SIDEBAR_SHARE)))


def wide_enough_for_sidebar(window_width: int) -> bool:
    """At Larger type, whether the list can stay beside the calls."""
    return window_width >= WIDE_ENOUGH_FOR_SIDEBAR


class StartingPage(QLabel):
    """The central page until the panes are built; says once when it has painted."""

    painted = Signal()

    def __init__(self) -> None:
        super().__init__("Opening your connections…")
        self.setObjectName("startingPage")
        self.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self._painted = False

    def paintEvent(self, event: QPaintEvent) -> None:
        super().paintEvent(event)
        if not self._painted:
            self._painted = True
            self.painted.emit()
