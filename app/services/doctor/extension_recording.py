"""Cause 3: the extensions' recording settings and the recent calls left without a recording,
judged by the domain's rule."""

from __future__ import annotations

from app.domain.causes.extension_recording import judge_extension_recording
from app.domain.diagnosis import CheckResult
from app.services.doctor.check_context import CheckContext
from app.services.facts.extension_recording import gather_extension_recording


async def check_extension_recording(ctx: CheckContext) -> CheckResult:
    return judge_extension_recording(await gather_extension_recording(ctx.facts))
