"""Presenter mode: the switch every pane reads before it shows a number, a name or a secret."""

from __future__ import annotations

from PySide6.QtCore import QObject, Signal

from app.domain.masking import Masker


class Presenter(QObject):
    """Holds the masking state. Panes re-render on ``changed``; models emit a full refresh; the
    fields the engineer types a name or number into hide it (``widgets.presenter_fields``)."""

    changed = Signal()

    def __init__(self, enabled: bool = False, large_type: bool = False) -> None:
        super().__init__()
        self.masker = Masker(enabled)
        self._large_type = large_type

    @property
    def enabled(self) -> bool:
        return self.masker.enabled

    def set_enabled(self, enabled: bool) -> None:
        if enabled != self.masker.enabled:
            self.masker.enabled = enabled
            self.changed.emit()

    @property
    def large_type(self) -> bool:
        return self._large_type

    def set_large_type(self, large: bool) -> None:
        if large != self._large_type:
            self._large_type = large
            self.changed.emit()

    # Shorthands, so panes read as what they show.
    def number(self, text: str | None) -> str:
        return self.masker.number(text)

    def name(self, text: str | None) -> str:
        return self.masker.name(text)

    def text(self, text: str | None) -> str:
        return self.masker.free_text(text)
