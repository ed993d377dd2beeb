"""The inputs form's CRM columns: the mapping dialog corrects a wrongly detected column, the run
uses the correction, the connection remembers it, and a reopened form applies it to an export
with the same headers (and detects afresh for another)."""

from __future__ import annotations

import asyncio
import csv
import io
import re
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt

from app.domain.activity_columns import ActivityColumns
from app.domain.reconcile.records import CallState
from app.services.connections.secrets import KeyringStatus
from app.services.connections.store import ConnectionStore
from app.services.reconcile.run import ReconcileInputs, ReconcileResult, run_reconcile
from app.services.settings.file import Settings, load_settings, save_settings, settings_path
from app.ui.context import UiContext
from app.ui.reconcile.activity_columns_dialog import ActivityColumnsDialog
from app.ui.reconcile.crm_columns import COLUMNS_CHOSEN, COLUMNS_DETECTED, COLUMNS_REMEMBERED
from app.ui.reconcile.inputs_form import ReconcileInputsForm
from app.ui.widgets.column_roles import DETECTED
from tests.support.widget_text import digit_runs, visible_texts
from tests.ui.reconcile.bridge_played import (
    DECOY,
    Played,
    header_index,
    played_fixture,  # noqa: F401 (the ``played`` fixture)
    relabelled,
)

if TYPE_CHECKING:
    from pytestqt.qtbot import QtBot

WAIT_S = 60.0


def store_with(played: Played) -> ConnectionStore:
    path = settings_path()
    save_settings(Settings(connections=(played.session.profile,)), path)
    status = KeyringStatus(False, "", "not needed: the session holds the key")
    return ConnectionStore(load_settings(path), None, status, path=path)


def make_form(
    ui: UiContext, qtbot: QtBot, store: ConnectionStore, played: Played
) -> ReconcileInputsForm:
    form = ReconcileInputsForm(ui.presenter, tasks=ui.tasks)
    qtbot.addWidget(form)
    form.resize(1200, 160)
    form.show()
    form.reset_dates(played.session.saved_hours.zone)
    form.attach_store(store)
    form.set_connection(store.get(played.session.profile.id))
    form.render_state(connected=True, busy=False)
    return form


async def choose(form: ReconcileInputsForm, path: Path) -> None:
    form.set_crm_path(path)
    assert form.columns_task is not None
    await asyncio.wait_for(form.columns_task, WAIT_S)


async def run_with(played: Played, form: ReconcileInputsForm) -> ReconcileResult:
    inputs = form.inputs()
    assert isinstance(inputs, ReconcileInputs), form.error_label.text()
    period = form.period(played.session.saved_hours.zone)
    assert period is not None
    return await asyncio.wait_for(run_reconcile(played.session, *period, inputs), WAIT_S)


def wrong(result: ReconcileResult, played: Played) -> list[str]:
    truth = played.playback.truth()
    assert {e.call.call_id for e in result.ledger.entries} == set(truth)
    return [
        e.call.call_id
        for e in result.ledger.entries
        if e.state is not CallState(truth[e.call.call_id].state)
    ]


async def test_the_dialog_corrects_a_wrongly_detected_column_and_the_run_uses_it(
    ui: UiContext, qtbot: QtBot, played: Played, tmp_path: Path
) -> None:
    export = relabelled(played.crm, tmp_path / "activities-other-crm.csv")
    store = store_with(played)
    form = make_form(ui, qtbot, store, played)
    form.add_bridge_log(played.log)
    await choose(form, export)
    assert form.crm_columns_chosen is None
    assert form.columns_label.text() == COLUMNS_DETECTED
    detected = await run_with(played, form)
    assert wrong(detected, played), "the decoy column reads as the customers' numbers"

    form.crm_columns.click()
    assert form.columns_task is not None
    await asyncio.wait_for(form.columns_task, WAIT_S)
    dialog = form.open_dialog
    assert isinstance(dialog, ActivityColumnsDialog) and dialog.isVisible()
    phone = dialog.editor.combos["phone"]
    assert phone.currentData() == DECOY and phone.currentText() == f"{DECOY} ({DETECTED})"
    assert dialog.samples.rowCount() == 5 and dialog.samples.columnCount() == 9
    # Nothing left to tie an activity to a call by: said, and the mapping cannot be used.
    dialog.editor.select(phone, None)
    assert not dialog.ok_button.isEnabled()
    assert dialog.message.isVisible()
    assert "choose a call id column, or a time column and a phone number" in dialog.message.text()
    dialog.editor.select(phone, "Dialled")
    dialog.editor.select(dialog.editor.combos["notes"], "Remarks")
    assert dialog.ok_button.isEnabled() and not dialog.message.isVisible()
    dialog_header = dialog.samples.horizontalHeaderItem(header_index(export, "Dialled"))
    assert dialog_header is not None and dialog_header.text() == "Phone number\nDialled"
    qtbot.mouseClick(dialog.ok_button, Qt.MouseButton.LeftButton)
    assert form.open_dialog is None
    assert form.remember_task is not None
    await asyncio.wait_for(form.remember_task, WAIT_S)

    chosen = form.crm_columns_chosen
    assert chosen is not None and (chosen.phone, chosen.notes) == ("Dialled", "Remarks")
    assert form.columns_label.text() == COLUMNS_REMEMBERED
    corrected = await run_with(played, form)
    assert not wrong(corrected, played)
    assert len(corrected.ledger.entries) == len(played.playback.truth())
    # Kept with the connection, in the settings file.
    saved = load_settings(settings_path()).settings.connections[0].activity_columns
    assert saved == chosen


