"""The recordings pane against the simulator: search form, results, play, save, presenter mode."""

from __future__ import annotations

import asyncio
import contextlib
import html
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from PySide6.QtCore import QDate, Qt
from PySide6.QtWidgets import QApplication, QFileDialog, QLineEdit, QMessageBox, QWidget

from app.domain.bridge import Bridge
from app.domain.clock import utc_now
from app.domain.contact_match import display_name
from app.services.recordings.lookup import RecordingLookup, RecordingQuery, RecordingStatus
from app.services.session import PbxSession
from app.sim import SimConfig, Simulator
from app.ui.context import UiContext
from app.ui.recordings.model import RecordingResultsModel
from app.ui.recordings.pane import RecordingsPane
from app.ui.theme import apply_theme
from tests.conftest import SimFactory
from tests.services.recordings.test_lookup import MOBILE, recorded_call, recording_extension
from tests.services.test_session_contacts import (
    E164,
    LAST_9,
    NORMALISING,
    THREECX,
    doctors_reason,
    stored_locally,
)
from tests.support.screenshots import distinct_colours, render_scene
from tests.support.widget_text import digit_runs, visible_texts
from tests.support.xvfb import XvfbDisplay
from tests.ui.conftest import profile_for
from tests.ui.widgets.test_presenter_fields import shows_nothing_typed, type_while_presenting

if TYPE_CHECKING:  # pytest-qt's modules need its Qt API set up, which a scene process lacks
    from pytestqt.modeltest import ModelTester
    from pytestqt.qtbot import QtBot

WAIT_S = 30.0


class Opener:
    """Stands in for the OS player: no media player can run where the tests do."""

    def __init__(self) -> None:
        self.opened: list[Path] = []
        self.called = asyncio.Event()

    def __call__(self, path: Path) -> bool:
        self.opened.append(path)
        self.called.set()
        return True


def make_pane(ui: UiContext, qtbot: QtBot, opener: Opener | None = None) -> RecordingsPane:
    pane = RecordingsPane(ui, open_file=opener)
    qtbot.addWidget(pane)
    pane.resize(1200, 760)
    pane.show()
    return pane


async def eventually(check: Callable[[], bool], what: str) -> None:
    async with asyncio.timeout(WAIT_S):
        while not check():  # noqa: ASYNC110 (Qt widgets signal nothing we could await here)
            await asyncio.sleep(0.02)
    assert check(), what


async def searched(pane: RecordingsPane) -> None:
    task = pane.search_task
    assert task is not None, "no search is running"
    await asyncio.wait_for(task, WAIT_S)


def cell(pane: RecordingsPane, key: str, column: int) -> str:
    at = pane.model.position(key)
    assert at is not None, f"call {key} is not in the results"
    return str(pane.model.data(pane.model.index(at, column)))


def choose(dialog: QFileDialog, target: Path) -> None:
    """Type the path into the (non-native) dialog's file name field, as a person would, and
    accept. selectFile() leaves a focused name field as it is."""
    name = dialog.findChild(QLineEdit, "fileNameEdit")
    assert name is not None
    name.setText(str(target))
    dialog.accept()


def screen_text(pane: QWidget) -> str:
    return "\n".join(seen.text for seen in visible_texts(pane))


