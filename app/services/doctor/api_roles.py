"""Cause 2: probe the two capabilities the field docs call roles; the rule judges the answers.

3CX has no roles called "Reports User" or "Recording Manager" (API-NOTES §3): they are two
capabilities, so they are proven by probing (read the call log; list and download a
recording), never by trusting a role name. The guided setup and key rotation probe alike
(``app.services.setup.capabilities``) and ask the same rule.
"""

from __future__ import annotations

from app.domain.causes.api_answers import NOT_TRIED
from app.domain.causes.roles import RolesFacts, judge_roles
from app.domain.diagnosis import CheckResult
from app.services.doctor.check_context import CheckContext
from app.services.facts.key_probes import admin_claims, download_newest
from app.services.facts.outcome import attempt, probe_answer


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
