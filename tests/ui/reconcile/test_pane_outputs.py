"""What the Reconcile pane does with a finished run: the support pack (no key, no whole number),
the ledger report by its suffix, before and after for a re-run of the same days, Cancel while
a file is read, and a ledger database that cannot be opened said in words."""

from __future__ import annotations

import asyncio
import json
import re
import threading
import zipfile
from collections.abc import Iterator
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from PySide6.QtCore import QDate, Qt
from PySide6.QtWidgets import QFileDialog, QLineEdit

from app.domain.clock import utc_now
from app.domain.reconcile.records import LedgerEntry
from app.services import paths
from app.services.logs.buffer import log_file_path
from app.services.reconcile.bridge_log import read_bridge_log
from app.services.reconcile.ledger_store import ledger_path
from app.services.session import PbxSession
from app.ui.context import UiContext
from app.ui.reconcile import exports
from app.ui.reconcile.pane import HIDDEN_WHERE, ReconcilePane
from app.ui.reconcile.text import KEPT_FIRST, KEPT_ROLLING
from tests.support.waiting import until
from tests.support.widget_text import digit_runs
from tests.ui.reconcile.test_pane import (
    WAIT_S,
    Played,
    make_pane,
    reconciled_pane,
    run_pane,
)

if TYPE_CHECKING:
    from pytestqt.qtbot import QtBot


def numbers_of(pane: ReconcilePane) -> set[str]:
    """Every external number of the ledger, digits only (E.164 without the +)."""
    return {
        re.sub(r"\D", "", e.call.external_number)
        for e in pane.model.entries
        if e.call.external_number
    }


def whole_numbers_in(text: str, numbers: set[str]) -> list[str]:
    """Digit runs long enough to be a phone number that end like one of ``numbers``."""
    found = [n for n in numbers if n in re.sub(r"[ \-()]", "", text)]
    found += [
        run
        for run in digit_runs(text)
        if len(run) >= 7 and any(run[-7:] in number for number in numbers)
    ]
    return found


def choose(dialog: QFileDialog, target: Path) -> None:
    """Type the path into the (non-native) dialog's file name field, as a person would."""
    name = dialog.findChild(QLineEdit, "fileNameEdit")
    assert name is not None
    name.setText(str(target))
    dialog.accept()


def dialogs_of(pane: ReconcilePane) -> list[QFileDialog]:
    opened: list[QFileDialog] = []
    pane.saveDialogOpened.connect(opened.append)
    return opened


async def through_the_dialog(
    pane: ReconcilePane, qtbot: QtBot, button: Any, target: Path, opened: list[QFileDialog]
) -> Path | None:
    before = len(opened)
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)
    await until(lambda: len(opened) > before and opened[-1].isVisible(), "the save dialog")
    task = pane.export_task
    assert task is not None
    choose(opened[-1], target)
    return await asyncio.wait_for(task, WAIT_S)


def outcome(pane: ReconcilePane) -> str:
    return pane.run_actions.outcome_label.text()


def changes(pane: ReconcilePane) -> str:
    return pane.run_actions.changes_label.text()


# ---- the support pack --------------------------------------------------------------------------
async def packed(
    pane: ReconcilePane, qtbot: QtBot, played: Played, tmp_path: Path
) -> tuple[Path, dict[str, str]]:
    """Run, then write the pack through its button and the save dialog; the pack's texts."""
    actions = pane.run_actions
    assert not actions.pack_button.isEnabled(), "nothing to pack before a run"
    pane.form.set_crm_path(played.crm)
    pane.form.add_bridge_log(played.log)
    await run_pane(pane)
    assert actions.pack_button.isEnabled() and actions.report_button.isEnabled()
    a_number = next(e.call.external_number for e in pane.model.entries if e.call.external_number)
    # The app's log as a careless line could leave it: the key and a caller's number in it.
    log = log_file_path()
    log.parent.mkdir(parents=True, exist_ok=True)
    key = played.sim.client_secret
    log.write_text(f"signed in with secret={key} for a call from {a_number}\n", encoding="utf-8")
    opened = dialogs_of(pane)
    target = tmp_path / "out" / "ticket-4711"
    target.parent.mkdir()
    written = await through_the_dialog(pane, qtbot, actions.pack_button, target, opened)
    assert written == target.with_suffix(".zip")
    with zipfile.ZipFile(written) as pack:
        return written, {name: pack.read(name).decode("utf-8") for name in pack.namelist()}


