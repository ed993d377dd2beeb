"""The doctor pane against the simulator: seven rows, live states, fixes, copy, presenter mode."""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from PySide6.QtGui import QFont
from PySide6.QtWidgets import QApplication, QWidget

from app.domain.causes.api_answers import KEY_FIX, KEY_REJECTED
from app.domain.connection import CheckStatusSummary, LastCheck
from app.domain.diagnosis import CHECK_ORDER, TITLES, CheckId, CheckResult, CheckStatus, Diagnosis
from app.services.doctor.text import summary_line
from app.services.session import PbxSession
from app.services.settings.file import Settings
from app.sim import SimConfig, Simulator
from app.ui.context import UiContext
from app.ui.doctor.model import RowState
from app.ui.doctor.pane import DoctorPane, last_check_of
from app.ui.theme import apply_theme
from tests.conftest import SimFactory
from tests.services.doctor.test_late_recording import recording_extension
from tests.support.screenshots import distinct_colours, render_scene
from tests.support.timeouts import ROOMY
from tests.support.waiting import until
from tests.support.widget_text import visible_texts
from tests.support.xvfb import XvfbDisplay
from tests.ui.conftest import profile_for

if TYPE_CHECKING:  # pytest-qt's module needs its Qt API set up, which a scene process lacks
    from pytestqt.modeltest import ModelTester

RUN_TIMEOUT_S = 30


class Heard:
    """What the pane's signals carried, in order."""

    def __init__(self, pane: DoctorPane) -> None:
        self.checked: list[LastCheck] = []
        self.diagnosed: list[Diagnosis] = []
        self.progress: list[tuple[CheckResult, dict[CheckId, RowState]]] = []
        pane.checked.connect(self.checked.append)
        pane.diagnosed.connect(self.diagnosed.append)
        pane.progressed.connect(lambda r: self.progress.append((r, pane.model.states())))


@contextlib.asynccontextmanager
async def opened(sim: Simulator, **profile: Any) -> AsyncIterator[PbxSession]:
    session = PbxSession(profile_for(sim, **profile), sim.client_secret, poll_interval_s=0.5)
    try:
        yield session
    finally:
        await session.aclose()


def make_pane(ui: UiContext, tmp_path: Path) -> DoctorPane:
    pane = DoctorPane(ui, tmp_path / "known-certificates.json", timeouts=ROOMY)
    pane.resize(1100, 760)
    pane.show()
    return pane


async def run_to_end(pane: DoctorPane) -> Diagnosis:
    task = pane.run()
    assert task is not None
    diagnosis = await asyncio.wait_for(task, RUN_TIMEOUT_S)
    assert diagnosis is not None
    return diagnosis


def titles(pane: DoctorPane) -> list[str]:
    model = pane.model
    return [model.data(model.index(row, model.CHECK)) for row in range(model.rowCount())]


def shown_states(pane: DoctorPane) -> list[str]:
    model = pane.model
    return [model.data(model.index(row, model.RESULT)) for row in range(model.rowCount())]


def screen_text(pane: QWidget) -> str:
    return "\n".join(seen.text for seen in visible_texts(pane))


