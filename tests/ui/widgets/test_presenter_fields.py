"""Fields hidden while presenting: what is typed shows as bullets, the text itself still works.

``type_while_presenting`` and ``shows_nothing_typed`` are the panes' tests' too (feed,
recordings, log, connections, the whole window): each types a name or a number into its
fields and checks with them.
"""

from __future__ import annotations

import shiboken6
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QLineEdit, QWidget
from pytestqt.qtbot import QtBot

from app.ui.presenter import Presenter
from app.ui.widgets.presenter_fields import HIDDEN_TIP, hide_while_presenting
from tests.support.widget_text import visible_texts

CONTACT = "Jane Citizen"
NUMBER = "0412 345 678"


def type_while_presenting(qtbot: QtBot, edit: QLineEdit, text: str) -> None:
    """Typed key by key, as the engineer would, over whatever the field held (a letter QTest
    has no key for, such as an accent or a dash, is entered as an input method would)."""
    edit.clear()
    for character in text:
        if character.isascii():
            qtbot.keyClicks(edit, character)
        else:
            edit.insert(character)


def shows_nothing_typed(edit: QLineEdit, typed: str) -> bool:
    """The field holds ``typed`` but shows none of its letters or digits: not as its displayed
    text, not in any text of the field a person could read (tooltip, accessible name, ...; its
    placeholder is the app's own example, which may be the very number typed)."""
    shown = edit.displayText()
    characters = {c for c in typed if not c.isspace()}
    readable = [seen.text for seen in visible_texts(edit) if seen.text != edit.placeholderText()]
    return (
        edit.text() == typed
        and len(shown) == len(typed)
        and not characters & set(shown)
        and not any(typed in text for text in readable)
    )


def test_typing_is_hidden_while_presenting_and_shown_again_after(qtbot: QtBot) -> None:
    presenter = Presenter()
    edit = QLineEdit()
    qtbot.addWidget(edit)
    edit.setToolTip("Filter the calls")
    hide_while_presenting(presenter, edit)
    edit.show()
    qtbot.keyClicks(edit, CONTACT)
    assert edit.displayText() == CONTACT and edit.toolTip() == "Filter the calls"

    presenter.set_enabled(True)
    assert shows_nothing_typed(edit, CONTACT)
    assert edit.toolTip() == HIDDEN_TIP
    type_while_presenting(qtbot, edit, NUMBER)
    assert shows_nothing_typed(edit, NUMBER)
    presenter.set_large_type(True)  # another change of the presenter: still hidden
    assert shows_nothing_typed(edit, NUMBER)

    presenter.set_enabled(False)
    assert edit.displayText() == NUMBER == edit.text()
    assert edit.toolTip() == "Filter the calls"


def test_a_field_made_while_presenting_is_hidden_from_the_start(qtbot: QtBot) -> None:
    presenter = Presenter(enabled=True)
    first, second = QLineEdit(), QLineEdit()
    for edit in (first, second):
        qtbot.addWidget(edit)
    hide_while_presenting(presenter, first, second)
    for edit, typed in ((first, CONTACT), (second, NUMBER)):
        qtbot.keyClicks(edit, typed)
        assert shows_nothing_typed(edit, typed)
    presenter.set_enabled(False)
    assert (first.displayText(), second.displayText()) == (CONTACT, NUMBER)


def test_hidden_text_cannot_be_copied_out(qtbot: QtBot) -> None:
    presenter = Presenter(enabled=True)
    edit = QLineEdit()
    qtbot.addWidget(edit)
    hide_while_presenting(presenter, edit)
    qtbot.keyClicks(edit, CONTACT)
    clipboard = QGuiApplication.clipboard()
    clipboard.setText("before")
    edit.selectAll()
    edit.copy()
    assert clipboard.text() == "before"
    presenter.set_enabled(False)  # off a shared screen, a copy is the engineer's to make
    edit.selectAll()
    edit.copy()
    assert clipboard.text() == CONTACT
    clipboard.clear()


def test_a_deleted_field_is_forgotten(qtbot: QtBot) -> None:
    presenter = Presenter()
    box = QWidget()
    qtbot.addWidget(box)
    edit = QLineEdit(box)
    hide_while_presenting(presenter, edit)
    shiboken6.delete(edit)
    presenter.set_enabled(True)  # nothing left to hide, and nothing raised
    assert not box.findChildren(QLineEdit)
