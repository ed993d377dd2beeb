"""Cause 7's facts: the path to the PBX walked (DNS, TCP, TLS, HTTP), then the sign-in.

The doctor's reachability check (probed first: when it fails, checks 1 to 6 are blocked by it)
and the guided setup's reachability step both gather here, and ask the same rule
(``app.domain.causes.reachability``).
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, replace
from datetime import datetime

from app.domain.causes.api_answers import SIGNED_IN
from app.domain.causes.reachability import (
    CertificateFacts,
    FailureKind,
    NetworkFailure,
    PreviousCertificate,
    ProbeStepFact,
    ReachabilityFacts,
)
from app.domain.clock import system_clock
from app.domain.pbx import PbxIdentity
from app.services.facts.outcome import Outcome, probe_answer
from app.services.known_certificates import KnownCertificates
from app.threecx.client import PbxClient
from app.threecx.connect import ConnectionParams, open_client
from app.threecx.errors import (
    AuthRejected,
    SchemeMismatch,
    ThreeCXError,
    TlsFailure,
    Unreachable,
    UnreachableKind,
)
from app.threecx.probe import CertificateInfo, NetworkProbe, probe_network
from app.threecx.v20.client import V20Client

log = logging.getLogger(__name__)
DISCARD_GRACE_S = 1.0  # how long a failing early sign-in is given to fail on its own

_KINDS = {
    UnreachableKind.DNS: FailureKind.DNS,
    UnreachableKind.REFUSED: FailureKind.REFUSED,
    UnreachableKind.TIMEOUT: FailureKind.TIMEOUT,
    UnreachableKind.NETWORK: FailureKind.NETWORK,
}


@dataclass
class Gathered:
    facts: ReachabilityFacts
    client: PbxClient | None = None  # signed in; the caller closes it
    identity: PbxIdentity | None = None


async def gather_reachability(
    params: ConnectionParams,
    secret: str | None,
    known: KnownCertificates | None,
    now: datetime,
    *,
    overlap: bool = True,
) -> Gathered:
    """DNS, TCP, TLS and HTTP, then the sign-in with ``secret`` (none without one).

    Raises only ``AddressError``/``ValueError`` for an unusable address, pin or CA file.
    """
    # Sign in while the probe runs: most PBXs are v20, and the key only ever travels over a
    # connection whose certificate httpx (or the pin) has verified.
    early = (
        asyncio.create_task(_v20_sign_in(params, secret))
        if secret is not None and overlap and params.generation is None
        else None
    )
    try:
        probe = await probe_network(params.url, params.tls, timeout_s=params.timeouts.connect)
    except BaseException:
        await _discard(early)
        raise
    facts = _network_facts(probe)
    if probe.failed is not None or probe.http_status not in (401, 403):
        # Not reachable, or not a v20 XAPI: detect the generation. The early sign-in meets
        # the same failure as fast as the probe did; it is let finish rather than cancelled
        # mid-handshake, which leaves its socket unclosed (asyncio's start_tls on 3.11).
        await _discard(early, grace_s=min(DISCARD_GRACE_S, params.timeouts.connect))
        early = None
    if probe.failed is not None or secret is None:
        return Gathered(facts)

    client: PbxClient | None = None
    try:
        client = await early if early is not None else await open_client(params, secret)
        identity = await client.authenticate()
    except ThreeCXError as exc:
        generation = client.generation if client is not None else None
        if client is not None:
            await client.aclose()
        return Gathered(
            replace(facts, generation=generation, sign_in=probe_answer(Outcome(error=exc)))
        )
    except BaseException:
        # A deadline or Cancel during sign-in: the client must not outlive the run.
        if client is not None:
            await client.aclose()
        raise
    facts = replace(
        facts,
        sign_in=SIGNED_IN,
        generation=client.generation,
        version=str(identity.version) if identity.version else None,
        token_lifetime_s=client.tokens.lifetime_s if isinstance(client, V20Client) else None,
    )
    if known is not None and probe.certificate is not None:
        facts = _remember(facts, known, probe, probe.certificate, now)
    return Gathered(facts, client, identity)


def _network_facts(probe: NetworkProbe) -> ReachabilityFacts:
    cert = probe.certificate
    return ReachabilityFacts(
        # Judged on the real clock, as the TLS library that verifies the certificate does.
        tls_now=system_clock(),
        host=probe.host,
        port=probe.port,
        steps=tuple(ProbeStepFact(str(s.step), s.ok, s.duration_ms, s.detail) for s in probe.steps),
        failure=_failure(probe),
        certificate=None
        if cert is None
        else CertificateFacts(cert.subject, cert.issuer, cert.not_after, cert.sha256, cert.names),
        tls_version=probe.tls_version,
        http_status=probe.http_status,
        latency_ms=probe.latency_ms,
    )


def _failure(probe: NetworkProbe) -> NetworkFailure | None:
    failed = probe.failed
    if failed is None:
        return None
    error = failed.error
    kind = FailureKind.OTHER
    if isinstance(error, SchemeMismatch):
        kind = FailureKind.SCHEME
    elif isinstance(error, Unreachable):
        kind = _KINDS[error.kind]
    elif isinstance(error, TlsFailure):
        kind = FailureKind.TLS
    return NetworkFailure(
        step=str(failed.step),
        kind=kind,
        detail=failed.detail,
        message=error.message if error else "",
        next_step=error.next_step if error else "",
        tls_problem=str(error.problem) if isinstance(error, TlsFailure) else None,
    )


def _remember(
    facts: ReachabilityFacts,
    known: KnownCertificates,
    probe: NetworkProbe,
    cert: CertificateInfo,
    now: datetime,
) -> ReachabilityFacts:
    try:
        previous = known.changed(probe.host, probe.port, cert)
        known.remember(probe.host, probe.port, cert, now)
    except OSError as exc:
        # The profile folder is not writable: the check still stands, without memory.
        log.warning("Could not remember the certificate: %s", exc)
        return replace(facts, certificate_not_remembered=True)
    if previous is None:
        return facts
    return replace(
        facts,
        previous_certificate=PreviousCertificate(
            previous.sha256, previous.issuer, previous.seen_at
        ),
    )


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


async def _discard(task: asyncio.Task[PbxClient] | None, grace_s: float = 0.0) -> None:
    if task is None:
        return
    if grace_s > 0:
        await asyncio.wait({task}, timeout=grace_s)
    task.cancel()
    results = await asyncio.gather(task, return_exceptions=True)
    if isinstance(results[0], V20Client):
        await results[0].aclose()
