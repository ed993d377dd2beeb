"""Cause 3: gather what the rule needs (app.domain.causes.extension_recording), then ask it.

The extensions, the queues and the recent answered external calls that have no recording,
settled past the window after hang-up; on v18, whose call log does not point at recordings,
the recordings list is matched to the calls by number and time.
"""

from __future__ import annotations

from dataclasses import replace

from app.domain.causes.extension_recording import (
    ExtensionRecordingFacts,
    count_by_extension,
    judge_extension_recording,
    references_recordings,
    unrecorded_candidates,
    without_recording,
)
from app.domain.diagnosis import CheckResult
from app.services.doctor.common import CheckContext, attempt


async def gather_extension_recording(ctx: CheckContext) -> ExtensionRecordingFacts:
    extensions, queues, history = await ctx.facts.gather(
        attempt(ctx.facts.extensions()),
        attempt(ctx.facts.queues()),
        attempt(ctx.facts.recent_calls()),
    )
    recent = await ctx.facts.recent_label()
    window = await ctx.facts.recent_window()
    facts = ExtensionRecordingFacts(
        generation=ctx.client.generation,
        recent_label=recent,
        extensions=tuple(extensions.value or ()) if extensions.ok else None,
        extensions_error=extensions.error.message if extensions.error is not None else "",
        extensions_denied=extensions.denied,
        queues=tuple(queues.value or ()),  # v18 cannot list them
    )
    if not extensions.ok:
        return facts
    if not history.ok:
        return replace(facts, cross_check_skipped=f"call history unreadable ({history.error})")

    calls = history.value or []
    candidates = unrecorded_candidates(calls, ctx.now)
    notes = [window.describe(await ctx.facts.customer_hours())] if window is not None else []
    if candidates and not references_recordings(calls):
        # v18's call log does not point at recordings: find them in the recordings list.
        recordings = await attempt(
            ctx.facts.recordings_since(window.days if window else ctx.options.recent_days)
        )
        if not recordings.ok:
            return replace(
                facts,
                cross_check_notes=tuple(notes),
                cross_check_skipped=f"recordings unreadable ({recordings.error})",
            )
        candidates = without_recording(candidates, recordings.value or [])
        notes.append(
            "Recordings matched to calls by number and time (no references in this call log)"
        )
    return replace(facts, unrecorded=count_by_extension(candidates), cross_check_notes=tuple(notes))


async def check_extension_recording(ctx: CheckContext) -> CheckResult:
    return judge_extension_recording(await gather_extension_recording(ctx))
