"""The setup report: what was checked on a customer's PBX, what was found, what is still to do.

Built from a doctor ``Diagnosis`` and the engineer's ``ReportMeta``. Masking happens here, once,
so every format (PDF, HTML, JSON) shows the same thing; secrets never reach the model (the
diagnosis holds none) and every renderer still passes its output through ``scrub`` last.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

from app.domain.diagnosis import CheckId, CheckStatus, Diagnosis
from app.domain.report_reader import DiagnosisReader
from app.domain.report_sections import (
    Action,
    Capability,
    CheckSection,
    ContactMatchSummary,
    ExtensionRow,
    LateRecording,
    PbxSummary,
    QueueRow,
    Reachability,
    ReportMeta,
    Retention,
    action_json,
    capability_json,
    check_json,
    contact_json,
    extension_json,
    late_json,
    pbx_json,
    reachability_json,
    retention_json,
)
from app.domain.report_text import (
    REDACTED,
    customer_zone,
    mask_host,
    on_customer_clock,
    scrub,
    status_word,
)

# The sections live in report_sections, the wording in report_text; callers use these from here.
__all__ = [
    "REDACTED",
    "REPORT_SCHEMA",
    "Report",
    "ReportMeta",
    "customer_zone",
    "mask_host",
    "on_customer_clock",
    "scrub",
    "status_word",
]

REPORT_SCHEMA = "pbx-companion/report/1"


@dataclass(frozen=True)
class Report:
    """Everything a report shows, already masked as ``masked`` says."""

    meta: ReportMeta
    pbx: PbxSummary
    checked_at: datetime
    checks: tuple[CheckSection, ...]
    first_failure: CheckId | None
    capabilities: tuple[Capability, ...]
    reachability: Reachability | None
    extensions: tuple[ExtensionRow, ...]
    queues: tuple[QueueRow, ...]
    retention: Retention | None
    contact_match: ContactMatchSummary | None
    late_recording: LateRecording | None
    actions: tuple[Action, ...]
    source: Diagnosis = field(repr=False, compare=False)

    @property
    def masked(self) -> bool:
        return self.meta.mask

    @classmethod
    def build(cls, diagnosis: Diagnosis, meta: ReportMeta) -> Report:
        read = DiagnosisReader(diagnosis, meta)
        d = diagnosis
        return cls(
            meta=meta,
            pbx=read.pbx(),
            checked_at=d.started_at.astimezone(UTC),
            checks=tuple(read.section(r) for r in d.checks),
            first_failure=d.first_failure,
            capabilities=read.capabilities(d.result(CheckId.API_ROLES)),
            reachability=read.reachability(d.result(CheckId.REACHABILITY)),
            extensions=read.extensions(d.result(CheckId.EXTENSION_RECORDING)),
            queues=read.queues(d.result(CheckId.EXTENSION_RECORDING)),
            retention=read.retention(d.result(CheckId.RETENTION)),
            contact_match=read.contacts(d.result(CheckId.CONTACT_MATCH)),
            late_recording=read.late(d.result(CheckId.LATE_RECORDING)),
            actions=tuple(
                Action(r.id, r.id.order, r.title, r.status, read.text(text))
                for r, text in d.outstanding_actions()
            ),
            source=d,
        )

    def with_mask(self, mask: bool) -> Report:
        """The same report with numbers and names masked (or not): rebuilt from the source."""
        if mask == self.masked:
            return self
        return Report.build(self.source, replace(self.meta, mask=mask))

    def check(self, check: CheckId) -> CheckSection:
        return next(section for section in self.checks if section.id is check)

    @property
    def title(self) -> str:
        return f"Setup report: {self.meta.customer}" if self.meta.customer else "Setup report"

    def summary_line(self) -> str:
        failed = sum(1 for c in self.checks if c.status is CheckStatus.FAIL)
        warned = sum(1 for c in self.checks if c.status is CheckStatus.WARN)
        if not failed and not warned:
            return "Every check that ran passed: nothing is outstanding."
        parts = []
        if failed:
            parts.append(f"{failed} {'check' if failed == 1 else 'checks'} failed")
        if warned:
            parts.append(f"{warned} {'warning' if warned == 1 else 'warnings'}")
        first = self.first_failure
        tail = f"; fix check {first.order} first." if first else "."
        return " and ".join(parts) + tail

    def as_json(self) -> dict[str, Any]:
        meta = self.meta
        return {
            "schema": REPORT_SCHEMA,
            "generated_at": meta.generated_at.isoformat(),
            "generated_by": {"engineer": meta.engineer, "app_version": meta.app_version},
            "customer": meta.customer,
            "connection": meta.connection,
            "masked": self.masked,
            "pbx": pbx_json(self.pbx),
            "checked_at": self.checked_at.isoformat(),
            "checked_at_customer_time": self.checked_at.astimezone(
                customer_zone(self.pbx.time_zone)
            ).isoformat(),
            "first_failure": self.first_failure.value if self.first_failure else None,
            "summary": self.summary_line(),
            "checks": [check_json(c) for c in self.checks],
            "capabilities": [capability_json(c) for c in self.capabilities],
            "reachability": reachability_json(self.reachability),
            "extensions": [extension_json(e) for e in self.extensions],
            "queues": [
                {"number": q.number, "name": q.name, "recording": q.recording} for q in self.queues
            ],
            "retention": retention_json(self.retention),
            "contact_match": contact_json(self.contact_match),
            "late_recording": late_json(self.late_recording),
            "outstanding_actions": [action_json(a) for a in self.actions],
        }
