"""The diagnosis model: seven results, always in the field docs' order."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from app.domain.diagnosis import (
    CHECK_ORDER,
    SCHEMA,
    CheckId,
    CheckResult,
    CheckStatus,
    Diagnosis,
    PbxFacts,
)

NOW = datetime(2026, 11, 21, 10, 0, tzinfo=UTC)


def results(**statuses: CheckStatus) -> list[CheckResult]:
    return [
        CheckResult(check, statuses.get(check.value, CheckStatus.PASS), f"{check} finding", "fix")
        for check in CHECK_ORDER
    ]


def test_seed_order_is_fixed() -> None:
    assert [c.value for c in CHECK_ORDER] == [
        "licence",
        "api_roles",
        "extension_recording",
        "late_recording",
        "contact_match",
        "retention",
        "reachability",
    ]
    assert [c.order for c in CHECK_ORDER] == list(range(1, 8))


def test_results_are_put_in_order_whatever_order_they_finish_in() -> None:
    shuffled = list(reversed(results()))
    diagnosis = Diagnosis.in_order(PbxFacts("https://pbx"), shuffled, NOW, 12.0)
    assert [r.id for r in diagnosis.checks] == list(CHECK_ORDER)


def test_a_diagnosis_must_hold_all_seven() -> None:
    with pytest.raises(ValueError):
        Diagnosis(PbxFacts("https://pbx"), tuple(results()[:6]), NOW, 1.0)


def test_first_failure_follows_seed_order_not_completion_order() -> None:
    diagnosis = Diagnosis.in_order(
        PbxFacts("https://pbx"),
        results(retention=CheckStatus.FAIL, api_roles=CheckStatus.FAIL, licence=CheckStatus.WARN),
        NOW,
        1.0,
    )
    assert diagnosis.first_failure is CheckId.API_ROLES
    actions = [r.id for r, _ in diagnosis.outstanding_actions()]
    assert actions == [CheckId.API_ROLES, CheckId.RETENTION, CheckId.LICENCE]


def test_nothing_failed_has_no_first_failure() -> None:
    diagnosis = Diagnosis.in_order(
        PbxFacts("https://pbx"), results(contact_match=CheckStatus.WARN), NOW, 1.0
    )
    assert diagnosis.first_failure is None and not diagnosis.failed


def test_json_shape() -> None:
    pbx = PbxFacts("https://pbx", "20.0.10.1116", 20, "Enterprise", "AU", "self-managed")
    document = Diagnosis.in_order(
        pbx, results(late_recording=CheckStatus.SKIP), NOW, 345.6
    ).as_json()
    assert document["schema"] == SCHEMA == "pbx-companion/doctor/1"
    assert set(document["pbx"]) == {"url", "version", "major", "edition", "region", "hosting"}
    assert [c["order"] for c in document["checks"]] == list(range(1, 8))
    assert document["checks"][3]["status"] == "skip"
    assert document["first_failure"] is None and document["duration_ms"] == 346
    assert {"id", "order", "status", "title", "finding", "fix", "evidence"} <= set(
        document["checks"][0]
    )
