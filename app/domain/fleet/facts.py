"""The facts of one doctor run that the fleet's change rules compare, read from the Diagnosis.

Everything here is taken from what the doctor already reports (its checks' ``details``), plus
the one fact the doctor does not hold: when the connection's key was stored or rotated. A fact
the run could not establish is None ("not known"), never a guess, so a check that was skipped
or blocked cannot read as "something was lost".

Stored in the run history as JSON (``as_json`` / ``from_json``); nothing secret is a fact.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from app.domain.causes.api_answers import Answer
from app.domain.causes.extension_recording import ExtensionRecordingDetails
from app.domain.causes.licence import MAINTENANCE, LicenceDetails
from app.domain.causes.recording import Recorder
from app.domain.causes.retention import RetentionDetails
from app.domain.causes.roles import RolesDetails
from app.domain.diagnosis import CheckId, CheckStatus, Diagnosis, DiagnosisFormatError

# The three capabilities a CRM bridge needs (cause 2), in the words the findings use.
CAPABILITIES: Mapping[str, str] = {
    "call_history": "read the call history (Reports User)",
    "recording_list": "list recordings (Recording Manager)",
    "recording_download": "download recordings (Recording Manager)",
}


@dataclass(frozen=True)
class RunFacts:
    """What one run established about one PBX; None: the run could not tell."""

    version: str | None = None
    licence_expires_at: datetime | None = None
    maintenance_expired: bool | None = None
    maintenance_expires_at: datetime | None = None
    certificate_sha256: str | None = None
    certificate_not_after: datetime | None = None
    key_rotated_at: datetime | None = None
    # Capability -> the probe's answer ("ok", "403 forbidden", "not tried"): only probes that
    # were tried are kept, so "not tried" never reads as "lost".
    capabilities: Mapping[str, str] | None = None
    # Extension numbers set to record a bridge's calls; None: the modes were not reported.
    recording_extensions: tuple[str, ...] | None = None
    # Extension numbers that exist but are not set to record (off, or only on demand).
    silent_extensions: tuple[str, ...] | None = None
    # Recording retention in days; 0: auto-delete is off (kept for ever); None: not read.
    retention_days: int | None = None
    # Call Control's monitored DNs; None: not probed (the doctor probes it only in a watch).
    monitored: tuple[str, ...] | None = None
    # The checks this run passed and failed (a change "newly failing" compares them).
    failed: tuple[CheckId, ...] = ()
    passed: tuple[CheckId, ...] = ()

    def as_json(self) -> dict[str, Any]:
        return {
            "version": self.version,
            "licence_expires_at": _iso(self.licence_expires_at),
            "maintenance_expired": self.maintenance_expired,
            "maintenance_expires_at": _iso(self.maintenance_expires_at),
            "certificate_sha256": self.certificate_sha256,
            "certificate_not_after": _iso(self.certificate_not_after),
            "key_rotated_at": _iso(self.key_rotated_at),
            "capabilities": None if self.capabilities is None else dict(self.capabilities),
            "recording_extensions": _listed(self.recording_extensions),
            "silent_extensions": _listed(self.silent_extensions),
            "retention_days": self.retention_days,
            "monitored": _listed(self.monitored),
            "failed": [check.value for check in self.failed],
            "passed": [check.value for check in self.passed],
        }

    @classmethod
    def from_json(cls, data: object) -> RunFacts:
        """Read back ``as_json``; raises DiagnosisFormatError naming a wrong field."""
        if not isinstance(data, dict):
            raise DiagnosisFormatError("facts: expected a JSON object")
        caps = data.get("capabilities")
        if caps is not None and not (
            isinstance(caps, dict) and all(isinstance(v, str) for v in caps.values())
        ):
            raise DiagnosisFormatError("facts.capabilities: expected an object of strings")
        retention = data.get("retention_days")
        if retention is not None and (
            isinstance(retention, bool) or not isinstance(retention, int)
        ):
            raise DiagnosisFormatError("facts.retention_days: expected a whole number or null")
        maintenance = data.get("maintenance_expired")
        if maintenance is not None and not isinstance(maintenance, bool):
            raise DiagnosisFormatError("facts.maintenance_expired: expected true, false or null")
        return cls(
            version=_opt_text(data, "version"),
            licence_expires_at=_opt_time(data, "licence_expires_at"),
            maintenance_expired=maintenance,
            maintenance_expires_at=_opt_time(data, "maintenance_expires_at"),
            certificate_sha256=_opt_text(data, "certificate_sha256"),
            certificate_not_after=_opt_time(data, "certificate_not_after"),
            key_rotated_at=_opt_time(data, "key_rotated_at"),
            capabilities=None if caps is None else dict(caps),
            recording_extensions=_opt_texts(data, "recording_extensions"),
            silent_extensions=_opt_texts(data, "silent_extensions"),
            retention_days=retention,
            monitored=_opt_texts(data, "monitored"),
            failed=_checks(data, "failed"),
            passed=_checks(data, "passed"),
        )


def facts_of(
    diagnosis: Diagnosis,
    *,
    key_rotated_at: datetime | None = None,
    monitored: tuple[str, ...] | None = None,
) -> RunFacts:
    """The comparable facts of one doctor run (``key_rotated_at`` from the saved connection,
    ``monitored`` from a Call Control probe when one was made)."""
    licence = _licence(diagnosis)
    cert = _certificate(diagnosis)
    recording, silent = _recording(diagnosis)
    return RunFacts(
        version=diagnosis.pbx.version or (licence.version if licence else None),
        licence_expires_at=licence.expires_at if licence else None,
        maintenance_expired=_maintenance_expired(licence),
        maintenance_expires_at=licence.maintenance_expires_at if licence else None,
        certificate_sha256=_cert_text(cert, "sha256"),
        certificate_not_after=_cert_time(cert),
        key_rotated_at=key_rotated_at,
        capabilities=_capabilities(diagnosis),
        recording_extensions=recording,
        silent_extensions=silent,
        retention_days=_retention_days(diagnosis),
        monitored=monitored,
        failed=tuple(r.id for r in diagnosis.checks if r.status is CheckStatus.FAIL),
        passed=tuple(r.id for r in diagnosis.checks if r.status is CheckStatus.PASS),
    )


# ---- reading each check's details -------------------------------------------------------------
def _details(diagnosis: Diagnosis, check: CheckId) -> Mapping[str, Any] | None:
    """A check's details, or None when it was skipped or blocked (they describe nothing)."""
    result = diagnosis.result(check)
    if result.status is CheckStatus.SKIP or not result.details:
        return None
    return result.details


