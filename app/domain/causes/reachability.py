"""Cause 7: the PBX is unreachable from here, its certificate is wrong, or the key is rejected.

Seed 000: "A 401 means the token is wrong or expired. A connection refused means the network or
DNS is blocking the bridge." The doctor probes this first (when it fails, checks 1 to 6 are
blocked by it); the guided setup's reachability step shows the same facts one step at a time,
with the Call Control websocket added. Both are judged here.
"""

from __future__ import annotations

import enum
import math
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from app.domain.causes import fields
from app.domain.causes.api_answers import (
    KEY_FIX,
    KEY_REJECTED,
    NOT_TRIED,
    REVOKED,
    REVOKED_FIX,
    SIGN_IN_FORBIDDEN_FIX,
    Answer,
    ProbeAnswer,
    Where,
    fix_for,
    sign_in_finding,
)
from app.domain.causes.recording import VisibleDn, monitored_dns
from app.domain.diagnosis import CheckId, CheckResult, CheckStatus

CERT_EXPIRY_WARNING_DAYS: Final = 14
SLOW_API_MS: Final = 800.0  # an API answer slower than this is worth a word
WS_PATH: Final = "/callcontrol/ws"

FIREWALL: Final = (
    " From the bridge's network, whitelist the bridge's outbound IP at the 3CX network edge and "
    "at any firewall in between."
)
PLAIN_HTTP: Final = "The PBX is reached over plain HTTP: the API key travels unencrypted."
PLAIN_HTTP_FIX: Final = (
    "Use the PBX's https address (443 for 3CX-hosted, usually 5001 self-managed)."
)
RENEW_CERTIFICATE: Final = (
    "Renew the PBX certificate now (3CX renews its own certificates for 3CX-hosted domains; "
    "check the admin console's certificate settings otherwise). Bridges that pin the old "
    "certificate will need the new one."
)
CERTIFICATE_CHANGED_FIX: Final = (
    "If it was renewed on purpose, update every bridge that pins the old certificate or chain; "
    "if nobody renewed it, treat it as interception and stop sending the key until it is "
    "explained."
)
NETWORK_FIX: Final = "Check the PBX address and this machine's network."
NOT_THE_PBX_FIX: Final = (
    "This is not the PBX's own answer: check the port (443 for 3CX-hosted, usually 5001 "
    "self-managed) and any proxy in between."
)
SLOW_FIX: Final = (
    "The PBX answers slowly from here: a bridge with short timeouts may give up; check the "
    "PBX's load and the network path."
)
PIN_OFFER: Final = (
    " Or, once the customer confirms the fingerprint shown here is their PBX's, pin this "
    "certificate."
)
REPIN: Final = " To re-pin, use the fingerprint shown here."
MONITOR_FIX: Final = (
    "Edit the API client (Admin console > Integrations > API) and select the Extensions to "
    "Monitor: with none selected, Call Control answers but no call events ever arrive."
)
CALL_CONTROL_FIX: Final = (
    "Tick Call Control API Access for the API client (Admin console > Integrations > API) and "
    "choose the extensions to monitor; without it a bridge can only poll the call log."
)
PROXY_FIX: Final = (
    "Something between this machine and the PBX (a web proxy or a firewall that inspects "
    "HTTPS) does not pass the websocket upgrade: allow WebSocket traffic to "
    f"{WS_PATH} on the PBX's address, or run the bridge where no proxy sits in between."
)
STEP_NAMES: Final = ("dns", "tcp", "tls", "latency", "websocket")


class FailureKind(enum.StrEnum):
    DNS = "dns"
    REFUSED = "refused"
    TIMEOUT = "timeout"
    NETWORK = "network"
    TLS = "tls"
    SCHEME = "scheme"  # http:// to a port that speaks HTTPS, or the other way round
    OTHER = "other"


class CallControl(enum.StrEnum):
    """How the Call Control websocket upgrade went."""

    OPENED = "opened"
    NOT_V20 = "not v20"  # v18 has no websocket: a bridge polls the call log
    REFUSED = "refused"  # HTTP 403 or 404 on the upgrade: not enabled for this API client
    UNSUPPORTED = "unsupported"  # the Call Control REST API is not offered
    REJECTED = "rejected"  # 401: the key
    REVOKED = "revoked"  # 401 on a token issued just now: another sign-in with the same client
    ODD_STATUS = "odd status"  # any other HTTP answer: a proxy
    TIMEOUT = "timeout"
    BROKEN = "broken"  # the upgrade failed on the way
    FAILED = "failed"  # the PBX failed otherwise (``detail`` and ``next_step`` say how)


