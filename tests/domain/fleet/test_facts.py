"""The facts the change rules compare, read from a doctor result's checks: what a skipped or
blocked check could not establish stays "not known"."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from app.domain.causes.extension_recording import ExtensionRecordingDetails, ExtensionRow
from app.domain.causes.licence import MAINTENANCE, Aspect, LicenceDetails, LicenceItem
from app.domain.causes.retention import RetentionDetails
from app.domain.causes.roles import RolesDetails
from app.domain.diagnosis import CHECK_ORDER, CheckId, CheckResult, CheckStatus, Diagnosis, PbxFacts
from app.domain.extensions import RecordingMode
from app.domain.fleet.facts import RunFacts, facts_of

WHEN = datetime(2026, 11, 18, 0, 30, tzinfo=UTC)
EXPIRES = datetime(2027, 3, 1, tzinfo=UTC)


def result(
    check: CheckId, status: CheckStatus = CheckStatus.PASS, **details: object
) -> CheckResult:
    return CheckResult(check, status, f"{check} finding", "", (), details)


def diagnosis(*results: CheckResult, version: str | None = "20.0.10.1116") -> Diagnosis:
    given = {r.id: r for r in results}
    checks = [given.get(check) or result(check) for check in CHECK_ORDER]
    return Diagnosis.in_order(
        PbxFacts(url="https://pbx.example.com", version=version), checks, WHEN, 10
    )


def test_facts_come_from_each_checks_details() -> None:
    licence = LicenceDetails(
        "20.0.10.1116",
        "Enterprise",
        EXPIRES,
        (LicenceItem(Aspect.LICENCE, CheckStatus.WARN, "Maintenance has expired.", MAINTENANCE),),
        maintenance_expires_at=EXPIRES - timedelta(days=40),
    )
    recording = ExtensionRecordingDetails(
        (
            ExtensionRow("101", "Reception", RecordingMode.ALL_CALLS, 0),
            ExtensionRow("102", "Sales", RecordingMode.ON_DEMAND, 0),
            ExtensionRow("103", "Accounts", RecordingMode.DISABLED, 2),
        ),
        (),
        "last 7 days",
        True,
    )
    retention = RetentionDetails(90, True, 60, False, 10, (), (), (), ())
    cert = {"sha256": "AB:CD", "not_after": "2027-01-02T00:00:00+00:00", "days_left": 45.0}
    found = facts_of(
        diagnosis(
            result(CheckId.LICENCE, CheckStatus.WARN, **licence.as_json()),
            result(
                CheckId.API_ROLES,
                **RolesDetails("ok", "403 forbidden", "not tried").as_json(),
            ),
            result(CheckId.EXTENSION_RECORDING, CheckStatus.FAIL, **recording.as_json()),
            result(CheckId.RETENTION, **retention.as_json()),
            result(CheckId.REACHABILITY, certificate=cert),
        ),
        key_rotated_at=WHEN,
        monitored=("101",),
    )
    assert found.version == "20.0.10.1116"
    assert found.licence_expires_at == EXPIRES
    assert found.maintenance_expired is True
    assert found.maintenance_expires_at == EXPIRES - timedelta(days=40)
    assert RunFacts.from_json(found.as_json()) == found
    assert found.certificate_sha256 == "AB:CD"
    assert found.certificate_not_after == datetime(2027, 1, 2, tzinfo=UTC)
    assert found.capabilities == {"call_history": "ok", "recording_list": "403 forbidden"}
    assert found.recording_extensions == ("101",)
    assert found.silent_extensions == ("102", "103")
    assert found.retention_days == 60
    assert found.monitored == ("101",)
    assert found.key_rotated_at == WHEN
    assert found.failed == (CheckId.EXTENSION_RECORDING,)
    assert RunFacts.from_json(found.as_json()) == found


def test_retention_with_auto_delete_off_is_kept_for_ever() -> None:
    policy = RetentionDetails(90, False, None, False, 0, (), (), (), ())
    assert facts_of(diagnosis(result(CheckId.RETENTION, **policy.as_json()))).retention_days == 0


def test_a_blocked_run_establishes_nothing_but_its_failure() -> None:
    blocked = [
        CheckResult(check, CheckStatus.SKIP, "Not checked: blocked by check 7.")
        for check in CHECK_ORDER
        if check is not CheckId.REACHABILITY
    ]
    found = facts_of(
        diagnosis(*blocked, result(CheckId.REACHABILITY, CheckStatus.FAIL), version=None)
    )
    assert found == RunFacts(failed=(CheckId.REACHABILITY,))


def test_details_in_a_shape_this_version_cannot_read_are_not_known() -> None:
    found = facts_of(
        diagnosis(
            result(CheckId.LICENCE, items="not a list"),
            result(CheckId.API_ROLES, call_history=3),
            result(CheckId.RETENTION, auto_delete="yes"),
        )
    )
    assert (found.licence_expires_at, found.capabilities, found.retention_days) == (
        None,
        None,
        None,
    )
