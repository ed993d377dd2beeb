"""Cause 1: the licence does not cover the API or call recording, or the PBX is too old."""

from __future__ import annotations

from datetime import timedelta

from app.domain.diagnosis import CheckId, CheckResult, CheckStatus
from app.domain.licence import Edition, Licence, SystemStatus
from app.domain.version import SUPPORTED_FLOOR
from app.services.doctor.common import CheckContext, attempt, day

EXPIRY_WARNING = timedelta(days=30)
V20_ADDS = (
    "v18 build 11 or later works with a CRM bridge; v20 adds call transcription (higher tier) "
    "and a broader reporting surface, so plan the move to v20."
)
RENEW = (
    "Renew or re-activate the licence: in the 3CX admin console open System, Licence (or your "
    "3CX partner portal). Until it is active no API permission, bridge change or CRM setting "
    "will produce a recording, because the PBX is not writing the file."
)
UPGRADE = (
    "Upgrade the PBX to v18 build 11 or later (v20 recommended) before connecting a CRM bridge: "
    "older builds lack a stable Call Control API."
)
QUOTA = (
    "Free space or raise the recording quota so 3CX writes recordings again: System, Settings, "
    "Storage in the admin console. Calls made while recording was stopped have no recording."
)


async def check_licence(ctx: CheckContext) -> CheckResult:
    status, licence = await ctx.facts.gather(
        attempt(ctx.facts.system_status()), attempt(ctx.facts.licence())
    )
    evidence: list[str] = []
    fails: list[tuple[str, str]] = []
    warns: list[tuple[str, str]] = []
    notes: list[str] = []

    version = ctx.identity.version
    if version is None:
        warns.append(("The PBX did not say its version.", UPGRADE))
    else:
        evidence.append(f"Version: 3CX {version} (supported floor {SUPPORTED_FLOOR})")
        if not version.meets_floor:
            fails.append(
                (
                    f"3CX {version} is older than the supported floor, v18 build 11 "
                    f"({SUPPORTED_FLOOR}).",
                    UPGRADE,
                )
            )
        elif not version.is_v20:
            notes.append(V20_ADDS)

    lic = licence.value
    st = status.value
    if lic is not None:
        evidence.extend(_licence_lines(lic))
    if st is not None:
        evidence.extend(_status_lines(st))
    if lic is None and st is None:
        reason = (licence.error or status.error or Exception()).__str__()
        warns.append(
            (
                f"Could not read the licence: {reason}",
                "Check System, Licence in the 3CX admin console by hand: confirm call "
                "recording is included and at least one recording channel is licensed.",
            )
        )

    active = _first_known(lic.active if lic else None, st.licence_active if st else None)
    expires = (lic.expires_at if lic else None) or (st.expires_at if st else None)
    if active is False or (expires is not None and expires < ctx.now):
        when = f" (expired {day(expires)})" if expires and expires < ctx.now else ""
        fails.append((f"The 3CX licence is not active{when}.", RENEW))
    elif expires is not None and expires - ctx.now < EXPIRY_WARNING:
        warns.append(
            (
                f"The 3CX licence expires on {day(expires)}, in {(expires - ctx.now).days} days.",
                "Renew the licence before it expires: recording and the API stop with it.",
            )
        )

    if st is not None and (st.recording_stopped or st.recording_quota_reached):
        why = "the recording quota is reached" if st.recording_quota_reached else "it was stopped"
        fails.append((f"The PBX has stopped recording calls: {why}.", QUOTA))

    if lic is not None and ctx.is_v20 and lic.edition not in (Edition.ENTERPRISE, Edition.UNKNOWN):
        warns.append(
            (
                f"The licence edition is {lic.edition}: the XAPI and Call Control need an "
                "Enterprise licence.",
                "Upgrade the licence to Enterprise so the API keeps working.",
            )
        )
    if lic is not None and lic.maintenance_expired:
        warns.append(
            (
                "Maintenance has expired: the PBX cannot take updates.",
                "Renew maintenance so the PBX can be kept on a supported build.",
            )
        )

    if fails:
        return _result(CheckStatus.FAIL, fails, evidence + notes)
    if warns:
        return _result(CheckStatus.WARN, warns, evidence + notes)
    finding = "The licence is active and the PBX is recording."
    if notes:
        finding += " " + notes[0]
    return CheckResult(CheckId.LICENCE, CheckStatus.PASS, finding, "", tuple(evidence))


def _result(status: CheckStatus, items: list[tuple[str, str]], evidence: list[str]) -> CheckResult:
    finding = " ".join(text for text, _ in items)
    fixes = list(dict.fromkeys(fix for _, fix in items))
    return CheckResult(CheckId.LICENCE, status, finding, " ".join(fixes), tuple(evidence))


def _first_known(*values: bool | None) -> bool | None:
    return next((v for v in values if v is not None), None)


def _licence_lines(lic: Licence) -> list[str]:
    active = {True: "active", False: "NOT active", None: "unknown"}[lic.active]
    lines = [f"Licence: {active}, expires {day(lic.expires_at)}"]
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
