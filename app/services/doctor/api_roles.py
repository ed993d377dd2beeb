"""Cause 2: probe the two capabilities the field docs call roles; the rule judges the answers.

3CX has no roles called "Reports User" or "Recording Manager" (API-NOTES §3): they are two
capabilities, so they are proven by probing (read the call log; list and download a
recording), never by trusting a role name. The guided setup and key rotation probe alike
(``app.services.setup.capabilities``) and ask the same rule.
"""

from __future__ import annotations

from app.domain.causes.api_answers import HISTORY, NOT_TRIED, RECORDINGS, roles_fix
from app.domain.causes.roles import RolesFacts, judge_roles
from app.domain.diagnosis import CheckResult
from app.domain.recordings import Recording
from app.services.doctor.common import CheckContext, Outcome, attempt, probe_answer
from app.threecx.client import PbxClient
from app.threecx.errors import DownloadUnconfirmed, RecordingFileMissing, ThreeCXError
from app.threecx.v20.client import V20Client

ADMIN_MARKERS = ("admin", "owner")

# The recordings tab names a missing capability in the same words.
__all__ = [
    "HISTORY",
    "RECORDINGS",
    "admin_claims",
    "check_api_roles",
    "download_newest",
    "roles_fix",
]


async def check_api_roles(ctx: CheckContext) -> CheckResult:
    history, newest = await ctx.facts.gather(
        attempt(ctx.facts.history_day()), attempt(ctx.facts.newest_recordings())
    )
    download = NOT_TRIED
    if newest.ok and newest.value:
        download = probe_answer(await download_newest(ctx.client, newest.value))
    return judge_roles(
        RolesFacts(
            v20=ctx.is_v20,
            call_history=probe_answer(history),
            recording_list=probe_answer(newest),
            recording_download=download,
            admin_claims=tuple(admin_claims(ctx.client)),
        )
    )


async def download_newest(client: PbxClient, recordings: list[Recording]) -> Outcome[int]:
    """Download the newest recording still on the PBX (archived ones live elsewhere): the
    recording-fetch probe. The value is the number of bytes of audio. On v18 a recording no
    known path serves is no verdict yet: the next one may confirm a path."""
    last: Outcome[int] = Outcome(error=RecordingFileMissing("No local recording to try."))
    for rec in [r for r in recordings if not r.archived][:3]:
        try:
            data = await client.download_recording(rec.id)
        except (RecordingFileMissing, DownloadUnconfirmed) as exc:
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