@dataclass(frozen=True)
class ProbeStepFact:
    step: str  # "dns", "tcp", "tls" or "http"
    ok: bool
    duration_ms: float
    detail: str


@dataclass(frozen=True)
class NetworkFailure:
    """The step where the path to the PBX broke, and the client's reading of why."""

    step: str
    kind: FailureKind
    detail: str
    message: str
    next_step: str
    tls_problem: str | None = None  # "untrusted", "changed", "expired", "hostname", ...


@dataclass(frozen=True)
class CertificateFacts:
    subject: str
    issuer: str
    not_after: datetime
    sha256: str
    names: tuple[str, ...]

    def days_left(self, now: datetime) -> float:
        return (self.not_after - now).total_seconds() / 86400


@dataclass(frozen=True)
class PreviousCertificate:
    """The certificate remembered from the last successful check, when it differs."""

    sha256: str
    issuer: str
    seen_at: datetime


@dataclass(frozen=True)
class CallControlFacts:
    answer: CallControl
    status: int | None = None  # the HTTP status of a refused upgrade
    detail: str = ""
    next_step: str = ""
    visible: tuple[VisibleDn, ...] = ()  # the DNs Call Control shows, once it opened
    timeout_s: float = 0.0


@dataclass(frozen=True)
class ReachabilityFacts:
    # The real clock, not the run's: the TLS library judges certificates on it, so this does.
    tls_now: datetime
    host: str
    port: int
    steps: tuple[ProbeStepFact, ...]
    failure: NetworkFailure | None = None
    certificate: CertificateFacts | None = None  # what was presented, trusted or not
    tls_version: str | None = None
    http_status: int | None = None
    latency_ms: float | None = None  # TCP connect time
    sign_in: ProbeAnswer = NOT_TRIED  # not tried: no key yet, or the network failed
    generation: str | None = None  # the API that answered: "v20" or "v18"
    version: str | None = None
    token_lifetime_s: float | None = None
    previous_certificate: PreviousCertificate | None = None
    certificate_not_remembered: bool = False
    call_control: CallControlFacts | None = None  # None: not probed (the doctor does not)


@dataclass(frozen=True)
class StepVerdict:
    """One step of the setup's reachability list; on a pass ``fix`` is advice."""

    name: str  # one of STEP_NAMES
    status: CheckStatus  # SKIP: not tried
    detail: str
    fix: str | None = None

    @property
    def ok(self) -> bool | None:
        if self.status is CheckStatus.SKIP:
            return None
        return self.status is not CheckStatus.FAIL


@dataclass(frozen=True)
class ReachabilityDetails:
    host: str
    port: int | None
    latency_ms: float | None
    tls_version: str | None
    http_status: int | None
    certificate: dict[str, Any] | None
    steps: tuple[dict[str, Any], ...]

    def as_json(self) -> dict[str, Any]:
        return {
            "host": self.host,
            "port": self.port,
            "latency_ms": self.latency_ms,
            "tls_version": self.tls_version,
            "http_status": self.http_status,
            "certificate": self.certificate,
            "steps": list(self.steps),
        }

    @classmethod
    def from_json(cls, data: object) -> ReachabilityDetails:
        item = fields.obj(data, "reachability.details")
        cert = item.get("certificate")
        return cls(
            host=fields.text(item.get("host"), "reachability.details.host"),
            port=fields.opt_int(item.get("port"), "reachability.details.port"),
            latency_ms=fields.opt_float(item.get("latency_ms"), "reachability.details.latency_ms"),
            tls_version=fields.opt_text(
                item.get("tls_version"), "reachability.details.tls_version"
            ),
            http_status=fields.opt_int(item.get("http_status"), "reachability.details.http_status"),
            certificate=None
            if cert is None
            else dict(fields.obj(cert, "reachability.details.certificate")),
            steps=tuple(
                dict(step) for step in fields.items(item.get("steps"), "reachability.details.steps")
            ),
        )

    @classmethod
    def of(cls, facts: ReachabilityFacts) -> ReachabilityDetails:
        cert = facts.certificate
        return cls(
            host=facts.host,
            port=facts.port,
            latency_ms=None if facts.latency_ms is None else round(facts.latency_ms, 1),
            tls_version=facts.tls_version,
            http_status=facts.http_status,
            certificate=None
            if cert is None
            else {
                "subject": cert.subject,
                "issuer": cert.issuer,
                "not_after": cert.not_after.isoformat(),
                "days_left": round(cert.days_left(facts.tls_now), 1),
                "sha256": cert.sha256,
                "names": list(cert.names),
            },
            steps=tuple(
                {"step": s.step, "ok": s.ok, "ms": round(s.duration_ms, 1), "detail": s.detail}
                for s in facts.steps
            ),
        )


