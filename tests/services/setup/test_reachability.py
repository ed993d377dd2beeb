"""Step 6: reachability from this machine, each field fault leading to its own guidance.

The step gathers the doctor's cause 7 facts and asks its rule, so each fault must read as the
doctor reads it: the same verdict and the same fix.
"""

from __future__ import annotations

import hashlib
from dataclasses import replace

import pytest

from app.domain.addresses import AddressError
from app.domain.causes.api_answers import KEY_FIX, KEY_REJECTED
from app.domain.causes.reachability import PLAIN_HTTP, PLAIN_HTTP_FIX, RENEW_CERTIFICATE
from app.domain.diagnosis import CheckId, CheckResult, CheckStatus
from app.services.doctor import Doctor
from app.services.setup.reachability import ReachabilityReport, check_reachability
from app.sim import Simulator
from app.threecx.connect import ConnectionParams
from app.threecx.tls import TlsOptions, fetch_peer_certificate
from app.threecx.transport import Timeouts
from tests.conftest import SimFactory

NAMES = ["dns", "tcp", "tls", "latency", "websocket"]


def params(sim: Simulator, **overrides: object) -> ConnectionParams:
    base = ConnectionParams(
        url=sim.url, client_id=sim.client_id, tls=TlsOptions(ca_file=sim.ca_file)
    )
    return replace(base, **overrides)  # type: ignore[arg-type]


async def doctor_says(sim: Simulator, timeout_s: float = 10.0) -> CheckResult:
    quick = Timeouts(connect=timeout_s, read=timeout_s, total=timeout_s * 2)
    diagnosis = await Doctor(params(sim, timeouts=quick), sim.client_secret).run()
    return diagnosis.result(CheckId.REACHABILITY)


def step(report: ReachabilityReport, name: str):
    return next(s for s in report.steps if s.name == name)


async def served_fingerprint(sim: Simulator) -> str:
    host, port = sim.url.removeprefix("https://").rsplit(":", 1)
    return hashlib.sha256(await fetch_peer_certificate(host, int(port), 3)).hexdigest()


async def test_healthy_pbx_passes_every_step_and_shows_the_chain(make_sim: SimFactory) -> None:
    sim = await make_sim(tls=True)
    report = await check_reachability(params(sim), sim.client_secret, timeout_s=10)
    assert [s.name for s in report.steps] == NAMES
    assert all(s.ok for s in report.steps), report.steps
    assert report.ok
    assert report.tls_issuer is not None and "PBX Companion Simulator CA" in report.tls_issuer
    assert report.tls_expires is not None
    assert report.tls_fingerprint_sha256 == await served_fingerprint(sim)
    assert report.latency_ms is not None and report.latency_ms >= 0
    assert "HTTP 401" in step(report, "latency").detail
    assert "/callcontrol/ws" in step(report, "websocket").detail


async def test_without_a_key_the_websocket_waits(make_sim: SimFactory) -> None:
    sim = await make_sim(tls=True)
    report = await check_reachability(params(sim), None, timeout_s=10)
    ws = step(report, "websocket")
    assert ws.ok is None and "once the API key" in ws.detail


async def test_pinning_the_shown_fingerprint_passes_and_a_wrong_pin_fails(
    make_sim: SimFactory,
) -> None:
    sim = await make_sim(tls=True)
    first = await check_reachability(params(sim), None, timeout_s=10)
    assert first.tls_fingerprint_sha256 is not None
    # Pinned: the CA file is no longer needed, the pin is the trust.
    pinned = await check_reachability(
        params(sim, tls=TlsOptions(pin_sha256=first.tls_fingerprint_sha256)),
        sim.client_secret,
        timeout_s=10,
    )
    assert all(s.ok for s in pinned.steps), pinned.steps
    wrong = await check_reachability(
        params(sim, tls=TlsOptions(pin_sha256="00" * 32)), sim.client_secret, timeout_s=10
    )
    tls = step(wrong, "tls")
    assert tls.ok is False
    assert tls.fix is not None and "re-pin" in tls.fix
    assert step(wrong, "websocket").ok is None


async def test_untrusted_certificate_offers_the_pin(make_sim: SimFactory) -> None:
    sim = await make_sim(tls=True)
    report = await check_reachability(params(sim, tls=TlsOptions()), None, timeout_s=10)
    tls = step(report, "tls")
    assert tls.ok is False
    assert tls.fix is not None and "pin this certificate" in tls.fix
    assert report.tls_fingerprint_sha256 == await served_fingerprint(sim)


async def test_expired_certificate(make_sim: SimFactory) -> None:
    sim = await make_sim(tls=True, faults=["tls-expired"])
    report = await check_reachability(params(sim), sim.client_secret, timeout_s=10)
    tls = step(report, "tls")
    assert tls.ok is False
    assert tls.fix is not None and "has expired: renew it" in tls.fix
    doctor = await doctor_says(sim)
    assert doctor.status is CheckStatus.FAIL and doctor.fix == tls.fix
    assert (report.verdict.status, report.verdict.finding) == (doctor.status, doctor.finding)
    assert [step(report, n).ok for n in ("latency", "websocket")] == [None, None]
    assert "TLS step failed" in step(report, "websocket").detail
    assert report.tls_expires is not None  # shown even though it was refused


async def test_certificate_for_another_name(make_sim: SimFactory) -> None:
    sim = await make_sim(tls=True, faults=["tls-wrong-host"])
    report = await check_reachability(params(sim), sim.client_secret, timeout_s=10)
    tls = step(report, "tls")
    assert tls.ok is False
    assert tls.fix is not None and "use the PBX's FQDN exactly as on its certificate" in tls.fix
    doctor = await doctor_says(sim)
    assert doctor.status is CheckStatus.FAIL and doctor.fix == tls.fix
    assert "pbx.wrong-host.example" in doctor.finding and "pbx.wrong-host.example" in tls.detail


