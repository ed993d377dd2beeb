"""On-demand extensions on screen: the setup's audit, the recordings pane and the live feed say
they do not record a bridge's calls, with the same words and fix as the doctor (real widgets
against the simulator)."""

from __future__ import annotations

import asyncio
import html
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt

from app.domain.causes.recording import recording_fix
from app.domain.live import LiveState
from app.services.connections.store import ConnectionStore
from app.services.session import PbxSession
from app.ui.context import UiContext
from app.ui.feed.model import Column
from app.ui.recordings.model import RecordingResultsModel
from app.ui.recordings.pane import RecordingsPane
from app.ui.setup.step import StepStatus
from tests.conftest import SimFactory
from tests.services.recordings.test_lookup import MOBILE
from tests.support.waiting import until
from tests.ui.conftest import profile_for
from tests.ui.feed.test_pane import open_pane, shown_state
from tests.ui.setup.test_wizard_driver import message, press_next, settled, to_verified, wizard_on

if TYPE_CHECKING:
    from pytestqt.qtbot import QtBot

KNOB = "on-demand-recording=104,107"
WAIT_S = 30.0


async def test_the_audit_step_marks_on_demand_extensions(
    ui: UiContext, make_sim: SimFactory
) -> None:
    sim = await make_sim(tls=True, faults=[KNOB])
    store = await ConnectionStore.open()
    store.use_session_only()
    async with wizard_on(ui, store) as wizard:
        await to_verified(wizard, sim)
        await press_next(wizard, wizard.reachability)
        await press_next(wizard, wizard.recording_audit)
        audit = wizard.recording_audit
        await settled(audit)
        off = audit.not_recording()
        assert {r.number for r in off if r.kind == "extension"} == {"104", "107"}
        assert audit.status is StepStatus.WARN
        assert "2 extensions" in message(audit)
        model = audit.model
        for row in range(model.rowCount()):
            number = audit.rows[row].number
            marked = model.data(model.index(row, 0), Qt.ItemDataRole.BackgroundRole) is not None
            records = model.data(model.index(row, 4))
            if audit.rows[row].kind != "extension":
                continue
            assert marked == (number in ("104", "107")), number
            assert records == ("No" if number in ("104", "107") else "Yes"), number
        # The fix shown for the first one is the doctor's, in v20's words.
        first = next(r for r in audit.rows if r.number == "104")
        assert first.fix == recording_fix(True, f"104 ({sim.tenant.ext('104').display_name})")
        assert first.fix in audit.fix_label.text()


async def test_the_recordings_pane_says_the_extension_does_not_record(
    ui: UiContext, make_sim: SimFactory, qtbot: QtBot
) -> None:
    sim = await make_sim(tls=True, faults=[KNOB])
    placed = await sim.place_call("inbound", extension="104", number=MOBILE)
    session = PbxSession(profile_for(sim), sim.client_secret)
    pane = RecordingsPane(ui, open_file=lambda path: True)
    qtbot.addWidget(pane)
    try:
        pane.set_session(session)
        pane.extension_edit.setText("104")
        task = pane.search()
        assert task is not None
        await asyncio.wait_for(task, WAIT_S)
        key = placed.history_id
        at = pane.model.position(key)
        assert at is not None
        status = pane.model.data(pane.model.index(at, RecordingResultsModel.RECORDING))
        assert status == "Not recorded"  # not "Not written yet": it never will be
        assert pane.select_call(key)
        details = pane.details.text()
        assert "Extension 104 does not record (on demand): no file was written." in details
        assert html.escape(recording_fix(True, "extension 104")) in details
    finally:
        await pane.aclose()
        await session.aclose()


async def test_the_feed_shows_no_recording_is_expected(ui: UiContext, make_sim: SimFactory) -> None:
    sim = await make_sim(tls=True, faults=[KNOB])
    session = PbxSession(profile_for(sim), sim.client_secret, poll_interval_s=0.5)
    pane = await open_pane(ui, session, sim)
    try:
        feed = pane.feed
        assert feed is not None
        await until(lambda: feed.recording_modes_known, "the extensions' recording modes")
        placed = await sim.place_call("inbound", extension="104", number=MOBILE)
        await shown_state(pane, placed.call_id, LiveState.ENDED)
        row = pane.model.row_of(str(placed.call_id))
        assert row is not None
        index = pane.model.index(row, Column.RECORDING)
        await until(lambda: bool(pane.model.data(index, Qt.ItemDataRole.ToolTipRole)), "the note")
        assert pane.model.data(index) == "extension 104 does not record"
        tooltip = str(pane.model.data(index, Qt.ItemDataRole.ToolTipRole))
        assert tooltip.startswith(
            "extension 104 does not record (on demand): no recording expected"
        )
        assert feed.watching == 0
    finally:
        await pane.aclose()
        await session.aclose()
