"""The connection form in presenter mode: whose connection it is stays off a shared screen."""

from __future__ import annotations

from pytestqt.qtbot import QtBot

from app.ui.connections.connection_form import ConnectionForm
from app.ui.presenter import Presenter
from tests.ui.widgets.test_presenter_fields import shows_nothing_typed, type_while_presenting

TYPED = {"name": "Harbour Dental – Sydney office", "customer": "Harbour Dental Pty Ltd"}


def test_the_name_and_customer_typed_are_hidden_while_presenting(qtbot: QtBot) -> None:
    presenter = Presenter(enabled=True)
    form = ConnectionForm(presenter)
    qtbot.addWidget(form)
    form.show()
    edits = {"name": form.name_edit, "customer": form.customer_edit}
    for field, edit in edits.items():
        type_while_presenting(qtbot, edit, TYPED[field])
        assert shows_nothing_typed(edit, TYPED[field]), field
        assert form.field_value(field) == TYPED[field]  # checked and saved as typed
    # The address, the Client ID and the region hold no one's name: they stay readable.
    type_while_presenting(qtbot, form.url_edit, "pbx.example.com")
    assert form.url_edit.displayText() == "pbx.example.com"

    presenter.set_enabled(False)
    assert {field: edit.displayText() for field, edit in edits.items()} == TYPED


def test_a_filled_form_opened_while_presenting_shows_no_name(qtbot: QtBot) -> None:
    presenter = Presenter(enabled=True)
    form = ConnectionForm(presenter)
    qtbot.addWidget(form)
    form.name_edit.setText(TYPED["name"])
    form.customer_edit.setText(TYPED["customer"])
    form.show()
    assert shows_nothing_typed(form.name_edit, TYPED["name"])
    assert shows_nothing_typed(form.customer_edit, TYPED["customer"])
