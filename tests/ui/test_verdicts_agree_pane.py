"""The Doctor tab shows the doctor's verdicts, for every simulator preset alone.

Each of the seven rows (its result word and finding) and the selected check's finding and fix
are compared with the doctor asked as the CLI asks it for the same connection, at the instant
the tab ran, so the two read the same calls. The other places are compared, for pairs of
faults too, in ``tests/test_verdicts_agree.py``.
"""

from __future__ import annotations

import asyncio
from dataclasses import replace
from pathlib import Path

import pytest

from app.domain.diagnosis import CheckStatus, Diagnosis
from app.services.doctor import Doctor
from app.services.facts.connection_options import options_for_connection
from app.sim.faults import FAULTS, PRESETS
from app.ui.context import UiContext
from app.ui.doctor.pane import DoctorPane
from tests.conftest import SimFactory
from tests.test_verdicts_agree import WORDS, Agreement, timeouts_for
from tests.ui.doctor.test_pane import opened, run_to_end

PLACE = "Doctor tab"


@pytest.mark.parametrize("preset", [*PRESETS, *FAULTS])
async def test_the_doctor_tab_shows_the_doctors_verdicts(
    ui: UiContext, make_sim: SimFactory, tmp_path: Path, preset: str
) -> None:
    sim = await make_sim(tls=True, scenarios=[preset])
    limits = timeouts_for(sim)  # short only for a PBX that hangs on purpose
    pane = DoctorPane(ui, tmp_path / "known-certificates.json", timeouts=limits)
    pane.resize(1100, 760)
    pane.show()
    try:
        async with opened(sim) as session:
            pane.set_session(session)
            shown = await run_to_end(pane)
            completed = await options_for_connection(session.profile, pane.options())
            params = replace(session.params, timeouts=limits)
            at = shown.started_at
            doctor = Doctor(params, session.secret, completed.options, clock=lambda: at)
            diagnosis = await asyncio.wait_for(doctor.run(), 30)
        agree = Agreement(preset)
        compare_rows(agree, pane, diagnosis)
        report = pane.build_report()
        assert report is not None
        for result in diagnosis.checks:
            section = report.check(result.id)
            agree.same(f"{PLACE} report", result.id, "status", result.status, section.status)
            agree.same(f"{PLACE} report", result.id, "finding", result.finding, section.finding)
        agree.check()
    finally:
        await pane.aclose()


def compare_rows(agree: Agreement, pane: DoctorPane, diagnosis: Diagnosis) -> None:
    model = pane.model
    for result in diagnosis.checks:
        check = result.id
        row = model.row_of(check)
        word = model.data(model.index(row, model.RESULT))
        agree.same(PLACE, check, "result", WORDS[result.status], word)
        finding = model.data(model.index(row, model.FINDING))
        agree.same(PLACE, check, "finding column", result.finding, finding)
        pane.select(check)
        details = pane.details
        agree.same(PLACE, check, "finding", result.finding, details.finding.text())
        has_fix = bool(result.fix) and result.status is not CheckStatus.PASS
        agree.same(PLACE, check, "a fix shown", has_fix, details.fix.isVisible())
        if has_fix:
            agree.same(PLACE, check, "fix", result.fix, details.fix.text())
