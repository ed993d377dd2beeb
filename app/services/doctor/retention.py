"""Cause 6: gather the retention policy and the recordings the call log points at that no
longer download; the rule (``app.domain.causes.retention``) judges them."""

from __future__ import annotations

from app.domain.calls import CallRecord
from app.domain.causes.retention import ReferencedRecording, RetentionFacts, judge_retention
from app.domain.diagnosis import CheckResult
from app.services.doctor.check_context import CheckContext
from app.services.facts.outcome import attempt, probe_answer
from app.threecx.errors import RecordingFileMissing, ThreeCXError

CONFIRM = 5  # missing recordings confirmed by a download attempt
LIST_LIMIT = 20000  # recordings listed; past it, absence from the list proves nothing


async def check_retention(ctx: CheckContext) -> CheckResult:
    required = ctx.options.required_retention_days
    policy, history, listed = await ctx.facts.gather(
        attempt(ctx.facts.retention()),
        attempt(ctx.facts.history(required)),
        attempt(ctx.facts.recordings_since(required)),
    )
    referenced: dict[int, CallRecord] = {}
    for call in history.value or []:
        for rec_id in call.recording_ids:
            referenced.setdefault(rec_id, call)
    gone: list[int] = []
    unconfirmed: list[int] = []
    archived: list[int] = []
    compared = history.ok and listed.ok
    if compared:
        on_pbx = {r.id: r for r in listed.value or []}
        archived = [i for i in referenced if i in on_pbx and on_pbx[i].archived]
        complete = len(listed.value or []) < LIST_LIMIT
        suspects = [i for i in referenced if i not in on_pbx] if complete else []
        gone, unconfirmed = await _confirm_gone(ctx, suspects, referenced)
    problem = history.error if not history.ok else listed.error
    return judge_retention(
        RetentionFacts(
            now=ctx.now,
            required_days=required,
            v20=ctx.is_v20,
            policy=policy.value,
            policy_read=probe_answer(policy),
            policy_unsupported=policy.unsupported,
            compared=compared,
            compare_error=str(problem) if problem else "",
            referenced=tuple(
                ReferencedRecording(rec_id, call.started_at) for rec_id, call in referenced.items()
            ),
            gone=tuple(gone),
            unconfirmed=tuple(unconfirmed),
            archived=tuple(archived),
            listing_refused=listed.denied,
        )
    )


async def _confirm_gone(
    ctx: CheckContext, suspects: list[int], referenced: dict[int, CallRecord]
) -> tuple[list[int], list[int]]:
    """Recordings absent from the list: the oldest few are confirmed by a download attempt.

    Returns the confirmed ones and the ids left unconfirmed, oldest first.
    """

    def started(rec_id: int) -> float:
        when = referenced[rec_id].started_at
        return when.timestamp() if when else float("inf")

    ordered = sorted(suspects, key=started)
    confirmed: set[int] = set()

    async def probe(rec_id: int) -> None:
        try:
            await ctx.client.download_recording(rec_id)
        except RecordingFileMissing:
            confirmed.add(rec_id)
        except ThreeCXError:
            return

    await ctx.facts.gather(*(probe(i) for i in ordered[:CONFIRM]))
    return [i for i in ordered if i in confirmed], ordered[CONFIRM:]