def _licence(diagnosis: Diagnosis) -> LicenceDetails | None:
    details = _details(diagnosis, CheckId.LICENCE)
    try:
        return None if details is None else LicenceDetails.from_json(details)
    except DiagnosisFormatError:
        return None


def _maintenance_expired(licence: LicenceDetails | None) -> bool | None:
    """The doctor reports expired maintenance as a licence warning with its own fix; the
    maintenance expiry date itself is not in its result."""
    if licence is None or not licence.items:
        return None
    return any(MAINTENANCE in item.fix for item in licence.items)


def _certificate(diagnosis: Diagnosis) -> Mapping[str, Any] | None:
    details = diagnosis.result(CheckId.REACHABILITY).details
    cert = details.get("certificate") if details else None
    return cert if isinstance(cert, dict) else None


def _cert_text(cert: Mapping[str, Any] | None, key: str) -> str | None:
    value = cert.get(key) if cert else None
    return value if isinstance(value, str) and value else None


def _cert_time(cert: Mapping[str, Any] | None) -> datetime | None:
    raw = _cert_text(cert, "not_after")
    return _parse_time(raw) if raw else None


def _capabilities(diagnosis: Diagnosis) -> dict[str, str] | None:
    details = _details(diagnosis, CheckId.API_ROLES)
    try:
        roles = None if details is None else RolesDetails.from_json(details)
    except DiagnosisFormatError:
        return None
    if roles is None:
        return None
    answers = {
        "call_history": roles.call_history,
        "recording_list": roles.recording_list,
        "recording_download": roles.recording_download,
    }
    return {name: word for name, word in answers.items() if word != Answer.NOT_TRIED}


def _recording(diagnosis: Diagnosis) -> tuple[tuple[str, ...] | None, tuple[str, ...] | None]:
    details = _details(diagnosis, CheckId.EXTENSION_RECORDING)
    try:
        rows = None if details is None else ExtensionRecordingDetails.from_json(details)
    except DiagnosisFormatError:
        return None, None
    if rows is None or not rows.modes_known:
        return None, None
    records = tuple(r.number for r in rows.extensions if r.recorder is Recorder.RECORDS)
    silent = tuple(r.number for r in rows.silent)
    return records, silent


def _retention_days(diagnosis: Diagnosis) -> int | None:
    details = _details(diagnosis, CheckId.RETENTION)
    try:
        policy = None if details is None else RetentionDetails.from_json(details)
    except DiagnosisFormatError:
        return None
    if policy is None or policy.auto_delete is None:
        return None
    if not policy.auto_delete:
        return 0
    return policy.auto_delete_days


# ---- JSON helpers ------------------------------------------------------------------------------
def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def _listed(values: tuple[str, ...] | None) -> list[str] | None:
    return None if values is None else list(values)


def _parse_time(raw: str) -> datetime | None:
    try:
        when = datetime.fromisoformat(raw)
    except ValueError:
        return None
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def _opt_text(data: Mapping[str, Any], key: str) -> str | None:
    value = data.get(key)
    if value is not None and not isinstance(value, str):
        raise DiagnosisFormatError(f"facts.{key}: expected a string or null")
    return value


def _opt_time(data: Mapping[str, Any], key: str) -> datetime | None:
    raw = _opt_text(data, key)
    if raw is None:
        return None
    when = _parse_time(raw)
    if when is None:
        raise DiagnosisFormatError(f"facts.{key}: {raw!r} is not an ISO date-time")
    return when


def _opt_texts(data: Mapping[str, Any], key: str) -> tuple[str, ...] | None:
    value = data.get(key)
    if value is None:
        return None
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise DiagnosisFormatError(f"facts.{key}: expected a list of strings or null")
    return tuple(value)


def _checks(data: Mapping[str, Any], key: str) -> tuple[CheckId, ...]:
    values = _opt_texts(data, key) or ()
    try:
        return tuple(CheckId(v) for v in values)
    except ValueError:
        raise DiagnosisFormatError(f"facts.{key}: an unknown check in {list(values)}") from None