# ---- search ----------------------------------------------------------------------------------
async def test_search_from_the_form(
    ui: UiContext,
    sim: Simulator,
    session: PbxSession,
    qtbot: QtBot,
    qtmodeltester: ModelTester,
) -> None:
    call = await recorded_call(sim, "inbound", number=MOBILE)
    missed = await sim.place_call("missed", number=MOBILE)
    pane = make_pane(ui, qtbot)
    qtmodeltester.check(pane.model)
    assert not pane.search_button.isEnabled(), "no connection: nothing to search"
    assert pane.search() is None

    pane.set_session(session)
    assert pane.search_button.isEnabled()
    qtbot.keyClicks(pane.number_edit, "0412 345 678")
    qtbot.keyClick(pane.number_edit, Qt.Key.Key_Return)
    assert pane.searching and pane.cancel_button.isVisible() and pane.busy.isVisible()
    assert not pane.search_button.isEnabled()
    await searched(pane)

    assert not pane.searching and not pane.busy.isVisible()
    keys = {row.key for row in pane.model.rows}
    assert {call.history_id, missed.history_id} <= keys
    assert all(row.number_e164 == MOBILE for row in pane.model.rows)
    recording = RecordingResultsModel.RECORDING
    assert cell(pane, call.history_id, recording) == "Ready"
    assert cell(pane, missed.history_id, recording) == "Nothing to record"
    assert cell(pane, call.history_id, RecordingResultsModel.NUMBER) == MOBILE
    assert cell(pane, call.history_id, RecordingResultsModel.DAYS_LEFT) == "never auto-deleted"
    assert pane.result is not None and pane.result.number_e164 == MOBILE
    assert "Auto-delete off" in pane.summary_label.text()
    qtmodeltester.check(pane.model)

    # Enter in a date field searches too; the extension narrows it to one call.
    pane.number_edit.clear()
    pane.extension_edit.setText(recording_extension(sim))
    pane.call_id_edit.setText(call.history_id)
    pane.activateWindow()
    pane.to_date.setFocus()
    focused = QApplication.focusWidget()
    assert focused is not None
    assert focused is pane.to_date or pane.to_date.isAncestorOf(focused)
    qtbot.keyClick(focused, Qt.Key.Key_Return)
    await searched(pane)
    assert [row.key for row in pane.model.rows] == [call.history_id]
    assert pane.selected_row() is not None
    assert "Ready" in pane.details.text() and "play it or save it" in pane.details.text()
    await eventually(
        lambda: cell(pane, call.history_id, RecordingResultsModel.CONTACT) != "…",
        "the Contact column fills in once the contacts are read",
    )
    assert cell(pane, call.history_id, RecordingResultsModel.CONTACT) == (
        "new contact would be created"
    )
    qtmodeltester.check(pane.model)
    await pane.aclose()


async def test_bad_input_is_named_and_the_form_keeps_it(
    ui: UiContext, session: PbxSession, qtbot: QtBot
) -> None:
    pane = make_pane(ui, qtbot)
    pane.set_session(session)
    pane.extension_edit.setText("101")
    qtbot.keyClicks(pane.number_edit, "12ab")
    qtbot.mouseClick(pane.search_button, Qt.MouseButton.LeftButton)
    await searched(pane)
    assert pane.error_label.isVisible()
    assert "Number: '12ab' is not a phone number" in pane.error_label.text()
    assert pane.number_edit.text() == "12ab" and pane.extension_edit.text() == "101"
    assert pane.number_edit.property("invalid") == "true"
    assert pane.result is None

    qtbot.keyClicks(pane.number_edit, "c")  # typing again clears the message
    assert not pane.error_label.isVisible()
    assert pane.number_edit.property("invalid") is None

    pane.number_edit.clear()
    pane.from_date.setDate(QDate(2026, 5, 10))
    pane.to_date.setDate(QDate(2026, 5, 1))
    assert pane.search() is None, "dates in the wrong order are refused before any request"
    assert "'To' (2026-05-01) is before 'From' (2026-05-10)" in pane.error_label.text()
    assert pane.from_date.date() == QDate(2026, 5, 10)
    assert pane.extension_edit.text() == "101"
    await pane.aclose()


async def test_a_search_can_be_cancelled(ui: UiContext, session: PbxSession, qtbot: QtBot) -> None:
    pane = make_pane(ui, qtbot)
    pane.set_session(session)
    task = pane.search()
    assert task is not None
    qtbot.mouseClick(pane.cancel_button, Qt.MouseButton.LeftButton)
    with pytest.raises(asyncio.CancelledError):
        await task
    assert not pane.searching and pane.search_button.isEnabled()
    assert pane.summary_label.text() == "Search cancelled."
    await pane.aclose()


async def test_a_result_cut_at_the_pbx_limit_says_so(
    ui: UiContext, session: PbxSession, qtbot: QtBot
) -> None:
    pane = RecordingsPane(ui, lookup_factory=lambda s: RecordingLookup(s, call_limit=10))
    qtbot.addWidget(pane)
    pane.show()
    pane.set_session(session)
    assert not pane.notes_label.isVisible()
    pane.search()
    await searched(pane)
    assert pane.model.rowCount() == 10
    assert pane.notes_label.isVisible()
    assert "limit of 10 calls" in pane.notes_label.text()
    assert "may be incomplete" in pane.notes_label.text()
    await pane.aclose()


