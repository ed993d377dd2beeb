"""The seven causes of "my recording is not on the CRM contact", in the field docs' order.

The order is the seed's (cheapest first); reachability is listed last, as the field doc does,
even though the doctor probes it first: when it fails, the other six are blocked by it.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

SCHEMA = "pbx-companion/doctor/1"


class CheckId(enum.StrEnum):
    LICENCE = "licence"
    API_ROLES = "api_roles"
    EXTENSION_RECORDING = "extension_recording"
    LATE_RECORDING = "late_recording"
    CONTACT_MATCH = "contact_match"
    RETENTION = "retention"
    REACHABILITY = "reachability"

    @property
    def order(self) -> int:
        return CHECK_ORDER.index(self) + 1


CHECK_ORDER: tuple[CheckId, ...] = tuple(CheckId)

TITLES: dict[CheckId, str] = {
    CheckId.LICENCE: "Licence covers the API and call recording",
    CheckId.API_ROLES: "API user holds both roles (Reports User, Recording Manager)",
    CheckId.EXTENSION_RECORDING: "Extensions are set to record",
    CheckId.LATE_RECORDING: "Recordings appear within the bridge's retry window",
    CheckId.CONTACT_MATCH: "Caller numbers match CRM contacts (E.164)",
    CheckId.RETENTION: "Retention keeps recordings long enough",
    CheckId.REACHABILITY: "PBX reachable and the API key accepted",
}


class CheckStatus(enum.StrEnum):
    PASS = "pass"
    WARN = "warn"
    FAIL = "fail"
    SKIP = "skip"

    @property
    def mark(self) -> str:
        return {"pass": "PASS", "warn": "WARN", "fail": "FAIL", "skip": "SKIP"}[self.value]


@dataclass(frozen=True)
class CheckResult:
    """One cause, checked: what was seen (finding, evidence) and what to do (fix)."""

    id: CheckId
    status: CheckStatus
    finding: str
    fix: str = ""
    evidence: tuple[str, ...] = ()
    # Structured detail for reports and the UI (tables, timelines); JSON-safe values only.
    details: Mapping[str, Any] = field(default_factory=dict)
    duration_ms: float | None = None

    @property
    def title(self) -> str:
        return TITLES[self.id]

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id.value,
            "order": self.id.order,
            "status": self.status.value,
            "title": self.title,
            "finding": self.finding,
            "fix": self.fix,
            "evidence": list(self.evidence),
            "details": dict(self.details),
            "duration_ms": None if self.duration_ms is None else round(self.duration_ms),
        }


def skipped(check: CheckId, finding: str, fix: str = "") -> CheckResult:
    return CheckResult(check, CheckStatus.SKIP, finding, fix)


@dataclass(frozen=True)
class PbxFacts:
    url: str
    version: str | None = None
    major: int | None = None
    edition: str | None = None
    region: str | None = None
    hosting: str | None = None

    def as_json(self) -> dict[str, Any]:
        return {
            "url": self.url,
            "version": self.version,
            "major": self.major,
            "edition": self.edition,
            "region": self.region,
            "hosting": self.hosting,
        }


@dataclass(frozen=True)
class Diagnosis:
    """The doctor's answer: the seven results in the field docs' order."""

    pbx: PbxFacts
    checks: tuple[CheckResult, ...]
    started_at: datetime
    duration_ms: float

    def __post_init__(self) -> None:
        ids = tuple(result.id for result in self.checks)
        if ids != CHECK_ORDER:
            raise ValueError(f"a diagnosis holds the seven checks in order, got {ids}")

    @classmethod
    def in_order(
        cls,
        pbx: PbxFacts,
        results: Iterable[CheckResult],
        started_at: datetime,
        duration_ms: float,
    ) -> Diagnosis:
        by_id = {result.id: result for result in results}
        return cls(pbx, tuple(by_id[check] for check in CHECK_ORDER), started_at, duration_ms)

    def result(self, check: CheckId) -> CheckResult:
        return next(result for result in self.checks if result.id is check)

    @property
    def first_failure(self) -> CheckId | None:
        return next((r.id for r in self.checks if r.status is CheckStatus.FAIL), None)

    @property
    def failed(self) -> bool:
        return self.first_failure is not None

    def outstanding_actions(self) -> list[tuple[CheckResult, str]]:
        """Every warning and failure with its fix, failures first, each in seed order."""
        ranked = [r for r in self.checks if r.status is CheckStatus.FAIL] + [
            r for r in self.checks if r.status is CheckStatus.WARN
        ]
        return [(r, r.fix or r.finding) for r in ranked]

    def as_json(self) -> dict[str, Any]:
        first = self.first_failure
        return {
            "schema": SCHEMA,
            "pbx": self.pbx.as_json(),
            "checked_at": self.started_at.isoformat(),
            "checks": [result.as_json() for result in self.checks],
            "first_failure": first.value if first else None,
            "duration_ms": round(self.duration_ms),
        }