async def test_certificate_about_to_expire_passes_with_a_warning(make_sim: SimFactory) -> None:
    sim = await make_sim(tls=True, faults=["tls-expiring=3"])
    report = await check_reachability(params(sim), None, timeout_s=10)
    tls = step(report, "tls")
    assert tls.ok is True and tls.status is CheckStatus.WARN
    assert tls.fix == RENEW_CERTIFICATE and "Renew the PBX certificate now" in tls.fix
    doctor = await doctor_says(sim)
    assert doctor.status is CheckStatus.WARN and doctor.fix == tls.fix
    assert doctor.finding in tls.detail  # "The TLS certificate expires in 3 days (...)."


async def test_refused_port() -> None:
    report = await check_reachability(
        ConnectionParams(url="https://127.0.0.1:9", client_id="900"), "key", timeout_s=2
    )
    tcp = step(report, "tcp")
    assert step(report, "dns").ok is True
    assert tcp.ok is False
    assert tcp.fix is not None and "443 for 3CX-hosted, usually 5001 self-managed" in tcp.fix
    assert "whitelist" in tcp.fix
    assert [step(report, n).ok for n in ("tls", "latency", "websocket")] == [None] * 3


async def test_unknown_host_fails_at_dns() -> None:
    report = await check_reachability(
        ConnectionParams(url="https://pbx.invalid", client_id="900"), None, timeout_s=2
    )
    dns = step(report, "dns")
    assert dns.ok is False
    assert dns.fix is not None and "does not resolve" in dns.fix


async def test_hanging_pbx_fails_at_the_api_answer(make_sim: SimFactory) -> None:
    sim = await make_sim(faults=["hang"])
    report = await check_reachability(params(sim), sim.client_secret, timeout_s=0.5)
    latency = step(report, "latency")
    assert latency.ok is False
    assert "sent no HTTP answer" in latency.detail
    assert step(report, "websocket").ok is None
    doctor = await doctor_says(sim, timeout_s=0.5)
    assert doctor.status is CheckStatus.FAIL and doctor.fix == latency.fix
    assert "whitelist" in doctor.fix


async def test_plain_http_is_flagged_as_the_doctor_warns(make_sim: SimFactory) -> None:
    """The step failed plain HTTP where the doctor warned: a warning in both now."""
    sim = await make_sim()
    report = await check_reachability(params(sim), sim.client_secret, timeout_s=10)
    tls = step(report, "tls")
    assert tls.status is CheckStatus.WARN
    assert (tls.detail, tls.fix) == (PLAIN_HTTP, PLAIN_HTTP_FIX) and "https" in tls.fix
    assert step(report, "websocket").ok is True  # the rest still ran
    doctor = await doctor_says(sim)
    assert (doctor.status, doctor.finding, doctor.fix) == (CheckStatus.WARN, tls.detail, tls.fix)


@pytest.mark.parametrize(
    ("faults", "words", "fix"),
    [
        (["bad-key"], KEY_REJECTED, KEY_FIX),
        (["no-call-control"], "Call Control is not enabled", "Tick Call Control API Access"),
        (["monitored=none"], "monitors no extensions", "select the Extensions to Monitor"),
    ],
    ids=["bad-key", "no-call-control", "monitored-none"],
)
async def test_websocket_faults(
    make_sim: SimFactory, faults: list[str], words: str, fix: str
) -> None:
    sim = await make_sim(tls=True, faults=faults)
    report = await check_reachability(params(sim), sim.client_secret, timeout_s=10)
    ws = step(report, "websocket")
    assert ws.ok is False
    assert words in ws.detail
    assert ws.fix is not None and fix in ws.fix
    assert not report.ok
    assert all(step(report, n).ok for n in ("dns", "tcp", "tls", "latency"))


async def test_websocket_is_only_listed_for_v20_monitored_extensions(make_sim: SimFactory) -> None:
    sim = await make_sim(tls=True, faults=["monitored=101,102"])
    report = await check_reachability(params(sim), sim.client_secret, timeout_s=10)
    ws = step(report, "websocket")
    assert ws.ok is True and "2 DNs (101, 102)" in ws.detail


async def test_v18_has_no_websocket(make_sim: SimFactory) -> None:
    sim = await make_sim(tls=True, pbx_version="18.0.11.200")
    report = await check_reachability(params(sim), sim.client_secret, timeout_s=10)
    ws = step(report, "websocket")
    assert ws.ok is None and "polls the call log" in ws.detail
    assert report.ok


async def test_unusable_address_raises() -> None:
    with pytest.raises(AddressError):
        await check_reachability(ConnectionParams(url="", client_id="900"), None)


async def test_a_refused_key_is_the_doctors_401(make_sim: SimFactory) -> None:
    """The websocket step gave its own 401 words; the doctor's verdict and fix now."""
    sim = await make_sim(tls=True, faults=["bad-key"])
    report = await check_reachability(params(sim), sim.client_secret, timeout_s=10)
    doctor = await doctor_says(sim)
    assert doctor.status is CheckStatus.FAIL
    assert (doctor.finding, doctor.fix) == (KEY_REJECTED, KEY_FIX)
    assert (report.verdict.status, report.verdict.finding, report.verdict.fix) == (
        doctor.status,
        doctor.finding,
        doctor.fix,
    )
    assert step(report, "websocket").fix == doctor.fix
