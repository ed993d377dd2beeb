"""The connections pane and dialog, driven like an engineer would, on the qasync loop."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

import pytest
from keyring.backend import KeyringBackend
from PySide6.QtCore import QModelIndex, Qt, QTime
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import QDialogButtonBox, QFileDialog, QMessageBox, QPushButton, QWidget
from pytestqt.qtbot import QtBot

from app.domain.business_hours import BusinessHours, Holiday, HoursSource, Period
from app.domain.clock import utc_now
from app.domain.connection import (
    CheckStatusSummary,
    ConnectionProfile,
    LastCheck,
)
from app.services.connections.store import ConnectionStore
from app.services.settings.file import Settings, load_settings, save_settings, settings_path
from app.sim import Simulator
from app.ui.connections.dialog import ConnectionDialog
from app.ui.connections.key_rotation_dialog import KeyRotationDialog
from app.ui.connections.model import (
    CUSTOMER,
    HOSTING,
    KEY_AGE,
    NAME,
    STATUS,
    VERSION,
    ConnectionsModel,
)
from app.ui.connections.pane import ConnectionsPane
from app.ui.context import UiContext
from app.ui.presenter import Presenter
from app.ui.theme import colours
from tests.support.screenshots import distinct_colours, render_fitting, render_scene
from tests.support.waiting import until
from tests.support.widget_text import visible_texts
from tests.support.xvfb import XvfbDisplay
from tests.ui.conftest import profile_for
from tests.ui.widgets.test_presenter_fields import shows_nothing_typed, type_while_presenting

KEY = "Zk3q8wX1vN0tPa9Lr2Qm7Yc4"
NOW = datetime(2026, 11, 21, 10, 15, tzinfo=UTC)


def profile(name: str, **changes: object) -> ConnectionProfile:
    fields: dict[str, object] = {
        "id": "id-" + name.lower().replace(" ", "-"),
        "name": name,
        "url": f"https://pbx.{name.lower().replace(' ', '')}.example:5001",
        "client_id": "900",
        "customer": f"{name} Pty Ltd",
    }
    fields.update(changes)
    return ConnectionProfile(**fields)  # type: ignore[arg-type]


def check(status: CheckStatusSummary, summary: str, hours_ago: float = 2) -> LastCheck:
    return LastCheck(status, utc_now() - timedelta(hours=hours_ago), summary)


SAMPLE = (
    profile(
        "Harbour Dental",
        version="20.0.10.1116",
        hosting="self-hosted",
        region="AU",
        last_check=check(CheckStatusSummary.PASS, "All seven checks passed"),
        key_rotated_at=utc_now() - timedelta(days=12),
    ),
    profile(
        "Northside Legal",
        version="20.0.8.447",
        hosting="3CX-hosted",
        last_check=check(CheckStatusSummary.WARN, "First warning: 6. Retention (30 days)"),
    ),
    profile(
        "Bayview Motors",
        version="18.0.11.200",
        hosting="self-hosted",
        region="NZ",
        last_check=check(CheckStatusSummary.FAIL, "First failure: 5. Contact match", 30),
        key_rotated_at=utc_now() - timedelta(days=400),
    ),
    profile("Greenleaf Clinic"),
)


async def open_store(*, session_only: bool = True) -> ConnectionStore:
    store = await ConnectionStore.open()
    if session_only:
        store.use_session_only()
    return store


async def store_with(*profiles: ConnectionProfile, session_only: bool = True) -> ConnectionStore:
    store = await open_store(session_only=session_only)
    for item in profiles:
        await store.add(item, KEY + item.id)
        if item.last_check is not None:
            await store.record_check(
                item.id, item.last_check, version=item.version, hosting=item.hosting
            )
    return store


@pytest.fixture
async def store() -> ConnectionStore:
    return await store_with(*SAMPLE)


@pytest.fixture
async def pane(
    ui: UiContext, store: ConnectionStore, qtbot: QtBot
) -> AsyncIterator[ConnectionsPane]:
    widget = ConnectionsPane(ui, store)
    qtbot.addWidget(widget)
    widget.resize(900, 500)
    widget.show()
    yield widget
    await widget.aclose()


def row_texts(pane: ConnectionsPane, column: int) -> list[str]:
    proxy = pane.proxy
    return [str(proxy.index(row, column).data()) for row in range(proxy.rowCount())]


def source_row(pane: ConnectionsPane, connection_id: str) -> int:
    row = pane.model.row_of(connection_id)
    assert row is not None
    return row


async def opened_dialog(pane: ConnectionsPane, button: QPushButton) -> ConnectionDialog:
    button.click()
    await until(lambda: pane.open_dialog is not None and pane.open_dialog.isVisible(), "dialog")
    assert pane.open_dialog is not None
    return pane.open_dialog


def ok_button(dialog: ConnectionDialog) -> QPushButton:
    box = dialog.findChild(QDialogButtonBox)
    assert box is not None
    button = box.button(QDialogButtonBox.StandardButton.Ok)
    assert button is not None
    return button


def error_text(dialog: ConnectionDialog, field: str) -> str:
    label = dialog.form.errors[field]
    return "" if label.isHidden() else label.text()  # isHidden: also on a tab not shown


# ---- the model ---------------------------------------------------------------------------------


def test_key_age_column_warns_past_the_chosen_limit() -> None:
    model = ConnectionsModel(Presenter(), key_age_warning_days=180)
    model.set_connections(SAMPLE)
    changed: list[tuple[int, int]] = []
    model.dataChanged.connect(lambda a, b: changed.append((a.column(), b.column())))

    def cell(row: int, role: int = Qt.ItemDataRole.DisplayRole) -> object:
        return model.data(model.index(row, KEY_AGE), role)

    assert cell(2) == "⚠ set 400 days ago"  # Bayview Motors
    assert cell(2, Qt.ItemDataRole.ForegroundRole) == QBrush(QColor(colours().warn))
    tooltip = str(cell(2, Qt.ItemDataRole.ToolTipRole))
    assert "400 days ago, past the 180 days" in tooltip and "Rotate key" in tooltip
    assert cell(0) == "set 12 days ago" and cell(0, Qt.ItemDataRole.ForegroundRole) is None

    model.set_key_age_warning_days(10)  # the engineer tightened it in Settings
    assert changed == [(KEY_AGE, KEY_AGE)]
    assert cell(0) == "⚠ set 12 days ago" and cell(2).startswith("⚠")
    model.set_key_age_warning_days(500)
    assert not str(cell(2)).startswith("⚠") and cell(2, Qt.ItemDataRole.ForegroundRole) is None


def test_model_passes_the_model_tester(qtmodeltester: object) -> None:
    presenter = Presenter()
    model = ConnectionsModel(presenter)
    model.set_connections(SAMPLE)
    qtmodeltester.check(model)  # type: ignore[attr-defined]
    model.upsert(profile("Zed Demo", demo=True))
    model.set_status(SAMPLE[3].id, check(CheckStatusSummary.UNREACHABLE, "DNS failed"))
    model.remove(SAMPLE[1].id)
    presenter.set_enabled(True)
    model.set_current(SAMPLE[0].id)
    qtmodeltester.check(model)  # type: ignore[attr-defined]
    assert model.rowCount() == 4
    assert model.row_of(SAMPLE[2].id) == 1  # the index follows a removal


def test_model_columns_and_presenter_masking() -> None:
    presenter = Presenter()
    model = ConnectionsModel(presenter)
    model.set_connections((*SAMPLE, profile("Zed", demo=True)))
    changed: list[tuple[int, int]] = []
    model.dataChanged.connect(lambda a, b: changed.append((a.row(), b.row())))

    def cell(row: int, column: int, role: int = Qt.ItemDataRole.DisplayRole) -> object:
        return model.data(model.index(row, column), role)

    assert [cell(0, c) for c in range(7)] == [
        "Harbour Dental",
        "Harbour Dental Pty Ltd",
        "20.0.10.1116",
        "self-hosted",
        "AU",
        "set 12 days ago",
        "Pass",
    ]
    assert [cell(3, c) for c in range(7)] == [
        "Greenleaf Clinic",
        "Greenleaf Clinic Pty Ltd",
        "—",
        "—",
        "auto",
        "age not known",
        "Not checked",
    ]
    assert cell(4, NAME) == "Zed · demo" and cell(4, KEY_AGE) == "—"
    tooltip = str(cell(2, STATUS, Qt.ItemDataRole.ToolTipRole))
    assert tooltip.startswith("Failing, checked ")
    assert "your time (30 hours ago)" in tooltip and "First failure: 5. Contact match" in tooltip

    model.set_current(SAMPLE[0].id)
    presenter.set_enabled(True)
    assert changed, "presenter toggle refreshes every row"
    assert cell(0, NAME) == "Harbour Dental"  # the connection on screen
    assert cell(1, NAME) == "N. L." and cell(1, CUSTOMER) == "N. L. P. L."
    assert cell(1, NAME, Qt.ItemDataRole.ToolTipRole) is None  # no full name in a tooltip
    model.set_current(SAMPLE[1].id)
    assert cell(1, NAME) == "Northside Legal" and cell(0, NAME) == "H. D."


# ---- the pane ----------------------------------------------------------------------------------


async def test_lists_every_connection_sorted_by_name_with_status(pane: ConnectionsPane) -> None:
    assert row_texts(pane, NAME) == [
        "Bayview Motors",
        "Greenleaf Clinic",
        "Harbour Dental",
        "Northside Legal",
    ]
    assert row_texts(pane, STATUS) == ["Failing", "Not checked", "Pass", "Warnings"]
    assert row_texts(pane, VERSION)[0] == "18.0.11.200"
    # Keys in memory only: the pane says so, without offering anything.
    assert "held in memory for this session only" in pane.keyring_banner.text.text()
    assert not pane.session_only_button.isVisible()


async def test_add_through_the_dialog_saves_and_signs_in(
    ui: UiContext, sim: Simulator, qtbot: QtBot
) -> None:
    store = await open_store()
    pane = ConnectionsPane(ui, store)
    qtbot.addWidget(pane)
    pane.show()
    assert pane.stack.currentWidget() is pane.empty_label
    chosen: list[object] = []
    pane.selected.connect(chosen.append)

    dialog = await opened_dialog(pane, pane.add_button)
    assert not ok_button(dialog).isEnabled()
    assert "Still needed: Name, PBX address, Client ID, API key." in dialog._missing.text()
    qtbot.keyClicks(dialog.form.name_edit, "Simulated Dental")
    qtbot.keyClicks(dialog.form.customer_edit, "Harbour Dental Pty Ltd")
    qtbot.keyClicks(dialog.form.tags_edit, "north,  monthly review, North")
    qtbot.keyClicks(dialog.form.url_edit, f"{sim.url}/#/office/dashboard")
    assert dialog.form.url_preview.text() == f"Connects to {sim.url}"
    qtbot.keyClicks(dialog.form.client_id_edit, sim.client_id)
    assert sim.ca_file is not None
    dialog.form.ca_edit.setText(sim.ca_file)
    dialog.form.key_edit.setText(f"  {sim.client_secret}\n")
    assert ok_button(dialog).isEnabled()
    qtbot.mouseClick(ok_button(dialog), Qt.MouseButton.LeftButton)
    await until(lambda: pane.open_dialog is None, "the dialog to close")

    [saved] = store.connections()
    assert saved.name == "Simulated Dental" and saved.url == sim.url
    assert saved.tags == ("north", "monthly review")
    assert chosen == [saved.id]
    assert pane.selected_id() == saved.id
    assert row_texts(pane, NAME) == ["Simulated Dental"]
    assert [c.id for c in load_settings(settings_path()).settings.connections] == [saved.id]
    session = await store.open_session(saved.id)
    try:
        assert (await (await session.client()).licence()).active
    finally:
        await session.aclose()


async def test_bad_input_is_named_next_to_the_field_and_nothing_is_lost(
    pane: ConnectionsPane, store: ConnectionStore, qtbot: QtBot
) -> None:
    dialog = await opened_dialog(pane, pane.add_button)
    qtbot.keyClicks(dialog.form.name_edit, "harbour dental")
    qtbot.keyClicks(dialog.form.url_edit, "ftp://pbx.example.com")
    qtbot.keyClicks(dialog.form.client_id_edit, "900")
    qtbot.keyClicks(dialog.form.key_edit, "abc def")
    qtbot.keyClicks(dialog.form.region_edit, "XX")
    assert error_text(dialog, "name") == "Another connection is already called 'harbour dental'."
    assert error_text(dialog, "url") == "The PBX address must start with https:// (got ftp://)."
    assert "space or line break inside it" in error_text(dialog, "secret")
    assert error_text(dialog, "region").startswith("'XX' is not a region code")
    assert dialog.form.tabText(2).endswith("⚠")
    assert not ok_button(dialog).isEnabled()

    # Fix them one by one; a file the store cannot find is named after OK, dialog still open.
    dialog.form.name_edit.setText("Harbour Dental 2")
    dialog.form.url_edit.setText("pbx2.harbour.example")
    dialog.form.key_edit.setText(KEY)
    dialog.form.region_edit.setText("au")
    dialog.form.contacts_edit.setText("/no/such/export.csv")
    assert error_text(dialog, "name") == "" and error_text(dialog, "region") == ""
    qtbot.mouseClick(ok_button(dialog), Qt.MouseButton.LeftButton)
    await until(lambda: error_text(dialog, "contacts_csv"), "the save error")
    assert error_text(dialog, "contacts_csv") == (
        "The CRM contacts file /no/such/export.csv does not exist or is not a file."
    )
    assert dialog.isVisible()
    assert dialog.form.currentIndex() == 2
    assert not ok_button(dialog).isEnabled()
    assert dialog.form.name_edit.text() == "Harbour Dental 2"
    assert dialog.form.key_edit.text() == KEY
    assert len(store.connections()) == len(SAMPLE)

    dialog.form.contacts_edit.setText("")
    assert ok_button(dialog).isEnabled()
    dialog.reject()
    await until(lambda: pane.open_dialog is None, "the dialog to close")
    assert len(store.connections()) == len(SAMPLE)


async def test_edit_keeps_the_key_when_the_field_is_left_empty(
    pane: ConnectionsPane, store: ConnectionStore, qtbot: QtBot
) -> None:
    target = SAMPLE[2]
    pane.select(target.id)
    edited: list[str] = []
    pane.edited.connect(edited.append)
    dialog = await opened_dialog(pane, pane.edit_button)
    assert dialog.windowTitle() == "Edit connection: Bayview Motors"
    assert dialog.form.name_edit.text() == "Bayview Motors"
    assert dialog.form.region_edit.text() == "NZ"
    assert dialog.form.key_edit.text() == ""
    assert dialog.form.key_note.text().startswith(
        "A key is stored in memory (this session only). To replace it, use Rotate key…"
    )
    assert not dialog.form.key_edit.isEnabled()  # only rotation, which verifies first, replaces it
    assert ok_button(dialog).isEnabled()
    dialog.form.name_edit.setText("Bayview Motors (Auckland)")
    dialog.form.day_boxes[5].setChecked(True)
    qtbot.mouseClick(ok_button(dialog), Qt.MouseButton.LeftButton)
    await until(lambda: pane.open_dialog is None, "the dialog to close")

    assert edited == [target.id]
    saved = store.get(target.id)
    assert saved is not None
    assert saved.name == "Bayview Motors (Auckland)"
    assert saved.business_hours.days == (0, 1, 2, 3, 4, 5)
    assert saved.last_check == target.last_check
    assert await store.secret(target.id) == KEY + target.id
    assert pane.proxy.index(0, NAME).data() == "Bayview Motors (Auckland)"


async def test_double_click_edits(pane: ConnectionsPane, qtbot: QtBot) -> None:
    pane.select(SAMPLE[0].id)
    index = pane.proxy.mapFromSource(pane.model.index(source_row(pane, SAMPLE[0].id), NAME))
    pane.view.doubleClicked.emit(index)
    await until(lambda: pane.open_dialog is not None, "the edit dialog")
    assert pane.open_dialog is not None
    assert pane.open_dialog.form.name_edit.text() == "Harbour Dental"
    pane.open_dialog.reject()
    await until(lambda: pane.open_dialog is None, "the dialog to close")


async def test_remove_asks_first_then_forgets_the_connection_and_key(
    pane: ConnectionsPane, store: ConnectionStore
) -> None:
    target = SAMPLE[1]
    pane.select(target.id)
    removed: list[str] = []
    chosen: list[object] = []
    pane.removed.connect(removed.append)
    pane.selected.connect(chosen.append)

    async def answer(button_text: str) -> None:
        pane.remove_button.click()
        await until(lambda: pane.findChildren(QMessageBox), "the confirmation")
        [box] = pane.findChildren(QMessageBox)
        assert "Remove Northside Legal?" in box.text()
        assert "deleted from memory (this session only)" in box.text()
        [button] = [b for b in box.buttons() if b.text() == button_text]
        button.click()
        await until(lambda: not pane._busy, "the removal to finish")
        box.deleteLater()
        await asyncio.sleep(0)

    await answer("Cancel")
    assert store.get(target.id) is not None and removed == []

    await answer("Remove")
    assert removed == [target.id]
    assert chosen == [None]
    assert store.get(target.id) is None
    assert await store.secret(target.id) is None
    assert "Northside Legal" not in row_texts(pane, NAME)
    assert target.id not in [c.id for c in load_settings(settings_path()).settings.connections]


async def test_refresh_status_shows_and_remembers_the_check(
    pane: ConnectionsPane, store: ConnectionStore
) -> None:
    target = SAMPLE[3]
    result = LastCheck(CheckStatusSummary.UNREACHABLE, NOW, "7. Reachability: DNS has no answer")
    pane.refresh_status(target.id, result, version="20.0.10.1116", hosting="3CX-hosted")
    row = source_row(pane, target.id)
    assert pane.model.index(row, STATUS).data() == "Unreachable"
    assert pane.model.index(row, VERSION).data() == "20.0.10.1116"
    tooltip = str(pane.model.index(row, STATUS).data(Qt.ItemDataRole.ToolTipRole))
    assert "DNS has no answer" in tooltip
    await until(lambda: (store.get(target.id) or target).last_check == result, "the save")
    saved = load_settings(settings_path()).settings.connection(target.id)
    assert saved is not None and saved.last_check == result and saved.hosting == "3CX-hosted"


async def test_a_hosting_guess_of_unknown_reads_as_no_guess(ui: UiContext, qtbot: QtBot) -> None:
    guessed, unguessed = profile("Guessed", hosting="unknown"), profile("Unguessed")
    pane = ConnectionsPane(ui, await store_with(guessed, unguessed))
    qtbot.addWidget(pane)
    assert row_texts(pane, HOSTING) == ["—", "—"]


async def test_demo_connection_is_shown_marked_and_not_editable(
    pane: ConnectionsPane, store: ConnectionStore
) -> None:
    demo = profile("Demo PBX", demo=True, hosting="simulated")
    store.add_demo(demo, "demo-key")
    pane.add_demo(demo)
    pane.select(demo.id)
    assert "Demo PBX · demo" in row_texts(pane, NAME)
    assert not pane.edit_button.isEnabled() and not pane.rotate_button.isEnabled()
    assert pane.remove_button.isEnabled()
    assert row_texts(pane, KEY_AGE)[row_texts(pane, NAME).index("Demo PBX · demo")] == "—"
    assert "Demo PBX" not in (await asyncio.to_thread(settings_path().read_text))


async def test_rotate_key_swaps_the_key_in_and_reopens_the_connection(
    ui: UiContext, sim: Simulator, qtbot: QtBot
) -> None:
    store = await open_store()
    aged = profile_for(sim, key_rotated_at=utc_now() - timedelta(days=300))
    saved = await store.add(aged, sim.client_secret)
    old_key = sim.client_secret
    pane = ConnectionsPane(ui, store)
    qtbot.addWidget(pane)
    pane.show()
    assert not pane.rotate_button.isEnabled()  # nothing selected
    pane.select(saved.id)
    edited: list[str] = []
    pane.edited.connect(edited.append)

    pane.rotate_button.click()
    await until(lambda: isinstance(pane.open_dialog, KeyRotationDialog), "the rotation dialog")
    dialog = pane.open_dialog
    assert isinstance(dialog, KeyRotationDialog) and dialog.isVisible()
    assert not pane.add_button.isEnabled()  # one thing at a time
    dialog.generate_choice.setChecked(True)
    dialog.username_edit.setText(sim.admin_username)
    dialog.password_edit.setText(sim.admin_password)
    dialog.rotate_button.click()
    await until(lambda: dialog.rotation is not None, "the rotation", 20)

    assert sim.client_secret != old_key
    assert await store.secret(saved.id) == sim.client_secret
    assert edited == [saved.id]  # the window reopens the session with the new key
    assert row_texts(pane, KEY_AGE) == ["set today"]
    dialog.reject()  # "Close"
    await until(lambda: pane.open_dialog is None, "the dialog to close")
    assert pane.add_button.isEnabled()


async def test_an_old_key_is_marked_and_the_rotate_button_says_why(
    ui: UiContext, qtbot: QtBot
) -> None:
    await asyncio.to_thread(
        save_settings, Settings(connections=SAMPLE, key_age_warning_days=365), settings_path()
    )
    store = await open_store()
    pane = ConnectionsPane(ui, store)
    qtbot.addWidget(pane)
    pane.show()
    ages = dict(zip(row_texts(pane, NAME), row_texts(pane, KEY_AGE), strict=True))
    assert ages["Bayview Motors"] == "⚠ set 400 days ago"
    assert ages["Harbour Dental"] == "set 12 days ago"
    pane.select(SAMPLE[2].id)
    assert "past the 365 days" in pane.rotate_button.toolTip()
    pane.set_key_age_warning_days(7)
    ages = dict(zip(row_texts(pane, NAME), row_texts(pane, KEY_AGE), strict=True))
    assert ages["Harbour Dental"] == "⚠ set 12 days ago"


async def test_set_up_asks_for_the_guided_setup_and_reload_shows_what_it_saved(
    pane: ConnectionsPane, store: ConnectionStore
) -> None:
    asked: list[bool] = []
    pane.setupRequested.connect(lambda: asked.append(True))
    pane.setup_button.click()
    assert asked == [True]

    pane.select(SAMPLE[0].id)
    chosen: list[object] = []
    pane.selected.connect(chosen.append)
    added = await store.add(profile("Westside Physio"), KEY)
    await store.remove(SAMPLE[1].id)
    pane.reload()
    assert row_texts(pane, NAME) == [
        "Bayview Motors",
        "Greenleaf Clinic",
        "Harbour Dental",
        "Westside Physio",
    ]
    assert pane.selected_id() == SAMPLE[0].id and chosen == []  # the selection stays
    pane.select(added.id)
    assert chosen == [added.id]


async def test_no_keyring_banner_offers_keys_in_memory(ui: UiContext, qtbot: QtBot) -> None:
    store = await open_store(session_only=False)
    pane = ConnectionsPane(ui, store)
    qtbot.addWidget(pane)
    pane.show()
    assert pane.keyring_banner.isVisible()
    text = pane.keyring_banner.text.text()
    assert "Keys cannot be stored." in text
    assert "keyring found no usable backend" in text
    assert pane.session_only_button.isVisible()
    assert pane.key_place.text() == "Keys: no keyring"

    dialog = await opened_dialog(pane, pane.add_button)
    assert "No OS keyring is available" in dialog.form.key_note.text()
    dialog.reject()
    await until(lambda: pane.open_dialog is None, "the dialog to close")

    qtbot.mouseClick(pane.session_only_button, Qt.MouseButton.LeftButton)
    assert store.session_only
    assert pane.keyring_banner.isVisible()
    assert "held in memory for this session only" in pane.keyring_banner.text.text()
    assert not pane.session_only_button.isVisible()
    assert pane.key_place.text() == "Keys: memory, this session only"


async def test_the_demo_alone_does_not_nag_about_the_keyring(ui: UiContext, qtbot: QtBot) -> None:
    store = await open_store(session_only=False)
    pane = ConnectionsPane(ui, store)
    qtbot.addWidget(pane)
    pane.show()
    assert pane.keyring_banner.isVisible()  # nothing yet: adding a PBX will need a keyring
    demo = profile("Demo PBX", demo=True, hosting="simulated")
    store.add_demo(demo, "demo-key")
    pane.add_demo(demo)
    assert not pane.keyring_banner.isVisible()
    assert pane.key_place.text() == "Keys: the demo's, in memory"


async def test_a_real_connection_beside_the_demo_shows_where_keys_go(
    ui: UiContext, qtbot: QtBot
) -> None:
    store = await store_with(SAMPLE[0])  # kept in memory for this session: no keyring here
    pane = ConnectionsPane(ui, store)
    qtbot.addWidget(pane)
    pane.show()
    demo = profile("Demo PBX", demo=True, hosting="simulated")
    store.add_demo(demo, "demo-key")
    pane.add_demo(demo)
    assert pane.keyring_banner.isVisible()
    assert pane.key_place.text() == "Keys: memory, this session only"


@pytest.mark.expect_log(
    "app.services.settings.file",
    r" is not valid JSON .*; set aside as settings\.json\.corrupt-\S+$",
)
async def test_corrupt_settings_banner_says_where_the_file_went(
    ui: UiContext, qtbot: QtBot
) -> None:
    path = settings_path()

    def write_garbage() -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text('{"schema": 1, "connections": [', encoding="utf-8")

    await asyncio.to_thread(write_garbage)
    store = await open_store()
    pane = ConnectionsPane(ui, store)
    qtbot.addWidget(pane)
    pane.show()
    [problem] = store.problems
    assert problem.moved_to is not None
    text = pane.settings_banner.text.text()
    assert pane.settings_banner.isVisible()
    assert "not valid JSON" in text
    assert str(problem.moved_to) in text
    dismiss = pane.settings_banner.findChild(QPushButton, "dismissSettingsButton")
    assert dismiss is not None
    dismiss.click()
    assert not pane.settings_banner.isVisible()


async def test_presenter_mode_shows_no_key_and_masks_dids(ui: UiContext, qtbot: QtBot) -> None:
    other = profile("Northside Legal")
    target = profile(
        "Harbour Dental", did_sources={"+61290001234": "Google Ads", "+61290005678": "Website"}
    )
    store = await store_with(target, other)
    ui.presenter.set_enabled(True)
    pane = ConnectionsPane(ui, store)
    qtbot.addWidget(pane)
    pane.show()
    pane.select(target.id)

    dialog = await opened_dialog(pane, pane.edit_button)
    dialog.form.setCurrentIndex(2)
    stored = await store.secret(target.id)
    assert not dialog.form.key_edit.isEnabled()  # a stored key is replaced by Rotate key… only
    dialog.form.key_edit.setText(KEY + "new")
    await asyncio.sleep(0.05)
    seen = "\n".join(s.text for s in (*visible_texts(pane), *visible_texts(dialog)))
    assert KEY not in seen
    assert "+61290001234" not in seen and "+61290005678" not in seen
    assert "234" in seen  # the last three digits are kept
    assert "Northside Legal" not in seen  # another customer, not the one on screen
    assert (
        dialog.form.dids.table.editTriggers() == dialog.form.dids.table.EditTrigger.NoEditTriggers
    )
    shown = dialog.form.dids.table.model().index(0, 0).data()
    assert shown.endswith("234") and "9000" not in shown

    # Saving keeps the real DIDs even though the table showed them masked.
    qtbot.mouseClick(ok_button(dialog), Qt.MouseButton.LeftButton)
    await until(lambda: pane.open_dialog is None, "the dialog to close")
    saved = store.get(target.id)
    assert saved is not None and saved.did_sources == target.did_sources
    assert await store.secret(target.id) == stored  # the edit dialog never swaps a key unproven


async def test_dids_are_edited_and_a_bad_row_is_named(
    pane: ConnectionsPane, store: ConnectionStore, qtbot: QtBot
) -> None:
    pane.select(SAMPLE[0].id)
    dialog = await opened_dialog(pane, pane.edit_button)
    dialog.form.setCurrentIndex(2)
    for did, source in (("+61 2 9000 1234", "Google Ads"), ("call us", "Website")):
        dialog.form.dids.add_button.click()
        row = dialog.form.dids.model.rowCount() - 1
        dialog.form.dids.model.item(row, 0).setText(did)
        dialog.form.dids.model.item(row, 1).setText(source)
    assert error_text(dialog, "did_sources") == "Row 2: 'call us' is not a phone number."
    assert not ok_button(dialog).isEnabled()
    dialog.form.dids.table.setCurrentIndex(dialog.form.dids.model.index(1, 0))
    dialog.form.dids.remove_button.click()
    assert error_text(dialog, "did_sources") == ""
    dialog.form.timezone_combo.setEditText("Mars/Olympus")
    assert "Time zone 'Mars/Olympus' is not known" in error_text(dialog, "business_hours")
    dialog.form.timezone_combo.setEditText("Pacific/Auckland")
    qtbot.mouseClick(ok_button(dialog), Qt.MouseButton.LeftButton)
    await until(lambda: pane.open_dialog is None, "the dialog to close")
    saved = store.get(SAMPLE[0].id)
    assert saved is not None
    assert saved.did_sources == {"+61 2 9000 1234": "Google Ads"}
    # Changed by hand: the engineer's hours, used even where the PBX has its own.
    assert saved.business_hours == BusinessHours(
        timezone="Pacific/Auckland", source=HoursSource.ENGINEER
    )


PBX_HOURS = BusinessHours(
    timezone="Pacific/Auckland",
    breaks=tuple(Period(day, time(12, 30), time(13)) for day in range(5)),
    holidays=(Holiday("Christmas Day", date(2026, 12, 25), date(2026, 12, 25), recurrent=True),),
    source=HoursSource.PBX,
    periods=tuple(Period(day, time(8, 30), time(17, 30)) for day in range(5)),
)


async def test_hours_read_from_the_pbx_are_kept_until_the_engineer_changes_them(
    ui: UiContext, qtbot: QtBot
) -> None:
    target = profile("Kiwi Dental", business_hours=PBX_HOURS)
    store = await store_with(target)
    pane = ConnectionsPane(ui, store)
    qtbot.addWidget(pane)
    pane.show()
    pane.select(target.id)
    dialog = await opened_dialog(pane, pane.edit_button)
    dialog.form.setCurrentIndex(2)
    assert dialog.form.timezone_combo.currentText() == "Pacific/Auckland"
    assert dialog.form.hours_source.text().startswith("Read from the PBX: Mon–Fri 08:30–17:30")
    dialog.form.customer_edit.setText("Kiwi Dental Ltd")  # something else changes
    qtbot.mouseClick(ok_button(dialog), Qt.MouseButton.LeftButton)
    await until(lambda: pane.open_dialog is None, "the dialog to close")
    kept = store.get(target.id)
    assert kept is not None and kept.business_hours == PBX_HOURS  # breaks, holidays, source

    dialog = await opened_dialog(pane, pane.edit_button)
    dialog.form.closes_edit.setTime(QTime(18, 0))
    assert dialog.form.hours_source.text().startswith("Set by the engineer")
    qtbot.mouseClick(ok_button(dialog), Qt.MouseButton.LeftButton)
    await until(lambda: pane.open_dialog is None, "the dialog to close")
    changed = store.get(target.id)
    assert changed is not None
    hours = changed.business_hours
    assert hours.source is HoursSource.ENGINEER and hours.closes == time(18)
    assert hours.breaks == PBX_HOURS.breaks and hours.holidays == PBX_HOURS.holidays
    assert hours.periods == ()  # the simple form is now the truth
    await pane.aclose()


async def test_browse_fills_the_field_without_a_nested_loop(
    pane: ConnectionsPane, tmp_path: Path
) -> None:
    export = tmp_path / "hubspot.csv"
    await asyncio.to_thread(export.write_text, "Phone\n+61290001234\n", "utf-8")
    pane.select(SAMPLE[0].id)
    dialog = await opened_dialog(pane, pane.edit_button)
    browse = dialog.findChild(QPushButton, "browse_contacts_csv")
    assert browse is not None
    browse.click()  # returns at once: the chooser is opened, not exec()'d
    await until(lambda: dialog.findChildren(QFileDialog), "the file chooser")
    [chooser] = dialog.findChildren(QFileDialog)
    assert chooser.isVisible()
    chooser.fileSelected.emit(str(export))
    chooser.reject()
    assert dialog.form.contacts_edit.text() == str(export)
    dialog.reject()
    await until(lambda: pane.open_dialog is None, "the dialog to close")


async def test_filter_hides_rows_without_changing_the_selection(pane: ConnectionsPane) -> None:
    chosen: list[object] = []
    pane.selected.connect(chosen.append)
    pane.select(SAMPLE[0].id)
    pane.filter_edit.setText("north")
    assert row_texts(pane, NAME) == ["Northside Legal"]
    assert pane.selected_id() == SAMPLE[0].id
    pane.filter_edit.setText("")
    assert chosen == [SAMPLE[0].id]
    assert pane.view.currentIndex().data() == "Harbour Dental"
    assert pane.view.currentIndex() != QModelIndex()


async def test_what_is_typed_in_the_filter_is_hidden_while_presenting(
    ui: UiContext, pane: ConnectionsPane, qtbot: QtBot
) -> None:
    pane.select(SAMPLE[0].id)
    ui.presenter.set_enabled(True)
    # The filter matches what the list shows: the current connection's name, the others' initials.
    type_while_presenting(qtbot, pane.filter_edit, "Harbour Dental")
    assert shows_nothing_typed(pane.filter_edit, "Harbour Dental")
    assert row_texts(pane, NAME) == ["Harbour Dental"]
    ui.presenter.set_enabled(False)
    assert pane.filter_edit.displayText() == "Harbour Dental"
    assert row_texts(pane, NAME) == ["Harbour Dental"]


# ---- screenshots -------------------------------------------------------------------------------


async def connections_scene(stack: contextlib.AsyncExitStack, ui: UiContext) -> QWidget:
    """Four customers with every status and key ages, the demo, one selected; keys in the
    Secret Service."""
    added = await store_with(*SAMPLE, session_only=False)
    # The keys went in today; the file remembers them as set when SAMPLE says (one is old).
    ages = {item.id: item.key_rotated_at for item in SAMPLE}
    older = tuple(
        dataclasses.replace(c, key_rotated_at=ages[c.id] or c.key_rotated_at)
        for c in added.connections()
    )
    await asyncio.to_thread(save_settings, added.settings.replace(connections=older), added.path)
    store = await open_store(session_only=False)
    for item in SAMPLE:
        stack.push_async_callback(store.remove, item.id)
    demo = profile("Demo PBX", demo=True, version="20.0.10.1116", hosting="simulated")
    store.add_demo(demo, "demo-key")
    pane = ConnectionsPane(ui, store)
    pane.add_demo(demo)
    pane.refresh_status(
        demo.id, check(CheckStatusSummary.UNREACHABLE, "7. Reachability: no answer", 0.2)
    )
    pane.select(SAMPLE[0].id)
    return pane


async def no_keyring_scene(stack: contextlib.AsyncExitStack, ui: UiContext) -> QWidget:
    """No OS keyring and a settings file that was set aside: both banners, the empty list."""
    path = settings_path()
    await asyncio.to_thread(path.parent.mkdir, parents=True, exist_ok=True)
    await asyncio.to_thread(path.write_text, '{"schema": 1, "connections": [', "utf-8")
    store = await open_store(session_only=False)
    return ConnectionsPane(ui, store)


def _dialog_host(stack: contextlib.AsyncExitStack) -> QWidget:
    host = QWidget()
    stack.callback(host.deleteLater)
    return host


async def dialog_scene(stack: contextlib.AsyncExitStack, ui: UiContext) -> QWidget:
    """Editing a connection: the URL preview, the key note and one field with a problem."""
    existing = profile(
        "Harbour Dental",
        url="https://pbx.harbourdental.example:5001",
        key_rotated_at=utc_now() - timedelta(days=200),
    )
    dialog = ConnectionDialog(
        ui,
        _dialog_host(stack),
        existing=existing,
        taken_names=("Northside Legal",),
        key_backend="Secret Service",
        key_stored=True,
    )
    dialog.form.url_edit.setText("pbx.harbourdental.example:5001/#/office/dashboard")
    dialog.form.client_id_edit.setText("")
    return dialog


async def dialog_numbers_scene(stack: contextlib.AsyncExitStack, ui: UiContext) -> QWidget:
    existing = profile(
        "Harbour Dental",
        region="AU",
        did_sources={"+61290001234": "Google Ads", "+61290005678": "Website"},
        contacts_csv="/home/sam/exports/harbour-hubspot.csv",
        business_hours=PBX_HOURS,
    )
    dialog = ConnectionDialog(
        ui, _dialog_host(stack), existing=existing, key_backend="Secret Service", key_stored=True
    )
    dialog.form.setCurrentIndex(2)
    return dialog


@pytest.mark.display
@pytest.mark.keyring
def test_screenshot_of_the_list(xvfb_display: XvfbDisplay, keyring_backend: KeyringBackend) -> None:
    scene = "tests.ui.connections.test_pane:connections_scene"
    plain = render_scene(xvfb_display, scene, "connections")
    masked = render_scene(xvfb_display, scene, "connections-presenter", presenter=True)
    assert distinct_colours(plain) > 20  # the coloured status pills are there
    assert plain.read_bytes() != masked.read_bytes()


@pytest.mark.display
def test_screenshot_without_a_keyring(xvfb_display: XvfbDisplay) -> None:
    shot = render_scene(
        xvfb_display, "tests.ui.connections.test_pane:no_keyring_scene", "connections-no-keyring"
    )
    assert distinct_colours(shot) > 10


@pytest.mark.display
@pytest.mark.parametrize("large", [False, True])
def test_screenshot_of_the_dialog(xvfb_display: XvfbDisplay, large: bool) -> None:
    """At its own size, in both type sizes, with no hint or label cut."""
    tail = "-large" if large else ""
    first = render_fitting(
        xvfb_display,
        "tests.ui.connections.test_pane:dialog_scene",
        "connection-dialog" + tail,
        large=large,
        size="native",
    )
    numbers = render_fitting(
        xvfb_display,
        "tests.ui.connections.test_pane:dialog_numbers_scene",
        "connection-dialog-numbers" + tail,
        presenter=True,
        large=large,
        size="native",
    )
    assert distinct_colours(first) > 10 and distinct_colours(numbers) > 10
