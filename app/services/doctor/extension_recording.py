"""Cause 3: an extension (or inbound rule) is not flagged to record."""

from __future__ import annotations

from collections import defaultdict
from datetime import timedelta
from typing import Any

from app.domain.calls import CallRecord
from app.domain.diagnosis import CheckId, CheckResult, CheckStatus
from app.domain.extensions import Extension, QueueRecording, RecordingMode
from app.domain.recordings import recording_for_call
from app.services.doctor.common import CheckContext, attempt, listing, plural

# Calls younger than this may simply not have their file yet (cause 4, not 3).
SETTLE = timedelta(minutes=10)
# Seed 000, step 3: "All Calls or On Demand". On demand records only when the user starts it,
# so it is noted, not flagged.
WILL_RECORD = (RecordingMode.ALL_CALLS, RecordingMode.EXTERNAL_ONLY, RecordingMode.ON_DEMAND)


def recording_fix(v20: bool, who: str) -> str:
    where = (
        "Admin console > Users, edit the user, Options: tick Record calls (all calls, or "
        "external calls only) and make sure Forbid recording is off"
        if v20
        else "Extensions, choose the user, Options: set Recording to All Calls"
    )
    return (
        f"Turn recording on for {who}: {where}. Inbound rules can override the extension "
        "setting, so check the rule for the number the customer called too. Then place a test "
        "call from the extension and confirm it appears in the 3CX call history with a "
        "recording within two minutes."
    )


async def check_extension_recording(ctx: CheckContext) -> CheckResult:
    extensions, queues, history = await ctx.facts.gather(
        attempt(ctx.facts.extensions()),
        attempt(ctx.facts.queues()),
        attempt(ctx.facts.recent_calls()),
    )
    recent = await ctx.facts.recent_label()
    window = await ctx.facts.recent_window()
    if not extensions.ok:
        assert extensions.error is not None
        return CheckResult(
            CheckId.EXTENSION_RECORDING,
            CheckStatus.WARN if not extensions.denied else CheckStatus.SKIP,
            f"Could not read the extensions: {extensions.error.message}",
            "Check each extension's recording option in the admin console by hand.",
        )
    exts = [e for e in extensions.value or [] if e.enabled]
    by_number = {e.number: e for e in exts}
    silent = [
        e
        for e in exts
        if e.recording not in WILL_RECORD and e.recording is not RecordingMode.UNKNOWN
    ]
    modes_known = any(e.recording is not RecordingMode.UNKNOWN for e in exts)

    evidence = [
        f"{plural(len(exts), 'extension')} read; "
        + (
            f"{plural(len(silent), 'does', 'do')} not record"
            if modes_known
            else "modes not given by this API"
        )
    ]
    evidence += [f"Extension {_ext(e)}: {e.recording}" for e in silent]
    evidence += [
        f"Extension {_ext(e)}: on demand (records only when the user starts recording)"
        for e in exts
        if e.recording is RecordingMode.ON_DEMAND
    ]
    for queue in queues.value or []:
        if queue.recording is QueueRecording.DISABLED:
            evidence.append(
                f"Queue {queue.number} {queue.name}: queue recording disabled (its calls record "
                "only if the answering agent's extension does)"
            )

    lost: dict[str, list[CallRecord]] = defaultdict(list)
    if history.ok:
        settled = ctx.now - SETTLE
        candidates = [
            call
            for call in history.value or []
            if call.is_external
            and call.answered
            and not call.recording_ids
            and call.extension
            and (call.started_at is None or call.started_at < settled)
        ]
        references = any(c.recording_ids or c.recording_url for c in history.value or [])
        if candidates and not references:
            # v18's call log does not point at recordings: find them in the recordings list.
            recordings = await attempt(
                ctx.facts.recordings_since(window.days if window else ctx.options.recent_days)
            )
            if recordings.ok:
                found = recordings.value or []
                candidates = [c for c in candidates if recording_for_call(c, found) is None]
                evidence.append(
                    "Recordings matched to calls by number and time (no references in this call log)"
                )
            else:
                candidates = []
                evidence.append(f"Cross-check skipped: recordings unreadable ({recordings.error})")
        for call in candidates:
            assert call.extension is not None
            lost[call.extension].append(call)
        lost_total = sum(len(v) for v in lost.values())
        if window is not None:
            evidence.append(window.describe(await ctx.facts.customer_hours()))
        evidence.append(
            f"Cross-check, {recent}: "
            f"{plural(lost_total, 'answered external call')} without a recording"
            + (f" (on {listing(sorted(lost))})" if lost else "")
        )
    else:
        evidence.append(f"Cross-check skipped: call history unreadable ({history.error})")

    silent_numbers = {e.number for e in silent}
    lost_silent = {n: calls for n, calls in lost.items() if n in silent_numbers}
    lost_unknown = {n: calls for n, calls in lost.items() if n not in silent_numbers}
    details: dict[str, Any] = {
        "extensions": [
            {
                "number": e.number,
                "name": e.name,
                "recording": str(e.recording),
                "records_external_calls": e.recording.records_external_calls,
                "answered_external_without_recording": len(lost.get(e.number, [])),
            }
            for e in exts
        ],
        "queues": [
            {"number": q.number, "name": q.name, "recording": str(q.recording)}
            for q in queues.value or []
        ],
    }

    if lost_silent or (not modes_known and lost_unknown):
        culprits = lost_silent or lost_unknown
        names = [_ext(by_number[n]) if n in by_number else n for n in sorted(culprits)]
        count = sum(len(v) for v in culprits.values())
        verb = "is" if len(names) == 1 else "are"
        why = f"{verb} not set to record" if modes_known else "did not record (v18 cannot say why)"
        return CheckResult(
            CheckId.EXTENSION_RECORDING,
            CheckStatus.FAIL,
            f"{listing(names)} {why}: {plural(count, 'answered external call')} in the {recent} "
            "have no recording, and no bridge can recover them.",
            recording_fix(ctx.is_v20, listing(names)),
            tuple(evidence),
            details,
        )
    if silent:
        names = [_ext(e) for e in silent]
        return CheckResult(
            CheckId.EXTENSION_RECORDING,
            CheckStatus.WARN,
            f"{listing(names)} will not record calls "
            f"({plural(len(silent), 'extension')}); none lost an external call in the {recent}.",
            recording_fix(ctx.is_v20, listing(names)),
            tuple(evidence),
            details,
        )
    if lost_unknown:
        names = [_ext(by_number[n]) if n in by_number else n for n in sorted(lost_unknown)]
        return CheckResult(
            CheckId.EXTENSION_RECORDING,
            CheckStatus.WARN,
            f"Every extension is set to record, yet answered external calls on "
            f"{listing(names)} have no recording: an inbound rule may override the extension.",
            "Check the inbound rules for the numbers those calls came in on, and confirm in "
            "the 3CX call history whether those calls were recorded.",
            tuple(evidence),
            details,
        )
    finding = "Every extension is set to record external calls"
    if not modes_known:
        finding = "This API does not say each extension's recording mode; every answered external call in the period has a recording"
    return CheckResult(
        CheckId.EXTENSION_RECORDING,
        CheckStatus.PASS,
        finding + ".",
        "",
        tuple(evidence),
        details,
    )


def _ext(e: Extension) -> str:
    return f"{e.number} ({e.name})" if e.name else e.number