# ---- the doctor's verdict ----------------------------------------------------------------------
def judge_reachability(facts: ReachabilityFacts) -> CheckResult:
    evidence = [f"{step.step.upper()}: {step.detail}" for step in facts.steps]
    details = ReachabilityDetails.of(facts).as_json()

    def result(status: CheckStatus, finding: str, fix: str = "") -> CheckResult:
        return CheckResult(CheckId.REACHABILITY, status, finding, fix, tuple(evidence), details)

    failure = facts.failure
    if failure is not None:
        return result(
            CheckStatus.FAIL, network_finding(facts, failure), network_fix(facts, failure)
        )
    sign_in = facts.sign_in
    if facts.generation is not None:
        evidence.append(f"API: {'v20 XAPI' if facts.generation == 'v20' else 'v18 web API'}")
    if sign_in.answer is Answer.REJECTED:
        evidence.append(f"Token: rejected ({sign_in.endpoint or 'sign-in'})")
        return result(CheckStatus.FAIL, sign_in_finding(sign_in), KEY_FIX)
    if sign_in.answer is Answer.REVOKED:
        # The path and the key are fine; another sign-in with the same client took the token.
        evidence.append(f"Token: issued, then withdrawn ({sign_in.endpoint or 'sign-in'})")
        return result(CheckStatus.WARN, REVOKED, REVOKED_FIX)
    if sign_in.tried and not sign_in.ok:
        evidence.append(f"API: {sign_in.message}")
        finding = (
            sign_in_finding(sign_in)
            if sign_in.answer in (Answer.FORBIDDEN, Answer.CLIENT_ID)
            else f"The PBX answers on the network, but its API does not: {sign_in.message}"
        )
        return result(
            CheckStatus.FAIL, finding, fix_for(Where.SIGN_IN, sign_in, facts.generation == "v20")
        )
    if sign_in.ok:
        if facts.generation == "v20" and facts.token_lifetime_s:
            evidence.append(f"Token: issued, lifetime {lifetime_words(facts.token_lifetime_s)}")
        else:
            evidence.append("Sign-in: accepted")
        probe = "XAPI probe (/Defs)" if facts.generation == "v20" else "API probe (SystemStatus)"
        evidence.append(f"{probe}: answered, 3CX {facts.version or 'version not reported'}")
    if facts.certificate_not_remembered:
        evidence.append("Certificate not remembered: the profile folder is not writable")
    warnings = _warnings(facts)
    if warnings:
        return result(
            CheckStatus.WARN, " ".join(w for w, _ in warnings), " ".join(f for _, f in warnings)
        )
    latency = f" in {facts.latency_ms:.0f} ms" if facts.latency_ms is not None else ""
    key = "the API key is accepted" if sign_in.ok else "the API key is checked once it is entered"
    return result(
        CheckStatus.PASS, f"The PBX answers{latency}, its certificate is valid and {key}."
    )


def lifetime_words(seconds: float) -> str:
    """A token lifetime in words; whatever the PBX said, never negative or absurd (the client
    clamps it, and this clamps again for facts read back from a saved report)."""
    if not math.isfinite(seconds) or seconds <= 0:
        return "not said"
    seconds = min(seconds, 7 * 24 * 3600.0)
    if seconds < 120:
        return f"{seconds:.0f} s"
    return f"{seconds / 60:.0f} min"


def network_finding(facts: ReachabilityFacts, failure: NetworkFailure) -> str:
    where = f"{facts.host}:{facts.port}"
    step, detail = failure.step.upper(), failure.detail
    match failure.kind:
        case FailureKind.DNS:
            return f"The name {facts.host} does not resolve from this machine (DNS)."
        case FailureKind.REFUSED:
            return f"Nothing accepts connections on {where}: connection refused."
        case FailureKind.TIMEOUT:
            return f"{where} did not answer in time at the {step} step: {detail}"
        case FailureKind.NETWORK:
            return f"The network failed on the way to {where}: {detail}"
        case FailureKind.TLS:
            return f"The PBX's TLS certificate was not accepted: {detail}".rstrip(": ")
        case FailureKind.SCHEME:
            return detail
    return f"{step}: {failure.message or detail}"


