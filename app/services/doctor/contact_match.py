"""Cause 5: the facts gathered for the customer's bridge, judged by the domain's rule."""

from __future__ import annotations

from app.domain.causes.contact_match import judge_contact_match
from app.domain.diagnosis import CheckResult
from app.services.doctor.check_context import CheckContext
from app.services.facts.contact_match import gather_contact_match_facts


async def check_contact_match(ctx: CheckContext) -> CheckResult:
    return judge_contact_match(await gather_contact_match_facts(ctx.facts, ctx.options))