async def test_the_support_pack_is_one_zip_with_no_key_in_it(
    ui: UiContext, qtbot: QtBot, played: Played, tmp_path: Path
) -> None:
    pane = await make_pane(ui, qtbot, played)
    written, texts = await packed(pane, qtbot, played, tmp_path)
    assert outcome(pane).startswith(f"Support pack written to {written}: versions, ledger, ")
    assert "No key is in it" in outcome(pane)
    assert set(texts) == {
        "versions.json",
        "ledger.json",
        "doctor.json",
        "setup-report.html",
        "app.log",
    }
    key = played.sim.client_secret
    for name, text in texts.items():
        assert key not in text, f"the key is in {name}"
    numbers = numbers_of(pane)
    for name in ("versions.json", "doctor.json", "setup-report.html", "app.log"):
        assert not whole_numbers_in(texts[name], numbers), f"a whole number is in {name}"
    ledger = json.loads(texts["ledger.json"])
    assert len(ledger["calls"]) == len(pane.model.entries)
    shown = {c["call_id"]: c["external_number"] for c in ledger["calls"]}
    assert not whole_numbers_in(" ".join(n for n in shown.values() if n), numbers)
    for entry in pane.model.entries:  # masked, not dropped: the last 3 digits stay
        if entry.call.external_number:
            assert shown[entry.call.call_id].endswith(entry.call.external_number[-3:])
    assert "secret=" in texts["app.log"] and key not in texts["app.log"]
    assert pane.run_actions.pack_button.isEnabled(), "ready for another"


async def test_no_whole_number_or_name_is_anywhere_in_the_support_pack(
    ui: UiContext, qtbot: QtBot, played: Played, tmp_path: Path
) -> None:
    pane = await make_pane(ui, qtbot, played)
    _written, texts = await packed(pane, qtbot, played, tmp_path)
    numbers = numbers_of(pane)
    names = {m.activity.contact for e in pane.model.entries for m in e.crm if m.activity.contact}
    names = {n for n in names if " " in n and not any(ch.isdigit() for ch in n)}
    assert names, "the ledger names its contacts"
    for name, text in texts.items():
        assert not whole_numbers_in(text, numbers), f"a whole number is in {name}"
        assert not [n for n in names if n in text], f"a contact's name is in {name}"


async def test_presenter_mode_hides_where_the_pack_went(
    ui: UiContext, qtbot: QtBot, played: Played, tmp_path: Path
) -> None:
    pane = await reconciled_pane(ui, qtbot, played)
    ui.presenter.set_enabled(True)
    written = await pane.write_support_pack_to(tmp_path / "harbour dental.zip")
    assert written is not None and written.is_file()
    assert str(tmp_path) not in outcome(pane) and "harbour" not in outcome(pane)
    assert HIDDEN_WHERE in outcome(pane)
    ui.presenter.set_enabled(False)
    assert str(written) in outcome(pane)


