"""The connection form's small print: red messages under fields, grey hints, amber warnings."""

from __future__ import annotations

from typing import Final

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel

ERROR_STYLE: Final = "color: #b42318;"
HINT_STYLE: Final = "color: #5a6472;"
WARN_STYLE: Final = "color: #8a5a00;"


def message_label() -> QLabel:
    """A message in red, hidden until there is something to say."""
    label = QLabel()
    label.setWordWrap(True)
    label.setStyleSheet(ERROR_STYLE)
    label.setVisible(False)
    label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    return label


def hint_label(text: str = "") -> QLabel:
    label = QLabel(text)
    label.setWordWrap(True)
    label.setStyleSheet(HINT_STYLE)
    return label
