"""Step 6: can this machine reach the PBX the way a bridge does?

DNS, TCP, the TLS chain (issuer, expiry, the fingerprint to pin), how fast the API answers, and
the Call Control websocket upgrade with the key's bearer token. The facts are gathered as the
doctor's cause 7 gathers them (``gather_reachability``: the same probe, the same sign-in) and
judged by its rule (``app.domain.causes.reachability``); only the websocket is added here, through
the shared Call Control probe.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime

from app.domain.causes.reachability import (
    CallControl,
    CallControlFacts,
    ReachabilityFacts,
    StepVerdict,
    judge_reachability,
    reachability_steps,
)
from app.domain.clock import utc_now
from app.domain.diagnosis import CheckResult
from app.services.certificate_trouble import CertificateTrouble, certificate_trouble
from app.services.facts.reachability import gather_reachability
from app.services.feed import call_control
from app.threecx.client import PbxClient
from app.threecx.connect import ConnectionParams
from app.threecx.errors import AuthRejected, ThreeCXError, TokenRevoked, Unsupported
from app.threecx.transport import RetryPolicy, Timeouts
from app.threecx.v20.callcontrol_probe import probe_call_control
from app.threecx.v20.client import V20Client


@dataclass(frozen=True)
class ReachabilityReport:
    steps: tuple[StepVerdict, ...]  # the rule's verdict on each step, DNS to the websocket
    tls_issuer: str | None
    tls_expires: datetime | None
    tls_fingerprint_sha256: str | None  # what the PBX presents, for "pin this certificate"
    latency_ms: float | None  # TCP connect time
    verdict: CheckResult  # cause 7 as the doctor states it, from the same facts
    # The certificate to judge when the TLS step failed on trust.
    certificate_trouble: CertificateTrouble | None = None

    @property
    def ok(self) -> bool:
        return all(step.ok is not False for step in self.steps)


async def check_reachability(
    params: ConnectionParams, secret: str | None, *, timeout_s: float = 5.0
) -> ReachabilityReport:
    """Walk the path to the PBX; raises only ``AddressError``/``ValueError`` for bad input."""
    params = replace(
        params,
        timeouts=Timeouts(connect=timeout_s, read=timeout_s, total=timeout_s * 2),
        retry=RetryPolicy(attempts=1),
    )
    found = await gather_reachability(params, secret, None, utc_now())
    facts = found.facts
    if found.client is not None:
        try:
            facts = replace(
                facts, call_control=await _call_control(found.client, params, timeout_s)
            )
        finally:
            await found.client.aclose()
    report = _report(facts)
    if any(step.name == "tls" and step.ok is False for step in report.steps):
        trouble = await certificate_trouble(params.url, params.tls, timeout_s=timeout_s)
        report = replace(report, certificate_trouble=trouble)
    return report


async def _call_control(
    client: PbxClient, params: ConnectionParams, timeout_s: float
) -> CallControlFacts:
    if not isinstance(client, V20Client):
        return CallControlFacts(CallControl.NOT_V20)
    upgrade = await probe_call_control(client, params.url, params.tls, timeout_s=timeout_s)
    if upgrade.answer is not CallControl.OPENED:
        return upgrade
    try:
        visible = await call_control.visible_dns(client)
    except TokenRevoked:  # another sign-in with the same API client, not the key
        return CallControlFacts(CallControl.REVOKED)
    except AuthRejected:
        return CallControlFacts(CallControl.REJECTED)
    except Unsupported as exc:
        return CallControlFacts(CallControl.UNSUPPORTED, detail=exc.message)
    except ThreeCXError as exc:
        return CallControlFacts(CallControl.FAILED, detail=exc.message, next_step=exc.next_step)
    return replace(upgrade, visible=tuple(visible))


def _report(facts: ReachabilityFacts) -> ReachabilityReport:
    cert = facts.certificate
    return ReachabilityReport(
        steps=reachability_steps(facts),
        tls_issuer=cert.issuer if cert else None,
        tls_expires=cert.not_after if cert else None,
        tls_fingerprint_sha256=cert.sha256 if cert else None,
        latency_ms=facts.latency_ms,
        verdict=judge_reachability(facts),
    )