def network_fix(facts: ReachabilityFacts, failure: NetworkFailure) -> str:
    fix = failure.next_step or NETWORK_FIX
    if failure.kind in (FailureKind.TIMEOUT, FailureKind.REFUSED):
        fix += FIREWALL
    if failure.kind is FailureKind.TLS and facts.certificate is not None:
        if failure.tls_problem == "untrusted":
            fix += PIN_OFFER
        elif failure.tls_problem == "changed":
            fix += REPIN
    return fix


def _warnings(facts: ReachabilityFacts) -> list[tuple[str, str]]:
    cert = facts.certificate
    if cert is None:
        return [(PLAIN_HTTP, PLAIN_HTTP_FIX)]
    warnings: list[tuple[str, str]] = []
    expiring = _expiring(facts, cert)
    if expiring:
        warnings.append((expiring, RENEW_CERTIFICATE))
    previous = facts.previous_certificate
    if previous is not None:
        warnings.append(
            (
                "The TLS certificate changed since the last successful check "
                f"({previous.seen_at.date().isoformat()}): now SHA-256 {cert.sha256} issued by "
                f"{cert.issuer}; before {previous.sha256} issued by {previous.issuer}.",
                CERTIFICATE_CHANGED_FIX,
            )
        )
    return warnings


def _expiring(facts: ReachabilityFacts, cert: CertificateFacts) -> str | None:
    left = cert.days_left(facts.tls_now)
    if left >= CERT_EXPIRY_WARNING_DAYS:
        return None
    return (
        f"The TLS certificate expires in {max(left, 0):.0f} days "
        f"({cert.not_after.date().isoformat()})."
    )


# ---- the setup's step list ---------------------------------------------------------------------
def reachability_steps(facts: ReachabilityFacts) -> tuple[StepVerdict, ...]:
    """DNS, TCP, TLS, latency and the Call Control websocket, each judged on its own."""
    by_step = {s.step: s for s in facts.steps}
    verdicts: list[StepVerdict] = []
    blocked: str | None = None
    for name in ("dns", "tcp", "tls"):
        fact = by_step.get(name)
        verdicts.append(_network_step(facts, name, fact, blocked))
        if blocked is None and (fact is None or not fact.ok):
            blocked = name.upper()
    latency = _latency_step(facts, by_step.get("http"), blocked)
    verdicts.append(latency)
    if blocked is None and latency.status is CheckStatus.FAIL:
        blocked = "latency"
    verdicts.append(_websocket_step(facts, blocked))
    return tuple(verdicts)


def _not_tried(blocked: str | None) -> str:
    return f"Not tried: the {blocked or 'previous'} step failed."


def _network_step(
    facts: ReachabilityFacts, name: str, fact: ProbeStepFact | None, blocked: str | None
) -> StepVerdict:
    if fact is None:
        return StepVerdict(name, CheckStatus.SKIP, _not_tried(blocked))
    if not fact.ok:
        fix = network_fix(facts, facts.failure) if facts.failure is not None else NETWORK_FIX
        return StepVerdict(name, CheckStatus.FAIL, fact.detail, fix)
    if name != "tls":
        return StepVerdict(name, CheckStatus.PASS, fact.detail)
    cert = facts.certificate
    if cert is None:
        return StepVerdict(name, CheckStatus.WARN, PLAIN_HTTP, PLAIN_HTTP_FIX)
    expiring = _expiring(facts, cert)
    if expiring:
        return StepVerdict(name, CheckStatus.WARN, f"{fact.detail}. {expiring}", RENEW_CERTIFICATE)
    return StepVerdict(name, CheckStatus.PASS, fact.detail)


def _latency_step(
    facts: ReachabilityFacts, fact: ProbeStepFact | None, blocked: str | None
) -> StepVerdict:
    if fact is None:
        return StepVerdict("latency", CheckStatus.SKIP, _not_tried(blocked))
    if not fact.ok:
        fix = network_fix(facts, facts.failure) if facts.failure is not None else NETWORK_FIX
        return StepVerdict("latency", CheckStatus.FAIL, fact.detail, fix)
    status = facts.http_status or 0
    connect = f"TCP connect {facts.latency_ms:.0f} ms; " if facts.latency_ms else ""
    detail = f"{connect}the API answered in {fact.duration_ms:.0f} ms: {fact.detail}"
    if status == 403:
        # Refused before any key: the same 403 as at sign-in, the console's IP restriction.
        return StepVerdict("latency", CheckStatus.FAIL, detail, SIGN_IN_FORBIDDEN_FIX)
    if 300 <= status < 400 or status >= 500:
        return StepVerdict("latency", CheckStatus.FAIL, detail, NOT_THE_PBX_FIX)
    if fact.duration_ms > SLOW_API_MS:
        return StepVerdict("latency", CheckStatus.PASS, detail, SLOW_FIX)
    return StepVerdict("latency", CheckStatus.PASS, detail)


