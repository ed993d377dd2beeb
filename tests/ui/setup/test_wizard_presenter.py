"""Presenter mode in the guided setup: what the engineer types about the customer stays hidden."""

from __future__ import annotations

from pytestqt.qtbot import QtBot

from app.ui.context import UiContext
from app.ui.widgets.secret_field import SecretField
from tests.ui.setup.test_wizard_driver import session_store, wizard_on
from tests.ui.widgets.test_presenter_fields import shows_nothing_typed, type_while_presenting


async def test_the_names_typed_in_the_setup_are_hidden_while_presenting(
    ui: UiContext, qtbot: QtBot
) -> None:
    ui.presenter.set_enabled(True)
    async with wizard_on(ui, await session_store()) as wizard:
        typed = {
            wizard.finish.name_edit: "Harbour Dental",
            wizard.finish.customer_edit: "Harbour Dental Pty Ltd",
            wizard.api_user.username_edit: "jane.smith@harbourdental.example",
        }
        for edit, text in typed.items():
            type_while_presenting(qtbot, edit, text)
            assert shows_nothing_typed(edit, text), edit.objectName()
        ui.presenter.set_enabled(False)
        for edit, text in typed.items():
            assert edit.displayText() == text, edit.objectName()


async def test_the_two_factor_code_is_a_secret_field(ui: UiContext) -> None:
    async with wizard_on(ui, await session_store()) as wizard:
        assert isinstance(wizard.api_user.code_edit, SecretField)
