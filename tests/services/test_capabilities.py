"""verify_capabilities: the key and both capabilities, proven against the simulator over TLS.

The step asks the doctor's rules (causes 2 and 7), so for each fault its ticks and verdict must
carry the doctor's verdict and fix, word for word.
"""

from __future__ import annotations

import socket

import pytest

from app.domain.causes.api_answers import KEY_FIX, KEY_REJECTED, RECORDINGS, roles_fix
from app.domain.causes.roles import NO_RECORDING_YET
from app.domain.diagnosis import CheckId, CheckResult, CheckStatus
from app.services.doctor import Doctor
from app.services.setup.capabilities import (
    CALL_HISTORY,
    RECORDING_DOWNLOAD,
    RECORDING_LIST,
    TOKEN,
    CapabilityReport,
    verify_capabilities,
)
from app.sim import Simulator
from app.threecx.connect import ConnectionParams
from app.threecx.tls import TlsOptions
from tests.conftest import SimFactory
from tests.threecx.conftest import params_for

KEYS = [TOKEN, CALL_HISTORY, RECORDING_LIST, RECORDING_DOWNLOAD]


def params(sim: Simulator, **changes: object) -> ConnectionParams:
    fields: dict[str, object] = {
        "url": sim.url,
        "client_id": sim.client_id,
        "tls": TlsOptions(ca_file=sim.ca_file),
    }
    fields.update(changes)
    return ConnectionParams(**fields)  # type: ignore[arg-type]


def ticks(report: CapabilityReport) -> dict[str, bool | None]:
    return {check.key: check.ok for check in report.checks}


async def doctor_says(sim: Simulator, check: CheckId) -> CheckResult:
    diagnosis = await Doctor(params_for(sim), sim.client_secret).run()
    return diagnosis.result(check)


def assert_no_secret(report: CapabilityReport, *secrets: str) -> None:
    text = repr(report)
    for secret in secrets:
        assert secret not in text


async def test_a_good_key_proves_both_capabilities(make_sim: SimFactory) -> None:
    sim = await make_sim(tls=True)
    report = await verify_capabilities(params(sim), sim.client_secret)
    assert [c.key for c in report.checks] == KEYS
    assert ticks(report) == dict.fromkeys(KEYS, True)
    assert report.key_accepted and report.both_capabilities
    assert report.first_problem is None
    assert (report.generation, report.version) == ("v20", "20.0.10.1116")
    assert not report.over_privileged
    assert all(c.fix is None for c in report.checks)
    assert report.check(RECORDING_DOWNLOAD).detail.startswith("Recording download: ok (")
    assert report.check(CALL_HISTORY).label == "Call history (Reports User)"
    assert_no_secret(report, sim.client_secret)


@pytest.mark.parametrize("fault", [None, "invalid-client-400"])
async def test_a_wrong_key_names_the_key_or_client_id(
    make_sim: SimFactory, fault: str | None
) -> None:
    sim = await make_sim(tls=True, faults=[fault] if fault else [])
    wrong = "Wr0ngKeyWr0ngKeyWr0ngKey"
    report = await verify_capabilities(params(sim), wrong)
    assert ticks(report) == {TOKEN: False, **dict.fromkeys(KEYS[1:], None)}
    assert not report.key_accepted and not report.both_capabilities
    problem = report.first_problem
    assert problem is not None and problem.key == TOKEN
    assert problem.detail == KEY_REJECTED and "(401)" in problem.detail
    assert problem.fix == KEY_FIX
    assert "Admin console > Integrations > API" in problem.fix and "Client ID" in problem.fix
    assert "every bridge" in problem.fix
    assert all(c.detail.startswith("Not tried") for c in report.checks[1:])
    assert_no_secret(report, wrong, sim.client_secret)


async def test_missing_recording_manager_fails_the_recording_ticks(make_sim: SimFactory) -> None:
    sim = await make_sim(tls=True, faults=["missing-recording-role"])
    report = await verify_capabilities(params(sim), sim.client_secret)
    assert ticks(report) == {
        TOKEN: True,
        CALL_HISTORY: True,
        RECORDING_LIST: False,
        RECORDING_DOWNLOAD: None,
    }
    assert report.key_accepted and not report.both_capabilities
    problem = report.first_problem
    assert problem is not None and problem.key == RECORDING_LIST
    assert problem.detail == "Recordings list: 403 forbidden"
    assert problem.fix == roles_fix(True, [RECORDINGS])
    assert "Assign the missing role (Recording Manager, for recording fetch)" in problem.fix
    # The real 3CX settings, not only the field docs' role names (API-NOTES §3).
    assert "Admin console > Integrations > API" in problem.fix
    assert "System Owner" in problem.fix
    assert report.check(RECORDING_DOWNLOAD).detail.startswith("Not tried")


