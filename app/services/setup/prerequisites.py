"""Step 2: what the PBX must have before a CRM bridge works (field docs, seed 001).

v18 build 11 or later (v20 preferred) on a paid annual licence with call recording; the XAPI
and Call Control need an Enterprise licence on v20; transcription is v20-only, higher tier.
The rules and the words are the doctor's licence check (cause 1), so the two never disagree.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime

from app.domain.clock import utc_now
from app.domain.licence import Edition, Licence, SystemStatus
from app.domain.version import SUPPORTED_FLOOR, PbxVersion
from app.services.doctor.common import attempt, day
from app.services.doctor.licence import EXPIRY_WARNING, QUOTA, RENEW, UPGRADE, V20_ADDS
from app.services.setup.detect import PbxDetection
from app.threecx.client import PbxClient
from app.threecx.errors import ThreeCXError

AFTER_KEY = "Checked once the API key works (the key step)."
BY_HAND = (
    "Check System, Licence in the 3CX admin console by hand: confirm the licence is active, "
    "call recording is included and at least one recording channel is licensed."
)
ENTERPRISE = (
    "Upgrade the licence to Enterprise (in the 3CX partner portal) so the API keeps working: "
    "3CX documents the XAPI and Call Control as Enterprise features."
)
TRANSCRIPTION_V18 = (
    "Optional: if the customer wants call transcripts, upgrade to v20 on the higher tier. "
    "Calls and recordings reach the CRM without it."
)
TRANSCRIPTION_TIER = (
    "Optional: transcription needs the higher (Enterprise) tier. Calls and recordings reach "
    "the CRM without it."
)


@dataclass(frozen=True)
class Prerequisite:
    key: str  # "version", "licence", "edition", "recording" or "transcription"
    label: str
    ok: bool | None  # None: not known yet
    detail: str
    what_to_do: str | None
    required: bool = True  # False: nice to have (transcription); the bridge works without it


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
        return (
            _version(version, generation),
            Prerequisite("licence", "Licence active", None, AFTER_KEY, None),
            Prerequisite("edition", "Licence edition", None, AFTER_KEY, None),
            Prerequisite("recording", "Call recording", None, AFTER_KEY, None),
            _transcription(version, generation, None),
        )
    licence, status = await asyncio.gather(
        attempt(client.licence()), attempt(client.system_status())
    )
    version = client.identity.version or version  # system_status() may just have told it
    problem = licence.error or status.error
    return (
        _version(version, generation),
        _licence(licence.value, status.value, problem, now),
        _edition(licence.value, generation, licence.error),
        _recording(status.value, status.error),
        _transcription(version, generation, licence.value),
    )


def _version(version: PbxVersion | None, generation: str | None) -> Prerequisite:
    label = "3CX version"
    if version is None:
        if generation == "v18":
            detail = "A v18 PBX says its build only after sign-in. " + AFTER_KEY
        elif generation == "v20":
            return Prerequisite(
                "version",
                label,
                True,
                "v20 (the build is read once the key works): above the floor, v18 build 11.",
                None,
            )
        else:
            detail = "The PBX has not said its version yet."
        return Prerequisite(
            "version",
            label,
            None,
            detail,
            "Or read it now: the version is in the admin console's top banner, or on the "
            "support page at the top right. v18 build 11 or later is supported.",
        )
    if not version.meets_floor:
        return Prerequisite(
            "version",
            label,
            False,
            f"3CX {version} is older than the supported floor, v18 build 11 ({SUPPORTED_FLOOR}).",
            f"{UPGRADE} Plan for an hour of downtime and the standard 3CX upgrade procedure.",
        )
    if not version.is_v20:
        return Prerequisite(
            "version",
            label,
            True,
            f"3CX {version}: v18 build 11 or later works with a CRM bridge.",
            V20_ADDS + " Plan to be on v20 within the next twelve months.",
        )
    return Prerequisite(
        "version",
        label,
        True,
        f"3CX {version}: v20, the current generation, recommended for new builds.",
        None,
    )


def _licence(
    lic: Licence | None, st: SystemStatus | None, problem: ThreeCXError | None, now: datetime
) -> Prerequisite:
    label = "Licence active"
    if lic is None and st is None:
        reason = problem.message if problem else "no answer"
        return Prerequisite(
            "licence", label, None, f"Could not read the licence: {reason}", BY_HAND
        )
    active = next(
        (
            v
            for v in (lic.active if lic else None, st.licence_active if st else None)
            if v is not None
        ),
        None,
    )
    expires = (lic.expires_at if lic else None) or (st.expires_at if st else None)
    if active is False or (expires is not None and expires < now):
        when = f" (expired {day(expires)})" if expires and expires < now else ""
        return Prerequisite("licence", label, False, f"The 3CX licence is not active{when}.", RENEW)
    if expires is not None and expires - now < EXPIRY_WARNING:
        return Prerequisite(
            "licence",
            label,
            True,
            f"Active, but it expires on {day(expires)}, in {(expires - now).days} days.",
            "Renew the licence before it expires: recording and the API stop with it.",
        )
    if active is None:
        return Prerequisite("licence", label, None, "The PBX did not say.", BY_HAND)
    until = f", until {day(expires)}" if expires else ""
    return Prerequisite("licence", label, True, f"Active{until}.", None)


def _edition(
    lic: Licence | None, generation: str | None, problem: ThreeCXError | None
) -> Prerequisite:
    label = "Licence edition"
    if lic is None or lic.edition is Edition.UNKNOWN:
        reason = (
            f"Could not read the edition: {problem.message}"
            if problem
            else "The PBX did not say its edition."
        )
        return Prerequisite("edition", label, None, reason, BY_HAND)
    code = f" ({lic.product_code})" if lic.product_code else ""
    if generation == "v20" and lic.edition is not Edition.ENTERPRISE:
        return Prerequisite(
            "edition",
            label,
            False,
            f"{lic.edition}{code}: the XAPI and Call Control need an Enterprise licence.",
            ENTERPRISE,
        )
    why = (
        "it includes the XAPI and Call Control"
        if generation == "v20"
        else "any paid annual tier with call recording supports a CRM bridge on v18"
    )
    return Prerequisite("edition", label, True, f"{lic.edition}{code}: {why}.", None)


def _recording(st: SystemStatus | None, problem: ThreeCXError | None) -> Prerequisite:
    label = "Call recording"
    if st is None or (st.recording_stopped is None and st.recording_quota_reached is None):
        reason = (
            f"Could not read the recording state: {problem.message}"
            if problem
            else "The PBX did not say whether it is recording."
        )
        return Prerequisite("recording", label, None, reason, BY_HAND)
    if st.recording_stopped or st.recording_quota_reached:
        why = "the recording quota is reached" if st.recording_quota_reached else "it was stopped"
        return Prerequisite(
            "recording", label, False, f"The PBX has stopped recording calls: {why}.", QUOTA
        )
    return Prerequisite(
        "recording",
        label,
        True,
        "The PBX is recording. Each extension's own setting is checked in the recording audit.",
        None,
    )


def _transcription(
    version: PbxVersion | None, generation: str | None, lic: Licence | None
) -> Prerequisite:
    label = "Transcription (optional)"
    v20 = version.is_v20 if version is not None else generation == "v20"
    if not v20:
        if generation is None and version is None:
            return Prerequisite(
                "transcription", label, None, "Depends on the version.", None, required=False
            )
        return Prerequisite(
            "transcription",
            label,
            False,
            "Transcription is v20-only: v18 has no native transcription.",
            TRANSCRIPTION_V18,
            required=False,
        )
    if lic is None or lic.edition is Edition.UNKNOWN:
        return Prerequisite(
            "transcription",
            label,
            None,
            "Available on v20's higher tier; the edition is read once the key works.",
            None,
            required=False,
        )
    if lic.edition is Edition.ENTERPRISE:
        return Prerequisite(
            "transcription",
            label,
            True,
            "v20 on the higher tier: transcription is available, fetched alongside the "
            "recording by a bridge that supports it.",
            None,
            required=False,
        )
    return Prerequisite(
        "transcription",
        label,
        False,
        f"v20 on {lic.edition}: transcription is on the higher tier only.",
        TRANSCRIPTION_TIER,
        required=False,
    )
