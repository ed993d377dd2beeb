"""Cause 1: gather what the PBX says about its licence and version; the rule judges it."""

from __future__ import annotations

from app.domain.causes.licence import LicenceFacts, judge_licence
from app.domain.diagnosis import CheckResult
from app.services.doctor.check_context import CheckContext
from app.services.facts.outcome import attempt


async def check_licence(ctx: CheckContext) -> CheckResult:
    status, licence = await ctx.facts.gather(
        attempt(ctx.facts.system_status()), attempt(ctx.facts.licence())
    )
    return judge_licence(
        LicenceFacts(
            now=ctx.now,
            version=ctx.identity.version,
            generation=ctx.client.generation,
            licence=licence.value,
            status=status.value,
            licence_error=licence.error.message if licence.error else None,
            status_error=status.error.message if status.error else None,
        )
    )
