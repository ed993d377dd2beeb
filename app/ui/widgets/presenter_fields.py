"""Fields the engineer types a customer's name or number into, hidden while presenting.

What is typed into a filter or a search box (a contact's name, a caller's number) is on the
shared screen as much as what the panes show. While presenter mode is on such a field shows
bullets instead; its text is untouched, so the filter or search it drives still works, and
the text shows again as soon as presenter mode goes off. The field also refuses to copy or
drag its text out while hidden (a password field's rules).
"""

from __future__ import annotations

from PySide6.QtCore import QObject, Slot
from PySide6.QtWidgets import QLineEdit

from app.ui.presenter import Presenter

HIDDEN_TIP = "What is typed here is hidden while presenter mode is on"


class PresenterMask(QObject):
    """Hides one field's text while presenter mode is on; a child of the field, so it goes with
    it (and its connection to the presenter with it)."""

    def __init__(self, edit: QLineEdit, presenter: Presenter) -> None:
        super().__init__(edit)
        self.setObjectName("presenterMask")
        self._edit = edit
        self._presenter = presenter
        self._tooltip = edit.toolTip()
        presenter.changed.connect(self.apply)
        self.apply()

    @property
    def hiding(self) -> bool:
        return self._edit.echoMode() is QLineEdit.EchoMode.Password

    @Slot()
    def apply(self) -> None:
        presenting = self._presenter.enabled
        if presenting == self.hiding:
            return
        if presenting:
            self._tooltip = self._edit.toolTip()  # the field's own, given back afterwards
        self._edit.setEchoMode(
            QLineEdit.EchoMode.Password if presenting else QLineEdit.EchoMode.Normal
        )
        self._edit.setToolTip(HIDDEN_TIP if presenting else self._tooltip)


def hide_while_presenting(presenter: Presenter, *edits: QLineEdit) -> None:
    """Hide what is typed in each of ``edits`` whenever presenter mode is on."""
    for edit in edits:
        PresenterMask(edit, presenter)