async def test_a_reopened_form_applies_the_remembered_mapping_to_the_same_headers(
    ui: UiContext, qtbot: QtBot, played: Played, tmp_path: Path
) -> None:
    export = relabelled(played.crm, tmp_path / "activities-other-crm.csv")
    mapping = ActivityColumns(
        time="Activity date",
        phone="Dialled",
        direction="Call direction",
        contact="Associated Contact",
        recording="Call recording URL",
        notes="Remarks",
        kind="Activity type",
        new_contact="Contact created by",
    )
    store = store_with(played)
    await store.remember_activity_columns(played.session.profile.id, mapping)
    form = make_form(ui, qtbot, store, played)
    await choose(form, export)
    assert form.crm_columns_chosen == mapping
    assert form.columns_label.text() == COLUMNS_REMEMBERED
    inputs = form.inputs()
    assert inputs is not None and inputs.crm_columns == mapping
    # The dialog opens on the remembered mapping, the detection's guess still marked.
    form.open_columns()
    assert form.columns_task is not None
    await asyncio.wait_for(form.columns_task, WAIT_S)
    dialog = form.open_dialog
    assert isinstance(dialog, ActivityColumnsDialog)
    assert dialog.columns() == mapping
    phone = dialog.editor.combos["phone"]
    assert phone.itemText(phone.findData(DECOY)) == f"{DECOY} ({DETECTED})"
    dialog.editor.select(dialog.editor.combos["contact"], None)
    dialog.accept()
    assert form.remember_task is not None
    await asyncio.wait_for(form.remember_task, WAIT_S)
    kept = store.get(played.session.profile.id)
    assert kept is not None and kept.activity_columns is not None
    assert kept.activity_columns.contact is None

    # An export with other headers is not this mapping's: its columns are detected.
    await choose(form, played.crm)
    assert form.crm_columns_chosen is None
    assert form.columns_label.text() == COLUMNS_DETECTED
    inputs = form.inputs()
    assert inputs is not None and inputs.crm_columns is None


async def test_a_demo_connection_keeps_the_mapping_for_the_form_only(
    ui: UiContext, qtbot: QtBot, played: Played, tmp_path: Path
) -> None:
    """Nothing of the demo is saved; its mapping still applies for the rest of the session."""
    import dataclasses

    export = relabelled(played.crm, tmp_path / "activities-other-crm.csv")
    form = ReconcileInputsForm(ui.presenter, tasks=ui.tasks)
    qtbot.addWidget(form)
    form.show()
    form.set_connection(dataclasses.replace(played.session.profile, demo=True))
    await choose(form, export)
    form.open_columns()
    assert form.columns_task is not None
    await asyncio.wait_for(form.columns_task, WAIT_S)
    dialog = form.open_dialog
    assert isinstance(dialog, ActivityColumnsDialog)
    dialog.editor.select(dialog.editor.combos["phone"], "Dialled")
    dialog.accept()
    assert form.remember_task is None
    assert form.profile is not None and form.profile.activity_columns is not None
    assert form.profile.activity_columns.phone == "Dialled"
    assert form.columns_label.text() == COLUMNS_CHOSEN


async def test_presenter_mode_masks_the_sample_rows_and_the_file_name(
    ui: UiContext, qtbot: QtBot, played: Played, tmp_path: Path
) -> None:
    export = relabelled(played.crm, tmp_path / "harbour-dental-calls.csv")
    rows = list(csv.DictReader(io.StringIO(export.read_text(encoding="utf-8"))))[:5]
    numbers = {re.sub(r"\D", "", row["Dialled"]) for row in rows}
    names = {row["Associated Contact"] for row in rows if row["Associated Contact"][:1] != "+"}
    assert numbers and names
    ui.presenter.set_enabled(True)
    form = make_form(ui, qtbot, store_with(played), played)
    await choose(form, export)
    form.open_columns()
    assert form.columns_task is not None
    await asyncio.wait_for(form.columns_task, WAIT_S)
    dialog = form.open_dialog
    assert isinstance(dialog, ActivityColumnsDialog)

    def leaks() -> list[str]:
        shown = [seen.text for seen in visible_texts(dialog)]
        found = [t for t in shown if "harbour-dental" in t or any(n in t for n in names)]
        found += [
            run
            for t in shown
            for run in digit_runs(t)
            if len(run) >= 7 and any(run[-7:] in n for n in numbers)
        ]
        return found

    assert not leaks()
    ui.presenter.set_enabled(False)
    assert leaks(), "off a shared screen the sample rows show as written"
