"""Cause 6: the retention policy deleted the recording before anyone fetched it."""

from __future__ import annotations

from typing import Any

from app.domain.calls import CallRecord
from app.domain.diagnosis import CheckId, CheckResult, CheckStatus
from app.domain.recordings import RetentionPolicy
from app.services.doctor.common import CheckContext, attempt, plural
from app.threecx.errors import RecordingFileMissing, ThreeCXError

CONFIRM = 5  # missing recordings confirmed by a download attempt
LIST_LIMIT = 20000  # recordings listed; past it, absence from the list proves nothing
WHERE = "System, Settings, Storage"


def retention_fix(required: int) -> str:
    return (
        f"Open 3CX, {WHERE}, and set the recording retention to at least {required} days "
        "(or turn auto-delete off). The PBX is the system of record for audio: increase the "
        "number on 3CX rather than copying recordings to the CRM."
    )


async def check_retention(ctx: CheckContext) -> CheckResult:
    required = ctx.options.required_retention_days
    policy_o, history, listed = await ctx.facts.gather(
        attempt(ctx.facts.retention()),
        attempt(ctx.facts.history(required)),
        attempt(ctx.facts.recordings_since(required)),
    )
    policy = policy_o.value
    evidence: list[str] = []
    if policy is not None:
        evidence.append(_policy_line(policy))
    elif policy_o.error is not None:
        evidence.append(f"Retention settings not readable: {policy_o.error.what}")

    referenced: dict[int, CallRecord] = {}
    for call in history.value or []:
        for rec_id in call.recording_ids:
            referenced.setdefault(rec_id, call)
    gone: list[tuple[int, CallRecord, int]] = []  # id, call, age in days; download said gone
    unconfirmed: list[int] = []  # absent from the recordings list, download not tried
    archived: list[int] = []
    if history.ok and listed.ok:
        on_pbx = {r.id: r for r in listed.value or []}
        archived = [i for i in referenced if i in on_pbx and on_pbx[i].archived]
        complete = len(listed.value or []) < LIST_LIMIT
        suspects = [i for i in referenced if i not in on_pbx] if complete else []
        gone, unconfirmed = await _confirm_gone(ctx, suspects, referenced)
        if ctx.is_v20:
            evidence.append(
                f"Call log, last {required} days: {plural(len(referenced), 'recording')} "
                f"referenced, {len(gone)} confirmed gone (download: file not found), "
                f"{len(archived)} archived"
                + (
                    f", {len(unconfirmed)} more absent from the list (not downloaded to confirm)"
                    if unconfirmed
                    else ""
                )
            )
        else:
            evidence.append(
                "v18's call log does not point at recordings, so recordings deleted since "
                "cannot be spotted from it"
            )
    else:
        why = history.error if not history.ok else listed.error
        evidence.append(f"Recordings not compared with the call log: {why}")

    days = policy.auto_delete_days if policy and policy.auto_delete else None
    by_retention = [g for g in gone if days is not None and g[2] >= days]
    other_gone = [g for g in gone if g not in by_retention]
    for rec_id, call, age in (by_retention + other_gone)[:5]:
        label = "deleted by retention" if (rec_id, call, age) in by_retention else "missing"
        evidence.append(
            f"Recording {rec_id} of the call on {call.started_at.date() if call.started_at else '?'} "
            f"({age} days old): {label}, the download answers file not found"
        )
    if archived:
        evidence.append(
            f"{plural(len(archived), 'recording')} moved to the archive: downloadable only from "
            "the archive, not from the PBX"
        )
    details: dict[str, Any] = {
        "required_days": required,
        "auto_delete": policy.auto_delete if policy else None,
        "auto_delete_days": days,
        "archive_enabled": policy.archive_enabled if policy else None,
        "referenced": len(referenced),
        "deleted_by_retention": [g[0] for g in by_retention],
        "missing": [g[0] for g in other_gone],
        "absent_unconfirmed": unconfirmed,
        "archived": archived,
    }

    if days is not None and days < required:
        extra = (
            f" {plural(len(by_retention), 'recording')} the call log still points at "
            "are already gone, so their CRM links answer 404."
            if by_retention
            else ""
        )
        return CheckResult(
            CheckId.RETENTION,
            CheckStatus.FAIL,
            f"Recordings are deleted after {days} days, but the customer needs {required}." + extra,
            retention_fix(required),
            tuple(evidence),
            details,
        )
    if by_retention or other_gone:
        count = len(by_retention) + len(other_gone)
        return CheckResult(
            CheckId.RETENTION,
            CheckStatus.WARN,
            f"{plural(count, 'recording')} the call log still points at no longer download: "
            + (
                "they are older than the auto-delete window in force now or earlier."
                if by_retention
                else "they are younger than any auto-delete window, so they were deleted "
                "by hand or lost."
            ),
            "Compare the age of the recordings the customer wants with the retention number in "
            f"3CX, {WHERE}; raise it if it was lower before. Deleted audio cannot be recovered "
            "from the PBX.",
            tuple(evidence),
            details,
        )
    if policy is not None and (policy.auto_delete is None or (policy.auto_delete and not days)):
        return CheckResult(
            CheckId.RETENTION,
            CheckStatus.WARN,
            "The PBX did not say whether, or after how many days, it deletes recordings.",
            f"Read the retention number in 3CX, {WHERE}, and confirm it is at least {required} "
            "days.",
            tuple(evidence),
            details,
        )
    if policy is None:
        unsupported = policy_o.unsupported
        return CheckResult(
            CheckId.RETENTION,
            CheckStatus.SKIP if unsupported else CheckStatus.WARN,
            (
                "This PBX version does not expose its retention policy through the API."
                if unsupported
                else f"Could not read the retention policy: {policy_o.error}"
            ),
            f"Read the retention number in 3CX, {WHERE}, and confirm it is at least {required} "
            "days.",
            tuple(evidence),
            details,
        )
    finding = (
        f"Recordings are kept {days} days, at least the {required} required."
        if days is not None
        else "Auto-delete is off: recordings stay until deleted by hand."
    )
    if archived:
        finding += (
            f" {plural(len(archived), 'recording')} moved to the archive play only from "
            "the archive."
        )
    if listed.denied:
        finding += (
            " Whether the call log points at deleted recordings was not checked: the API user "
            "may not list recordings (check 2)."
        )
    return CheckResult(CheckId.RETENTION, CheckStatus.PASS, finding, "", tuple(evidence), details)