async def test_a_healthy_run_lists_the_seven_checks_in_order(
    ui: UiContext, session: PbxSession, tmp_path: Path, qtmodeltester: ModelTester
) -> None:
    pane = make_pane(ui, tmp_path)
    qtmodeltester.check(pane.model)
    assert shown_states(pane) == ["Not run yet"] * 7
    assert not pane.controls.run_button.isEnabled()  # no connection yet
    pane.set_session(session)
    assert pane.controls.run_button.isEnabled() and not pane.controls.copy_button.isEnabled()
    heard = Heard(pane)

    diagnosis = await run_to_end(pane)

    assert titles(pane) == [TITLES[check] for check in CHECK_ORDER]
    assert pane.diagnosis is diagnosis
    expected = [
        {"pass": "Pass", "warn": "Warning", "fail": "Fail", "skip": "Not checked"}[r.status.value]
        for r in diagnosis.checks
    ]
    assert shown_states(pane) == expected
    assert diagnosis.first_failure is None
    # No watch was asked for, so check 4 is not measured and the run is not "all passed".
    assert pane.model.state(CheckId.LATE_RECORDING) is RowState.SKIP
    assert pane.summary.text().startswith("No check failed")
    # The live-PBX shapes the simulator sends by default, named where the engineer can hover.
    assert pane.summary.toolTip() == "Wire as this PBX sends it: " + "; ".join(diagnosis.pbx.wire)
    assert "call legs grouped by MainCallHistoryId" in pane.summary.toolTip()
    assert heard.diagnosed == [diagnosis]
    assert heard.checked == [last_check_of(diagnosis)]
    assert heard.checked[0].status in (CheckStatusSummary.PASS, CheckStatusSummary.WARN)
    assert heard.checked[0].summary == summary_line(diagnosis)
    assert pane.controls.copy_button.isEnabled() and pane.controls.run_button.text() == "Run again"
    assert session.secret not in screen_text(pane)
    qtmodeltester.check(pane.model)
    await pane.aclose()


async def test_each_result_arrives_while_the_others_still_run(
    ui: UiContext, session: PbxSession, tmp_path: Path
) -> None:
    pane = make_pane(ui, tmp_path)
    pane.set_session(session)
    heard = Heard(pane)
    assert pane.run() is not None
    assert pane.model.state(CheckId.REACHABILITY) is RowState.RUNNING
    assert pane.model.state(CheckId.LICENCE) is RowState.WAITING
    assert (
        pane.running
        and pane.controls.cancel_button.isEnabled()
        and not pane.controls.run_button.isEnabled()
    )

    await until(lambda: pane.diagnosis is not None, seconds=RUN_TIMEOUT_S)

    first, states = heard.progress[0]
    assert first.id is CheckId.REACHABILITY  # probed first
    others = [states[c] for c in CHECK_ORDER if c is not CheckId.REACHABILITY]
    assert others == [RowState.RUNNING] * 6
    assert [r.id for r, _ in heard.progress][1:] != []
    assert sorted(r.id.order for r, _ in heard.progress) == list(range(1, 8))
    partial = [
        s
        for _, s in heard.progress
        if any(state.done for state in s.values())
        and any(state is RowState.RUNNING for state in s.values())
    ]
    assert len(partial) >= 2, "rows complete one by one while others still run"
    assert all(state.done for state in heard.progress[-1][1].values())
    await pane.aclose()


async def test_a_failing_check_shows_its_fix(
    ui: UiContext, make_sim: SimFactory, tmp_path: Path
) -> None:
    sim = await make_sim(tls=True, faults=["retention-deleted=30"])
    pane = make_pane(ui, tmp_path)
    heard = Heard(pane)
    async with opened(sim) as session:
        pane.set_session(session)
        diagnosis = await run_to_end(pane)

    result = diagnosis.result(CheckId.RETENTION)
    assert result.status is CheckStatus.FAIL
    assert pane.model.state(CheckId.RETENTION) is RowState.FAIL
    assert shown_states(pane)[CheckId.RETENTION.order - 1] == "Fail"
    assert pane.summary.text().startswith(f"First failure: 6. {TITLES[CheckId.RETENTION]}")
    # The first failure is selected, its fix shown prominently, its evidence listed.
    details = pane.details
    assert details.title.text() == f"6. {TITLES[CheckId.RETENTION]}"
    assert details.fix.isVisible() and details.fix.text() == result.fix
    assert details.finding.text() == result.finding
    assert all(line in details.evidence.toPlainText() for line in result.evidence)
    assert "Fail" in details.state.text()
    assert heard.checked[0].status is CheckStatusSummary.FAIL
    assert heard.checked[0].summary.startswith("First failure: 6.")

    pane.select(CheckId.LICENCE)  # a passing check: no fix box
    assert details.title.text().startswith("1. ")
    assert not details.fix.isVisible()
    await pane.aclose()


