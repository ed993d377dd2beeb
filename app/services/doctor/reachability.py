"""Cause 7: the PBX is unreachable from here, its certificate is wrong, or the key is rejected.

Probed first, although listed last: when it fails, checks 1 to 6 are blocked by it.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from app.domain.clock import system_clock
from app.domain.diagnosis import CheckId, CheckResult, CheckStatus
from app.domain.pbx import PbxIdentity
from app.services.doctor.options import CERT_EXPIRY_WARNING_DAYS
from app.services.known_certificates import KnownCertificates
from app.threecx.client import PbxClient
from app.threecx.connect import ConnectionParams, open_client
from app.threecx.errors import (
    AuthRejected,
    MalformedResponse,
    ThreeCXError,
    TlsFailure,
    Unreachable,
    UnreachableKind,
)
from app.threecx.probe import CertificateInfo, NetworkProbe, probe_network
from app.threecx.v20.client import V20Client

log = logging.getLogger(__name__)

KEY_FIX = (
    "The key is wrong or was rotated (often by a 3CX upgrade). Regenerate it: on v20, Admin "
    "console > Integrations > API, edit the API client and regenerate its key; on v18, Users, "
    "edit the API user. Then give the new key to every bridge and poller that holds the old "
    "one: a rotated key silently breaks each of them."
)
FIREWALL = (
    " From the bridge's network, whitelist the bridge's outbound IP at the 3CX network edge and "
    "at any firewall in between."
)


@dataclass
class Reach:
    """What the reachability phase found, and the client when it got through."""

    result: CheckResult
    client: PbxClient | None = None
    identity: PbxIdentity | None = None
    probe: NetworkProbe | None = None
    details: dict[str, Any] = field(default_factory=dict)


async def check_reachability(
    params: ConnectionParams,
    secret: str,
    known: KnownCertificates | None,
    now: datetime,
    *,
    overlap: bool = True,
) -> Reach:
    # Sign in while the probe runs: most PBXs are v20, and the key only ever travels over a
    # connection whose certificate httpx (or the pin) has verified.
    early = (
        asyncio.create_task(_v20_sign_in(params, secret))
        if overlap and params.generation is None
        else None
    )
    try:
        probe = await probe_network(params.url, params.tls, timeout_s=params.timeouts.connect)
    except BaseException:
        await _discard(early)
        raise
    evidence = [f"{step.step.upper()}: {step.detail}" for step in probe.steps]
    details: dict[str, Any] = {
        "host": probe.host,
        "port": probe.port,
        "latency_ms": None if probe.latency_ms is None else round(probe.latency_ms, 1),
        "tls_version": probe.tls_version,
        "http_status": probe.http_status,
        "certificate": _cert_json(probe.certificate, system_clock()),
        "steps": [
            {"step": str(s.step), "ok": s.ok, "ms": round(s.duration_ms, 1), "detail": s.detail}
            for s in probe.steps
        ],
    }
    failed = probe.failed
    if failed is not None or probe.http_status not in (401, 403):
        await _discard(early)  # not reachable, or not a v20 XAPI: detect the generation
        early = None
    if failed is not None:
        error = failed.error
        finding = _network_finding(failed.step, failed.detail, error, probe)
        fix = _network_fix(error)
        return Reach(_fail(finding, fix, evidence, details), probe=probe)

    client: PbxClient | None = None
    try:
        if early is not None:
            client = await early
        else:
            client = await open_client(params, secret)
        evidence.append(f"API: {'v20 XAPI' if client.generation == 'v20' else 'v18 web API'}")
        identity = await client.authenticate()
    except AuthRejected as exc:
        if client is not None:
            await client.aclose()
        evidence.append(f"Token: rejected ({exc.endpoint or 'sign-in'})")
        return Reach(
            _fail(
                "The PBX answers, but it rejected the API key (401): the key is wrong, expired "
                "or was rotated.",
                KEY_FIX,
                evidence,
                details,
            ),
            probe=probe,
        )
    except ThreeCXError as exc:
        if client is not None:
            await client.aclose()
        evidence.append(f"API: {exc.message}")
        return Reach(
            _fail(
                f"The PBX answers on the network, but its API does not: {exc.message}",
                exc.next_step or MalformedResponse.next_step,
                evidence,
                details,
            ),
            probe=probe,
        )
    evidence.append(_token_line(client))
    probe_name = "XAPI probe (/Defs)" if client.generation == "v20" else "API probe (SystemStatus)"
    evidence.append(f"{probe_name}: answered, 3CX {identity.version or 'version not reported'}")

    warnings: list[tuple[str, str]] = []
    cert = probe.certificate
    if cert is None:
        warnings.append(
            (
                "The PBX is reached over plain HTTP: the API key travels unencrypted.",
                "Use the PBX's https address (443 for 3CX-hosted, usually 5001 self-managed).",
            )
        )
    else:
        # Judged on the real clock, as the TLS library that verifies the certificate does.
        left = cert.days_left(system_clock())
        if left < CERT_EXPIRY_WARNING_DAYS:
            warnings.append(
                (
                    f"The TLS certificate expires in {max(left, 0):.0f} days "
                    f"({cert.not_after.date().isoformat()}).",
                    "Renew the PBX certificate now (3CX renews its own certificates for "
                    "3CX-hosted domains; check the admin console's certificate settings "
                    "otherwise). Bridges that pin the old certificate will need the new one.",
                )
            )
        if known is not None:
            try:
                previous = known.changed(probe.host, probe.port, cert)
                known.remember(probe.host, probe.port, cert, now)
            except OSError as exc:
                # The profile folder is not writable: the check still stands, without memory.
                log.warning("Could not remember the certificate: %s", exc)
                evidence.append("Certificate not remembered: the profile folder is not writable")
                previous = None
            if previous is not None:
                warnings.append(
                    (
                        "The TLS certificate changed since the last successful check "
                        f"({previous.seen_at.date().isoformat()}): now SHA-256 {cert.sha256} "
                        f"issued by {cert.issuer}; before {previous.sha256} issued by "
                        f"{previous.issuer}.",
                        "If it was renewed on purpose, update every bridge that pins the old "
                        "certificate or chain; if nobody renewed it, treat it as interception "
                        "and stop sending the key until it is explained.",
                    )
                )
    if warnings:
        result = CheckResult(
            CheckId.REACHABILITY,
            CheckStatus.WARN,
            " ".join(w for w, _ in warnings),
            " ".join(f for _, f in warnings),
            tuple(evidence),
            details,
        )
    else:
        latency = f" in {probe.latency_ms:.0f} ms" if probe.latency_ms is not None else ""
        result = CheckResult(
            CheckId.REACHABILITY,
            CheckStatus.PASS,
            f"The PBX answers{latency}, its certificate is valid and the API key is accepted.",
            "",
            tuple(evidence),
            details,
        )
    return Reach(result, client=client, identity=identity, probe=probe, details=details)


async def _v20_sign_in(params: ConnectionParams, secret: str) -> PbxClient:
    """A v20 client holding its first token; the XAPI probe follows in ``authenticate()``."""
    client = await open_client(replace(params, generation="v20"), secret)
    try:
        if isinstance(client, V20Client):
            await client.tokens.token()
    except AuthRejected:
        return client  # authenticate() raises it again, after the probe has spoken
    except BaseException:
        await client.aclose()
        raise
    return client


async def _discard(task: asyncio.Task[PbxClient] | None) -> None:
    if task is None:
        return
    task.cancel()
    results = await asyncio.gather(task, return_exceptions=True)
    if isinstance(results[0], V20Client):
        await results[0].aclose()


def _fail(finding: str, fix: str, evidence: list[str], details: dict[str, Any]) -> CheckResult:
    return CheckResult(
        CheckId.REACHABILITY, CheckStatus.FAIL, finding, fix, tuple(evidence), details
    )


def _network_finding(
    step: str, detail: str, error: ThreeCXError | None, probe: NetworkProbe
) -> str:
    where = f"{probe.host}:{probe.port}"
    if isinstance(error, Unreachable):
        return {
            UnreachableKind.DNS: f"The name {probe.host} does not resolve from this machine (DNS).",
            UnreachableKind.REFUSED: f"Nothing accepts connections on {where}: connection refused.",
            UnreachableKind.TIMEOUT: f"{where} did not answer in time at the {step.upper()} step: "
            + detail,
            UnreachableKind.NETWORK: f"The network failed on the way to {where}: {detail}",
        }[error.kind]
    if isinstance(error, TlsFailure):
        return f"The PBX's TLS certificate was not accepted: {detail}".rstrip(": ")
    if error is not None:
        return f"{step.upper()}: {error.message}"
    return f"{step.upper()}: {detail}"


def _network_fix(error: ThreeCXError | None) -> str:
    if error is None:
        return "Check the PBX address and this machine's network."
    fix = error.next_step
    if isinstance(error, Unreachable) and error.kind in (
        UnreachableKind.TIMEOUT,
        UnreachableKind.REFUSED,
    ):
        fix += FIREWALL
    return fix


def _token_line(client: PbxClient) -> str:
    if isinstance(client, V20Client) and client.tokens.lifetime_s:
        return f"Token: issued, lifetime {client.tokens.lifetime_s / 60:.0f} min"
    return "Sign-in: accepted"


def _cert_json(cert: CertificateInfo | None, now: datetime) -> dict[str, Any] | None:
    if cert is None:
        return None
    return {
        "subject": cert.subject,
        "issuer": cert.issuer,
        "not_after": cert.not_after.isoformat(),
        "days_left": round(cert.days_left(now), 1),
        "sha256": cert.sha256,
        "names": list(cert.names),
    }
