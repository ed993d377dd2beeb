"""The sections of a setup report, each a frozen record, and their JSON form."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from app.domain.diagnosis import CheckId, CheckStatus
from app.domain.report_text import on_customer_clock


@dataclass(frozen=True)
class ReportMeta:
    """Who made the report, for whom, and how. ``logo`` is PNG/JPEG bytes or a file path."""

    generated_at: datetime
    customer: str = ""
    connection: str = ""
    engineer: str = ""
    app_version: str = ""
    logo: bytes | str | None = field(default=None, repr=False)
    mask: bool = False


@dataclass(frozen=True)
class PbxSummary:
    url: str
    host: str
    version: str | None
    edition: str | None
    hosting: str | None
    region: str | None
    # The customer's clock the checks used (None in a diagnosis from before it was recorded).
    time_zone: str | None = None
    business_hours: str | None = None
    hours_source: str | None = None

    def clock(self, at: datetime, fmt: str = "%d %B %Y, %H:%M") -> str:
        """``at`` on the customer's clock, zone named."""
        return on_customer_clock(at, self.time_zone, fmt)


@dataclass(frozen=True)
class CheckSection:
    id: CheckId
    order: int
    title: str
    status: CheckStatus
    finding: str
    evidence: tuple[str, ...]
    fix: str


@dataclass(frozen=True)
class Capability:
    """One of the two things the API user must be able to do (API-NOTES §3: no such roles)."""

    key: str
    role: str  # the field docs' name
    purpose: str
    status: CheckStatus
    detail: str


@dataclass(frozen=True)
class Certificate:
    subject: str
    issuer: str
    not_after: str
    days_left: float | None
    sha256: str
    names: tuple[str, ...]


@dataclass(frozen=True)
class ProbeStep:
    step: str
    ok: bool
    ms: float | None
    detail: str


@dataclass(frozen=True)
class Reachability:
    status: CheckStatus
    host: str
    port: int | None
    latency_ms: float | None
    tls_version: str | None
    http_status: int | None
    certificate: Certificate | None
    steps: tuple[ProbeStep, ...]


@dataclass(frozen=True)
class ExtensionRow:
    number: str
    name: str
    recording: str
    records_external_calls: bool | None
    calls_without_recording: int


@dataclass(frozen=True)
class QueueRow:
    number: str
    name: str
    recording: str


@dataclass(frozen=True)
class Retention:
    status: CheckStatus
    required_days: int | None
    auto_delete: bool | None
    auto_delete_days: int | None
    archive_enabled: bool | None
    referenced: int | None
    deleted_by_retention: tuple[int, ...]
    missing: tuple[int, ...]
    absent_unconfirmed: int
    archived: int


@dataclass(frozen=True)
class SampleCall:
    call_id: str
    number: str
    e164: str
    match: str
    contacts: tuple[str, ...]
    reason: str


@dataclass(frozen=True)
class BulkFix:
    name: str
    label: str
    stored: str
    e164: str


@dataclass(frozen=True)
class ContactMatchSummary:
    status: CheckStatus
    region: str | None
    contacts: int | None
    calls_matched: int
    counts: tuple[tuple[str, int], ...]
    sample: tuple[SampleCall, ...]
    bulk_fixes: tuple[BulkFix, ...]  # the first rows the doctor kept (BULK_FIXES_KEPT)
    bulk_fix_count: int = 0  # every stored number to change, listed or not


@dataclass(frozen=True)
class PollAttempt:
    number: int
    after_s: float
    found: bool
    note: str


@dataclass(frozen=True)
class Journey:
    call_id: str
    extension: str
    number: str
    hung_up_at: str
    state: str
    ready_after_s: float | None
    upper_bound_only: bool
    attempts: tuple[PollAttempt, ...]


@dataclass(frozen=True)
class LateRecording:
    status: CheckStatus
    window_s: float | None
    watch_s: float | None
    journeys: tuple[Journey, ...]


@dataclass(frozen=True)
class Action:
    check: CheckId
    order: int
    title: str
    status: CheckStatus
    text: str


