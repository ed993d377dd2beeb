"""v18 as live v18 PBXs answer, through the doctor, the guided setup and the recording lookup.

A v18 PBX whose recording download answers on none of the paths the product knows (API-NOTES
§7: unconfirmed) is healthy as far as anyone can tell: every place says the product could not
confirm the download on this 3CX build, and none blames the PBX. Old-bodied SystemStatus
answers (no LicenseActive, a null expiry) still pass the licence check.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import jsonschema
import pytest

from app.domain.causes.api_answers import DOWNLOAD_BY_HAND, DOWNLOAD_UNCONFIRMED, Answer
from app.domain.causes.late_recording import TIME_BY_HAND
from app.domain.diagnosis import CheckId, CheckStatus, Diagnosis
from app.domain.report import Report, ReportMeta
from app.domain.wire_shapes import WireShape
from app.services.doctor import Doctor
from app.services.doctor.text import render_text
from app.services.facts.options import DoctorOptions
from app.services.recordings.lookup import RecordingLookupError, RecordingQuery, RecordingStatus
from app.services.setup.capabilities import RECORDING_DOWNLOAD, verify_capabilities
from app.sim import Simulator
from tests.conftest import SimFactory
from tests.services.doctor.test_late_recording import recording_extension, watch_one_call
from tests.services.recordings.test_lookup import (
    MOBILE,
    Lookups,
    lookup_for,  # noqa: F401  (the fixture)
    recorded_call,
)
from tests.support.timeouts import timeouts_for
from tests.threecx.conftest import params_for

V18 = "18.0.11.200"
UNCONFIRMED = ["v18-download-path=none"]
WIRES: dict[str, frozenset[str] | None] = {"clean-wire": frozenset(), "live-pbx-shapes": None}
SCHEMA = json.loads(
    (Path(__file__).parents[3] / "resources/schemas/pbx-companion-doctor-1.schema.json").read_text(
        "utf-8"
    )
)
# The product's own words for this case, and words that would blame the customer's PBX.
REPORT_META = ReportMeta(
    generated_at=datetime(2026, 11, 21, 12, 0, tzinfo=UTC),
    customer="Harbour Dental",
    connection="Main office PBX",
    engineer="Sam Engineer",
    app_version="0.1.0",
)
OUR_LIMIT = "could not confirm the recording download on this 3CX build (v18)"
NOT_THE_PBX = "not a fault of the PBX"


async def diagnose(sim: Simulator, options: DoctorOptions | None = None) -> Diagnosis:
    params = params_for(sim, timeouts=timeouts_for(sim))
    return await Doctor(params, sim.client_secret, options or DoctorOptions(region="AU")).run()


def explain(diagnosis: Diagnosis) -> str:
    return "\n".join(f"{r.id}: {r.status} {r.finding}" for r in diagnosis.checks)


def mentions_download(text: str) -> bool:
    return "download" in text.lower()


# ---- old bodies -------------------------------------------------------------------------------
@pytest.mark.parametrize("wire", WIRES)
async def test_a_healthy_v18_passes_licence_and_roles_on_both_wires(
    make_sim: SimFactory, wire: str
) -> None:
    sim = await make_sim(tls=True, pbx_version=V18, wire_quirks=WIRES[wire])
    diagnosis = await diagnose(sim)
    assert diagnosis.first_failure is None, explain(diagnosis)
    licence = diagnosis.result(CheckId.LICENCE)
    assert licence.status is CheckStatus.PASS, explain(diagnosis)
    assert licence.finding.startswith("The licence is active and the PBX is recording.")
    assert "Licence: active" in "\n".join(licence.evidence)
    roles = diagnosis.result(CheckId.API_ROLES)
    assert roles.status is CheckStatus.PASS, explain(diagnosis)
    assert roles.details["recording_download"] == "ok"
    assert (str(WireShape.FRACTIONAL_TIMES) in diagnosis.pbx.wire) is (wire != "clean-wire")


async def test_an_expired_licence_in_an_old_body_still_fails_and_says_so(
    make_sim: SimFactory,
) -> None:
    # No LicenseActive: the client cannot judge the expiry (it has no clock); the rule does.
    sim = await make_sim(tls=True, pbx_version=V18, faults=["licence-expired"])
    diagnosis = await diagnose(sim)
    licence = diagnosis.result(CheckId.LICENCE)
    assert licence.status is CheckStatus.FAIL
    assert "The 3CX licence is not active (expired" in licence.finding
    # Activated, as the body says; whether still active it did not say: the date decided.
    assert "Licence: activated (LicenseActive not sent)" in "\n".join(licence.evidence)


# ---- the download the product cannot confirm --------------------------------------------------
async def test_doctor_says_the_download_is_our_limit_in_json_and_text(
    make_sim: SimFactory,
) -> None:
    sim = await make_sim(tls=True, pbx_version=V18, faults=UNCONFIRMED)
    diagnosis = await diagnose(sim)

    roles = diagnosis.result(CheckId.API_ROLES)
    assert roles.status is CheckStatus.SKIP, explain(diagnosis)
    assert OUR_LIMIT in roles.finding and NOT_THE_PBX in roles.finding
    assert "Call history reads" in roles.finding and "recordings list answers" in roles.finding
    assert roles.fix == DOWNLOAD_BY_HAND
    assert roles.details["recording_download"] == str(Answer.UNCONFIRMED)
    download_line = next(e for e in roles.evidence if e.startswith("Recording download:"))
    assert str(Answer.UNCONFIRMED) in download_line and NOT_THE_PBX in download_line
    # Nothing is held against the customer: no failure, no warning about the download.
    assert diagnosis.first_failure is None, explain(diagnosis)
    against = [
        r
        for r in diagnosis.checks
        if r.status in (CheckStatus.WARN, CheckStatus.FAIL)
        and mentions_download(f"{r.finding} {r.fix} {' '.join(r.evidence)}")
    ]
    assert not against, explain(diagnosis)
    assert all(r.id is not CheckId.API_ROLES for r, _ in diagnosis.outstanding_actions())

    document = json.loads(json.dumps(diagnosis.as_json(), ensure_ascii=False))
    jsonschema.validate(document, SCHEMA)
    (check,) = [c for c in document["checks"] if c["id"] == "api_roles"]
    assert check["status"] == "skip" and check["finding"] == roles.finding
    assert document["first_failure"] is None
    assert str(WireShape.V18_DOWNLOAD_UNCONFIRMED) in document["pbx"]["wire"]

    text = render_text(diagnosis)
    lines = text.splitlines()
    heading = lines.index("2. [SKIP] API user holds both roles (Reports User, Recording Manager)")
    assert lines[heading + 1] == f"   {roles.finding}"
    assert f"   Fix: {DOWNLOAD_BY_HAND}" in lines
    assert str(WireShape.V18_DOWNLOAD_UNCONFIRMED) in text
    assert "No check failed." in text

    # The setup report says the same, and does not mark the capability against the PBX.
    report = Report.build(diagnosis, REPORT_META)
    fetch = next(c for c in report.capabilities if c.key == "recording_fetch")
    assert fetch.status is CheckStatus.SKIP and DOWNLOAD_UNCONFIRMED in fetch.detail


async def test_a_watched_call_is_not_timed_and_not_failed(make_sim: SimFactory) -> None:
    sim = await make_sim(tls=True, pbx_version=V18, recording_delay_s=0.3, faults=UNCONFIRMED)
    diagnosis = await watch_one_call(
        sim, window_s=2.0, call_control=False, extension=recording_extension(sim)
    )
    late = diagnosis.result(CheckId.LATE_RECORDING)
    assert late.status is CheckStatus.SKIP, late.evidence
    assert late.finding == f"Not measured: {DOWNLOAD_UNCONFIRMED}"
    assert late.fix == TIME_BY_HAND
    (journey,) = late.details["journeys"]
    assert journey["state"] == "download not confirmed"
    assert any("no known v18 download path answered" in line for line in late.evidence)
    assert not any("no recording after" in line for line in late.evidence)
    assert diagnosis.first_failure is None, explain(diagnosis)


async def test_setup_keeps_the_download_tick_grey_and_goes_on(make_sim: SimFactory) -> None:
    sim = await make_sim(tls=True, pbx_version=V18, faults=UNCONFIRMED)
    params = params_for(sim, timeouts=timeouts_for(sim))
    report = await verify_capabilities(params, sim.client_secret)
    download = report.check(RECORDING_DOWNLOAD)
    assert download.ok is None and download.fix is None
    assert str(Answer.UNCONFIRMED) in download.detail and NOT_THE_PBX in download.detail
    assert report.both_capabilities and report.first_problem is None
    assert report.verdict.status is CheckStatus.SKIP
    assert OUR_LIMIT in report.verdict.finding


async def test_lookup_says_our_limit_and_keeps_the_recording_ready(
    make_sim: SimFactory,
    lookup_for: Lookups,  # noqa: F811  (the fixture imported above)
) -> None:
    sim = await make_sim(tls=True, pbx_version=V18)
    call = await recorded_call(sim, "inbound", number=MOBILE)
    sim.faults.enable(UNCONFIRMED[0])
    lookup = await lookup_for(sim)
    # v18 rows carry no call id: the row is the one the recording was matched to.
    (row,) = [
        r
        for r in (await lookup.search(RecordingQuery(number=MOBILE))).rows
        if r.recording_id == call.recording_id
    ]
    assert row.status is RecordingStatus.READY

    checked = await lookup.verify(row)
    assert checked.status is RecordingStatus.READY  # the list said so; the download cannot tell
    assert checked.check == f"Download not confirmed: {DOWNLOAD_UNCONFIRMED}"
    with pytest.raises(RecordingLookupError) as raised:
        await lookup.fetch_to_temp(row)
    assert raised.value.what == DOWNLOAD_UNCONFIRMED
    assert raised.value.fix == DOWNLOAD_BY_HAND
