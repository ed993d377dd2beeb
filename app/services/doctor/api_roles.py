"""Cause 2: the API user is missing one of the two roles the field docs name.

3CX has no roles called "Reports User" or "Recording Manager" (API-NOTES §3): they are two
capabilities, so they are proven by probing (read the call log; list and download a
recording), never by trusting a role name.
"""

from __future__ import annotations

from typing import Any

from app.domain.diagnosis import CheckId, CheckResult, CheckStatus
from app.domain.recordings import Recording
from app.services.doctor.common import CheckContext, Outcome, attempt, plural
from app.threecx.client import PbxClient
from app.threecx.errors import AuthRejected, Forbidden, RecordingFileMissing, ThreeCXError
from app.threecx.v20.client import V20Client

HISTORY = "Reports User, for call history"
RECORDINGS = "Recording Manager, for recording fetch"
ADMIN_MARKERS = ("admin", "owner")


def roles_fix(v20: bool, missing: list[str]) -> str:
    what = "; ".join(missing)
    where = (
        "On v20 the API client's rights come from its role: Admin console > Integrations > API, "
        "edit the API client, and give it a Department and Role that may read call reports and "
        "recordings (field reports: System Administrator gets 403 on recordings and call "
        "reports; System Owner has both, but it is admin-level: keep that key dedicated to the bridge, "
        "because its blast radius is the whole PBX)."
        if v20
        else "On v18: Users, edit the API user, and set its rights group so it may read the "
        "call log and recordings."
    )
    return (
        f"Assign the missing role ({what}). In the 3CX admin console open Users, edit the API "
        "user (the dedicated crm-bridge user, not your personal admin account), assign both the "
        "Recording Manager and Reports User rights groups, save, and trigger the bridge to retry "
        f"the call. {where}"
    )


BLAST_RADIUS_FIX = (
    "Use a dedicated API user with only the two capabilities the bridge needs. If these "
    "credentials leak, an admin-level key gives the attacker the keys to the PBX: acceptable "
    "for a quick test, not for production."
)


async def check_api_roles(ctx: CheckContext) -> CheckResult:
    history, newest = await ctx.facts.gather(
        attempt(ctx.facts.history_day()), attempt(ctx.facts.newest_recordings())
    )
    evidence = [history_line(history, ctx.is_v20), list_line(newest)]
    download: Outcome[int] | None = None
    if newest.ok and newest.value:
        download = await download_newest(ctx.client, newest.value)
        evidence.append(download_line(download))

    history_denied = history.denied
    recordings_denied = newest.denied or (download is not None and download.denied)
    missing = [HISTORY] * history_denied + [RECORDINGS] * recordings_denied
    details: dict[str, Any] = {
        "call_history": "ok" if history.ok else error_name(history.error),
        "recording_list": "ok" if newest.ok else error_name(newest.error),
        "recording_download": "not tried"
        if download is None
        else ("ok" if download.ok else error_name(download.error)),
    }
    fix = roles_fix(ctx.is_v20, missing)
    if history_denied and recordings_denied:
        return CheckResult(
            CheckId.API_ROLES,
            CheckStatus.FAIL,
            "Neither role is assigned: the API user can read neither call history (Reports "
            "User) nor recordings (Recording Manager).",
            fix,
            tuple(evidence),
            details,
        )
    if recordings_denied:
        return CheckResult(
            CheckId.API_ROLES,
            CheckStatus.FAIL,
            "Role 1 of 2 is assigned, role 2 of 2 is not: the API user reads call history "
            "(Reports User) but is refused the recordings (Recording Manager). Calls reach the "
            "CRM without their recording.",
            fix,
            tuple(evidence),
            details,
        )
    if history_denied:
        return CheckResult(
            CheckId.API_ROLES,
            CheckStatus.FAIL,
            "Role 2 of 2 is assigned, role 1 of 2 is not: the API user fetches recordings "
            "(Recording Manager) but is refused the call history (Reports User), so the bridge "
            "never learns of the calls.",
            fix,
            tuple(evidence),
            details,
        )
    problems = [o.error for o in (history, newest, download) if o is not None and o.error]
    if problems:
        return CheckResult(
            CheckId.API_ROLES,
            CheckStatus.WARN,
            "Could not prove both capabilities: " + "; ".join(e.message for e in problems),
            "Run the doctor again; if it persists, test the call log and a recording download "
            "by hand with the API user.",
            tuple(evidence),
            details,
        )

    privileged = admin_claims(ctx.client)
    if privileged:
        evidence.append("Token role claims: " + ", ".join(privileged))
        return CheckResult(
            CheckId.API_ROLES,
            CheckStatus.WARN,
            "Both capabilities work, but the API user is over-privileged: its token carries "
            f"admin-level claims ({', '.join(privileged)}).",
            BLAST_RADIUS_FIX,
            tuple(evidence),
            details,
        )
    if not newest.value:
        return CheckResult(
            CheckId.API_ROLES,
            CheckStatus.WARN,
            "Call history reads, and the recordings list answers, but there is no recording yet "
            "to prove the download.",
            "Place a recorded test call and run the doctor again to prove the recording fetch.",
            tuple(evidence),
            details,
        )
    return CheckResult(
        CheckId.API_ROLES,
        CheckStatus.PASS,
        "Both roles are in place: the API user reads call history (Reports User) and lists "
        "and downloads recordings (Recording Manager).",
        "",
        tuple(evidence),
        details,
    )