# ---- play, save, verify ----------------------------------------------------------------------
async def test_play_hands_a_wav_file_to_the_player(
    ui: UiContext, sim: Simulator, session: PbxSession, qtbot: QtBot
) -> None:
    call = await recorded_call(sim, number=MOBILE)
    opener = Opener()
    pane = make_pane(ui, qtbot, opener)
    pane.set_session(session)
    pane.number_edit.setText(MOBILE)
    pane.search()
    await searched(pane)
    assert pane.select_call(call.history_id)
    assert pane.play_button.isEnabled()

    qtbot.mouseClick(pane.play_button, Qt.MouseButton.LeftButton)
    await asyncio.wait_for(opener.called.wait(), WAIT_S)
    [path] = opener.opened
    assert path.suffix == ".wav" and path.read_bytes()[:4] == b"RIFF"
    assert pane.lookup is not None and path.parent == pane.lookup.temp_dir
    await eventually(lambda: "player" in pane.action_label.text(), "play is reported")

    pane.set_session(None)
    await eventually(lambda: not path.exists(), "the temporary copy goes with the connection")
    assert not pane.play_button.isEnabled() and not pane.search_button.isEnabled()
    await pane.aclose()


async def test_save_through_the_file_dialog(
    ui: UiContext, sim: Simulator, session: PbxSession, qtbot: QtBot, tmp_path: Path
) -> None:
    call = await recorded_call(sim, number=MOBILE)
    pane = make_pane(ui, qtbot)
    dialogs: list[QFileDialog] = []

    def opened(dialog: QFileDialog) -> None:
        dialog.setOption(QFileDialog.Option.DontUseNativeDialog, True)
        dialogs.append(dialog)

    pane.saveDialogOpened.connect(opened)
    pane.set_session(session)
    pane.call_id_edit.setText(call.history_id)
    pane.search()
    await searched(pane)
    assert pane.select_call(call.history_id)

    qtbot.mouseClick(pane.save_button, Qt.MouseButton.LeftButton)
    await eventually(lambda: bool(dialogs) and dialogs[-1].isVisible(), "the dialog opens")
    dialog = dialogs[-1]
    suggested = Path(dialog.selectedFiles()[0]).name
    assert suggested.endswith(f"{MOBILE} ext {recording_extension(sim)}.wav")
    target = tmp_path / "customer call.wav"
    choose(dialog, target)
    await eventually(lambda: "Saved as" in pane.action_label.text(), "the save is reported")
    assert target.read_bytes()[:4] == b"RIFF"
    assert sorted(await asyncio.to_thread(lambda: [p.name for p in tmp_path.iterdir()])) == [
        target.name
    ]

    # Saving over it asks first, without a nested event loop.
    target.write_bytes(b"old")
    qtbot.mouseClick(pane.save_button, Qt.MouseButton.LeftButton)
    await eventually(lambda: len(dialogs) == 2 and dialogs[-1].isVisible(), "opens again")
    choose(dialogs[-1], target)

    def question() -> QMessageBox | None:
        boxes = [b for b in pane.findChildren(QMessageBox) if b.isVisible()]
        return boxes[0] if boxes else None

    await eventually(lambda: question() is not None, "replacing the file is asked")
    box = question()
    assert box is not None and "already exists" in box.text()
    replace = next(b for b in box.buttons() if b.text() == "Replace")
    replace.click()
    await eventually(lambda: target.read_bytes()[:4] == b"RIFF", "the file is replaced")
    await pane.aclose()


async def test_verify_and_a_refused_download_update_the_row(
    ui: UiContext, sim: Simulator, session: PbxSession, qtbot: QtBot
) -> None:
    kept = await recorded_call(sim, number=MOBILE)
    lost = await recorded_call(sim, "outbound", number=MOBILE)
    pane = make_pane(ui, qtbot, Opener())
    pane.set_session(session)
    pane.number_edit.setText(MOBILE)
    pane.search()
    await searched(pane)

    assert lost.recording_id is not None
    del sim.tenant.recordings[lost.recording_id]
    assert pane.select_call(lost.history_id)
    task = pane.verify()
    assert task is not None
    await asyncio.wait_for(task, WAIT_S)
    assert cell(pane, lost.history_id, RecordingResultsModel.RECORDING) == "Missing"
    assert "real problem" in pane.details.text()
    assert "file not found" in pane.details.text()

    sim.faults.enable("missing-recording-role")
    assert pane.select_call(kept.history_id)
    task_play = pane.play()
    assert task_play is not None
    assert await asyncio.wait_for(task_play, WAIT_S) is None
    assert "Recording Manager" in pane.action_label.text()
    assert "assign both the Recording Manager and Reports User" in pane.action_label.text()
    assert cell(pane, kept.history_id, RecordingResultsModel.RECORDING) == "No access"
    await pane.aclose()