async def test_the_pack_takes_the_doctor_tabs_last_result_when_there_is_one(
    ui: UiContext, qtbot: QtBot, played: Played, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pane = await reconciled_pane(ui, qtbot, played)
    diagnosis = await exports.diagnose_for_pack(played.session)

    async def not_again(*_: object) -> None:
        raise AssertionError("the doctor ran again though the Doctor tab had its result")

    monkeypatch.setattr(exports, "diagnose_for_pack", not_again)
    pane.diagnosis_source = lambda: diagnosis
    written = await pane.write_support_pack_to(tmp_path / "pack.zip")
    assert written is not None, outcome(pane)
    with zipfile.ZipFile(written) as pack:
        doctor = json.loads(pack.read("doctor.json"))
    assert len(doctor["checks"]) == len(diagnosis.checks)


@pytest.mark.expect_log("app.ui.reconcile.pane", r"^Support pack not written: ")
async def test_a_pack_that_cannot_be_written_is_said_and_the_ledger_stays(
    ui: UiContext, qtbot: QtBot, played: Played, tmp_path: Path
) -> None:
    pane = await reconciled_pane(ui, qtbot, played)
    entries = pane.model.entries
    target = tmp_path / "no-such-folder" / "pack.zip"
    assert await pane.write_support_pack_to(target) is None
    said = outcome(pane)
    assert said.startswith("Support pack not written: ") and str(target) in said
    assert pane.run_actions.outcome_label.isVisible() and "Traceback" not in said
    assert pane.model.entries == entries and pane.run_actions.pack_button.isEnabled()
    assert not target.parent.exists()


# ---- the ledger report -------------------------------------------------------------------------
@pytest.fixture
def ledger_report() -> None:
    pytest.importorskip("app.services.reconcile.ledger_report")


async def test_the_report_follows_its_suffix_and_presenter_mode(
    ui: UiContext, qtbot: QtBot, played: Played, tmp_path: Path, ledger_report: None
) -> None:
    pane = await reconciled_pane(ui, qtbot, played)
    numbers = numbers_of(pane)
    plain = await pane.write_report_to(tmp_path / "plain.json")
    assert plain == tmp_path / "plain.json"
    assert outcome(pane) == f"Report written to {plain}."
    document = json.loads(plain.read_text(encoding="utf-8"))
    assert len(document["calls"]) == len(pane.model.entries)
    assert whole_numbers_in(plain.read_text(encoding="utf-8"), numbers), "unmasked: numbers"

    ui.presenter.set_enabled(True)
    masked = await pane.write_report_to(tmp_path / "masked.html")
    assert masked is not None
    page = masked.read_text(encoding="utf-8")
    assert page.lstrip().lower().startswith("<!doctype html")
    assert not whole_numbers_in(page, numbers)
    assert played.sim.client_secret not in page
    assert outcome(pane) == f"Report written to {HIDDEN_WHERE}. Numbers and names are masked."


async def test_the_pdf_report_through_the_dialog(
    ui: UiContext, qtbot: QtBot, played: Played, tmp_path: Path, ledger_report: None
) -> None:
    pane = await reconciled_pane(ui, qtbot, played)
    opened = dialogs_of(pane)
    button = pane.run_actions.report_button
    written = await through_the_dialog(pane, qtbot, button, tmp_path / "week", opened)
    # No suffix typed: the chosen filter's (PDF first); laid out on the GUI thread.
    assert written == tmp_path / "week.pdf"
    assert written.read_bytes()[:5] == b"%PDF-"
    assert outcome(pane) == f"Report written to {written}."
    dialog = opened[-1]
    assert dialog.testOption(QFileDialog.Option.DontUseNativeDialog)
    assert not dialog.isVisible()

    # Cancelled: nothing written, nothing said, the buttons back.
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)
    await until(lambda: opened[-1].isVisible(), "the save dialog again")
    task = pane.export_task
    assert task is not None and not button.isEnabled()
    opened[-1].reject()
    assert await asyncio.wait_for(task, WAIT_S) is None
    assert sorted(await asyncio.to_thread(lambda: [p.name for p in tmp_path.iterdir()])) == sorted(
        ["week.pdf", "crm-activities.csv", "bridge.log", "truth.json", "contacts.csv"]
    )
    assert button.isEnabled()


@pytest.mark.expect_log("app.ui.reconcile.pane", r"^Report not written: .*'\.txt'")
async def test_a_report_with_an_unknown_suffix_is_refused_in_words(
    ui: UiContext, qtbot: QtBot, played: Played, tmp_path: Path, ledger_report: None
) -> None:
    pane = await reconciled_pane(ui, qtbot, played)
    assert await pane.write_report_to(tmp_path / "ledger.txt") is None
    assert outcome(pane).startswith("Report not written: ")
    assert not (tmp_path / "ledger.txt").exists()


# ---- before and after --------------------------------------------------------------------------
def set_past_days(pane: ReconcilePane, first_days_ago: int, last_days_ago: int) -> None:
    today = utc_now().astimezone(pane.model.hours.zone).date()
    for edit, days in ((pane.form.from_date, first_days_ago), (pane.form.to_date, last_days_ago)):
        day = today - timedelta(days=days)
        edit.setDate(QDate(day.year, day.month, day.day))


def without_every_third_row(crm: Path, target: Path) -> Path:
    header, *rows = crm.read_text(encoding="utf-8").splitlines(keepends=True)
    target.write_text(header + "".join(r for i, r in enumerate(rows) if i % 3), encoding="utf-8")
    return target


def states(pane: ReconcilePane) -> dict[str, LedgerEntry]:
    return {e.call.call_id: e for e in pane.model.entries}


async def test_a_second_run_of_the_same_days_says_what_the_fix_changed(
    ui: UiContext, qtbot: QtBot, played: Played, tmp_path: Path
) -> None:
    pane = await reconciled_pane(ui, qtbot, played)
    assert changes(pane) == KEPT_ROLLING, "the untouched last 7 days move with the clock"

    set_past_days(pane, 6, 1)
    partial = without_every_third_row(played.crm, tmp_path / "partial.csv")
    pane.form.set_crm_path(partial)
    await run_pane(pane)
    assert changes(pane) == KEPT_FIRST
    before = states(pane)

    pane.form.set_crm_path(played.crm)  # the fix: the rows the CRM had lost
    await run_pane(pane)
    after = states(pane)
    assert before.keys() == after.keys() and before
    fixed = sum(1 for c in after if not before[c].state.fine and after[c].state.fine)
    still = sum(1 for c in after if not before[c].state.fine and not after[c].state.fine)
    worse = sum(1 for c in after if before[c].state.fine and not after[c].state.fine)
    assert fixed > 0
    assert changes(pane).startswith(
        f"Since the last run of this period: {fixed:,} fixed, {still:,} still to fix, "
        f"{worse:,} worse (that run: "
    )
    assert pane.comparison is not None and pane.comparison.same_period
    assert pane.run_actions.changes_label.isVisible()


