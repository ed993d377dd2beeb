"""Dialogs that grow to show what they hold, and scroll on a screen too short for it.

Wrapped labels need more height at Larger type or when a long outcome appears; a dialog that
keeps its first size cuts them. ``grow_to_fit`` resizes to the layout's height for the current
width, up to the screen; ``scrolling_body`` puts the content in a scroll area so a 768-px
laptop screen scrolls rather than cuts.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFrame, QScrollArea, QVBoxLayout, QWidget

SCREEN_MARGIN = 80  # px left for the title bar and the taskbar


def grow_to_fit(window: QWidget, body: QWidget | None = None) -> None:
    """Make ``window`` as tall as its layout needs for its width (``body``: the scrolled
    content, whose height is what is needed), never taller than the screen."""
    layout = window.layout()
    if layout is None or not window.isVisible():
        return
    layout.activate()
    needed = layout.totalHeightForWidth(window.width())
    if body is not None and body.layout() is not None:
        inner = body.layout()
        assert inner is not None
        inner.activate()
        extra = inner.totalHeightForWidth(body.width()) - body.height()
        needed = max(needed, window.height() + extra)
    screen = window.screen().availableGeometry().height() - SCREEN_MARGIN
    target = min(needed, screen)
    if target > window.height():
        window.resize(window.width(), target)


def scrolling_body(window: QWidget) -> tuple[QVBoxLayout, QVBoxLayout, QWidget]:
    """``window``'s layout with a scrolled body: (outer layout for the buttons, the body's
    layout for the content, the body widget)."""
    outer = QVBoxLayout(window)
    body = QWidget()
    inner = QVBoxLayout(body)
    inner.setContentsMargins(0, 0, 0, 0)
    area = QScrollArea()
    area.setWidget(body)
    area.setWidgetResizable(True)
    area.setFrameShape(QFrame.Shape.NoFrame)
    area.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
    outer.addWidget(area, 1)
    return outer, inner, body
