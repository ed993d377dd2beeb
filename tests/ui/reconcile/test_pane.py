"""The Reconcile pane against the simulator playing a customer's bridge and CRM: every call's
state and cause as the truth says (as the CLI says), the state filter, the selected call's
timeline, presenter mode, and bad files said in words with the inputs kept."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from app.domain.diagnosis import CheckId
from app.domain.reconcile.records import CallState, LedgerEntry
from app.services.session import PbxSession
from app.sim import BridgePlayback, Simulator
from app.ui.context import UiContext
from app.ui.reconcile.model import NEEDS_A_FIX, LedgerModel
from app.ui.reconcile.pane import ReconcilePane
from app.ui.reconcile.text import STATE_LABELS, cause_short
from tests.conftest import SimFactory
from tests.support.widget_text import digit_runs
from tests.ui.conftest import profile_for

if TYPE_CHECKING:
    from pytestqt.modeltest import ModelTester
    from pytestqt.qtbot import QtBot

DAYS = 7
WAIT_S = 60.0
# The mix: late with no retry, 403 on recordings, one call logged twice, one on a new
# contact, one never logged, two missed calls without a trigger.
DEMO = ("demo",)


@dataclass
class Played:
    sim: Simulator
    session: PbxSession
    playback: BridgePlayback
    crm: Path
    log: Path
    panes: list[ReconcilePane] = field(default_factory=list)  # closed (their ledger store too)


@pytest.fixture
async def played(make_sim: SimFactory, tmp_path: Path) -> AsyncIterator[Played]:
    """The simulator's last week, with the bridge's log, the CRM's export and the contacts."""
    sim = await make_sim(tls=True)
    playback = sim.bridge_playback(DEMO, days=DAYS)
    playback.write(tmp_path)
    contacts = tmp_path / "contacts.csv"
    contacts.write_text(sim.crm_export_csv("hubspot"), encoding="utf-8")
    session = PbxSession(profile_for(sim, contacts_csv=str(contacts)), sim.client_secret)
    played = Played(
        sim, session, playback, tmp_path / "crm-activities.csv", tmp_path / "bridge.log"
    )
    yield played
    for pane in played.panes:
        await pane.aclose()
    await session.aclose()


async def make_pane(ui: UiContext, qtbot: QtBot, played: Played) -> ReconcilePane:
    pane = ReconcilePane(ui)
    qtbot.addWidget(pane)
    played.panes.append(pane)
    pane.resize(1200, 760)
    pane.show()
    pane.set_session(played.session)
    assert pane.hours_task is not None
    await asyncio.wait_for(pane.hours_task, WAIT_S)  # the customer's clock, read once
    return pane


async def run_pane(pane: ReconcilePane) -> None:
    task = pane.run()
    assert task is not None, pane.error_label.text()
    await asyncio.wait_for(task, WAIT_S)
    assert pane.result is not None, pane.error_label.text()
    if pane.keep_task is not None:  # kept in the ledger database for before and after
        await asyncio.wait_for(pane.keep_task, WAIT_S)


async def reconciled_pane(ui: UiContext, qtbot: QtBot, played: Played) -> ReconcilePane:
    pane = await make_pane(ui, qtbot, played)
    pane.form.set_crm_path(played.crm)
    pane.form.add_bridge_log(played.log)
    await run_pane(pane)
    return pane


def shown_rows(pane: ReconcilePane) -> list[LedgerEntry]:
    proxy = pane.ledger_view.proxy
    return [
        pane.model.entry_at(proxy.mapToSource(proxy.index(row, 0)).row())
        for row in range(proxy.rowCount())
    ]


def cell(pane: ReconcilePane, call_id: str, column: int) -> str:
    at = pane.model.position(call_id)
    assert at is not None, f"call {call_id} is not in the ledger"
    return str(pane.model.data(pane.model.index(at, column)))


# ---- the ledger --------------------------------------------------------------------------
async def test_every_call_shows_the_state_and_cause_the_truth_says(
    ui: UiContext, qtbot: QtBot, played: Played, qtmodeltester: ModelTester
) -> None:
    pane = await reconciled_pane(ui, qtbot, played)
    qtmodeltester.check(pane.model)
    truth = played.playback.truth()
    assert {e.call.call_id for e in pane.model.entries} == set(truth)
    wrong = []
    for call_id, expected in truth.items():
        state = STATE_LABELS[CallState(expected.state)]
        cause = cause_short(CheckId(expected.cause) if expected.cause else None)
        got = (cell(pane, call_id, LedgerModel.STATE), cell(pane, call_id, LedgerModel.CAUSE))
        if got != (state, cause):
            wrong.append(f"{call_id}: {got} != {(state, cause)}")
    assert not wrong
    summary = pane.ledger_view.summary_label.text()
    assert f"{len(truth):,} calls" in summary and "a gap of" in summary
    assert "Reconciled" in pane.progress_label.text()
    assert pane.table.horizontalScrollBar().maximum() == 0


