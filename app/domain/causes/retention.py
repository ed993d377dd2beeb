"""Cause 6: the retention policy deleted the recording before anyone fetched it.

Seed 000: "Open 3CX, System, Settings, Storage. Read the retention number. Compare it to the age
of the recording the customer wants." The doctor gathers the policy, the recordings the call log
still points at and which of those no longer download; this module judges them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from app.domain.causes import fields
from app.domain.causes.api_answers import SIGNED_IN, ProbeAnswer
from app.domain.causes.wording import plural
from app.domain.diagnosis import CheckId, CheckResult, CheckStatus
from app.domain.recordings import RetentionPolicy

DEFAULT_RETENTION_DAYS: Final = 90  # what the customer needs unless the engineer says otherwise
WHERE: Final = "System, Settings, Storage"
EVIDENCE_GONE_LIMIT: Final = 5  # deleted recordings named one by one in the evidence


def retention_fix(required: int) -> str:
    return (
        f"Open 3CX, {WHERE}, and set the recording retention to at least {required} days "
        "(or turn auto-delete off). The PBX is the system of record for audio: increase the "
        "number on 3CX rather than copying recordings to the CRM."
    )


def read_by_hand(required: int) -> str:
    return f"Read the retention number in 3CX, {WHERE}, and confirm it is at least {required} days."


DELETED_FIX: Final = (
    "Compare the age of the recordings the customer wants with the retention number in "
    f"3CX, {WHERE}; raise it if it was lower before. Deleted audio cannot be recovered "
    "from the PBX."
)


@dataclass(frozen=True)
class ReferencedRecording:
    """A recording the call log points at, and when its call started."""

    id: int
    call_started_at: datetime | None


@dataclass(frozen=True)
class RetentionFacts:
    now: datetime
    required_days: int
    v20: bool
    policy: RetentionPolicy | None
    policy_read: ProbeAnswer = SIGNED_IN  # how the policy request was answered
    policy_unsupported: bool = False  # this PBX version has no retention API
    compared: bool = False  # the call log and the recordings list were both read
    compare_error: str = ""  # why they were not
    referenced: tuple[ReferencedRecording, ...] = ()
    gone: tuple[int, ...] = ()  # absent from the list; the download says file not found
    unconfirmed: tuple[int, ...] = ()  # absent from the list; no download tried
    archived: tuple[int, ...] = ()
    listing_refused: bool = False  # the API user may not list recordings (cause 2)


@dataclass(frozen=True)
class RetentionDetails:
    required_days: int
    auto_delete: bool | None
    auto_delete_days: int | None
    archive_enabled: bool | None
    referenced: int
    deleted_by_retention: tuple[int, ...]
    missing: tuple[int, ...]
    absent_unconfirmed: tuple[int, ...]
    archived: tuple[int, ...]

    def as_json(self) -> dict[str, Any]:
        return {
            "required_days": self.required_days,
            "auto_delete": self.auto_delete,
            "auto_delete_days": self.auto_delete_days,
            "archive_enabled": self.archive_enabled,
            "referenced": self.referenced,
            "deleted_by_retention": list(self.deleted_by_retention),
            "missing": list(self.missing),
            "absent_unconfirmed": list(self.absent_unconfirmed),
            "archived": list(self.archived),
        }

    @classmethod
    def from_json(cls, data: object) -> RetentionDetails:
        item = fields.obj(data, "retention.details")

        def key(name: str) -> str:
            return f"retention.details.{name}"

        return cls(
            required_days=fields.opt_int(item.get("required_days"), key("required_days")) or 0,
            auto_delete=fields.opt_bool(item.get("auto_delete"), key("auto_delete")),
            auto_delete_days=fields.opt_int(item.get("auto_delete_days"), key("auto_delete_days")),
            archive_enabled=fields.opt_bool(item.get("archive_enabled"), key("archive_enabled")),
            referenced=fields.opt_int(item.get("referenced"), key("referenced")) or 0,
            deleted_by_retention=fields.ints(
                item.get("deleted_by_retention"), key("deleted_by_retention")
            ),
            missing=fields.ints(item.get("missing"), key("missing")),
            absent_unconfirmed=fields.ints(
                item.get("absent_unconfirmed"), key("absent_unconfirmed")
            ),
            archived=fields.ints(item.get("archived"), key("archived")),
        )


def judge_retention(facts: RetentionFacts) -> CheckResult:
    policy = facts.policy
    days = policy.auto_delete_days if policy and policy.auto_delete else None
    starts = _call_starts(facts)
    ages = {
        rec_id: (facts.now - started).days if started else 0 for rec_id, started in starts.items()
    }
    gone = sorted(facts.gone, key=lambda rec_id: ages[rec_id], reverse=True)
    by_retention = [i for i in gone if days is not None and ages[i] >= days]
    other_gone = [i for i in gone if i not in by_retention]

    evidence = _evidence(facts)
    for rec_id in (by_retention + other_gone)[:EVIDENCE_GONE_LIMIT]:
        evidence.append(_gone_line(rec_id, starts[rec_id], ages[rec_id], rec_id in by_retention))
    if facts.archived:
        evidence.append(
            f"{plural(len(facts.archived), 'recording')} moved to the archive: downloadable "
            "only from the archive, not from the PBX"
        )
    details = RetentionDetails(
        required_days=facts.required_days,
        auto_delete=policy.auto_delete if policy else None,
        auto_delete_days=days,
        archive_enabled=policy.archive_enabled if policy else None,
        referenced=len(facts.referenced),
        deleted_by_retention=tuple(by_retention),
        missing=tuple(other_gone),
        absent_unconfirmed=facts.unconfirmed,
        archived=facts.archived,
    ).as_json()
    verdict = _deletion_verdict(facts.required_days, days, len(gone), len(by_retention))
    if verdict is None:
        verdict = _unread_policy_verdict(facts, days)
    if verdict is None:
        verdict = CheckStatus.PASS, _kept_finding(facts, days), ""
    status, finding, fix = verdict
    return CheckResult(CheckId.RETENTION, status, finding, fix, tuple(evidence), details)


def _call_starts(facts: RetentionFacts) -> dict[int, datetime | None]:
    """When the call of each recording that no longer downloads started (None: not known)."""
    calls = {r.id: r for r in facts.referenced}
    return {
        rec_id: calls[rec_id].call_started_at if rec_id in calls else None for rec_id in facts.gone
    }


def _gone_line(rec_id: int, started: datetime | None, age: int, by_retention: bool) -> str:
    label = "deleted by retention" if by_retention else "missing"
    return (
        f"Recording {rec_id} of the call on {started.date() if started else '?'} "
        f"({age} days old): {label}, the download answers file not found"
    )


def _deletion_verdict(
    required: int, days: int | None, gone: int, by_retention: int
) -> tuple[CheckStatus, str, str] | None:
    """A FAIL for a window shorter than required, else a WARN for recordings already gone."""
    if days is not None and days < required:
        extra = (
            f" {plural(by_retention, 'recording')} the call log still points at "
            "are already gone, so their CRM links answer 404."
            if by_retention
            else ""
        )
        return (
            CheckStatus.FAIL,
            f"Recordings are deleted after {days} days, but the customer needs {required}." + extra,
            retention_fix(required),
        )
    if not gone:
        return None
    why = (
        "they are older than the auto-delete window in force now or earlier."
        if by_retention
        else "they are younger than any auto-delete window, so they were deleted by hand or lost."
    )
    return (
        CheckStatus.WARN,
        f"{plural(gone, 'recording')} the call log still points at no longer download: {why}",
        DELETED_FIX,
    )


def _unread_policy_verdict(
    facts: RetentionFacts, days: int | None
) -> tuple[CheckStatus, str, str] | None:
    """A WARN or SKIP when the policy, or its number of days, could not be read."""
    policy, by_hand = facts.policy, read_by_hand(facts.required_days)
    if policy is not None and (policy.auto_delete is None or (policy.auto_delete and not days)):
        return (
            CheckStatus.WARN,
            "The PBX did not say whether, or after how many days, it deletes recordings.",
            by_hand,
        )
    if policy is not None:
        return None
    if facts.policy_unsupported:
        return (
            CheckStatus.SKIP,
            "This PBX version does not expose its retention policy through the API.",
            by_hand,
        )
    return (
        CheckStatus.WARN,
        f"Could not read the retention policy: {facts.policy_read.message}",
        by_hand,
    )


def _kept_finding(facts: RetentionFacts, days: int | None) -> str:
    """The PASS's finding: how long recordings are kept, and what was not checked."""
    finding = (
        f"Recordings are kept {days} days, at least the {facts.required_days} required."
        if days is not None
        else "Auto-delete is off: recordings stay until deleted by hand."
    )
    if facts.archived:
        finding += (
            f" {plural(len(facts.archived), 'recording')} moved to the archive play only from "
            "the archive."
        )
    if facts.listing_refused:
        finding += (
            " Whether the call log points at deleted recordings was not checked: the API user "
            "may not list recordings (check 2)."
        )
    return finding


def _evidence(facts: RetentionFacts) -> list[str]:
    lines: list[str] = []
    if facts.policy is not None:
        lines.append(_policy_line(facts.policy))
    elif not facts.policy_read.ok:
        lines.append(f"Retention settings not readable: {facts.policy_read.word}")
    if not facts.compared:
        lines.append(f"Recordings not compared with the call log: {facts.compare_error}")
    elif facts.v20:
        unconfirmed = (
            f", {len(facts.unconfirmed)} more absent from the list (not downloaded to confirm)"
            if facts.unconfirmed
            else ""
        )
        lines.append(
            f"Call log, last {facts.required_days} days: "
            f"{plural(len(facts.referenced), 'recording')} referenced, {len(facts.gone)} "
            f"confirmed gone (download: file not found), {len(facts.archived)} archived"
            + unconfirmed
        )
    else:
        lines.append(
            "v18's call log does not point at recordings, so recordings deleted since cannot "
            "be spotted from it"
        )
    return lines


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
