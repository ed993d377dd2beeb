"""Each field fault, injected into the simulator, leads to the right guidance on the right step."""

from __future__ import annotations

import asyncio
import csv
from pathlib import Path

import pytest
from PySide6.QtCore import Qt

from app.domain.causes.api_answers import KEY_FIX, KEY_REJECTED
from app.domain.causes.licence import QUOTA, RENEW
from app.domain.connection import ContactColumns
from app.services.contacts.crm_import import read_contacts_for
from app.ui.context import UiContext
from app.ui.setup.context import SetupTimeouts
from app.ui.setup.step import StepStatus
from tests.conftest import SimFactory
from tests.support.waiting import until
from tests.ui.setup.test_wizard_driver import (
    checklist_text,
    enter_address,
    message,
    paste_key,
    press_next,
    session_store,
    settled,
    to_verified,
    wizard_on,
)


# ---- step 5: the key and the two capabilities ---------------------------------------------------
async def test_bad_key_shows_the_401_fix_and_blocks_next(
    ui: UiContext, make_sim: SimFactory
) -> None:
    sim = await make_sim(tls=True, faults=["bad-key"])
    async with wizard_on(ui, await session_store()) as wizard:
        await to_verified(wizard, sim)
        step = wizard.verify
        assert step.checklist.results["token"].text() == "Fail"
        fix = step.checklist.fixes["token"].text()
        assert (
            "check the Client ID and the key exactly as shown" in fix
            and "Integrations > API" in fix
        )
        # The doctor's check 7 fix for the same 401, word for word.
        assert fix == KEY_FIX
        assert step.checklist.details["token"].text() == KEY_REJECTED
        assert step.status is StepStatus.FAIL
        assert not wizard.next_button.isEnabled()
        assert not step.waive_button.isVisible()  # a refused key cannot be waived
        assert "does not accept the key" in wizard.blocked_label.text()


@pytest.mark.parametrize(
    ("fault", "failing", "named"),
    [
        ("missing-recording-role", "recording_list", "Recording Manager"),
        ("missing-history-role", "call_history", "Reports User"),
    ],
)
async def test_a_missing_capability_is_named_with_its_fix(
    ui: UiContext, make_sim: SimFactory, fault: str, failing: str, named: str
) -> None:
    sim = await make_sim(tls=True, faults=[fault])
    async with wizard_on(ui, await session_store()) as wizard:
        await to_verified(wizard, sim)
        step = wizard.verify
        assert step.checklist.results["token"].text() == "Pass"
        assert step.checklist.results[failing].text() == "Fail"
        assert named in step.checklist.fixes[failing].text()
        # The doctor's check 2 verdict and fix, as the rule gives them to both.
        report = wizard.ctx.capabilities
        assert report is not None and report.verdict.finding in message(step)
        assert step.checklist.fixes[failing].text() == report.verdict.fix
        assert not wizard.next_button.isEnabled()
        assert step.waive_button.isVisible()

        # Going on anyway is possible, after the warning, and Finish repeats it.
        assert await step.waive(ask=False)
        assert wizard.next_button.isEnabled()
        await press_next(wizard, wizard.reachability)
        await settled(wizard.reachability)
        await press_next(wizard, wizard.recording_audit)
        await settled(wizard.recording_audit)
        await press_next(wizard, wizard.contacts)
        await settled(wizard.contacts)
        await press_next(wizard, wizard.finish)
        assert wizard.finish.waived_warning.isVisible()
        assert wizard.finish.save_button.text() == "Save anyway"


# ---- step 2: prerequisites ----------------------------------------------------------------------
@pytest.mark.parametrize(
    ("fault", "key", "words"),
    [
        ("licence-expired", "licence", "renew"),
        ("recording-stopped", "recording", "recording"),
    ],
)
async def test_a_missing_prerequisite_shows_on_step_2_once_the_key_works(
    ui: UiContext, make_sim: SimFactory, fault: str, key: str, words: str
) -> None:
    fixes = {"licence-expired": RENEW, "recording-stopped": QUOTA}
    sim = await make_sim(tls=True, faults=[fault])
    async with wizard_on(ui, await session_store()) as wizard:
        await to_verified(wizard, sim)
        prerequisites = wizard.prerequisites
        await until(lambda: prerequisites.status is StepStatus.FAIL, "step 2 to turn red", 20)
        await settled(prerequisites)
        assert prerequisites.checklist.results[key].text() == "Fail", message(prerequisites)
        assert words in prerequisites.checklist.fixes[key].text().lower()
        assert prerequisites.checklist.fixes[key].text() == fixes[fault]  # the doctor's words
        wizard.back()
        wizard.back()
        wizard.back()
        assert wizard.current is prerequisites
        assert key in message(prerequisites).lower() or "missing" in message(prerequisites)
        assert wizard.next_button.isEnabled(), message(prerequisites)  # informational


