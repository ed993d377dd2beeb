"""Cause 7 from hand-built facts: the doctor's verdict and the setup's steps, from one rule."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from app.domain.causes.api_answers import (
    KEY_FIX,
    KEY_REJECTED,
    SIGN_IN_FORBIDDEN_FIX,
    SIGNED_IN,
    Answer,
    ProbeAnswer,
)
from app.domain.causes.reachability import (
    CALL_CONTROL_FIX,
    CERT_EXPIRY_WARNING_DAYS,
    CERTIFICATE_CHANGED_FIX,
    FIREWALL,
    MONITOR_FIX,
    NOT_THE_PBX_FIX,
    PIN_OFFER,
    PLAIN_HTTP,
    PLAIN_HTTP_FIX,
    RENEW_CERTIFICATE,
    SLOW_FIX,
    STEP_NAMES,
    CallControl,
    CallControlFacts,
    CertificateFacts,
    FailureKind,
    NetworkFailure,
    PreviousCertificate,
    ProbeStepFact,
    ReachabilityDetails,
    ReachabilityFacts,
    StepVerdict,
    judge_reachability,
    reachability_steps,
)
from app.domain.causes.recording import ROUTE_POINT, VisibleDn
from app.domain.diagnosis import CheckId, CheckStatus

NOW = datetime(2026, 11, 18, 0, 30, tzinfo=UTC)
CERT = CertificateFacts(
    subject="CN=pbx.example.com",
    issuer="CN=Example CA",
    not_after=NOW + timedelta(days=200),
    sha256="ab" * 32,
    names=("pbx.example.com",),
)
STEPS = (
    ProbeStepFact("dns", True, 1.0, "pbx.example.com → 203.0.113.5"),
    ProbeStepFact("tcp", True, 12.0, "connected to 203.0.113.5:5001 in 12 ms"),
    ProbeStepFact("tls", True, 20.0, "TLSv1.3, issued by CN=Example CA"),
    ProbeStepFact("http", True, 30.0, "HTTP 401 from /xapi/v1/Defs (an API that wants a token)"),
)
EXTENSIONS = tuple(VisibleDn(str(n), "Wextension") for n in range(101, 109))


def facts(**changes: object) -> ReachabilityFacts:
    base = ReachabilityFacts(
        tls_now=NOW,
        host="pbx.example.com",
        port=5001,
        steps=STEPS,
        certificate=CERT,
        tls_version="TLSv1.3",
        http_status=401,
        latency_ms=12.0,
        sign_in=SIGNED_IN,
        generation="v20",
        version="20.0.10.1116",
        token_lifetime_s=3600,
        call_control=CallControlFacts(CallControl.OPENED, visible=EXTENSIONS),
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def failed_at(step: str, failure: NetworkFailure, **changes: object) -> ReachabilityFacts:
    names = [s.step for s in STEPS]
    kept = STEPS[: names.index(step)]
    broken = ProbeStepFact(step, False, 5.0, failure.detail)
    return facts(
        steps=(*kept, broken), failure=failure, sign_in=ProbeAnswer(Answer.NOT_TRIED), **changes
    )


def steps(f: ReachabilityFacts) -> dict[str, StepVerdict]:
    verdicts = reachability_steps(f)
    assert tuple(v.name for v in verdicts) == STEP_NAMES
    return {v.name: v for v in verdicts}


def test_a_reachable_pbx_that_takes_the_key_passes() -> None:
    result = judge_reachability(facts())
    assert (result.id, result.status) == (CheckId.REACHABILITY, CheckStatus.PASS)
    assert result.finding.startswith("The PBX answers in 12 ms")
    assert "Token: issued, lifetime 60 min" in result.evidence
    assert all(v.status is CheckStatus.PASS for v in steps(facts()).values())
    assert "Call Control sees 8 DNs (101, 102, 103, 104, 105, 106 and 2 more)" in (
        steps(facts())["websocket"].detail
    )


def test_an_unknown_name_fails_at_dns_and_blocks_the_rest() -> None:
    f = failed_at(
        "dns",
        NetworkFailure("dns", FailureKind.DNS, "pbx.example.com does not resolve", "", "Check it."),
    )
    result = judge_reachability(f)
    assert result.status is CheckStatus.FAIL
    assert result.finding == "The name pbx.example.com does not resolve from this machine (DNS)."
    seen = steps(f)
    assert seen["dns"].status is CheckStatus.FAIL and seen["dns"].fix == result.fix
    for name in ("tcp", "tls", "latency", "websocket"):
        assert seen[name].status is CheckStatus.SKIP
        assert seen[name].detail == "Not tried: the DNS step failed."


@pytest.mark.parametrize("kind", [FailureKind.REFUSED, FailureKind.TIMEOUT])
def test_a_blocked_port_adds_the_firewall_whitelist(kind: FailureKind) -> None:
    f = failed_at("tcp", NetworkFailure("tcp", kind, "no answer", "", "Check the port."))
    result = judge_reachability(f)
    assert result.fix == "Check the port." + FIREWALL
    assert steps(f)["tcp"].fix == result.fix


def test_an_untrusted_certificate_offers_the_pin_in_both_places() -> None:
    failure = NetworkFailure(
        "tls", FailureKind.TLS, "self-signed", "", "Install a proper certificate.", "untrusted"
    )
    f = failed_at("tls", failure)
    result = judge_reachability(f)
    assert result.finding == "The PBX's TLS certificate was not accepted: self-signed"
    assert result.fix.endswith(PIN_OFFER)
    assert steps(f)["tls"].fix == result.fix


def test_a_rejected_key_is_the_one_401() -> None:
    f = facts(sign_in=ProbeAnswer(Answer.REJECTED, endpoint="/connect/token"), call_control=None)
    result = judge_reachability(f)
    assert (result.status, result.finding, result.fix) == (CheckStatus.FAIL, KEY_REJECTED, KEY_FIX)
    assert "Token: rejected (/connect/token)" in result.evidence
    websocket = steps(f)["websocket"]
    assert websocket.status is CheckStatus.FAIL and websocket.fix == KEY_FIX


def test_a_refused_sign_in_is_the_console_ip_restriction() -> None:
    f = facts(sign_in=ProbeAnswer(Answer.FORBIDDEN, "refused (403)"), call_control=None)
    assert judge_reachability(f).fix == SIGN_IN_FORBIDDEN_FIX


def test_plain_http_is_a_warning_in_the_verdict_and_the_step() -> None:
    f = facts(certificate=None, tls_version=None)
    result = judge_reachability(f)
    assert (result.status, result.finding, result.fix) == (
        CheckStatus.WARN,
        PLAIN_HTTP,
        PLAIN_HTTP_FIX,
    )
    tls = steps(f)["tls"]
    assert (tls.status, tls.detail, tls.fix, tls.ok) == (
        CheckStatus.WARN,
        PLAIN_HTTP,
        PLAIN_HTTP_FIX,
        True,
    )


@pytest.mark.parametrize(
    ("days", "expected"),
    [
        (CERT_EXPIRY_WARNING_DAYS, CheckStatus.PASS),
        (CERT_EXPIRY_WARNING_DAYS - 1, CheckStatus.WARN),
    ],
)
def test_a_certificate_about_to_expire_warns(days: int, expected: CheckStatus) -> None:
    f = facts(certificate=replace(CERT, not_after=NOW + timedelta(days=days)))
    result = judge_reachability(f)
    assert result.status is expected
    assert steps(f)["tls"].status is expected
    if expected is CheckStatus.WARN:
        assert result.fix == RENEW_CERTIFICATE == steps(f)["tls"].fix
        assert result.finding in steps(f)["tls"].detail


def test_a_changed_certificate_warns_as_possible_interception() -> None:
    previous = PreviousCertificate("cd" * 32, "CN=Old CA", NOW - timedelta(days=30))
    result = judge_reachability(facts(previous_certificate=previous))
    assert result.status is CheckStatus.WARN
    assert "changed since the last successful check (2026-10-19)" in result.finding
    assert result.fix == CERTIFICATE_CHANGED_FIX


@pytest.mark.parametrize(
    ("status", "fix"),
    [(403, SIGN_IN_FORBIDDEN_FIX), (302, NOT_THE_PBX_FIX), (502, NOT_THE_PBX_FIX)],
)
def test_an_api_answer_that_is_not_the_pbxs_fails_the_latency_step(status: int, fix: str) -> None:
    latency = steps(facts(http_status=status))["latency"]
    assert (latency.status, latency.fix) == (CheckStatus.FAIL, fix)
    assert (
        steps(facts(http_status=status))["websocket"].detail
        == "Not tried: the latency step failed."
    )


def test_a_slow_answer_passes_with_advice() -> None:
    slow = (*STEPS[:3], replace(STEPS[3], duration_ms=1200.0))
    latency = steps(facts(steps=slow))["latency"]
    assert (latency.status, latency.fix) == (CheckStatus.PASS, SLOW_FIX)


@pytest.mark.parametrize(
    ("probe", "status", "fix"),
    [
        (CallControlFacts(CallControl.REFUSED, status=403), CheckStatus.FAIL, CALL_CONTROL_FIX),
        (
            CallControlFacts(CallControl.OPENED, visible=(VisibleDn("800", ROUTE_POINT),)),
            CheckStatus.FAIL,
            MONITOR_FIX,
        ),
        (CallControlFacts(CallControl.NOT_V20), CheckStatus.SKIP, None),
        (CallControlFacts(CallControl.REJECTED), CheckStatus.FAIL, KEY_FIX),
    ],
    ids=["no-call-control", "monitors-nothing", "v18", "401"],
)
def test_the_websocket_step(probe: CallControlFacts, status: CheckStatus, fix: str | None) -> None:
    websocket = steps(facts(call_control=probe))["websocket"]
    assert (websocket.status, websocket.fix) == (status, fix)


def test_without_a_key_the_websocket_waits_and_the_verdict_says_so() -> None:
    f = facts(sign_in=ProbeAnswer(Answer.NOT_TRIED), call_control=None, generation=None)
    assert steps(f)["websocket"].detail == "Tried once the API key is entered."
    assert judge_reachability(f).finding.endswith("the API key is checked once it is entered.")


def test_details_keep_the_keys_reports_read() -> None:
    result = judge_reachability(facts())
    details = result.details
    assert set(details) == {
        "host",
        "port",
        "latency_ms",
        "tls_version",
        "http_status",
        "certificate",
        "steps",
    }
    assert details["certificate"]["days_left"] == 200.0
    assert details["steps"][0] == {"step": "dns", "ok": True, "ms": 1.0, "detail": STEPS[0].detail}
    assert ReachabilityDetails.from_json(details).as_json() == details