async def test_an_unreachable_pbx_fails_check_7_and_skips_the_rest(
    ui: UiContext, sim: Simulator, tmp_path: Path
) -> None:
    with socket.socket() as probe:  # a port that nothing listens on
        probe.bind(("127.0.0.1", 0))
        closed = probe.getsockname()[1]
    pane = make_pane(ui, tmp_path)
    heard = Heard(pane)
    async with opened(sim, url=f"https://127.0.0.1:{closed}") as session:
        pane.set_session(session)
        diagnosis = await run_to_end(pane)

    assert diagnosis.first_failure is CheckId.REACHABILITY
    assert shown_states(pane) == ["Not checked"] * 6 + ["Fail"]
    assert heard.checked[0].status is CheckStatusSummary.UNREACHABLE
    assert pane.summary.text().startswith(f"First failure: 7. {TITLES[CheckId.REACHABILITY]}")
    assert pane.details.title.text().startswith("7. ")
    await pane.aclose()


async def test_copy_as_text_has_all_seven_and_no_secret(
    ui: UiContext, session: PbxSession, tmp_path: Path
) -> None:
    pane = make_pane(ui, tmp_path)
    pane.set_session(session)
    assert pane.copy_as_text() is None  # nothing to copy before a run
    pane.controls.run_button.click()
    assert pane.running
    await until(lambda: pane.diagnosis is not None, seconds=RUN_TIMEOUT_S)

    pane.controls.copy_button.click()
    copied = QApplication.clipboard().text()
    assert copied == pane.report_text()
    for check in CHECK_ORDER:
        assert f"{check.order}. [" in copied and TITLES[check] in copied
    assert session.secret not in copied
    assert "Copied the seven results" in pane.notice.text()
    await pane.aclose()


async def test_presenter_mode_masks_numbers_and_names_in_the_evidence(
    ui: UiContext, make_sim: SimFactory, tmp_path: Path
) -> None:
    sim = await make_sim(tls=True, faults=["unnormalised-contacts"])
    pane = make_pane(ui, tmp_path)
    async with opened(sim) as session:
        pane.set_session(session)
        diagnosis = await run_to_end(pane)

    result = diagnosis.result(CheckId.CONTACT_MATCH)
    assert result.status is CheckStatus.FAIL
    assert pane.details.title.text().startswith("5. ")
    numbers = {call["raw"] for call in result.details["calls"]} | {
        fix["stored"] for fix in result.details["bulk_fixes"]
    }
    names = {n for call in result.details["calls"] for n in call["contacts"]}
    evidence = pane.details.evidence.toPlainText()
    shown_numbers = {n for n in numbers if n in evidence}
    shown_names = {n for n in names if n in evidence}
    assert shown_numbers and shown_names, "the evidence quotes callers and contacts"

    ui.presenter.set_enabled(True)
    on_screen = screen_text(pane)
    assert not [n for n in numbers if n in on_screen]
    assert not [n for n in names if n in on_screen]
    masked = pane.details.evidence.toPlainText()
    assert any(n[-3:] in masked for n in shown_numbers)  # the last three digits stay
    copied = pane.copy_as_text()
    assert copied is not None and not [n for n in numbers | names if n in copied]

    ui.presenter.set_enabled(False)
    assert shown_numbers <= {n for n in numbers if n in pane.details.evidence.toPlainText()}
    await pane.aclose()