async def test_the_demos_runs_are_compared_but_never_saved(
    ui: UiContext, qtbot: QtBot, played: Played
) -> None:
    demo = PbxSession(replace(played.session.profile, demo=True), played.sim.client_secret)
    try:
        pane = await make_pane(ui, qtbot, played)
        pane.set_session(demo)
        pane.form.set_crm_path(played.crm)
        set_past_days(pane, 4, 1)
        await run_pane(pane)
        await run_pane(pane)
        assert changes(pane).startswith("Since the last run of this period: 0 fixed, ")
        assert not ledger_path().exists(), "the demo's runs went into the engineer's ledger"
        scratch = pane.demo_history.path
        assert scratch is not None and scratch.is_file()
        await pane.aclose()
        assert not scratch.parent.exists(), "the scratch ledger outlived the pane"
    finally:
        await demo.aclose()


@pytest.mark.expect_log("app.ui.reconcile.pane", r"^Reconcile run not kept for before and after: ")
async def test_a_ledger_database_that_cannot_be_opened_is_said_not_fatal(
    ui: UiContext, qtbot: QtBot, played: Played
) -> None:
    paths.data_dir().parent.mkdir(parents=True, exist_ok=True)
    paths.data_dir().write_text("a file where the ledger's folder goes", encoding="utf-8")
    pane = await reconciled_pane(ui, qtbot, played)
    assert pane.result is not None and pane.model.entries, "the run still stands"
    assert changes(pane).startswith("This run was not kept, so no before and after: ")
    assert pane.form.run_button.isEnabled()


# ---- cancel ------------------------------------------------------------------------------------
@pytest.fixture
def slow_bridge_log(monkeypatch: pytest.MonkeyPatch) -> Iterator[threading.Event]:
    """The bridge log's reader blocks in its worker thread until the event is set."""
    release = threading.Event()

    def blocked(*args: Any, **kwargs: Any) -> Any:
        release.wait(WAIT_S)
        return read_bridge_log(*args, **kwargs)

    # Where the run looks it up (it imported the name).
    monkeypatch.setattr("app.services.reconcile.run.read_bridge_log", blocked)
    yield release
    release.set()


async def test_cancel_while_a_file_is_read_keeps_the_inputs_and_the_last_ledger(
    ui: UiContext, qtbot: QtBot, played: Played, slow_bridge_log: threading.Event
) -> None:
    slow_bridge_log.set()  # the first run reads at full speed
    pane = await reconciled_pane(ui, qtbot, played)
    first, entries, summary = pane.result, pane.model.entries, pane.ledger_view.summary_label.text()
    slow_bridge_log.clear()
    set_past_days(pane, 3, 1)
    task = pane.run()
    assert task is not None
    actions = pane.run_actions
    await until(
        lambda: pane.progress_label.text().startswith("Reading the bridge log"),
        lambda: f"the bridge log being read (progress: {pane.progress_label.text()!r})",
    )
    assert actions.cancel_button.isVisible() and not pane.form.run_button.isEnabled()
    assert not actions.pack_button.isEnabled() and not actions.report_button.isEnabled()
    qtbot.mouseClick(actions.cancel_button, Qt.MouseButton.LeftButton)
    with pytest.raises(asyncio.CancelledError):
        await asyncio.wait_for(task, 5)  # at once, though the worker thread still reads
    assert pane.progress_label.text() == "Cancelled. The ledger below is the last finished run."
    assert pane.result is first and pane.model.entries == entries
    assert pane.ledger_view.summary_label.text() == summary
    assert pane.form.crm_path == played.crm and pane.form.bridge_logs == (played.log,)
    assert not actions.cancel_button.isVisible() and pane.form.run_button.isEnabled()
    assert actions.pack_button.isEnabled()
    slow_bridge_log.set()  # the worker's late answer is dropped
    await asyncio.sleep(0.2)
    assert pane.result is first and not pane.running
    # And a run after it goes through.
    await run_pane(pane)
    assert pane.result is not first