async def download_newest(client: PbxClient, recordings: list[Recording]) -> Outcome[int]:
    """Download the newest recording still on the PBX (archived ones live elsewhere): the
    recording-fetch probe. The value is the number of bytes of audio."""
    last: Outcome[int] = Outcome(error=RecordingFileMissing("No local recording to try."))
    for rec in [r for r in recordings if not r.archived][:3]:
        try:
            data = await client.download_recording(rec.id)
        except RecordingFileMissing as exc:
            last = Outcome(error=exc)
            continue
        except ThreeCXError as exc:
            return Outcome(error=exc)
        return Outcome(value=len(data))
    return last


def admin_claims(client: PbxClient) -> list[str]:
    """Admin-level role claims in the client's token (v20): the key is over-privileged."""
    if not isinstance(client, V20Client):
        return []
    claims = client.tokens.claims()
    found: list[str] = []
    for key, value in claims.items():
        if key.lower() in ("role", "roles") or key.endswith("/role"):
            values = value if isinstance(value, list) else [value]
            found.extend(str(v) for v in values if any(m in str(v).lower() for m in ADMIN_MARKERS))
        elif key.lower() in ("admin", "is_admin") and value is True:
            found.append(key)
    return list(dict.fromkeys(found))


def error_name(error: ThreeCXError | None) -> str:
    if isinstance(error, Forbidden):
        return "403 forbidden"
    if isinstance(error, AuthRejected):
        return "401 rejected"
    return error.what if error else "ok"


def history_line(history: Outcome[Any], v20: bool) -> str:
    source = "GetCallLogData" if v20 else "/api/CallLog"
    if history.ok:
        calls = plural(len(history.value or []), "call")
        return f"Call history ({source}, last day): readable, {calls}"
    return f"Call history ({source}, last day): {error_name(history.error)}"


def list_line(newest: Outcome[list[Recording]]) -> str:
    if newest.ok:
        count = len(newest.value or [])
        return f"Recordings list: readable, {plural(count, 'recording')} in the newest page"
    return f"Recordings list: {error_name(newest.error)}"


def download_line(download: Outcome[int]) -> str:
    if download.ok:
        return f"Recording download: ok ({download.value:,} bytes of audio)"
    if isinstance(download.error, RecordingFileMissing):
        return "Recording download: the newest recordings are not on the PBX (archived or gone)"
    return f"Recording download: {error_name(download.error)}"
