"""The doctor against the simulator: every field fault, injected, is named and explained."""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
import socket
from typing import Any

import pytest

from app.domain.causes.retention import RetentionDetails, retention_fix
from app.domain.diagnosis import CHECK_ORDER, CheckId, CheckStatus, Diagnosis
from app.services.doctor import Doctor
from app.services.doctor.text import render_text
from app.services.facts.options import DoctorOptions
from app.services.known_certificates import KnownCertificates
from app.sim import Simulator
from app.sim.faults import FAULTS, PRESETS
from app.threecx.connect import ConnectionParams
from app.threecx.tls import TlsOptions, certificate_fingerprint, fetch_peer_certificate
from tests.conftest import SimFactory
from tests.support.timeouts import QUICK, ROOMY, timeouts_for
from tests.threecx.conftest import params_for

# What each simulator preset, alone, must be diagnosed as (None: nothing fails).
EXPECTED_FIRST_FAILURE: dict[str, CheckId | None] = {
    "healthy": None,
    "au": None,
    "us": None,
    "gb": None,
    "demo-broken-roles": CheckId.API_ROLES,
    "licence-expired": CheckId.LICENCE,
    # An unreadable licence is not a failed one: "could not be read" (a warning), never PASS.
    "licence-unreadable": None,
    "old-version": CheckId.LICENCE,
    "missing-recording-role": CheckId.API_ROLES,
    "missing-history-role": CheckId.API_ROLES,
    "extension-not-recording": CheckId.EXTENSION_RECORDING,
    # Needs a watched call; without one the check is skipped (tested on its own below).
    "late-recording": None,
    "unnormalised-contacts": CheckId.CONTACT_MATCH,
    "retention-deleted": CheckId.RETENTION,
    "bad-key": CheckId.REACHABILITY,
    "over-privileged": None,
    "no-call-control": None,
    "recording-stopped": CheckId.LICENCE,
    "flaky-5xx": None,
    "garbage-body": CheckId.REACHABILITY,
    "drop-connection": CheckId.REACHABILITY,
    "ws-drop": None,
    "ws-skip-sequence": None,
    "hang": CheckId.REACHABILITY,
    "tls-expired": CheckId.REACHABILITY,
    "tls-wrong-host": CheckId.REACHABILITY,
    "tls-expiring": None,
    "tls-renewed": None,
}
# The warning a fault that fails nothing must still raise.
EXPECTED_WARNING: dict[str, CheckId] = {
    "licence-unreadable": CheckId.LICENCE,
    "over-privileged": CheckId.API_ROLES,
    "tls-expiring": CheckId.REACHABILITY,
}


async def diagnose(
    sim: Simulator, options: DoctorOptions | None = None, **overrides: Any
) -> Diagnosis:
    overrides.setdefault("timeouts", timeouts_for(sim))
    params = params_for(sim, **overrides)
    return await Doctor(params, sim.client_secret, options).run()


def test_every_preset_has_an_expectation() -> None:
    assert set(EXPECTED_FIRST_FAILURE) == set(PRESETS) | set(FAULTS)


@pytest.mark.parametrize("preset", sorted(EXPECTED_FIRST_FAILURE))
async def test_each_preset_alone(make_sim: SimFactory, preset: str) -> None:
    sim = await make_sim(tls=True, scenarios=[preset], faults=[])
    diagnosis = await diagnose(sim)

    assert [r.id for r in diagnosis.checks] == list(CHECK_ORDER)
    expected = EXPECTED_FIRST_FAILURE[preset]
    assert diagnosis.first_failure == expected, _explain(diagnosis)
    if expected is not None:
        failing = diagnosis.result(expected)
        assert failing.evidence, "a failure carries its evidence"
        assert len(failing.fix) > 40, "a failure carries a fix an engineer can read out"
    if preset in EXPECTED_WARNING:
        assert diagnosis.result(EXPECTED_WARNING[preset]).status is CheckStatus.WARN
    if expected is CheckId.REACHABILITY:
        blocked = [r for r in diagnosis.checks if r.id is not CheckId.REACHABILITY]
        assert all(r.status is CheckStatus.SKIP for r in blocked)
        assert all("blocked by check 7" in r.finding for r in blocked)
    else:
        assert diagnosis.result(CheckId.REACHABILITY).status in (
            CheckStatus.PASS,
            CheckStatus.WARN,
        )
    assert sim.client_secret not in str(diagnosis.as_json())