async def test_an_old_v18_build_fails_the_version_floor(
    ui: UiContext, make_sim: SimFactory
) -> None:
    sim = await make_sim(tls=True, faults=["old-version"])
    async with wizard_on(ui, await session_store()) as wizard:
        await enter_address(wizard, sim)
        assert wizard.ctx.generation == "v18"
        await press_next(wizard, wizard.api_user)
        await press_next(wizard, wizard.key)
        await paste_key(wizard, sim.client_id, sim.client_secret)
        await press_next(wizard, wizard.verify)
        await settled(wizard.verify)
        prerequisites = wizard.prerequisites
        await until(lambda: prerequisites.status is StepStatus.FAIL, "step 2 to turn red", 20)
        await settled(prerequisites)
        assert prerequisites.checklist.results["version"].text() == "Fail"
        fix = prerequisites.checklist.fixes["version"].text()
        assert "upgrade" in fix.lower()


async def test_a_v18_pbx_gets_v18_guided_steps_and_no_automatic_path(
    ui: UiContext, make_sim: SimFactory
) -> None:
    sim = await make_sim(tls=True, pbx_version="18.0.11.200")
    async with wizard_on(ui, await session_store()) as wizard:
        await enter_address(wizard, sim)
        await press_next(wizard, wizard.api_user)
        step = wizard.api_user
        assert not step.automatic_radio.isEnabled()
        assert "needs 3CX v20" in step.automatic_note.text()
        assert "v18 management console" in step.guided_text()
        assert "Integrations, then API" not in step.guided_text()


# ---- step 1 and 6: reachability ----------------------------------------------------------------
@pytest.mark.parametrize(("fault", "words"), [("tls-expired", "expired"), ("tls-wrong-host", "")])
async def test_a_broken_certificate_is_explained_on_step_1_and_step_6(
    ui: UiContext, make_sim: SimFactory, fault: str, words: str
) -> None:
    sim = await make_sim(tls=True, faults=[fault])
    async with wizard_on(ui, await session_store()) as wizard:
        step = wizard.address
        step.ca_row.set_path(sim.ca_file or "")
        step.address_edit.setText(sim.url)
        wizard.next_button.click()
        await settled(step)
        assert wizard.current is step  # a problem keeps the engineer on the step
        assert step.status is StepStatus.FAIL
        problem = message(step)
        assert "certificate" in problem.lower() and words in problem.lower()

    sim.faults.disable(fault)
    async with wizard_on(ui, await session_store()) as wizard:
        await to_verified(wizard, sim)
        sim.faults.enable(fault)
        await press_next(wizard, wizard.reachability)
        await settled(wizard.reachability)
        reach = wizard.reachability
        assert reach.checklist.results["tls"].text() == "Fail"
        assert "certificate" in checklist_text(reach).lower()
        assert reach.status is StepStatus.WARN
        assert wizard.next_button.isEnabled()  # informational


async def test_no_call_control_fails_the_websocket_with_its_fix(
    ui: UiContext, make_sim: SimFactory
) -> None:
    sim = await make_sim(tls=True, faults=["no-call-control"])
    async with wizard_on(ui, await session_store()) as wizard:
        await to_verified(wizard, sim)
        await press_next(wizard, wizard.reachability)
        await settled(wizard.reachability)
        reach = wizard.reachability
        assert reach.checklist.results["websocket"].text() == "Fail"
        assert "Call Control API Access" in reach.checklist.fixes["websocket"].text()
        assert reach.checklist.results["dns"].text() == "Pass"


async def test_pinning_the_certificate_goes_into_the_saved_connection(
    ui: UiContext, make_sim: SimFactory
) -> None:
    sim = await make_sim(tls=True)
    store = await session_store()
    async with wizard_on(ui, store) as wizard:
        await to_verified(wizard, sim)
        await press_next(wizard, wizard.reachability)
        await settled(wizard.reachability)
        reach = wizard.reachability
        assert reach.report is not None and reach.report.tls_fingerprint_sha256
        reach.pin_box.setChecked(True)
        assert wizard.ctx.pin_sha256 == reach.report.tls_fingerprint_sha256
        profile = wizard.finish.build_profile()
        assert profile.pin_sha256 == reach.report.tls_fingerprint_sha256


# ---- step 7 and 8 -------------------------------------------------------------------------------
async def test_extensions_that_will_not_record_are_marked(
    ui: UiContext, make_sim: SimFactory
) -> None:
    sim = await make_sim(tls=True, faults=["extension-not-recording"])
    async with wizard_on(ui, await session_store()) as wizard:
        await to_verified(wizard, sim)
        await press_next(wizard, wizard.reachability)
        await press_next(wizard, wizard.recording_audit)
        audit = wizard.recording_audit
        await settled(audit)
        off = audit.not_recording()
        assert off, message(audit)
        assert audit.status is StepStatus.WARN
        assert "will not record" in message(audit)
        model = audit.model
        marked = [
            row
            for row in range(model.rowCount())
            if model.data(model.index(row, 0), Qt.ItemDataRole.BackgroundRole) is not None
        ]
        assert len(marked) == len(off)
        assert {audit.rows[row].number for row in marked} == {r.number for r in off}


