"""A one-line label that gives way: it shortens its text with "…" rather than widen the window.

A plain QLabel asks for its whole text as its minimum width, so a long customer name in a
heading can push the main window past a laptop screen (Qt grows a window to its minimum size
and never narrows it back). This one asks for a few characters at least, shows all it can, and
keeps the whole text in its tooltip.
"""

from __future__ import annotations

from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QPainter, QPaintEvent, QResizeEvent
from PySide6.QtWidgets import QLabel, QSizePolicy, QStyleOption, QWidget

MIN_CHARS = 12  # enough to tell one customer from another at a pinch


class ElidedLabel(QLabel):
    """A QLabel for one line of plain text that elides at the right when squeezed."""

    def __init__(self, text: str = "", parent: QWidget | None = None) -> None:
        super().__init__(text, parent)
        self.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Fixed)
        self.setTextFormat(Qt.TextFormat.PlainText)
        self.setWordWrap(False)

    def setText(self, text: str) -> None:
        super().setText(text)
        # The whole text on hover, only when some of it may be hidden.
        self.setToolTip(text if self.elided_text() != text else "")

    def minimumSizeHint(self) -> QSize:
        hint = super().minimumSizeHint()
        margins = self.contentsMargins()
        least = self.fontMetrics().horizontalAdvance("M" * MIN_CHARS) + margins.left()
        return QSize(min(hint.width(), least + margins.right()), hint.height())

    def elided_text(self) -> str:
        """The text as it fits the label's width now."""
        width = self.contentsRect().width()
        return self.fontMetrics().elidedText(self.text(), Qt.TextElideMode.ElideRight, width)

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self.setToolTip(self.text() if self.elided_text() != self.text() else "")

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        option = QStyleOption()
        option.initFrom(self)
        self.style().drawItemText(
            painter,
            self.contentsRect(),
            int(self.alignment()),
            option.palette,
            self.isEnabled(),
            self.elided_text(),
            self.foregroundRole(),
        )
        painter.end()
        del event  # the whole label is redrawn: it is one short line