def _explain(diagnosis: Diagnosis) -> str:
    return "\n".join(f"{r.id}: {r.status}: {r.finding}" for r in diagnosis.checks)


async def test_roles_finding_says_which_role_is_missing(make_sim: SimFactory) -> None:
    sim = await make_sim(tls=True, faults=["missing-recording-role"])
    result = (await diagnose(sim)).result(CheckId.API_ROLES)
    assert result.status is CheckStatus.FAIL
    assert "Role 1 of 2 is assigned, role 2 of 2 is not" in result.finding
    assert "Recording Manager" in result.fix and "Reports User" in result.fix
    assert "Integrations > API" in result.fix  # the real v20 setting path
    assert any("403" in line for line in result.evidence)


async def test_history_role_missing_is_the_other_way_round(make_sim: SimFactory) -> None:
    sim = await make_sim(tls=True, faults=["missing-history-role"])
    result = (await diagnose(sim)).result(CheckId.API_ROLES)
    assert "role 1 of 2 is not" in result.finding
    assert "Reports User" in result.finding


async def test_over_privileged_key_warns_about_blast_radius(make_sim: SimFactory) -> None:
    sim = await make_sim(tls=True, faults=["over-privileged"])
    result = (await diagnose(sim)).result(CheckId.API_ROLES)
    assert result.status is CheckStatus.WARN
    assert "over-privileged" in result.finding
    assert "leak" in result.fix


async def test_extensions_that_do_not_record_are_named(make_sim: SimFactory) -> None:
    sim = await make_sim(tls=True, faults=["extension-not-recording"])
    result = (await diagnose(sim)).result(CheckId.EXTENSION_RECORDING)
    assert result.status is CheckStatus.FAIL
    for number in sim.tenant.not_recording:
        assert number in result.finding or any(number in e for e in result.evidence)
    table = {row["number"]: row for row in result.details["extensions"]}
    lost = [n for n in sim.tenant.not_recording if table[n]["answered_external_without_recording"]]
    assert lost, "the cross-check found answered external calls without a recording"
    assert "Record calls" in result.fix


async def test_unnormalised_contacts_offer_the_bulk_fix(make_sim: SimFactory) -> None:
    sim = await make_sim(tls=True, faults=["unnormalised-contacts"])
    result = (await diagnose(sim)).result(CheckId.CONTACT_MATCH)
    assert result.status is CheckStatus.FAIL
    assert "stored in a local format" in result.finding
    assert "+61, no leading zero" in result.fix
    fixes = result.details["bulk_fixes"]
    assert fixes and all(f["e164"].startswith("+61") for f in fixes)
    assert all(not f["stored"].startswith("+") for f in fixes)


async def test_retention_names_deleted_recordings(make_sim: SimFactory) -> None:
    sim = await make_sim(tls=True, faults=["retention-deleted=30"])
    result = (await diagnose(sim)).result(CheckId.RETENTION)
    assert result.status is CheckStatus.FAIL
    assert "deleted after 30 days" in result.finding and "needs 90" in result.finding
    assert result.details["deleted_by_retention"], "the call log still points at deleted files"
    assert result.fix == retention_fix(90) and "System, Settings, Storage" in result.fix
    details = RetentionDetails.from_json(result.details)
    assert (details.auto_delete_days, details.required_days) == (30, 90)


