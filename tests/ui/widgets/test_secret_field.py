"""The one secret-entry field: hidden, paste-only for keys, revealed only off a shared screen."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QLineEdit
from pytestqt.qtbot import QtBot

from app.services.connections.store import InvalidConnectionError
from app.ui.widgets.secret_field import SecretField

Password = QLineEdit.EchoMode.Password
Normal = QLineEdit.EchoMode.Normal


def _pasted(qtbot: QtBot, field: SecretField, text: str) -> None:
    clipboard = QGuiApplication.clipboard()
    clipboard.setText(text)
    field.setFocus()
    qtbot.keyClick(field, Qt.Key.Key_V, Qt.KeyboardModifier.ControlModifier)
    clipboard.clear()


def test_an_api_key_field_is_hidden_and_cannot_be_copied_out(qtbot: QtBot) -> None:
    field = SecretField.api_key("apiKey", "Paste the API key")
    qtbot.addWidget(field)
    assert field.objectName() == "apiKey"
    assert field.placeholderText() == "Paste the API key"
    assert field.echoMode() is Password
    assert field.contextMenuPolicy() is Qt.ContextMenuPolicy.NoContextMenu
    assert not field.dragEnabled()
    assert not field.testAttribute(Qt.WidgetAttribute.WA_InputMethodEnabled)


def test_password_and_code_fields_keep_their_lighter_guards(qtbot: QtBot) -> None:
    password = SecretField.password("adminPassword")
    code = SecretField.code("adminSecurityCode", "only if the admin uses two-factor sign-in")
    qtbot.addWidget(password)
    qtbot.addWidget(code)
    assert password.echoMode() is Password and code.echoMode() is Password
    assert password.contextMenuPolicy() is Qt.ContextMenuPolicy.NoContextMenu
    assert code.contextMenuPolicy() is Qt.ContextMenuPolicy.DefaultContextMenu
    assert password.testAttribute(Qt.WidgetAttribute.WA_InputMethodEnabled) == (
        code.testAttribute(Qt.WidgetAttribute.WA_InputMethodEnabled)
    )


def test_the_show_button_toggles_the_echo(qtbot: QtBot) -> None:
    field = SecretField.api_key("newKey")
    button = field.reveal_button("Show the pasted key")
    qtbot.addWidget(field)
    qtbot.addWidget(button)
    assert (button.text(), button.objectName(), button.toolTip()) == (
        "Show",
        "revealKey",
        "Show the pasted key",
    )
    assert button.isCheckable() and not button.isChecked()
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)
    assert field.echoMode() is Normal and field.revealed
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)
    assert field.echoMode() is Password and not field.revealed


def test_presenter_mode_hides_the_key_and_unchecks_show(qtbot: QtBot) -> None:
    field = SecretField.api_key("newKey")
    button = field.reveal_button()
    qtbot.addWidget(field)
    qtbot.addWidget(button)
    button.setChecked(True)
    field.set_presenting(True)
    assert field.echoMode() is Password and not button.isChecked()
    field.set_revealed(True)  # even asked directly, nothing shows on a shared screen
    assert field.echoMode() is Password
    field.set_presenting(False)
    assert field.echoMode() is Normal


def test_a_pasted_key_loses_surrounding_spaces_and_zero_width_characters(qtbot: QtBot) -> None:
    field = SecretField.api_key("apiKey")
    qtbot.addWidget(field)
    field.show()
    _pasted(qtbot, field, "\u200b  kEy-12\u200d3_abc\u00a0\ufeff ")
    assert field.text() != ""
    assert field.checked_key() == "kEy-123_abc"


@pytest.mark.parametrize(
    ("pasted", "reason"),
    [
        ("kEy 123", "space or line break inside it"),
        ("kEy\u202e123", "invisible control character"),
        ("   ", "The API key is empty"),
    ],
)
def test_a_broken_paste_is_refused_with_the_reason_not_the_key(
    qtbot: QtBot, pasted: str, reason: str
) -> None:
    field = SecretField.api_key("apiKey")
    qtbot.addWidget(field)
    field.show()
    _pasted(qtbot, field, pasted)
    with pytest.raises(InvalidConnectionError) as caught:
        field.checked_key()
    message = caught.value.problems["secret"]
    assert reason in message
    assert "kEy" not in message


def test_clearing_empties_the_field(qtbot: QtBot) -> None:
    field = SecretField.api_key("apiKey")
    qtbot.addWidget(field)
    field.setText("secret-key")
    field.clear()
    assert field.text() == ""
