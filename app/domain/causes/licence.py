"""Cause 1: the licence does not cover the API or call recording, or the PBX is too old.

The field docs (seeds 000 and 001): v18 build 11 or later (v20 preferred) on an active, paid
annual licence with call recording; on v20 the XAPI and Call Control are Enterprise features.
The doctor's check 1 and the guided setup's prerequisites step both ask ``assess_licence``, so
they give one verdict in one set of words.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Final

from app.domain.causes import fields
from app.domain.diagnosis import CheckId, CheckResult, CheckStatus, DiagnosisFormatError
from app.domain.licence import Edition, Licence, SystemStatus
from app.domain.version import SUPPORTED_FLOOR, PbxVersion

LICENCE_EXPIRY_WARNING_DAYS: Final = 30

AFTER_KEY: Final = "Checked once the API key works (step 5, Verify the key)."
BY_HAND: Final = (
    "Check System, Licence in the 3CX admin console by hand: confirm the licence is active, "
    "call recording is included and at least one recording channel is licensed."
)
VERSION_BY_HAND: Final = (
    "Read the version in the admin console's top banner, or on the support page at the top "
    "right: v18 build 11 or later is supported."
)
V20_ADDS: Final = (
    "v18 build 11 or later works with a CRM bridge; v20 adds call transcription (higher tier) "
    "and a broader reporting surface: plan to be on v20 within the next twelve months."
)
RENEW: Final = (
    "Renew or re-activate the licence: in the 3CX admin console open System, Licence (or your "
    "3CX partner portal). Until it is active no API permission, bridge change or CRM setting "
    "will produce a recording, because the PBX is not writing the file."
)
RENEW_SOON: Final = "Renew the licence before it expires: recording and the API stop with it."
MAINTENANCE: Final = "Renew maintenance so the PBX can be kept on a supported build."
UPGRADE: Final = (
    "Upgrade the PBX to v18 build 11 or later (v20 recommended) before connecting a CRM bridge: "
    "older builds lack a stable Call Control API. Plan for an hour of downtime and the standard "
    "3CX upgrade procedure."
)
ENTERPRISE: Final = (
    "Upgrade the licence to Enterprise (in the 3CX partner portal) so the API keeps working: "
    "3CX documents the XAPI and Call Control as Enterprise features."
)
QUOTA: Final = (
    "Free space or raise the recording quota so 3CX writes recordings again: System, Settings, "
    "Storage in the admin console. Calls made while recording was stopped have no recording."
)
ACTIVE_AND_RECORDING: Final = "The licence is active and the PBX is recording."


class Aspect(enum.StrEnum):
    VERSION = "version"
    LICENCE = "licence"
    EDITION = "edition"
    RECORDING = "recording"


@dataclass(frozen=True)
class LicenceFacts:
    """What the PBX said about itself. ``signed_in`` is False before the key works (the setup's
    second step), when only the version, if that, is known."""

    now: datetime
    version: PbxVersion | None
    generation: str | None  # "v20" or "v18": the API the PBX speaks
    licence: Licence | None = None
    status: SystemStatus | None = None
    licence_error: str | None = None  # why the licence could not be read
    status_error: str | None = None  # why the system status could not be read
    signed_in: bool = True


@dataclass(frozen=True)
class LicenceItem:
    """One aspect of cause 1. SKIP: not known. On a pass, ``fix`` is advice worth passing on."""

    aspect: Aspect
    status: CheckStatus
    finding: str
    fix: str = ""

    def as_json(self) -> dict[str, Any]:
        return {
            "aspect": self.aspect.value,
            "status": self.status.value,
            "finding": self.finding,
            "fix": self.fix,
        }

    @classmethod
    def from_json(cls, data: object, where: str) -> LicenceItem:
        item = fields.obj(data, where)
        raw_aspect = fields.text(item.get("aspect"), f"{where}.aspect")
        raw_status = fields.text(item.get("status"), f"{where}.status")
        try:
            aspect, status = Aspect(raw_aspect), CheckStatus(raw_status)
        except ValueError as exc:
            raise DiagnosisFormatError(f"{where}: {exc}") from None
        return cls(
            aspect,
            status,
            fields.text(item.get("finding"), f"{where}.finding"),
            fields.text(item.get("fix", ""), f"{where}.fix"),
        )


@dataclass(frozen=True)
class LicenceDetails:
    version: str | None
    edition: str | None
    expires_at: datetime | None
    items: tuple[LicenceItem, ...]
    maintenance_expires_at: datetime | None = None  # the fleet warns before it lapses

    def as_json(self) -> dict[str, Any]:
        maintenance = self.maintenance_expires_at
        return {
            "version": self.version,
            "edition": self.edition,
            "expires_at": self.expires_at.isoformat() if self.expires_at else None,
            "maintenance_expires_at": maintenance.isoformat() if maintenance else None,
            "items": [item.as_json() for item in self.items],
        }

    @classmethod
    def from_json(cls, data: object) -> LicenceDetails:
        item = fields.obj(data, "licence.details")
        return cls(
            fields.opt_text(item.get("version"), "licence.details.version"),
            fields.opt_text(item.get("edition"), "licence.details.edition"),
            fields.opt_time(item.get("expires_at"), "licence.details.expires_at"),
            tuple(
                LicenceItem.from_json(entry, f"licence.details.items[{n}]")
                for n, entry in enumerate(fields.items(item.get("items"), "licence.details.items"))
            ),
            # Absent from results written before the fleet read it.
            fields.opt_time(
                item.get("maintenance_expires_at"), "licence.details.maintenance_expires_at"
            ),
        )


def assess_licence(facts: LicenceFacts) -> tuple[LicenceItem, ...]:
    """The four aspects, in the order the setup lists them."""
    return (_version(facts), _licence(facts), _edition(facts), _recording(facts))


def judge_licence(facts: LicenceFacts) -> CheckResult:
    items = assess_licence(facts)
    fails = [i for i in items if i.status is CheckStatus.FAIL]
    # Not known is a warning: an unverified cause must not read as a clean bill of health.
    warns = [i for i in items if i.status in (CheckStatus.WARN, CheckStatus.SKIP)]
    evidence = _evidence(facts)
    details = _details(facts, items).as_json()
    for status, chosen in ((CheckStatus.FAIL, fails), (CheckStatus.WARN, warns)):
        if chosen:
            finding = " ".join(i.finding for i in chosen)
            fix = " ".join(dict.fromkeys(i.fix for i in chosen if i.fix))
            return CheckResult(CheckId.LICENCE, status, finding, fix, evidence, details)
    advice = [i.fix for i in items if i.fix]
    finding = " ".join([ACTIVE_AND_RECORDING, *advice])
    return CheckResult(CheckId.LICENCE, CheckStatus.PASS, finding, "", evidence, details)


# ---- the aspects -------------------------------------------------------------------------------
def _version(facts: LicenceFacts) -> LicenceItem:
    version = facts.version
    if version is None:
        if facts.generation == "v20":
            when = "was not reported" if facts.signed_in else "is read once the key works"
            return LicenceItem(
                Aspect.VERSION,
                CheckStatus.PASS,
                f"v20 (the build {when}): above the floor, v18 build 11.",
            )
        if facts.signed_in:
            return LicenceItem(
                Aspect.VERSION,
                CheckStatus.WARN,
                "The PBX did not say its version.",
                VERSION_BY_HAND,
            )
        said = (
            "A v18 PBX says its build only after sign-in. " + AFTER_KEY
            if facts.generation == "v18"
            else "The PBX has not said its version yet."
        )
        return LicenceItem(Aspect.VERSION, CheckStatus.SKIP, said, VERSION_BY_HAND)
    if not version.meets_floor:
        return LicenceItem(
            Aspect.VERSION,
            CheckStatus.FAIL,
            f"3CX {version} is older than the supported floor, v18 build 11 ({SUPPORTED_FLOOR}).",
            UPGRADE,
        )
    if not version.is_v20:
        return LicenceItem(
            Aspect.VERSION,
            CheckStatus.PASS,
            f"3CX {version}: v18 build 11 or later works with a CRM bridge.",
            V20_ADDS,
        )
    return LicenceItem(
        Aspect.VERSION,
        CheckStatus.PASS,
        f"3CX {version}: v20, the current generation, recommended for new builds.",
    )


def _licence(facts: LicenceFacts) -> LicenceItem:
    lic, st, now = facts.licence, facts.status, facts.now
    if not facts.signed_in:
        return LicenceItem(Aspect.LICENCE, CheckStatus.SKIP, AFTER_KEY)
    if lic is None and st is None:
        reason = facts.licence_error or facts.status_error or "no answer"
        return LicenceItem(
            Aspect.LICENCE, CheckStatus.SKIP, f"Could not read the licence: {reason}", BY_HAND
        )
    said = (lic.active if lic else None, st.licence_active if st else None)
    if _says_nothing(lic) and not _v18_activated(facts):
        # The licence answer came back empty ({"value": null}, or none of its fields): what
        # SystemStatus says alone is no licence answer, so nothing passes on it.
        return LicenceItem(
            Aspect.LICENCE,
            CheckStatus.WARN,
            "The licence could not be read: the PBX's licence answer said neither whether the "
            "licence is active nor when it expires.",
            BY_HAND,
        )
    # Either answer saying "not active" is believed: only a pass needs every word to agree.
    active = False if False in said else True if True in said else None
    expires = (lic.expires_at if lic else None) or (st.expires_at if st else None)
    if active is False or (expires is not None and expires < now):
        when = f" (expired {_day(expires)})" if expires and expires < now else ""
        return LicenceItem(
            Aspect.LICENCE, CheckStatus.FAIL, f"The 3CX licence is not active{when}.", RENEW
        )
    warnings: list[tuple[str, str]] = []
    if expires is not None and expires - now < timedelta(days=LICENCE_EXPIRY_WARNING_DAYS):
        warnings.append(
            (
                f"The 3CX licence expires on {_day(expires)}, in {(expires - now).days} days.",
                RENEW_SOON,
            )
        )
    if lic is not None and lic.maintenance_expired:
        warnings.append(("Maintenance has expired: the PBX cannot take updates.", MAINTENANCE))
    if warnings:
        return LicenceItem(
            Aspect.LICENCE,
            CheckStatus.WARN,
            " ".join(w for w, _ in warnings),
            " ".join(f for _, f in warnings),
        )
    if active is None and st is not None and st.activated:
        # Older v18 bodies send no LicenseActive (API-NOTES §9.9): a licence the PBX calls
        # activated, and not past its expiry (checked above), is active.
        active = True
    if active is None:
        return LicenceItem(
            Aspect.LICENCE,
            CheckStatus.SKIP,
            "The PBX did not say whether the licence is active.",
            BY_HAND,
        )
    until = f", until {_day(expires)}" if expires else ""
    return LicenceItem(Aspect.LICENCE, CheckStatus.PASS, f"The 3CX licence is active{until}.")


def _says_nothing(lic: Licence | None) -> bool:
    """A licence answer that arrived but established nothing about the licence."""
    return lic is not None and lic.active is None and lic.expires_at is None


def _v18_activated(facts: LicenceFacts) -> bool:
    """Older v18 bodies send no LicenseActive and no expiry (API-NOTES §9.9): there the licence
    answer is the system status itself, and "Activated" is its word for active."""
    st = facts.status
    return facts.generation == "v18" and st is not None and st.activated is not None


def _edition(facts: LicenceFacts) -> LicenceItem:
    lic = facts.licence
    if not facts.signed_in:
        return LicenceItem(Aspect.EDITION, CheckStatus.SKIP, AFTER_KEY)
    if lic is None or lic.edition is Edition.UNKNOWN:
        said = (
            f"Could not read the edition: {facts.licence_error}"
            if facts.licence_error
            else "The PBX did not say its edition."
        )
        return LicenceItem(Aspect.EDITION, CheckStatus.SKIP, said, BY_HAND)
    code = f" ({lic.product_code})" if lic.product_code else ""
    if facts.generation == "v20" and lic.edition is not Edition.ENTERPRISE:
        # A warning, not a failure: the API answered, so it works today (API-NOTES §2 leaves
        # a lower edition's behaviour unconfirmed).
        return LicenceItem(
            Aspect.EDITION,
            CheckStatus.WARN,
            f"The licence edition is {lic.edition}{code}: the XAPI and Call Control need an "
            "Enterprise licence.",
            ENTERPRISE,
        )
    why = (
        "it includes the XAPI and Call Control"
        if facts.generation == "v20"
        else "any paid annual tier with call recording supports a CRM bridge on v18"
    )
    return LicenceItem(Aspect.EDITION, CheckStatus.PASS, f"{lic.edition}{code}: {why}.")


def _recording(facts: LicenceFacts) -> LicenceItem:
    st = facts.status
    if not facts.signed_in:
        return LicenceItem(Aspect.RECORDING, CheckStatus.SKIP, AFTER_KEY)
    if st is None or (st.recording_stopped is None and st.recording_quota_reached is None):
        said = (
            f"Could not read the recording state: {facts.status_error}"
            if facts.status_error
            else "The PBX did not say whether it is recording."
        )
        return LicenceItem(Aspect.RECORDING, CheckStatus.SKIP, said, BY_HAND)
    if st.recording_stopped or st.recording_quota_reached:
        why = "the recording quota is reached" if st.recording_quota_reached else "it was stopped"
        return LicenceItem(
            Aspect.RECORDING,
            CheckStatus.FAIL,
            f"The PBX has stopped recording calls: {why}.",
            QUOTA,
        )
    if st.recording_stopped is None:
        # The quota is not reached, but whether recording was stopped was not said.
        return LicenceItem(
            Aspect.RECORDING,
            CheckStatus.SKIP,
            "The PBX did not say whether recording is stopped (only that the quota is not "
            "reached).",
            BY_HAND,
        )
    return LicenceItem(
        Aspect.RECORDING,
        CheckStatus.PASS,
        "The PBX is recording. Each extension's own setting is cause 3 (the recording audit).",
    )


# ---- evidence and details ----------------------------------------------------------------------
def _details(facts: LicenceFacts, items: tuple[LicenceItem, ...]) -> LicenceDetails:
    lic, st = facts.licence, facts.status
    return LicenceDetails(
        version=str(facts.version) if facts.version else None,
        edition=str(lic.edition) if lic else None,
        expires_at=(lic.expires_at if lic else None) or (st.expires_at if st else None),
        items=items,
        maintenance_expires_at=lic.maintenance_expires_at if lic else None,
    )


def _evidence(facts: LicenceFacts) -> tuple[str, ...]:
    lines: list[str] = []
    if facts.version is not None:
        lines.append(f"Version: 3CX {facts.version} (supported floor {SUPPORTED_FLOOR})")
    if facts.licence is not None:
        activated = facts.status.activated if facts.status is not None else None
        lines.extend(_licence_lines(facts.licence, activated))
    if facts.status is not None:
        lines.extend(_status_lines(facts.status))
    return tuple(lines)


def _licence_lines(lic: Licence, activated: bool | None) -> list[str]:
    if lic.active is None and activated:
        active = "activated (LicenseActive not sent)"
    else:
        active = {True: "active", False: "NOT active", None: "unknown"}[lic.active]
    lines = [f"Licence: {active}, expires {_day(lic.expires_at)}"]
    edition = str(lic.edition)
    if lic.product_code:
        edition += f" ({lic.product_code})"
    lines.append(f"Edition: {edition}")
    if lic.max_sim_calls is not None:
        lines.append(f"Simultaneous calls: {lic.max_sim_calls}")
    return lines


def _status_lines(st: SystemStatus) -> list[str]:
    if st.recording_stopped is None and st.recording_quota_reached is None:
        return []
    state = "stopped" if st.recording_stopped else "running"
    if st.recording_quota_reached:
        state += ", quota reached"
    used = _size(st.recording_used_bytes)
    quota = _size(st.recording_quota)
    if used and quota:
        state += f" ({used} used of {quota})"
    elif used:
        state += f" ({used} used)"
    return [f"Recording: {state}"]


def _size(value: int | None) -> str:
    if not value:
        return ""
    size = float(value)
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return ""


def _day(value: datetime | None) -> str:
    return value.date().isoformat() if value else "unknown"
