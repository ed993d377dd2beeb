"""Cause 3's facts: what the rule (app.domain.causes.extension_recording) is judged on.

The extensions, the queues and the recent answered external calls that have no recording,
settled past the window after hang-up; on v18, whose call log does not point at recordings,
the recordings list is matched to the calls by number and time.
"""

from __future__ import annotations

from dataclasses import replace

from app.domain.causes.extension_recording import (
    ExtensionRecordingFacts,
    count_by_extension,
    references_recordings,
    unrecorded_candidates,
    without_recording,
)
from app.services.facts.gatherer import Facts
from app.services.facts.outcome import attempt


async def gather_extension_recording(facts: Facts) -> ExtensionRecordingFacts:
    """The doctor's check and the guided setup's recording audit both gather here."""
    extensions, queues, history = await facts.gather(
        attempt(facts.extensions()),
        attempt(facts.queues()),
        attempt(facts.recent_calls()),
    )
    recent = await facts.recent_label()
    window = await facts.recent_window()
    found = ExtensionRecordingFacts(
        generation=facts.client.generation,
        recent_label=recent,
        extensions=tuple(extensions.value or ()) if extensions.ok else None,
        extensions_error=extensions.error.message if extensions.error is not None else "",
        extensions_denied=extensions.denied,
        queues=tuple(queues.value or ()),  # v18 cannot list them
    )
    if not extensions.ok:
        return found
    if not history.ok:
        return replace(found, cross_check_skipped=f"call history unreadable ({history.error})")

    calls = history.value or []
    candidates = unrecorded_candidates(calls, facts.now)
    notes = [window.describe(await facts.customer_hours())] if window is not None else []
    if candidates and not references_recordings(calls):
        # v18's call log does not point at recordings: find them in the recordings list.
        recordings = await attempt(
            facts.recordings_since(window.days if window else facts.options.recent_days)
        )
        if not recordings.ok:
            return replace(
                found,
                cross_check_notes=tuple(notes),
                cross_check_skipped=f"recordings unreadable ({recordings.error})",
            )
        candidates = without_recording(candidates, recordings.value or [])
        notes.append(
            "Recordings matched to calls by number and time (no references in this call log)"
        )
    return replace(found, unrecorded=count_by_extension(candidates), cross_check_notes=tuple(notes))