async def test_unnormalised_contacts_attach_after_normalising_and_export_the_fixes(
    ui: UiContext, make_sim: SimFactory, tmp_path: Path
) -> None:
    sim = await make_sim(tls=True, faults=["unnormalised-contacts"])
    export = tmp_path / "hubspot-contacts.csv"
    export.write_text(sim.crm_export_csv("hubspot"), encoding="utf-8")
    async with wizard_on(ui, await session_store()) as wizard:
        await to_verified(wizard, sim)
        await press_next(wizard, wizard.reachability)
        await press_next(wizard, wizard.recording_audit)
        await press_next(wizard, wizard.contacts)
        contacts = wizard.contacts
        await settled(contacts)
        contacts.csv_edit.setText(str(export))
        contacts.load_csv()
        await settled(contacts)
        assert contacts.imported is not None, message(contacts)
        assert "HubSpot" in contacts.csv_state.text()
        assert contacts.bridge_box.currentData() == "e164"  # the field docs' bridge, by default
        assert contacts.status is StepStatus.FAIL  # cause 5, as the doctor says
        assert "would have gone to a new or default contact" in message(contacts)
        outcomes = {row.outcome for row in contacts.rows}
        assert "attaches-after-normalising" in outcomes, outcomes
        shown = {contacts.model.index(row, 3).data() for row in range(contacts.model.rowCount())}
        assert "Missed: number stored locally" in shown
        assert contacts.export_button.isEnabled()

        written = await contacts.export_fixes(tmp_path / "fix.csv")
        assert written == len(contacts.fixes()) > 0
        rows = list(csv.reader((tmp_path / "fix.csv").read_text("utf-8").splitlines()))
        assert len(rows) == written + 1  # a header row, then one row per number
        assert rows[0][:3] == ["\ufeffRecord ID", "Contact", "Email"]  # what finds the records
        assert any(cell.startswith("+") for cell in rows[1])
        assert wizard.ctx.contacts_csv == str(export)


async def test_column_mapping_corrects_an_unrecognised_phone_column(
    ui: UiContext, make_sim: SimFactory, tmp_path: Path
) -> None:
    sim = await make_sim(tls=True)
    export = tmp_path / "crm.csv"
    export.write_text(
        "Full Name,Main Line,Notes\nJane Smith,0412 345 678,VIP\nBob Jones,(02) 9000 1234,\n",
        encoding="utf-8",
    )
    async with wizard_on(ui, await session_store()) as wizard:
        await to_verified(wizard, sim)
        await press_next(wizard, wizard.reachability)
        await press_next(wizard, wizard.recording_audit)
        await press_next(wizard, wizard.contacts)
        contacts = wizard.contacts
        await settled(contacts)
        contacts.csv_edit.setText(str(export))
        contacts.load_csv()
        await settled(contacts)
        assert contacts.imported is None
        assert contacts.mapping_box.isVisible()
        assert "phone" in message(contacts)
        editor = contacts.mapping_editor
        assert not contacts.apply_mapping_button.isEnabled()
        editor.select(editor.first_name, "Full Name")
        editor.select(editor.phones[0], "Main Line")
        assert contacts.apply_mapping_button.isEnabled()
        contacts.apply_mapping_button.click()
        await settled(contacts)
        assert contacts.imported is not None
        assert {c.name for c in contacts.imported.contacts} == {"Jane Smith", "Bob Jones"}
        assert len(contacts.fixes()) == 2  # both stored in a local format
        # The mapping is kept for the connection, so the feed and doctor read the file alike.
        columns = wizard.ctx.contacts_columns
        assert columns == ContactColumns(phone=("Main Line",), name=("Full Name",))
        assert len(read_contacts_for(export, columns).contacts) == 2


# ---- a PBX that hangs ---------------------------------------------------------------------------
async def test_a_hanging_pbx_times_out_clearly_and_the_window_stays_responsive(
    ui: UiContext, make_sim: SimFactory
) -> None:
    sim = await make_sim(faults=["hang"])
    quick = SetupTimeouts(detect_s=1.0)
    async with wizard_on(ui, await session_store(), timeouts=quick) as wizard:
        step = wizard.address
        step.address_edit.setText(sim.url)
        step.check_button.click()
        assert step.busy and step.stop_button.isVisible()
        assert not wizard.next_button.isEnabled()
        # The loop keeps turning while the PBX says nothing: a timer fires, Cancel works.
        ticks: list[int] = []
        asyncio.get_running_loop().call_later(0.05, ticks.append, 1)
        await until(lambda: bool(ticks), "a timer during the check", 2)
        assert step.busy
        step.stop_button.click()
        await settled(step, 5)
        assert "stopped" in message(step)

        step.check_button.click()
        await settled(step, 20)
        assert "did not answer in time" in message(step)
        assert step.status is StepStatus.FAIL and wizard.current is step


async def test_a_hanging_https_pbx_is_reported_as_a_timeout(
    ui: UiContext, make_sim: SimFactory
) -> None:
    sim = await make_sim(tls=True, faults=["hang"])
    async with wizard_on(ui, await session_store(), timeouts=SetupTimeouts(detect_s=1.0)) as w:
        w.address.ca_row.set_path(sim.ca_file or "")
        w.address.address_edit.setText(sim.url)
        w.address.check_button.click()
        await settled(w.address, 20)
        assert "did not answer in time" in message(w.address)
