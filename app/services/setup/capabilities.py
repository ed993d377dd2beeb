"""Prove a key before it is trusted: sign in, read call history, list and download a recording.

The guided setup's step 5, the gate of a key rotation and the doctor's cause 2 ask the same
question, so these are the doctor's own probes, judged by the same rule
(``app.domain.causes.roles``): "Reports User" is the call-history capability and "Recording
Manager" the recording fetch, as the field docs name them; 3CX has no roles by those names
(API-NOTES §3), so both are proven by doing, never read off a role name. What a 401 or a 403
means at each probe is decided once, in ``app.domain.causes.api_answers``. Nothing here ever
holds or prints the key.
"""

from __future__ import annotations

import asyncio
import dataclasses
from dataclasses import dataclass
from datetime import timedelta
from typing import Final

from app.domain.addresses import AddressError
from app.domain.causes.api_answers import NOT_TRIED, Answer, ProbeAnswer
from app.domain.causes.roles import (
    CALL_HISTORY,
    LABELS,
    RECORDING_DOWNLOAD,
    RECORDING_LIST,
    TOKEN,
    CapabilityTick,
    RolesFacts,
    capability_ticks,
    judge_roles,
)
from app.domain.clock import utc_now
from app.domain.diagnosis import CheckResult
from app.services.certificate_trouble import (
    CertificateTrouble,
    certificate_trouble,
    is_trust_failure,
)
from app.services.facts.key_probes import admin_claims, download_newest
from app.services.facts.outcome import Outcome, attempt, probe_answer
from app.services.logs.setup import REDACTOR
from app.threecx.client import PbxClient
from app.threecx.connect import ConnectionParams, open_client
from app.threecx.errors import ThreeCXError
from app.threecx.transport import Timeouts

PROBE_HISTORY_LIMIT: Final = 50  # enough to prove the call log reads; the doctor reads the rest
PROBE_RECORDINGS: Final = 5

# One tick of the "verify the key" step: the rule's own verdict on one probe.
CapabilityCheck = CapabilityTick

# The ticks' keys and labels are the rule's; key rotation and the CLI show them too.
__all__ = [
    "CALL_HISTORY",
    "LABELS",
    "RECORDING_DOWNLOAD",
    "RECORDING_LIST",
    "TOKEN",
    "CapabilityCheck",
    "CapabilityReport",
    "verify_capabilities",
]


@dataclass(frozen=True)
class CapabilityReport:
    """The four probes in order; ``generation``/``version`` once the PBX has answered."""

    checks: tuple[CapabilityCheck, ...]
    generation: str | None
    version: str | None
    verdict: CheckResult  # cause 2's verdict on the same answers, as the doctor gives it
    admin_claims: tuple[str, ...] = ()  # admin-level token claims: the key is over-privileged
    key_refused: bool = False  # the PBX refused the Client ID or key (not some other failure)
    # The PBX's certificate is not trusted with these settings: the key was not tried at all.
    certificate_trouble: CertificateTrouble | None = None

    def check(self, key: str) -> CapabilityCheck:
        return next(c for c in self.checks if c.key == key)

    @property
    def key_accepted(self) -> bool:
        return self.check(TOKEN).ok is True

    @property
    def both_capabilities(self) -> bool:
        """Call history reads and the recordings list and download work.

        A PBX with no recording on it yet cannot prove the download; the list answering is then
        taken as the recording capability (the download tick stays grey, saying why).
        """
        return (
            self.check(CALL_HISTORY).ok is True
            and self.check(RECORDING_LIST).ok is True
            and self.check(RECORDING_DOWNLOAD).ok is not False
        )

    @property
    def first_problem(self) -> CapabilityCheck | None:
        return next((c for c in self.checks if c.ok is False), None)

    @property
    def over_privileged(self) -> bool:
        return bool(self.admin_claims)


def _report(facts: RolesFacts, generation: str | None) -> CapabilityReport:
    return CapabilityReport(
        capability_ticks(facts),
        generation=generation,
        version=facts.version,
        verdict=judge_roles(facts),
        admin_claims=facts.admin_claims,
    )


def _not_signed_in(sign_in: ProbeAnswer) -> CapabilityReport:
    facts = RolesFacts(v20=True, call_history=NOT_TRIED, recording_list=NOT_TRIED, sign_in=sign_in)
    refused = sign_in.answer in (Answer.REJECTED, Answer.CLIENT_ID, Answer.REVOKED)
    return dataclasses.replace(_report(facts, None), key_refused=refused)


async def verify_capabilities(
    params: ConnectionParams, secret: str, *, timeout_s: float = 10.0
) -> CapabilityReport:
    """Sign in with ``secret`` and probe both capabilities; never raises for PBX trouble."""
    REDACTOR.register(secret)
    params = dataclasses.replace(
        params, timeouts=Timeouts(connect=timeout_s, read=timeout_s, total=timeout_s * 2)
    )
    try:
        client = await open_client(params, secret)
    except AddressError as exc:
        return _not_signed_in(
            ProbeAnswer(
                Answer.FAILED,
                f"The PBX address cannot be used: {exc}",
                "Correct the PBX address.",
            )
        )
    except ThreeCXError as exc:
        return await _not_signed_in_because(exc, params, timeout_s)
    try:
        return await _probe(client, params, timeout_s)
    finally:
        await client.aclose()


async def _not_signed_in_because(
    exc: ThreeCXError, params: ConnectionParams, timeout_s: float
) -> CapabilityReport:
    """The sign-in failed: when on trust, the certificate to judge (the key was never sent)."""
    report = _not_signed_in(probe_answer(Outcome(error=exc)))
    if not is_trust_failure(exc):
        return report
    trouble = await certificate_trouble(params.url, params.tls, timeout_s=timeout_s, seen=exc)
    return dataclasses.replace(report, certificate_trouble=trouble)


async def _probe(client: PbxClient, params: ConnectionParams, timeout_s: float) -> CapabilityReport:
    try:
        identity = await client.authenticate()
    except ThreeCXError as exc:
        return await _not_signed_in_because(exc, params, timeout_s)
    v20 = client.generation == "v20"
    now = utc_now()
    history, newest = await asyncio.gather(
        attempt(client.call_history(now - timedelta(days=1), now, limit=PROBE_HISTORY_LIMIT)),
        attempt(client.recordings(limit=PROBE_RECORDINGS)),
    )
    download = NOT_TRIED
    if newest.ok and newest.value:
        download = probe_answer(await download_newest(client, newest.value))
    facts = RolesFacts(
        v20=v20,
        call_history=probe_answer(history),
        recording_list=probe_answer(newest),
        recording_download=download,
        admin_claims=tuple(admin_claims(client)),
        version=str(identity.version) if identity.version else None,
    )
    return _report(facts, client.generation)
