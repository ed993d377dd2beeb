"""The seven causes of "my recording is not on the CRM contact", in the field docs' order.

The order is the seed's (cheapest first); reachability is listed last, as the field doc does,
even though the doctor probes it first: when it fails, the other six are blocked by it.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, TypeVar

SCHEMA = "pbx-companion/doctor/1"


E = TypeVar("E", bound=enum.Enum)


class DiagnosisFormatError(ValueError):
    """A doctor JSON document that cannot be read back; the message names the field."""


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

    @classmethod
    def from_json(cls, data: object, where: str = "check") -> CheckResult:
        """One entry of ``checks`` in a doctor document (the title is derived from the id)."""
        item = _object(data, where)
        check = _enum(CheckId, item.get("id"), f"{where}.id")
        status = _enum(CheckStatus, item.get("status"), f"{where}.status")
        evidence = item.get("evidence", [])
        if not isinstance(evidence, list) or not all(isinstance(e, str) for e in evidence):
            raise DiagnosisFormatError(f"{where}.evidence: expected a list of strings")
        details = item.get("details", {})
        if not isinstance(details, dict):
            raise DiagnosisFormatError(f"{where}.details: expected an object")
        return cls(
            check,
            status,
            _text(item.get("finding"), f"{where}.finding"),
            _text(item.get("fix", ""), f"{where}.fix"),
            tuple(evidence),
            details,
            _number(item.get("duration_ms"), f"{where}.duration_ms", optional=True),
        )


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
    # The customer's clock the checks used: an IANA zone, the office hours in words, and
    # where they came from ("read from the PBX", "set by the engineer", ...).
    time_zone: str | None = None
    business_hours: str | None = None
    hours_source: str | None = None
    # The live-PBX shapes the client met on this PBX (app/domain/wire_shapes.py), as evidence.
    wire: tuple[str, ...] = ()

    def as_json(self) -> dict[str, Any]:
        return {
            "url": self.url,
            "version": self.version,
            "major": self.major,
            "edition": self.edition,
            "region": self.region,
            "hosting": self.hosting,
            "time_zone": self.time_zone,
            "business_hours": self.business_hours,
            "hours_source": self.hours_source,
            "wire": list(self.wire),
        }

    @classmethod
    def from_json(cls, data: object) -> PbxFacts:
        item = _object(data, "pbx")
        major = item.get("major")
        if major is not None and (not isinstance(major, int) or isinstance(major, bool)):
            raise DiagnosisFormatError("pbx.major: expected a whole number or null")
        return cls(
            url=_text(item.get("url"), "pbx.url"),
            version=_optional_text(item.get("version"), "pbx.version"),
            major=major,
            edition=_optional_text(item.get("edition"), "pbx.edition"),
            region=_optional_text(item.get("region"), "pbx.region"),
            hosting=_optional_text(item.get("hosting"), "pbx.hosting"),
            # Absent from diagnoses saved before the customer's clock was recorded.
            time_zone=_optional_text(item.get("time_zone"), "pbx.time_zone"),
            business_hours=_optional_text(item.get("business_hours"), "pbx.business_hours"),
            hours_source=_optional_text(item.get("hours_source"), "pbx.hours_source"),
            wire=_wire_shapes(item.get("wire")),
        )


def _wire_shapes(value: object) -> tuple[str, ...]:
    """Absent from diagnoses saved before the client noted wire shapes."""
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise DiagnosisFormatError("pbx.wire: expected a list of strings")
    return tuple(value)


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

    @classmethod
    def from_json(cls, data: object) -> Diagnosis:
        """Read back what ``as_json`` wrote (``pbx-companion doctor --json``), e.g. for a report.

        Raises DiagnosisFormatError naming the first field that is missing or wrong.
        """
        document = _object(data, "document")
        if document.get("schema") != SCHEMA:
            raise DiagnosisFormatError(
                f"schema: expected {SCHEMA!r}, found {document.get('schema')!r} "
                "(not a pbx-companion doctor --json document)"
            )
        checks = document.get("checks")
        if not isinstance(checks, list) or len(checks) != len(CHECK_ORDER):
            raise DiagnosisFormatError(f"checks: expected a list of the {len(CHECK_ORDER)} checks")
        results = tuple(
            CheckResult.from_json(item, f"checks[{n}]") for n, item in enumerate(checks)
        )
        ids = [result.id.value for result in results]
        if ids != [check.value for check in CHECK_ORDER]:
            raise DiagnosisFormatError(f"checks: expected the seven checks in order, found {ids}")
        raw_when = _text(document.get("checked_at"), "checked_at")
        try:
            started = datetime.fromisoformat(raw_when)
        except ValueError as exc:
            raise DiagnosisFormatError(f"checked_at: {raw_when!r} is not an ISO date-time") from exc
        if started.tzinfo is None:
            started = started.replace(tzinfo=UTC)
        duration = _number(document.get("duration_ms"), "duration_ms")
        assert duration is not None
        return cls(PbxFacts.from_json(document.get("pbx")), results, started, duration)


def _object(value: object, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise DiagnosisFormatError(f"{where}: expected a JSON object")
    return value


def _text(value: object, where: str) -> str:
    if not isinstance(value, str):
        raise DiagnosisFormatError(f"{where}: expected a string")
    return value


def _optional_text(value: object, where: str) -> str | None:
    return None if value is None else _text(value, where)


def _number(value: object, where: str, *, optional: bool = False) -> float | None:
    if value is None and optional:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
        raise DiagnosisFormatError(f"{where}: expected a number of milliseconds, 0 or more")
    return float(value)


def _enum(kind: type[E], value: object, where: str) -> E:
    try:
        return kind(value)
    except ValueError:
        allowed = ", ".join(str(member.value) for member in kind)
        raise DiagnosisFormatError(f"{where}: {value!r} is not one of {allowed}") from None