async def test_cancel_stops_the_run_cleanly(
    ui: UiContext, session: PbxSession, tmp_path: Path
) -> None:
    pane = make_pane(ui, tmp_path)
    pane.set_session(session)
    heard = Heard(pane)
    pane.controls.watch.setValue(120)  # check 4 watches for a test call: the run would take minutes
    task = pane.run()
    assert task is not None
    await until(lambda: len(heard.progress) >= 2, seconds=RUN_TIMEOUT_S)
    assert pane.model.state(CheckId.LATE_RECORDING) is RowState.RUNNING
    assert "Watching for a test call" in pane.watch_label.text()

    pane.controls.cancel_button.click()
    await asyncio.wait_for(asyncio.gather(task, return_exceptions=True), 10)

    assert task.cancelled()
    assert not pane.running and pane.controls.run_button.isEnabled()
    assert not pane.controls.cancel_button.isEnabled() and pane.controls.watch.isEnabled()
    assert pane.diagnosis is None and heard.checked == []
    assert pane.model.state(CheckId.LATE_RECORDING) is RowState.NOT_RUN
    assert pane.model.state(CheckId.REACHABILITY).done
    assert pane.summary.text().startswith("Cancelled after")
    assert pane.watch_label.isHidden()
    await pane.aclose()


async def test_switching_connection_cancels_and_resets(
    ui: UiContext, session: PbxSession, tmp_path: Path
) -> None:
    pane = make_pane(ui, tmp_path)
    pane.set_session(session)
    pane.controls.watch.setValue(120)
    task = pane.run()
    assert task is not None
    pane.set_session(None)
    await asyncio.wait_for(asyncio.gather(task, return_exceptions=True), 10)
    assert task.cancelled()
    assert shown_states(pane) == ["Not run yet"] * 7
    assert pane.summary.text() == "Select a connection, then run the doctor."
    assert not pane.controls.run_button.isEnabled()
    await pane.aclose()


async def test_contacts_file_is_used_and_a_broken_one_is_reported(
    ui: UiContext, sim: Simulator, tmp_path: Path
) -> None:
    export = tmp_path / "hubspot-contacts.csv"
    export.write_text(sim.crm_export_csv("hubspot"), encoding="utf-8")
    pane = make_pane(ui, tmp_path)
    async with opened(sim, contacts_csv=str(export)) as session:
        pane.set_session(session)
        diagnosis = await run_to_end(pane)
    evidence = diagnosis.result(CheckId.CONTACT_MATCH).evidence
    assert any("hubspot-contacts.csv" in line for line in evidence)
    assert pane.notice.isHidden()

    missing = tmp_path / "gone.csv"
    async with opened(sim, contacts_csv=str(missing), name="Other PBX") as other:
        pane.set_session(other)
        diagnosis = await run_to_end(pane)
    assert "CRM export gone.csv not read" in pane.notice.text()
    assert "3CX phonebook only" in pane.notice.text()
    assert not any("gone.csv" in line for line in diagnosis.result(CheckId.CONTACT_MATCH).evidence)
    assert diagnosis.result(CheckId.CONTACT_MATCH).status is not CheckStatus.SKIP
    await pane.aclose()


# ---- screenshots -------------------------------------------------------------------------------
async def _scene(
    stack: contextlib.AsyncExitStack,
    ui: UiContext,
    faults: list[str],
    select: Callable[[Diagnosis], CheckId | None],
) -> QWidget:
    app = QApplication.instance()
    assert isinstance(app, QApplication)
    apply_theme(app, large_type=ui.presenter.large_type)
    sim = Simulator(SimConfig(tls=True, calls_per_minute=0, recording_delay_s=0.2, faults=faults))
    await sim.start()
    stack.push_async_callback(sim.stop)
    session = PbxSession(profile_for(sim, name="Harbour Dental"), sim.client_secret)
    stack.push_async_callback(session.aclose)
    known = Path(stack.enter_context(_temporary_folder())) / "known-certificates.json"
    pane = DoctorPane(ui, known, timeouts=ROOMY)
    pane.set_session(session)
    task = pane.run()
    assert task is not None
    diagnosis = await task
    assert diagnosis is not None
    check = select(diagnosis)
    if check is not None:
        pane.select(check)
    return pane


@contextlib.contextmanager
def _temporary_folder() -> Any:
    import tempfile

    with tempfile.TemporaryDirectory() as folder:
        yield folder


async def doctor_failure_scene(stack: contextlib.AsyncExitStack, ui: UiContext) -> QWidget:
    return await _scene(
        stack, ui, ["retention-deleted=30", "over-privileged"], lambda d: d.first_failure
    )