async def test_the_filter_shows_only_the_chosen_state(
    ui: UiContext, qtbot: QtBot, played: Played
) -> None:
    pane = await reconciled_pane(ui, qtbot, played)
    view = pane.ledger_view
    total = len(pane.model.entries)
    for state in (CallState.DUPLICATED, CallState.MISSED_NOT_TRIGGERED, CallState.LOGGED):
        view.show_only(state)
        rows = shown_rows(pane)
        assert rows and {e.state for e in rows} == {state}
        assert len(rows) == sum(1 for e in pane.model.entries if e.state is state)
    view.show_only(NEEDS_A_FIX)
    assert shown_rows(pane) and all(not e.state.fine for e in shown_rows(pane))
    view.show_only(None)
    assert len(shown_rows(pane)) == total
    assert view.filter_combo.currentText() == f"All calls ({total:,})"


async def test_selecting_a_call_shows_its_bridge_attempts_and_crm_rows(
    ui: UiContext, qtbot: QtBot, played: Played
) -> None:
    pane = await reconciled_pane(ui, qtbot, played)
    denied = next(e for e in pane.model.entries if e.cause is CheckId.API_ROLES)
    assert denied.bridge and denied.crm
    assert pane.select_call(denied.call.call_id)
    assert pane.ledger_view.selected_entry() is denied
    timeline = pane.ledger_view.timeline_label.text()
    for event in denied.bridge:
        assert f"line {event.line}" in timeline
    assert "403" in timeline or "401" in timeline
    assert f"row {denied.crm[0].activity.row}" in timeline
    assert "recording link no" in timeline and "after hang-up" in timeline
    for sentence in denied.evidence:
        assert sentence.split(":")[0] in timeline
    twice = next(e for e in pane.model.entries if e.state is CallState.DUPLICATED)
    pane.ledger_view.show_only(CallState.DUPLICATED)
    assert pane.select_call(twice.call.call_id)
    timeline = pane.ledger_view.timeline_label.text()
    assert all(f"row {m.activity.row}" in timeline for m in twice.crm)


async def test_presenter_mode_masks_numbers_in_the_table_and_timeline(
    ui: UiContext, qtbot: QtBot, played: Played
) -> None:
    pane = await reconciled_pane(ui, qtbot, played)
    numbers = {
        re.sub(r"\D", "", e.call.external_number)
        for e in pane.model.entries
        if e.call.external_number
    }

    def leaks() -> list[str]:
        texts = [
            str(pane.model.data(pane.model.index(row, column)))
            for row in range(pane.model.rowCount())
            for column in (LedgerModel.NUMBER, LedgerModel.EVIDENCE)
        ]
        for entry in pane.model.entries:
            assert pane.select_call(entry.call.call_id)
            texts.append(pane.ledger_view.timeline_label.text())
        return [
            run
            for text in texts
            for run in digit_runs(text)
            if len(run) >= 7 and any(run[-7:] in number for number in numbers)
        ]

    assert leaks(), "with presenter mode off the numbers are on screen"
    ui.presenter.set_enabled(True)
    assert not leaks()
    assert pane.form.crm_edit.echoMode() is pane.form.crm_edit.EchoMode.Password
    assert str(played.log) not in pane.form.logs_list.item(0).text()


# ---- bad input -----------------------------------------------------------------------------
async def test_a_missing_crm_file_is_named_and_the_inputs_stay(
    ui: UiContext, qtbot: QtBot, played: Played
) -> None:
    pane = await make_pane(ui, qtbot, played)
    assert pane.run() is None
    assert "choose the CRM's call activity export" in pane.error_label.text()
    gone = played.crm.with_name("gone.csv")
    pane.form.set_crm_path(gone)
    pane.form.add_bridge_log(played.log)
    assert pane.run() is None
    assert pane.error_label.isVisible()
    assert pane.error_label.text() == f"CRM activities: {gone} is not a file that exists."
    assert pane.form.crm_path == gone and pane.form.bridge_logs == (played.log,)


async def test_columns_that_cannot_be_read_are_said_in_words(
    ui: UiContext, qtbot: QtBot, played: Played, tmp_path: Path
) -> None:
    pane = await make_pane(ui, qtbot, played)
    odd = tmp_path / "odd.csv"
    odd.write_text("colour,size\nred,3\n", encoding="utf-8")
    pane.form.set_crm_path(odd)
    task = pane.run()
    assert task is not None
    assert await asyncio.wait_for(task, WAIT_S) is None
    message = pane.error_label.text()
    assert pane.error_label.isVisible() and message and "Traceback" not in message
    assert pane.form.crm_path == odd and pane.result is None
    assert pane.form.run_button.isEnabled()
