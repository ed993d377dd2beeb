"""The connection form names what is wrong, or odd, with each form of PBX address."""

from __future__ import annotations

import pytest
from PySide6.QtWidgets import QLabel
from pytestqt.qtbot import QtBot

from app.ui.connections.dialog import ConnectionDialog
from app.ui.connections.form_labels import HINT_TONE, WARN_TONE
from app.ui.context import UiContext


def typed(ui: UiContext, qtbot: QtBot, address: str) -> ConnectionDialog:
    dialog = ConnectionDialog(ui, key_backend="test keyring")
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.keyClicks(dialog.form.name_edit, "Harbour Dental")
    qtbot.keyClicks(dialog.form.url_edit, address)
    return dialog


def url_error(dialog: ConnectionDialog) -> str:
    label = dialog.findChild(QLabel, "error_url")
    assert label is not None
    return label.text() if label.isVisible() else ""


@pytest.mark.parametrize(
    ("address", "connects_to"),
    [
        ("::1", "https://[::1]"),
        ("fe80::1", "https://[fe80::1]"),
        ("[::1]:5001", "https://[::1]:5001"),
    ],
)
async def test_ipv6_addresses_are_accepted(
    ui: UiContext, qtbot: QtBot, address: str, connects_to: str
) -> None:
    dialog = typed(ui, qtbot, address)
    assert url_error(dialog) == ""
    assert dialog.form.url_preview.text() == f"Connects to {connects_to}"
    assert dialog.form.url_preview.property("tone") == HINT_TONE


@pytest.mark.parametrize(
    ("address", "says"),
    [
        ("pbx.example.com:0", "Port 0 is not a port a PBX can listen on"),
        ("pbx.example.com:70000", "Port 70000 is out of range"),
        ("pbx.example.com:5001:1", "An IPv6 address with a port goes in brackets"),
    ],
)
async def test_a_bad_port_is_named_under_the_field(
    ui: UiContext, qtbot: QtBot, address: str, says: str
) -> None:
    dialog = typed(ui, qtbot, address)
    assert says in url_error(dialog)
    assert not dialog.form.url_preview.isVisible()


async def test_plain_http_to_the_https_port_is_allowed_with_a_warning(
    ui: UiContext, qtbot: QtBot
) -> None:
    dialog = typed(ui, qtbot, "http://pbx.example.com:5001")
    assert url_error(dialog) == ""  # allowed: a local proxy may translate
    assert dialog.form.url_preview.text() == (
        "Connects to http://pbx.example.com:5001. 3CX serves its API over HTTPS on port 5001, "
        "and this address says http:// — did you mean https://pbx.example.com:5001?"
    )
    assert dialog.form.url_preview.property("tone") == WARN_TONE
    dialog.form.url_edit.setText("https://pbx.example.com:5001")
    assert dialog.form.url_preview.text() == "Connects to https://pbx.example.com:5001"
    assert dialog.form.url_preview.property("tone") == HINT_TONE
