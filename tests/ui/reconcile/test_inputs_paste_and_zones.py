"""The inputs form's pasted bridge logs and clocks: a pasted log is kept in memory, its
unreadable lines counted (never fatal) and its text never shown while presenting; an unknown
time zone is refused with a message, and everything else chosen stays."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QWidget

from app.ui.context import UiContext
from app.ui.reconcile.inputs_form import ReconcileInputsForm
from app.ui.reconcile.pane import ReconcilePane
from app.ui.reconcile.paste_log_dialog import PasteLogDialog
from tests.support.widget_text import visible_texts
from tests.ui.reconcile.bridge_played import (
    Played,
    played_fixture,  # noqa: F401 (the ``played`` fixture)
)

if TYPE_CHECKING:
    from pytestqt.qtbot import QtBot

WAIT_S = 60.0


def is_invalid(widget: QWidget) -> bool:
    return widget.property("invalid") == "true"


BROKEN = "%%% the bridge's terminal wrapped this line %%%"


def pasted_lines(played: Played) -> str:
    lines = played.log.read_text(encoding="utf-8").splitlines()[:4]
    return "\n".join([*lines[:2], BROKEN, *lines[2:]]) + "\n"


def make_form(ui: UiContext, qtbot: QtBot) -> ReconcileInputsForm:
    form = ReconcileInputsForm(ui.presenter, tasks=ui.tasks)
    qtbot.addWidget(form)
    form.resize(1200, 160)
    form.show()
    form.render_state(connected=True, busy=False)
    return form


async def test_a_pasted_log_is_kept_in_memory_and_its_broken_line_counted(
    ui: UiContext, qtbot: QtBot, played: Played
) -> None:
    form = make_form(ui, qtbot)
    form.add_bridge_log(played.log)
    text = pasted_lines(played)
    qtbot.mouseClick(form.paste_log, Qt.MouseButton.LeftButton)
    dialog = form.open_dialog
    assert isinstance(dialog, PasteLogDialog)
    assert not dialog.ok_button.isEnabled()  # nothing pasted yet
    dialog.set_text(text)
    qtbot.mouseClick(dialog.ok_button, Qt.MouseButton.LeftButton)
    assert form.open_dialog is None
    assert form.pasted_logs == (text,)
    assert form.bridge_logs == (played.log,)  # the file stays, the paste is no file
    await asyncio.wait_for(form.count_tasks[-1], WAIT_S)
    item = form.logs_list.item(1)
    assert item.text() == "pasted log (5 lines, 1 that cannot be read)"
    # Removing it removes the text with it.
    form.logs_list.setCurrentRow(1)
    qtbot.mouseClick(form.remove_log, Qt.MouseButton.LeftButton)
    assert form.pasted_logs == () and form.bridge_logs == (played.log,)


async def test_blank_text_adds_no_log(ui: UiContext, qtbot: QtBot) -> None:
    form = make_form(ui, qtbot)
    assert form.add_pasted_log(" \n\t\n") is None
    assert form.logs_list.count() == 0


async def test_presenter_mode_hides_the_pasted_text(
    ui: UiContext, qtbot: QtBot, played: Played
) -> None:
    ui.presenter.set_enabled(True)
    form = make_form(ui, qtbot)
    text = pasted_lines(played)
    form.open_paste()
    dialog = form.open_dialog
    assert isinstance(dialog, PasteLogDialog)
    QGuiApplication.clipboard().setText(text)
    qtbot.mouseClick(dialog.paste_button, Qt.MouseButton.LeftButton)
    QGuiApplication.clipboard().clear()
    assert dialog.text() == text
    assert not dialog.editor.isVisible()
    assert dialog.hidden_note.text() == "The pasted text is hidden while presenting: 5 lines."
    shown = [seen.text for seen in visible_texts(dialog)]
    assert not [t for t in shown if BROKEN in t or any(line in t for line in text.splitlines())]
    ui.presenter.set_enabled(False)  # off a shared screen, the text is the engineer's to see
    assert dialog.editor.isVisible() and dialog.editor.toPlainText() == text
    ui.presenter.set_enabled(True)
    dialog.accept()
    await asyncio.wait_for(form.count_tasks[-1], WAIT_S)
    shown = [seen.text for seen in visible_texts(form)]
    assert "pasted log (5 lines, 1 that cannot be read)" in shown
    assert not [t for t in shown if BROKEN in t]


async def test_an_unknown_zone_is_refused_and_the_other_inputs_stay(
    ui: UiContext, qtbot: QtBot, played: Played
) -> None:
    pane = ReconcilePane(ui)
    qtbot.addWidget(pane)
    pane.resize(1200, 760)
    pane.show()
    pane.set_session(played.session)
    assert pane.hours_task is not None
    hours = await asyncio.wait_for(pane.hours_task, WAIT_S)
    form = pane.form
    customer = f"The customer's ({hours.timezone})"
    assert form.crm_zone.currentText() == customer == form.bridge_zone.currentText()
    form.set_crm_path(played.crm)
    form.add_bridge_log(played.log)
    form.bridge_zone.setEditText("UTC")
    form.crm_zone.setEditText("Mars/Olympus_Mons")

    assert pane.run() is None
    message = form.error_label.text()
    assert form.error_label.isVisible()
    assert message.startswith("CRM export's times: Time zone 'Mars/Olympus_Mons' is not known")
    assert "Europe/London" in message and "customer's" in message
    assert is_invalid(form.crm_zone) and not is_invalid(form.bridge_zone)
    # Nothing chosen is lost: the file, the log, the typed zone and the other clock.
    assert form.crm_path == played.crm and form.bridge_logs == (played.log,)
    assert form.crm_zone.currentText() == "Mars/Olympus_Mons"
    assert form.bridge_zone.currentText() == "UTC"

    form.crm_zone.choose(None)  # back to the customer's
    assert not form.error_label.isVisible()  # the change clears the message
    inputs = form.inputs()
    assert inputs is not None
    assert (inputs.crm_zone, inputs.bridge_zone) == (None, ZoneInfo("UTC"))
    assert (inputs.crm_activities, inputs.bridge_logs) == (played.crm, (played.log,))
    task = pane.run()
    assert task is not None, form.error_label.text()
    await asyncio.wait_for(task, WAIT_S)
    assert pane.result is not None
    await pane.aclose()


def test_a_zone_is_read_as_typed(qtbot: QtBot, ui: UiContext) -> None:
    form = ReconcileInputsForm(ui.presenter)
    qtbot.addWidget(form)
    form.set_customer_zone(ZoneInfo("Australia/Adelaide"))
    assert form.crm_zone.zone() is None
    assert form.crm_zone.currentText() == "The customer's (Australia/Adelaide)"
    # Squeezed, the box shows the name from its start, and the whole of it on hover.
    edit = form.crm_zone.lineEdit()
    assert edit is not None and edit.cursorPosition() == 0
    assert form.crm_zone.toolTip() == "The customer's (Australia/Adelaide)"
    form.crm_zone.setEditText(" America/New_York ")
    assert form.crm_zone.toolTip() == " America/New_York "
    assert form.crm_zone.zone() == ZoneInfo("America/New_York")
    form.set_customer_zone(ZoneInfo("Europe/London"))  # a typed zone stays as typed
    assert form.crm_zone.zone() == ZoneInfo("America/New_York")
    assert form.bridge_zone.currentText() == "The customer's (Europe/London)"