async def doctor_presenter_scene(stack: contextlib.AsyncExitStack, ui: UiContext) -> QWidget:
    return await _scene(stack, ui, ["unnormalised-contacts"], lambda d: CheckId.CONTACT_MATCH)


@pytest.mark.display
def test_doctor_pane_screenshots(xvfb_display: XvfbDisplay) -> None:
    failure = render_scene(
        xvfb_display, "tests.ui.doctor.test_pane:doctor_failure_scene", "doctor-pane-failure"
    )
    masked = render_scene(
        xvfb_display,
        "tests.ui.doctor.test_pane:doctor_presenter_scene",
        "doctor-pane-presenter",
        presenter=True,
    )
    assert distinct_colours(failure) > 20
    assert distinct_colours(masked) > 20


async def test_rows_grow_with_the_font(ui: UiContext, tmp_path: Path) -> None:
    pane = make_pane(ui, tmp_path)
    before_row = pane.table.verticalHeader().defaultSectionSize()
    before_height = pane.table.height()
    before_check = pane.table.horizontalHeader().sectionSize(pane.model.CHECK)
    bigger = QFont(pane.font())
    bigger.setPointSizeF(bigger.pointSizeF() * 1.5)
    pane.setFont(bigger)  # as large type does, through the application font
    assert pane.table.verticalHeader().defaultSectionSize() > before_row
    assert pane.table.height() > before_height
    assert pane.table.horizontalHeader().sectionSize(pane.model.CHECK) > before_check
    await pane.aclose()


async def test_a_test_call_is_followed_live_while_watching(
    ui: UiContext, make_sim: SimFactory, tmp_path: Path
) -> None:
    sim = await make_sim(tls=True, recording_delay_s=0.5)
    pane = make_pane(ui, tmp_path)
    heard = Heard(pane)
    pane.controls.watch.setValue(3)
    pane.controls.bridge_window.setValue(10)
    async with opened(sim) as session:
        pane.set_session(session)
        task = pane.run()
        assert task is not None
        await until(lambda: bool(heard.progress), seconds=RUN_TIMEOUT_S)
        assert "Watching for a test call" in pane.watch_label.text()
        await asyncio.wait_for(sim.wait_for_call_control_client(), 10)
        await sim.place_call("inbound", extension=recording_extension(sim), ring_s=0.2, talk_s=0.3)
        await until(lambda: "Test call: call" in pane.watch_label.text(), seconds=RUN_TIMEOUT_S)
        diagnosis = await asyncio.wait_for(task, RUN_TIMEOUT_S)

    assert diagnosis is not None
    result = diagnosis.result(CheckId.LATE_RECORDING)
    assert result.status is CheckStatus.PASS, result.finding
    assert pane.model.state(CheckId.LATE_RECORDING) is RowState.PASS
    assert pane.watch_label.isHidden()  # the journey now lives in check 4's evidence
    await pane.aclose()


async def test_export_report_previews_then_saves_a_secret_free_pdf(
    ui: UiContext, session: PbxSession, tmp_path: Path
) -> None:
    pane = make_pane(ui, tmp_path)
    pane.report_settings = lambda: Settings(engineer_name="Sam Lee")
    pane.set_session(session)
    assert not pane.controls.export_button.isEnabled()  # nothing to report before a run
    await run_to_end(pane)
    assert pane.controls.export_button.isEnabled()
    pane.controls.export_button.click()
    dialog = pane.report_dialog
    assert dialog is not None
    await until(dialog.isVisible, seconds=5)
    await dialog.prepared()
    assert "Sam Lee" in dialog.preview.toPlainText()
    saved = await dialog.save_to(tmp_path / "visit.pdf")
    assert saved is not None
    data = saved.read_bytes()
    assert data.startswith(b"%PDF")
    assert session.secret.encode() not in data
    dialog.reject()
    await until(lambda: pane.report_dialog is None, seconds=5)
    await pane.aclose()