def pbx_json(pbx: PbxSummary) -> dict[str, Any]:
    return {
        "url": pbx.url,
        "host": pbx.host,
        "version": pbx.version,
        "edition": pbx.edition,
        "hosting": pbx.hosting,
        "region": pbx.region,
        "time_zone": pbx.time_zone,
        "business_hours": pbx.business_hours,
        "hours_source": pbx.hours_source,
    }


def check_json(c: CheckSection) -> dict[str, Any]:
    return {
        "id": c.id.value,
        "order": c.order,
        "title": c.title,
        "status": c.status.value,
        "finding": c.finding,
        "evidence": list(c.evidence),
        "fix": c.fix,
    }


def capability_json(c: Capability) -> dict[str, Any]:
    return {
        "id": c.key,
        "role": c.role,
        "purpose": c.purpose,
        "status": c.status.value,
        "detail": c.detail,
    }


def extension_json(e: ExtensionRow) -> dict[str, Any]:
    return {
        "number": e.number,
        "name": e.name,
        "recording": e.recording,
        "records_external_calls": e.records_external_calls,
        "calls_without_recording": e.calls_without_recording,
    }


def action_json(a: Action) -> dict[str, Any]:
    return {
        "check": a.check.value,
        "order": a.order,
        "title": a.title,
        "status": a.status.value,
        "action": a.text,
    }


def reachability_json(r: Reachability | None) -> dict[str, Any] | None:
    if r is None:
        return None
    cert = r.certificate
    return {
        "status": r.status.value,
        "host": r.host,
        "port": r.port,
        "latency_ms": r.latency_ms,
        "tls_version": r.tls_version,
        "http_status": r.http_status,
        "certificate": None
        if cert is None
        else {
            "subject": cert.subject,
            "issuer": cert.issuer,
            "not_after": cert.not_after,
            "days_left": cert.days_left,
            "sha256": cert.sha256,
            "names": list(cert.names),
        },
        "steps": [{"step": s.step, "ok": s.ok, "ms": s.ms, "detail": s.detail} for s in r.steps],
    }


def retention_json(r: Retention | None) -> dict[str, Any] | None:
    if r is None:
        return None
    return {
        "status": r.status.value,
        "required_days": r.required_days,
        "auto_delete": r.auto_delete,
        "auto_delete_days": r.auto_delete_days,
        "archive_enabled": r.archive_enabled,
        "referenced": r.referenced,
        "deleted_by_retention": list(r.deleted_by_retention),
        "missing": list(r.missing),
        "absent_unconfirmed": r.absent_unconfirmed,
        "archived": r.archived,
    }


def contact_json(c: ContactMatchSummary | None) -> dict[str, Any] | None:
    if c is None:
        return None
    return {
        "status": c.status.value,
        "region": c.region,
        "contacts": c.contacts,
        "calls_matched": c.calls_matched,
        "counts": dict(c.counts),
        "sample_calls": [
            {
                "call_id": s.call_id,
                "number": s.number,
                "e164": s.e164,
                "match": s.match,
                "contacts": list(s.contacts),
                "reason": s.reason,
            }
            for s in c.sample
        ],
        "bulk_fixes": [
            {"name": f.name, "label": f.label, "stored": f.stored, "e164": f.e164}
            for f in c.bulk_fixes
        ],
        "bulk_fix_count": c.bulk_fix_count,
    }


def late_json(late: LateRecording | None) -> dict[str, Any] | None:
    if late is None:
        return None
    return {
        "status": late.status.value,
        "bridge_window_s": late.window_s,
        "watch_s": late.watch_s,
        "journeys": [
            {
                "call_id": j.call_id,
                "extension": j.extension,
                "number": j.number,
                "hung_up_at": j.hung_up_at,
                "state": j.state,
                "ready_after_s": j.ready_after_s,
                "upper_bound_only": j.upper_bound_only,
                "attempts": [
                    {"n": a.number, "after_s": a.after_s, "found": a.found, "note": a.note}
                    for a in j.attempts
                ],
            }
            for j in late.journeys
        ],
    }
