"""Step 8 driven on real widgets: the customer's bridge, asked in plain words, decides the
contacts searched; the preview says what the doctor says, word for word; Finish keeps it."""

from __future__ import annotations

import csv
import json
from pathlib import Path

from app.domain.bridge import Bridge, NumberMatch
from app.domain.diagnosis import CheckId, CheckResult, CheckStatus
from app.services.contacts.crm_import import MAX_PROBLEMS_KEPT
from app.services.doctor import Doctor
from app.services.facts.options import DoctorOptions
from app.sim import Simulator
from app.ui.context import UiContext
from app.ui.setup.step import StepStatus
from app.ui.setup.steps.contacts import ContactsStep
from tests.conftest import SimFactory
from tests.support.waiting import until
from tests.threecx.conftest import params_for
from tests.ui.setup.test_wizard_driver import (
    STEP_S,
    message,
    press_next,
    session_store,
    settled,
    to_verified,
    wizard_on,
)


async def doctor_says(sim: Simulator, options: DoctorOptions) -> CheckResult:
    diagnosis = await Doctor(params_for(sim), sim.client_secret, options).run()
    return diagnosis.result(CheckId.CONTACT_MATCH)


def shown(step: ContactsStep) -> str:
    """The verdict as the step shows it: the doctor's finding, then its fix."""
    return message(step)


def as_shown(result: CheckResult) -> str:
    if result.fix and result.status is not CheckStatus.PASS:
        return f"{result.finding}\n\nFix: {result.fix}"
    return result.finding


async def test_the_preview_says_what_the_doctor_says_for_the_bridge_chosen(
    ui: UiContext, make_sim: SimFactory, tmp_path: Path
) -> None:
    sim = await make_sim(
        tls=True, faults=["unnormalised-contacts", "phonebook-resolving=MatchLength:9"]
    )
    export = tmp_path / "hubspot-contacts.csv"
    export.write_text(sim.crm_export_csv("hubspot"), encoding="utf-8")
    store = await session_store()
    async with wizard_on(ui, store) as wizard:
        await to_verified(wizard, sim)
        await press_next(wizard, wizard.reachability)
        await press_next(wizard, wizard.recording_audit)
        await press_next(wizard, wizard.contacts)
        step = wizard.contacts
        await settled(step)
        box = step.bridge_box
        assert [box.itemText(i) for i in range(box.count())] == [
            match.short_words for match in NumberMatch
        ]
        assert box.currentData() == NumberMatch.E164.value
        assert step.bridge_hint.text().startswith(NumberMatch.E164.plain_words)

        step.csv_edit.setText(str(export))
        step.load_csv()
        await settled(step)
        assert step.imported is not None, shown(step)
        e164 = await doctor_says(sim, wizard.ctx.doctor_options())
        assert e164.status is CheckStatus.FAIL
        assert step.status is StepStatus.FAIL
        assert shown(step) == as_shown(e164)
        assert "would have gone to a new or default contact" in shown(step)
        assert step.export_button.isEnabled()
        assert "local format (not E.164)" in step.fixes_label.text()

        # The numbers to fix carry what the CRM finds its records by, never a row number.
        written = await step.export_fixes(tmp_path / "fix.csv")
        with (tmp_path / "fix.csv").open(encoding="utf-8-sig", newline="") as file:
            table = list(csv.reader(file))
        assert written == len(table) - 1 > 0
        assert table[0][:3] == ["Record ID", "Contact", "Email"]
        records = {c.id: c for c in step.imported.contacts}
        assert all(row[0] in records and row[2] == records[row[0]].email for row in table[1:])
        assert "matching the records by 'Record ID' and 'Email'" in shown(step)

        # The customer's bridge is 3CX's own, matching the last 9 digits: the same numbers match.
        box.setCurrentIndex(box.findData(NumberMatch.PHONEBOOK.value))
        assert wizard.ctx.bridge == Bridge.for_match(NumberMatch.PHONEBOOK)
        assert "3CX phonebook" in step.bridge_hint.text()
        assert NumberMatch.PHONEBOOK.plain_words in step.bridge_hint.text()
        await settled(step)
        own = await doctor_says(sim, wizard.ctx.doctor_options())
        assert own.status is CheckStatus.PASS
        assert step.status is StepStatus.OK
        assert shown(step) == as_shown(own)
        assert not step.export_button.isEnabled()  # nothing this bridge would miss
        assert step.summary() == own.finding

        await press_next(wizard, wizard.finish)
        wizard.finish.save_button.click()
        await settled(wizard.finish)
        assert wizard.ctx.saved, message(wizard.finish)
        profile = store.get(wizard.ctx.connection_id)
        assert profile is not None and profile.bridge == Bridge.for_match(NumberMatch.PHONEBOOK)

        # The setup report runs the doctor with the same choice: the same words again.
        finish = wizard.finish
        finish.report_button.click()
        await until(lambda: finish.report_dialog is not None, "the report preview", STEP_S)
        dialog = finish.report_dialog
        assert dialog is not None
        await dialog.prepared()
        saved = await dialog.save_to(tmp_path / "setup.json")
        assert saved is not None
        check_5 = json.loads(saved.read_text("utf-8"))["checks"][4]
        assert (check_5["status"], check_5["finding"], check_5["fix"]) == (
            own.status.value,
            own.finding,
            own.fix,
        )
        dialog.reject()
        await until(lambda: finish.report_dialog is None, "the preview to close", 5)