async def test_retention_within_requirement_passes(make_sim: SimFactory) -> None:
    sim = await make_sim(tls=True, faults=["retention-deleted=120"])
    result = (await diagnose(sim)).result(CheckId.RETENTION)
    assert result.status is CheckStatus.PASS, result.finding
    assert "kept 120 days" in result.finding


async def test_two_faults_both_reported_first_in_seed_order(make_sim: SimFactory) -> None:
    sim = await make_sim(tls=True, faults=["retention-deleted=30", "missing-recording-role"])
    diagnosis = await diagnose(sim)
    assert diagnosis.first_failure is CheckId.API_ROLES
    assert diagnosis.result(CheckId.RETENTION).status is CheckStatus.FAIL


async def test_bad_key_says_rotate_and_update_bridges(make_sim: SimFactory) -> None:
    sim = await make_sim(tls=True, faults=["bad-key"])
    result = (await diagnose(sim)).result(CheckId.REACHABILITY)
    assert "401" in result.finding
    assert "Integrations > API" in result.fix and "every bridge" in result.fix


async def test_unreachable_variants_are_told_apart(make_sim: SimFactory) -> None:
    sim = await make_sim(tls=True)
    findings: dict[str, str] = {}

    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))
    port = closed.getsockname()[1]
    closed.close()
    findings["refused"] = await _reach_finding(f"https://127.0.0.1:{port}", sim)
    findings["dns"] = await _reach_finding("https://pbx.no-such-host.invalid:5001", sim)

    release = asyncio.Event()
    handlers: list[asyncio.Task[None]] = []

    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        # Accept and never answer, like a firewall that lets the SYN through and drops the rest.
        current = asyncio.current_task()
        assert current is not None
        handlers.append(current)  # type: ignore[arg-type]
        await release.wait()
        writer.close()
        await writer.wait_closed()

    server = await asyncio.start_server(silent, "127.0.0.1", 0)
    try:
        silent_port = server.sockets[0].getsockname()[1]
        findings["silent"] = await _reach_finding(f"https://127.0.0.1:{silent_port}", sim)
    finally:
        release.set()
        await asyncio.gather(*handlers, return_exceptions=True)
        server.close()
        await server.wait_closed()
    for fault in ("tls-wrong-host", "tls-expired", "bad-key"):
        faulty = await make_sim(tls=True, faults=[fault])
        findings[fault] = (await diagnose(faulty)).result(CheckId.REACHABILITY).finding

    assert "expired" in findings["tls-expired"]
    assert "pbx.wrong-host.example" in findings["tls-wrong-host"]
    assert "connection refused" in findings["refused"]
    assert "does not resolve" in findings["dns"]
    assert "did not answer in time" in findings["silent"]
    assert "401" in findings["bad-key"]
    assert len(set(findings.values())) == len(findings), findings


async def _reach_finding(url: str, sim: Simulator) -> str:
    params = ConnectionParams(
        url=url, client_id="900", tls=TlsOptions(ca_file=sim.ca_file), timeouts=QUICK
    )
    diagnosis = await Doctor(params, "not-a-real-key", DoctorOptions()).run()
    result = diagnosis.result(CheckId.REACHABILITY)
    assert result.status is CheckStatus.FAIL
    assert diagnosis.first_failure is CheckId.REACHABILITY
    return result.finding


async def test_certificate_change_since_last_check_warns(make_sim: SimFactory) -> None:
    sim = await make_sim(tls=True)
    known = KnownCertificates()
    params = params_for(sim, timeouts=ROOMY)
    first = await Doctor(params, sim.client_secret, known_certificates=known).run()
    assert "changed" not in first.result(CheckId.REACHABILITY).finding
    sim.faults.enable("tls-renewed")
    second = await Doctor(params, sim.client_secret, known_certificates=known).run()
    result = second.result(CheckId.REACHABILITY)
    assert result.status is CheckStatus.WARN
    assert "changed since the last successful check" in result.finding
    new = result.details["certificate"]["sha256"]
    assert new in result.finding