async def _confirm_gone(
    ctx: CheckContext, suspects: list[int], referenced: dict[int, CallRecord]
) -> tuple[list[tuple[int, CallRecord, int]], list[int]]:
    """Recordings absent from the list: the oldest few are confirmed by a download attempt.

    Returns the confirmed ones (id, call, age in days) and the ids left unconfirmed.
    """

    def age(rec_id: int) -> int:
        started = referenced[rec_id].started_at
        return (ctx.now - started).days if started else 0

    ordered = sorted(suspects, key=age, reverse=True)
    confirmed: set[int] = set()

    async def probe(rec_id: int) -> None:
        try:
            await ctx.client.download_recording(rec_id)
        except RecordingFileMissing:
            confirmed.add(rec_id)
        except ThreeCXError:
            return

    tried = ordered[:CONFIRM]
    await ctx.facts.gather(*(probe(i) for i in tried))
    gone = [(i, referenced[i], age(i)) for i in ordered if i in confirmed]
    return gone, ordered[CONFIRM:]


def _policy_line(policy: RetentionPolicy) -> str:
    if policy.auto_delete and policy.auto_delete_days:
        text = f"Auto-delete after {policy.auto_delete_days} days"
    elif policy.auto_delete is False:
        text = "Auto-delete off"
    else:
        text = "Auto-delete not reported"
    if policy.archive_enabled:
        text += "; archiving on"
    return text
