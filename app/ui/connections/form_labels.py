"""The connection form's small print: red messages under fields, grey hints, amber warnings."""

from __future__ import annotations

from typing import Final

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel

from app.ui.theme import set_tone

# The tones (see ``app.ui.theme.set_tone``) the form's small print is shown in.
ERROR_TONE: Final = "fail"
HINT_TONE: Final = "muted"
WARN_TONE: Final = "warn"


def message_label() -> QLabel:
    """A message in red, hidden until there is something to say."""
    label = QLabel()
    label.setWordWrap(True)
    set_tone(label, ERROR_TONE)
    label.setVisible(False)
    label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    return label


def hint_label(text: str = "") -> QLabel:
    label = QLabel(text)
    label.setWordWrap(True)
    set_tone(label, HINT_TONE)
    return label
