"""The diagnosis model: seven results, always in the field docs' order."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest

from app.domain.diagnosis import (
    CHECK_ORDER,
    SCHEMA,
    CheckId,
    CheckResult,
    CheckStatus,
    Diagnosis,
    DiagnosisFormatError,
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
    assert set(document["pbx"]) == {
        "url",
        "version",
        "major",
        "edition",
        "region",
        "hosting",
        "time_zone",
        "business_hours",
        "hours_source",
        "wire",
    }
    assert [c["order"] for c in document["checks"]] == list(range(1, 8))
    assert document["checks"][3]["status"] == "skip"
    assert document["first_failure"] is None and document["duration_ms"] == 346
    assert {"id", "order", "status", "title", "finding", "fix", "evidence"} <= set(
        document["checks"][0]
    )


def test_json_reads_back_into_the_same_diagnosis() -> None:
    pbx = PbxFacts("https://pbx", "20.0.10.1116", 20, "Enterprise", "AU", "self-managed")
    checks = [
        CheckResult(
            r.id,
            r.status,
            r.finding,
            r.fix,
            ("line one", "line two"),
            {"rows": [{"n": 1}]},
            12.4,
        )
        for r in results(retention=CheckStatus.FAIL)
    ]
    original = Diagnosis.in_order(pbx, checks, NOW, 345.6)
    document = json.loads(json.dumps(original.as_json()))
    again = Diagnosis.from_json(document)
    assert again.as_json() == original.as_json()
    assert again.first_failure is CheckId.RETENTION
    assert again.started_at == NOW
    assert again.result(CheckId.LICENCE).details == {"rows": [{"n": 1}]}


def _document() -> dict[str, Any]:
    return Diagnosis.in_order(PbxFacts("https://pbx"), results(), NOW, 1.0).as_json()


@pytest.mark.parametrize(
    ("change", "named"),
    [
        (lambda d: d.update(schema="pbx-companion/report/1"), "schema"),
        (lambda d: d.pop("checked_at"), "checked_at"),
        (lambda d: d.update(checked_at="yesterday"), "checked_at"),
        (lambda d: d.update(checks=d["checks"][:6]), "checks"),
        (lambda d: d.update(checks=list(reversed(d["checks"]))), "checks"),
        (lambda d: d["checks"][2].update(status="maybe"), "checks[2].status"),
        (lambda d: d["checks"][4].update(evidence="x"), "checks[4].evidence"),
        (lambda d: d["checks"][0].pop("finding"), "checks[0].finding"),
        (lambda d: d["checks"][1].update(details=[]), "checks[1].details"),
        (lambda d: d["pbx"].pop("url"), "pbx.url"),
        (lambda d: d["pbx"].update(major="20"), "pbx.major"),
        (lambda d: d.update(duration_ms=-1), "duration_ms"),
        (lambda d: d.update(pbx=None), "pbx"),
    ],
)
def test_a_bad_document_names_the_field(
    change: Callable[[dict[str, Any]], object], named: str
) -> None:
    document = _document()
    change(document)
    with pytest.raises(DiagnosisFormatError) as caught:
        Diagnosis.from_json(document)
    assert str(caught.value).startswith(f"{named}:"), caught.value


def test_a_document_that_is_not_an_object_is_refused() -> None:
    with pytest.raises(DiagnosisFormatError, match="expected a JSON object"):
        Diagnosis.from_json(["not", "a", "diagnosis"])


def test_a_result_saved_before_the_customers_clock_was_recorded_still_loads() -> None:
    pbx = PbxFacts("https://pbx", "20.0.10.1116", 20, "Enterprise", "AU", "self-managed")
    document = Diagnosis.in_order(pbx, results(), NOW, 1.0).as_json()
    for key in ("time_zone", "business_hours", "hours_source"):
        del document["pbx"][key]
    loaded = Diagnosis.from_json(document)
    assert loaded.pbx.time_zone is None and loaded.pbx.region == "AU"