@pytest.mark.parametrize("preference", [True, False], ids=["mask", "do-not-mask"])
async def test_export_report_masks_as_the_preference_says(
    ui: UiContext, session: PbxSession, tmp_path: Path, preference: bool
) -> None:
    """The wizard's report honoured "mask numbers and names"; the Doctor tab's ignored it."""
    pane = make_pane(ui, tmp_path)
    pane.report_settings = lambda: Settings(report_mask_details=preference)
    assert not ui.presenter.enabled  # the preference alone decides
    pane.set_session(session)
    diagnosis = await run_to_end(pane)
    host = diagnosis.pbx.url.removeprefix("https://").rsplit(":", 1)[0]
    pane.controls.export_button.click()
    dialog = pane.report_dialog
    assert dialog is not None
    await until(dialog.isVisible, seconds=5)
    await dialog.prepared()
    assert dialog.mask_box.isChecked() is preference
    preview = dialog.preview.toPlainText()
    assert ("Phone numbers and names in this report are masked." in preview) is preference
    assert (host in preview) is not preference
    saved = await dialog.save_to(tmp_path / "visit.json")
    assert saved is not None
    assert json.loads(saved.read_text("utf-8"))["masked"] is preference
    dialog.reject()
    await until(lambda: pane.report_dialog is None, seconds=5)
    await pane.aclose()


async def test_a_rejected_key_shows_the_one_401_fix(
    ui: UiContext, make_sim: SimFactory, tmp_path: Path
) -> None:
    """The Doctor tab shows check 7's verdict in the words the guided setup shows too."""
    sim = await make_sim(tls=True, faults=["bad-key"])
    pane = make_pane(ui, tmp_path)
    async with opened(sim) as session:
        pane.set_session(session)
        diagnosis = await run_to_end(pane)
    assert diagnosis.first_failure is CheckId.REACHABILITY
    assert pane.details.title.text().startswith("7. ")
    assert pane.details.finding.text() == KEY_REJECTED
    assert pane.details.fix.isVisible() and pane.details.fix.text() == KEY_FIX
    await pane.aclose()


def _open_http_clients() -> set[int]:
    import gc

    import httpx

    gc.collect()
    return {id(o) for o in gc.get_objects() if isinstance(o, httpx.AsyncClient) and not o.is_closed}


async def test_cancel_against_a_hanging_pbx_ends_the_task_and_closes_its_client(
    ui: UiContext, make_sim: SimFactory, tmp_path: Path
) -> None:
    sim = await make_sim(tls=True)
    pane = make_pane(ui, tmp_path)  # ROOMY limits: only Cancel can end this run soon
    async with opened(sim) as session:
        pane.set_session(session)

        def hang_after_sign_in(result: CheckResult) -> None:
            if result.id is CheckId.REACHABILITY:
                sim.faults.enable("hang")  # every request from now on is left unanswered

        pane.progressed.connect(hang_after_sign_in)
        before = _open_http_clients()
        task = pane.run()
        assert task is not None
        await until(lambda: pane.model.state(CheckId.LICENCE) is RowState.RUNNING, seconds=30)
        await asyncio.sleep(0.5)  # the six checks' requests are now out, hanging
        assert not task.done() and sim.faults.active("hang")

        pane.controls.cancel_button.click()
        await asyncio.sleep(0)  # the run is unwinding: closing its facts and client
        pane.controls.cancel_button.click()  # impatient: a second click must not cut the clean-up short
        await asyncio.wait_for(asyncio.gather(task, return_exceptions=True), 10)

        assert task.done() and task.cancelled()
        # Reachability, and check 4 (no watch asked: it needs nothing from the PBX).
        assert pane.summary.text() == (
            "Cancelled after 2 of 7 checks. Run the doctor again for the full answer."
        )
        assert not pane.running and pane.controls.run_button.isEnabled()
        assert pane.diagnosis is None
        # The doctor's own client went with the task: nothing left open to keep reading.
        assert _open_http_clients() - before == set()
    await pane.aclose()