# ---- the contact, as the customer's bridge lands the call ---------------------------------------
@pytest.mark.parametrize(
    ("bridge", "knobs", "attaches"),
    [(E164, [], False), (NORMALISING, [], True), (THREECX, [LAST_9], True)],
    ids=["e164", "normalised", "3cx-last-9-digits"],
)
async def test_the_contact_column_follows_the_customers_bridge(
    ui: UiContext,
    make_sim: SimFactory,
    qtbot: QtBot,
    bridge: Bridge,
    knobs: list[str],
    attaches: bool,
) -> None:
    sim = await make_sim(tls=True, faults=["unnormalised-contacts", *knobs])
    number, name, stored = stored_locally(sim)
    call = await sim.place_call("missed", number=number, ring_s=0.01)
    session = PbxSession(profile_for(sim, bridge=bridge), sim.client_secret)
    pane = make_pane(ui, qtbot)
    try:
        pane.set_session(session)
        pane.call_id_edit.setText(call.history_id)
        pane.search()
        await searched(pane)
        assert pane.select_call(call.history_id)
        contact = RecordingResultsModel.CONTACT
        await eventually(lambda: cell(pane, call.history_id, contact) != "…", "contacts read")
        assert cell(pane, call.history_id, contact) == (
            name if attaches else "new contact · normalised"
        )
        # The details give the doctor's own reason (cause 5) for the same call.
        reason = await doctors_reason(session, number)
        assert html.escape(reason) in pane.details.text()
        at = pane.model.position(call.history_id)
        assert at is not None
        tooltip = pane.model.data(pane.model.index(at, contact), Qt.ItemDataRole.ToolTipRole)
        whole = f"new contact would be created (stored as {stored}, not E.164)"
        badge = "new contact · normalised"
        assert tooltip == (reason if attaches else f"{badge}\n{whole}\n{reason}")
    finally:
        await pane.aclose()
        await session.aclose()


# ---- presenter mode --------------------------------------------------------------------------
async def test_presenter_mode_masks_numbers_and_names(
    ui: UiContext, sim: Simulator, session: PbxSession, qtbot: QtBot
) -> None:
    person = sim.tenant.contacts[0]
    number = person.e164
    name = f"{person.first_name} {person.last_name}"
    call = await recorded_call(sim, number=number)
    pane = make_pane(ui, qtbot)
    pane.set_session(session)
    pane.number_edit.setText(number)
    pane.search()
    await searched(pane)
    assert pane.select_call(call.history_id)
    await eventually(
        lambda: cell(pane, call.history_id, RecordingResultsModel.CONTACT) != "…",
        "contacts are read",
    )
    found = (await session.contact_matcher()).match(number)
    assert found.attached is not None and display_name(found.attached) == name
    assert cell(pane, call.history_id, RecordingResultsModel.CONTACT) == name
    assert number in screen_text(pane) and name in pane.details.text()

    changed: list[int] = []
    pane.model.dataChanged.connect(lambda *_: changed.append(1))
    ui.presenter.set_enabled(True)
    assert changed, "the table re-renders when presenter mode toggles"
    text = screen_text(pane)
    digits = number.lstrip("+")
    assert not any(digits[-9:] in run for run in digit_runs(text)), text
    assert name not in text and person.last_name not in text
    assert cell(pane, call.history_id, RecordingResultsModel.NUMBER).endswith(number[-3:])
    assert cell(pane, call.history_id, RecordingResultsModel.CONTACT) == (
        f"{person.first_name[0]}. {person.last_name[0]}."
    )
    assert pane.number_edit.echoMode() is QLineEdit.EchoMode.Password
    assert f"{number[-3:]}" in pane.details.text()

    ui.presenter.set_enabled(False)
    assert pane.number_edit.echoMode() is QLineEdit.EchoMode.Normal
    assert name in pane.details.text()
    await pane.aclose()