async def test_v18_is_diagnosed_and_says_what_it_cannot_tell(make_sim: SimFactory) -> None:
    sim = await make_sim(tls=True, pbx_version="18.0.11.200")
    diagnosis = await diagnose(sim, DoctorOptions(region="AU"))
    assert diagnosis.pbx.major == 18
    assert diagnosis.first_failure is None, _explain(diagnosis)
    licence = diagnosis.result(CheckId.LICENCE)
    assert licence.status is CheckStatus.PASS and "v20 adds" in licence.finding
    retention = diagnosis.result(CheckId.RETENTION)
    assert retention.status is CheckStatus.SKIP
    assert "does not expose its retention policy" in retention.finding
    assert "System, Settings, Storage" in retention.fix


async def test_sequential_run_gives_the_same_answers(make_sim: SimFactory) -> None:
    sim = await make_sim(tls=True, faults=["missing-recording-role"])
    together = await diagnose(sim)
    apart = await diagnose(sim, DoctorOptions(concurrent=False))
    assert [(r.id, r.status) for r in together.checks] == [(r.id, r.status) for r in apart.checks]


async def test_progress_reports_every_check_once(make_sim: SimFactory) -> None:
    sim = await make_sim(tls=True)
    seen: list[CheckId] = []
    params = params_for(sim, timeouts=ROOMY)
    await Doctor(params, sim.client_secret, on_result=lambda r: seen.append(r.id)).run()
    assert seen[0] is CheckId.REACHABILITY  # probed first: it gates the others
    assert sorted(seen) == sorted(CHECK_ORDER)


async def test_pinned_certificate_is_accepted_and_a_wrong_pin_refused(
    make_sim: SimFactory,
) -> None:
    sim = await make_sim(tls=True)
    host, port = sim.url.removeprefix("https://").rsplit(":", 1)
    presented = certificate_fingerprint(await fetch_peer_certificate(host, int(port), 2.0))
    pinned = await diagnose(sim, tls=TlsOptions(pin_sha256=presented))
    assert pinned.result(CheckId.REACHABILITY).status is CheckStatus.PASS
    wrong = await diagnose(sim, tls=TlsOptions(pin_sha256="ab" * 32))
    result = wrong.result(CheckId.REACHABILITY)
    assert result.status is CheckStatus.FAIL
    assert presented in result.finding  # shows the certificate now presented
    assert "re-pin" in result.fix


async def test_secret_never_logged(make_sim: SimFactory, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    for faults in ([], ["bad-key"], ["missing-recording-role"]):
        sim = await make_sim(tls=True, faults=faults)
        diagnosis = await diagnose(sim)
        assert sim.client_secret not in json.dumps(diagnosis.as_json())
        assert sim.client_secret not in caplog.text


def test_call_log_windows_cover_any_retention_requirement() -> None:
    from app.services.facts.gatherer import window_edge

    edges = [window_edge(i) for i in range(12)]
    assert edges[:5] == [1, 7, 30, 60, 90]
    assert edges == sorted(edges) and edges[11] == 90 + 7 * 90
    assert all(b - a <= 90 for a, b in itertools.pairwise(edges))


async def test_http_to_the_https_port_is_named_not_blamed_on_the_network(
    make_sim: SimFactory,
) -> None:
    """http:// to the port that speaks HTTPS: the finding names the scheme and the fix gives
    the address to use, in the result and in the text the engineer reads."""
    sim = await make_sim(tls=True)
    wrong = sim.url.replace("https://", "http://")
    right = sim.url
    diagnosis = await Doctor(params_for(sim, url=wrong), sim.client_secret).run()

    result = diagnosis.result(CheckId.REACHABILITY)
    assert result.status is CheckStatus.FAIL
    assert result.finding.startswith("The address says http:// but port")
    assert f"use {right}" in result.finding
    assert result.fix == f"Change the PBX address to {right} and run again."
    shown = render_text(diagnosis)
    assert f"use {right}" in shown and "check proxy" not in shown.lower()