async def test_missing_reports_user_fails_the_history_tick(make_sim: SimFactory) -> None:
    sim = await make_sim(tls=True, faults=["missing-history-role"])
    report = await verify_capabilities(params(sim), sim.client_secret)
    assert ticks(report) == {
        TOKEN: True,
        CALL_HISTORY: False,
        RECORDING_LIST: True,
        RECORDING_DOWNLOAD: True,
    }
    assert not report.both_capabilities
    problem = report.first_problem
    assert problem is not None and problem.key == CALL_HISTORY
    assert problem.fix is not None
    assert "Assign the missing role (Reports User, for call history)" in problem.fix


async def test_an_admin_key_works_but_is_flagged(make_sim: SimFactory) -> None:
    sim = await make_sim(tls=True, faults=["over-privileged"])
    report = await verify_capabilities(params(sim), sim.client_secret)
    assert report.both_capabilities
    assert report.over_privileged
    assert "Admin" in report.admin_claims


async def test_no_recording_yet_leaves_the_download_unproven(make_sim: SimFactory) -> None:
    sim = await make_sim(tls=True)
    sim.tenant.recordings.clear()  # a new install: no call has been recorded yet
    report = await verify_capabilities(params(sim), sim.client_secret)
    download = report.check(RECORDING_DOWNLOAD)
    assert (download.ok, download.fix) == (None, NO_RECORDING_YET)
    assert report.check(RECORDING_LIST).ok is True
    assert report.both_capabilities  # the list answering proves the capability
    assert report.first_problem is None


async def test_v18_is_verified_through_its_own_api(make_sim: SimFactory) -> None:
    sim = await make_sim(tls=True, pbx_version="18.0.12.920")
    report = await verify_capabilities(params(sim), sim.client_secret)
    assert report.generation == "v18"
    assert report.both_capabilities, report


async def test_unreachable_and_untrusted_pbx_never_raise(make_sim: SimFactory) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    closed = ConnectionParams(url=f"https://127.0.0.1:{port}", client_id="900")
    report = await verify_capabilities(closed, "AnyKey123456", timeout_s=2.0)
    problem = report.first_problem
    assert problem is not None and problem.key == TOKEN
    assert "could not be reached" in problem.detail
    assert problem.fix and "port" in problem.fix

    sim = await make_sim(tls=True)
    untrusted = await verify_capabilities(params(sim, tls=TlsOptions()), sim.client_secret)
    problem = untrusted.first_problem
    assert problem is not None and "certificate" in problem.detail

    bad_address = await verify_capabilities(params(sim, url="ftp://pbx.example.com"), "Key12345")
    problem = bad_address.first_problem
    assert problem is not None and problem.detail.startswith("The PBX address cannot be used")


# ---- the same verdict and fix as the doctor -----------------------------------------------------
async def test_a_refused_key_gets_the_doctors_401_fix(make_sim: SimFactory) -> None:
    """The step used to tell a 401 apart from the doctor's check 7 (another fix, other words)."""
    sim = await make_sim(tls=True, faults=["bad-key"])
    token = (await verify_capabilities(params(sim), sim.client_secret)).check(TOKEN)
    doctor = await doctor_says(sim, CheckId.REACHABILITY)
    assert doctor.status is CheckStatus.FAIL and token.ok is False
    assert (token.detail, token.fix) == (doctor.finding, doctor.fix) == (KEY_REJECTED, KEY_FIX)


@pytest.mark.parametrize(
    ("fault", "failing"),
    [("missing-recording-role", RECORDING_LIST), ("missing-history-role", CALL_HISTORY)],
)
async def test_a_missing_role_reads_as_the_doctors_check_2(
    make_sim: SimFactory, fault: str, failing: str
) -> None:
    sim = await make_sim(tls=True, faults=[fault])
    report = await verify_capabilities(params(sim), sim.client_secret)
    doctor = await doctor_says(sim, CheckId.API_ROLES)
    assert doctor.status is CheckStatus.FAIL
    assert report.verdict.status is doctor.status
    assert report.verdict.finding == doctor.finding
    assert report.verdict.fix == doctor.fix == report.check(failing).fix


async def test_an_admin_key_gets_the_doctors_blast_radius_warning(make_sim: SimFactory) -> None:
    sim = await make_sim(tls=True, faults=["over-privileged"])
    report = await verify_capabilities(params(sim), sim.client_secret)
    doctor = await doctor_says(sim, CheckId.API_ROLES)
    assert doctor.status is CheckStatus.WARN
    assert (report.verdict.status, report.verdict.finding, report.verdict.fix) == (
        doctor.status,
        doctor.finding,
        doctor.fix,
    )
    assert "leak" in report.verdict.fix


async def test_no_recording_yet_is_the_doctors_warning_and_fix(make_sim: SimFactory) -> None:
    """The doctor said "run the doctor again", the step "verify again": one fix now."""
    sim = await make_sim(tls=True)
    sim.tenant.recordings.clear()
    report = await verify_capabilities(params(sim), sim.client_secret)
    doctor = await doctor_says(sim, CheckId.API_ROLES)
    assert doctor.status is CheckStatus.WARN and report.verdict.status is CheckStatus.WARN
    assert report.verdict.finding == doctor.finding
    assert doctor.fix == report.check(RECORDING_DOWNLOAD).fix == NO_RECORDING_YET