async def test_what_is_typed_in_the_search_fields_is_hidden_while_presenting(
    ui: UiContext, sim: Simulator, session: PbxSession, qtbot: QtBot
) -> None:
    call = await recorded_call(sim, number=MOBILE)
    await sim.place_call("missed", number=MOBILE)  # found by the number, not by the call id
    ui.presenter.set_enabled(True)
    pane = make_pane(ui, qtbot)
    pane.set_session(session)
    typed = {
        pane.number_edit: "0412 345 678",
        pane.extension_edit: recording_extension(sim),
        pane.call_id_edit: call.history_id,
    }
    for edit, text in typed.items():
        type_while_presenting(qtbot, edit, text)
    for edit, text in typed.items():
        assert shows_nothing_typed(edit, text), edit.objectName()
    pane.search()
    await searched(pane)
    assert [row.key for row in pane.model.rows] == [call.history_id]  # all three searched

    ui.presenter.set_enabled(False)
    assert [edit.displayText() for edit in typed] == list(typed.values())
    await pane.aclose()


async def test_presenter_mode_save_name_has_no_number(
    ui: UiContext, sim: Simulator, session: PbxSession, qtbot: QtBot
) -> None:
    call = await recorded_call(sim, number=MOBILE)
    ui.presenter.set_enabled(True)
    pane = make_pane(ui, qtbot)
    dialogs: list[QFileDialog] = []

    def opened(dialog: QFileDialog) -> None:
        dialog.setOption(QFileDialog.Option.DontUseNativeDialog, True)
        dialogs.append(dialog)

    pane.saveDialogOpened.connect(opened)
    pane.set_session(session)
    pane.call_id_edit.setText(call.history_id)
    pane.search()
    await searched(pane)
    assert pane.select_call(call.history_id)
    task = pane.save()
    assert task is not None
    await eventually(lambda: bool(dialogs) and dialogs[0].isVisible(), "the dialog opens")
    suggested = Path(dialogs[0].selectedFiles()[0]).name
    assert "412" not in suggested and suggested.endswith(f"call {call.history_id}.wav")
    assert not any(MOBILE[-9:] in run for run in digit_runs(screen_text(dialogs[0])))
    dialogs[0].reject()
    assert await asyncio.wait_for(task, WAIT_S) is None
    await pane.aclose()


# ---- screenshots -----------------------------------------------------------------------------
async def recordings_scene(stack: contextlib.AsyncExitStack, ui: UiContext) -> QWidget:
    """A customer's calls with one number: ready, archived, deleted, missing, not recorded..."""
    app = QApplication.instance()
    assert isinstance(app, QApplication)
    apply_theme(app)
    sim = Simulator(
        SimConfig(
            tls=True,
            calls_per_minute=0,
            recording_delay_s=0.2,
            faults=["retention-deleted=75", "extension-not-recording"],
        )
    )
    await sim.start()
    stack.push_async_callback(sim.stop)
    session = PbxSession(profile_for(sim, name="Harbour Dental"), sim.client_secret)
    stack.push_async_callback(session.aclose)

    # The caller whose last 90 days show the most kinds of outcome.
    probe = RecordingLookup(session)
    stack.push_async_callback(probe.aclose)
    since = utc_now() - timedelta(days=90)
    everything = await probe.search(RecordingQuery(since=since))
    kinds: dict[str, set[RecordingStatus]] = {}
    for row in everything.rows:
        if row.number_e164:
            kinds.setdefault(row.number_e164, set()).add(row.status)
    number = max(kinds, key=lambda n: (len(kinds[n]), n))
    lost = await recorded_call(sim, "inbound", number=number)
    assert lost.recording_id is not None
    del sim.tenant.recordings[lost.recording_id]
    await sim.place_call("missed", number=number)

    pane = RecordingsPane(ui, open_file=lambda path: True)
    stack.push_async_callback(pane.aclose)
    pane.set_session(session)
    pane.number_edit.setText(number)
    pane.from_date.setDate(QDate(since.date()))
    task = pane.search()
    assert task is not None
    await task
    if pane.contacts_task is not None:
        await pane.contacts_task
    pane.select_call(lost.history_id)
    return pane


@pytest.mark.display
def test_recordings_pane_screenshots(xvfb_display: XvfbDisplay) -> None:
    plain = render_scene(
        xvfb_display, "tests.ui.recordings.test_pane:recordings_scene", "recordings-pane"
    )
    masked = render_scene(
        xvfb_display,
        "tests.ui.recordings.test_pane:recordings_scene",
        "recordings-pane-presenter",
        presenter=True,
    )
    assert distinct_colours(plain) > 20
    assert plain.read_bytes() != masked.read_bytes()