async def test_a_healthy_pbx_whose_phonebook_mirrors_the_crm_passes_the_preview(
    ui: UiContext, make_sim: SimFactory, tmp_path: Path
) -> None:
    sim = await make_sim(tls=True)
    export = tmp_path / "hubspot-contacts.csv"
    export.write_text(sim.crm_export_csv("hubspot"), encoding="utf-8")
    async with wizard_on(ui, await session_store()) as wizard:
        await to_verified(wizard, sim)
        await press_next(wizard, wizard.reachability)
        await press_next(wizard, wizard.recording_audit)
        await press_next(wizard, wizard.contacts)
        step = wizard.contacts
        await settled(step)
        # Before the export: the 3CX phonebook stands in for the CRM's contacts.
        assert step.status is StepStatus.OK, shown(step)
        step.csv_edit.setText(str(export))
        step.load_csv()
        await settled(step)
        doctor = await doctor_says(sim, wizard.ctx.doctor_options())
        assert doctor.status is CheckStatus.PASS
        assert step.status is StepStatus.OK
        assert shown(step) == as_shown(doctor)
        assert "share this number" not in " ".join(r.reason for r in step.rows)
        assert "attaches" in {r.outcome for r in step.rows}


async def test_the_export_is_read_streamed_and_says_how_many_rows_it_skipped(
    ui: UiContext, make_sim: SimFactory, tmp_path: Path
) -> None:
    sim = await make_sim(tls=True, faults=["unnormalised-contacts"])
    export = tmp_path / "hubspot-contacts.csv"
    broken = MAX_PROBLEMS_KEPT + 20  # more than the import describes one by one
    text = sim.crm_export_csv("hubspot").rstrip("\r\n") + "\r\n"
    export.write_text(text + "1,two fields\r\n" * broken, encoding="utf-8")
    async with wizard_on(ui, await session_store()) as wizard:
        await to_verified(wizard, sim)
        await press_next(wizard, wizard.reachability)
        await press_next(wizard, wizard.recording_audit)
        await press_next(wizard, wizard.contacts)
        step = wizard.contacts
        await settled(step)
        step.csv_edit.setText(str(export))
        step.load_csv()
        await settled(step)
        imported = step.imported
        assert imported is not None, shown(step)
        assert imported.skipped == broken
        summary = imported.problem_summary()
        assert summary is not None and summary.startswith(f"{broken} rows skipped")
        assert summary in step.csv_state.text()
        # The count the step shows is every number to fix; the export writes every one.
        assert step.index is not None
        count = len(step.fixes())
        assert count == len(step.index.bulk_fixes()) > 0
        assert step.fixes_label.text().startswith(f"{count:,} stored number")
        written = await step.export_fixes(tmp_path / "fix.csv")
        with (tmp_path / "fix.csv").open(encoding="utf-8-sig", newline="") as file:
            assert written == count == len(list(csv.reader(file))) - 1
        # Correcting the columns reads the same file again, streamed.
        step.apply_mapping_button.click()
        await settled(step)
        assert step.imported is not None and step.imported is not imported
        assert step.imported.skipped == broken
