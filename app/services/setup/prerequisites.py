"""Step 2: what the PBX must have before a CRM bridge works (field docs, seed 001).

v18 build 11 or later (v20 preferred) on a paid annual licence with call recording; the XAPI
and Call Control need an Enterprise licence on v20; transcription is v20-only, higher tier.
The version, licence, edition and recording items are the doctor's cause 1 rule
(``app.domain.causes.licence``), asked with the same facts, so the two never disagree.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime
from typing import Final

from app.domain.causes.licence import Aspect, LicenceFacts, LicenceItem, assess_licence
from app.domain.clock import utc_now
from app.domain.diagnosis import CheckStatus
from app.domain.licence import Edition, Licence
from app.domain.version import PbxVersion
from app.services.facts.outcome import attempt
from app.services.setup.detect import PbxDetection
from app.threecx.client import PbxClient

LABELS: Final[dict[Aspect, str]] = {
    Aspect.VERSION: "3CX version",
    Aspect.LICENCE: "Licence active",
    Aspect.EDITION: "Licence edition",
    Aspect.RECORDING: "Call recording",
}
TRANSCRIPTION_V18: Final = (
    "Optional: if the customer wants call transcripts, upgrade to v20 on the higher tier. "
    "Calls and recordings reach the CRM without it."
)
TRANSCRIPTION_TIER: Final = (
    "Optional: transcription needs the higher (Enterprise) tier. Calls and recordings reach "
    "the CRM without it."
)


@dataclass(frozen=True)
class Prerequisite:
    key: str  # "version", "licence", "edition", "recording" or "transcription"
    label: str
    status: CheckStatus  # the rule's verdict; SKIP: not known yet
    detail: str
    what_to_do: str | None
    required: bool = True  # False: nice to have (transcription); the bridge works without it

    @property
    def ok(self) -> bool | None:
        """Met (a warning is met, with something to do), missing, or None: not known yet."""
        if self.status is CheckStatus.SKIP:
            return None
        return self.status is not CheckStatus.FAIL


async def check_prerequisites(
    detection: PbxDetection, client: PbxClient | None, *, now: datetime | None = None
) -> tuple[Prerequisite, ...]:
    """The five prerequisites; without a client, those that need the key wait for it."""
    now = now or utc_now()
    generation = client.generation if client is not None else detection.generation
    version = (client.identity.version if client is not None else None) or PbxVersion.parse(
        detection.version
    )
    if client is None:
        facts = LicenceFacts(now=now, version=version, generation=generation, signed_in=False)
        return (*_items(facts), _transcription(version, generation, None))
    licence, status = await asyncio.gather(
        attempt(client.licence()), attempt(client.system_status())
    )
    version = client.identity.version or version  # system_status() may just have told it
    facts = LicenceFacts(
        now=now,
        version=version,
        generation=generation,
        licence=licence.value,
        status=status.value,
        licence_error=licence.error.message if licence.error else None,
        status_error=status.error.message if status.error else None,
    )
    return (*_items(facts), _transcription(version, generation, licence.value))


def _items(facts: LicenceFacts) -> tuple[Prerequisite, ...]:
    return tuple(_prerequisite(item) for item in assess_licence(facts))


def _prerequisite(item: LicenceItem) -> Prerequisite:
    return Prerequisite(
        item.aspect.value, LABELS[item.aspect], item.status, item.finding, item.fix or None
    )


def _transcription(
    version: PbxVersion | None, generation: str | None, lic: Licence | None
) -> Prerequisite:
    """Nice to have, not a cause: what the field docs say each generation and tier allows."""

    def optional(status: CheckStatus, detail: str, what_to_do: str | None = None) -> Prerequisite:
        return Prerequisite(
            "transcription", "Transcription (optional)", status, detail, what_to_do, required=False
        )

    v20 = version.is_v20 if version is not None else generation == "v20"
    if not v20:
        if generation is None and version is None:
            return optional(CheckStatus.SKIP, "Depends on the version.")
        return optional(
            CheckStatus.FAIL,
            "Transcription is v20-only: v18 has no native transcription.",
            TRANSCRIPTION_V18,
        )
    if lic is None or lic.edition is Edition.UNKNOWN:
        return optional(
            CheckStatus.SKIP,
            "Available on v20's higher tier; the edition is read once the key works.",
        )
    if lic.edition is Edition.ENTERPRISE:
        return optional(
            CheckStatus.PASS,
            "v20 on the higher tier: transcription is available, fetched alongside the "
            "recording by a bridge that supports it.",
        )
    return optional(
        CheckStatus.FAIL,
        f"v20 on {lic.edition}: transcription is on the higher tier only.",
        TRANSCRIPTION_TIER,
    )
