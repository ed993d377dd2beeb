"""The doctor on the customer's clock: any weekday, any laptop zone, the PBX's own hours."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import pytest

from app.domain.business_hours import BusinessHours, HoursSource
from app.domain.clock import RunningClock
from app.domain.diagnosis import CheckId, CheckStatus, Diagnosis
from app.services.doctor import Doctor
from app.services.doctor.text import render_text
from app.services.facts.options import DoctorOptions
from app.sim import SimConfig, Simulator
from app.threecx.transport import Timeouts
from tests.threecx.conftest import params_for

QUICK = Timeouts(connect=2.0, read=5.0, total=10.0)
AUCKLAND = "Pacific/Auckland"
# Monday 23 Nov 2026 07:00 NZDT: nothing since Friday evening. Wednesday 25 Nov 11:00 NZDT.
MONDAY_0700 = datetime(2026, 11, 22, 18, 0, tzinfo=UTC)
WEDNESDAY_1100 = datetime(2026, 11, 24, 22, 0, tzinfo=UTC)
# Monday 4 Jan 2027 07:00 NZDT: the first morning after the Christmas and New Year holidays.
BACK_FROM_HOLIDAYS = datetime(2027, 1, 3, 18, 0, tzinfo=UTC)


async def diagnose_at(
    instant: datetime, faults: list[str], *, zone: str = AUCKLAND, **options: object
) -> Diagnosis:
    """Start a PBX in ``zone`` whose clock reads ``instant``, and ask the doctor at that time."""
    clock = RunningClock(instant, anchor=time.time())
    sim = Simulator(
        SimConfig(tls=True, faults=faults, calls_per_minute=0, time_zone=zone), clock=clock
    )
    await sim.start()
    try:
        params = params_for(sim, timeouts=QUICK)
        doctor = Doctor(params, sim.client_secret, DoctorOptions(**options), clock=clock)  # type: ignore[arg-type]
        return await doctor.run()
    finally:
        await sim.stop()


def verdicts(diagnosis: Diagnosis) -> dict[CheckId, CheckStatus]:
    return {result.id: result.status for result in diagnosis.checks}


@pytest.mark.parametrize(
    "faults", [[], ["extension-not-recording"], ["unnormalised-contacts"]], ids=str
)
async def test_monday_morning_gives_wednesdays_verdicts(faults: list[str]) -> None:
    monday = await diagnose_at(MONDAY_0700, faults)
    wednesday = await diagnose_at(WEDNESDAY_1100, faults)

    assert verdicts(monday) == verdicts(wednesday)
    assert monday.first_failure == wednesday.first_failure
    # Not blind: the recent-calls checks judged real calls on Monday too.
    matched = monday.result(CheckId.CONTACT_MATCH)
    assert not any("No external calls" in line for line in matched.evidence), matched.evidence


async def test_the_window_used_is_named_on_the_customers_clock() -> None:
    diagnosis = await diagnose_at(MONDAY_0700, ["unnormalised-contacts"])

    evidence = diagnosis.result(CheckId.CONTACT_MATCH).evidence
    window = next(line for line in evidence if line.startswith("Recent calls:"))
    assert "last 7 days" in window
    assert "Mon 16 Nov 07:00 NZDT – Mon 23 Nov 07:00 NZDT (Pacific/Auckland)" in window


async def test_back_from_the_holidays_the_verdicts_hold() -> None:
    back = await diagnose_at(BACK_FROM_HOLIDAYS, ["extension-not-recording"])
    usual = await diagnose_at(WEDNESDAY_1100, ["extension-not-recording"])

    assert verdicts(back) == verdicts(usual)
    assert back.first_failure is CheckId.EXTENSION_RECORDING


async def test_doctor_json_names_the_pbx_zone_and_the_hours_it_used() -> None:
    diagnosis = await diagnose_at(WEDNESDAY_1100, [])

    pbx = diagnosis.as_json()["pbx"]
    assert pbx["time_zone"] == AUCKLAND
    assert pbx["business_hours"] == "Mon–Fri 08:30–17:30, break 12:30–13:00, 3 holidays"
    assert pbx["hours_source"] == str(HoursSource.PBX)
    assert Diagnosis.from_json(diagnosis.as_json()).pbx.time_zone == AUCKLAND


async def test_hours_the_engineer_set_win_over_the_pbxs() -> None:
    mine = BusinessHours(timezone="Asia/Kolkata", source=HoursSource.ENGINEER)
    diagnosis = await diagnose_at(WEDNESDAY_1100, [], business_hours=mine)

    assert diagnosis.pbx.time_zone == "Asia/Kolkata"
    assert diagnosis.pbx.hours_source == str(HoursSource.ENGINEER)


async def test_a_silent_default_does_not_beat_the_pbx() -> None:
    assumed = BusinessHours(timezone="Australia/Sydney")  # saved without being asked
    diagnosis = await diagnose_at(WEDNESDAY_1100, [], business_hours=assumed)

    assert diagnosis.pbx.time_zone == AUCKLAND


async def test_the_text_report_names_the_customers_clock() -> None:
    diagnosis = await diagnose_at(MONDAY_0700, [])

    text = render_text(diagnosis)
    assert "Customer's clock: Pacific/Auckland, Mon 23 Nov 2026 07:00 NZDT" in text
    assert "office hours Mon–Fri 08:30–17:30, break 12:30–13:00, 3 holidays" in text
    assert "(read from the PBX)" in text