def _websocket_step(facts: ReachabilityFacts, blocked: str | None) -> StepVerdict:
    name, sign_in = "websocket", facts.sign_in
    if blocked is not None:
        return StepVerdict(name, CheckStatus.SKIP, _not_tried(blocked))
    if not sign_in.tried:
        return StepVerdict(name, CheckStatus.SKIP, "Tried once the API key is entered.")
    if sign_in.answer is Answer.REVOKED:
        return StepVerdict(name, CheckStatus.WARN, f"Not opened: {REVOKED}", REVOKED_FIX)
    if not sign_in.ok:
        return StepVerdict(
            name,
            CheckStatus.FAIL,
            f"Not opened: {sign_in_finding(sign_in)}",
            fix_for(Where.SIGN_IN, sign_in, facts.generation == "v20"),
        )
    probe = facts.call_control
    if probe is None:
        return StepVerdict(name, CheckStatus.SKIP, "Not probed.")
    return _call_control_step(probe)


def _call_control_step(probe: CallControlFacts) -> StepVerdict:
    verdict = _upgrade_refused(probe) or _upgrade_failed(probe)
    if verdict is not None:
        return verdict
    return _monitored_step(probe)


def _upgrade_refused(probe: CallControlFacts) -> StepVerdict | None:
    """The PBX answered the upgrade with a no: no websocket, the key, or not enabled."""
    name = "websocket"
    match probe.answer:
        case CallControl.NOT_V20:
            return StepVerdict(
                name,
                CheckStatus.SKIP,
                "v18 has no Call Control websocket: a bridge polls the call log instead.",
            )
        case CallControl.REJECTED:
            return StepVerdict(name, CheckStatus.FAIL, f"Not opened: {KEY_REJECTED}", KEY_FIX)
        case CallControl.REVOKED:
            return StepVerdict(name, CheckStatus.WARN, f"Not opened: {REVOKED}", REVOKED_FIX)
        case CallControl.REFUSED:
            return StepVerdict(
                name,
                CheckStatus.FAIL,
                f"The PBX refused the websocket upgrade (HTTP {probe.status}): Call Control is "
                "not enabled for this API client.",
                CALL_CONTROL_FIX,
            )
        case CallControl.UNSUPPORTED:
            return StepVerdict(name, CheckStatus.FAIL, probe.detail, CALL_CONTROL_FIX)
    return None


def _upgrade_failed(probe: CallControlFacts) -> StepVerdict | None:
    """The upgrade got a stray answer, none, or broke on the way (a proxy, most often)."""
    name = "websocket"
    match probe.answer:
        case CallControl.ODD_STATUS:
            return StepVerdict(
                name,
                CheckStatus.FAIL,
                f"The upgrade was answered with HTTP {probe.status}.",
                PROXY_FIX,
            )
        case CallControl.TIMEOUT:
            return StepVerdict(
                name,
                CheckStatus.FAIL,
                f"The websocket upgrade got no answer within {probe.timeout_s:g} s.",
                PROXY_FIX,
            )
        case CallControl.BROKEN:
            return StepVerdict(
                name, CheckStatus.FAIL, f"The websocket upgrade failed: {probe.detail}.", PROXY_FIX
            )
        case CallControl.FAILED:
            return StepVerdict(name, CheckStatus.FAIL, probe.detail, probe.next_step or None)
    return None


def _monitored_step(probe: CallControlFacts) -> StepVerdict:
    """The websocket opened: a PASS if Call Control monitors any extension."""
    name = "websocket"
    opened = f"The websocket upgrade at {WS_PATH} succeeded with the key's bearer token"
    monitored = monitored_dns(probe.visible)
    if not monitored:
        return StepVerdict(
            name,
            CheckStatus.FAIL,
            f"{opened}, but Call Control monitors no extensions.",
            MONITOR_FIX,
        )
    shown = ", ".join(monitored[:6]) + (
        f" and {len(monitored) - 6} more" if len(monitored) > 6 else ""
    )
    return StepVerdict(
        name,
        CheckStatus.PASS,
        f"{opened}; Call Control sees {len(monitored)} DNs ({shown}).",
    )
