"""The setup report model: sections from a diagnosis, outstanding actions, masking, the scrub."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import pytest

from app.domain.diagnosis import (
    CHECK_ORDER,
    CheckId,
    CheckResult,
    CheckStatus,
    Diagnosis,
    PbxFacts,
)
from app.domain.report import (
    REDACTED,
    REPORT_SCHEMA,
    Report,
    ReportMeta,
    mask_host,
    on_customer_clock,
    scrub,
)

NOW = datetime(2026, 11, 21, 10, 0, tzinfo=UTC)
HOST = "pbx.harbourdental.com.au"
CALLER = "+61412345678"
LOCAL = "0432 663 505"
CONTACT = "Matilda Mitchell"
STAFF = "William Nguyen"

DETAILS: dict[CheckId, dict[str, Any]] = {
    CheckId.API_ROLES: {
        "call_history": "ok",
        "recording_list": "ok",
        "recording_download": "ok",
    },
    CheckId.EXTENSION_RECORDING: {
        "extensions": [
            {
                "number": "101",
                "name": "Matilda Kelly",
                "recording": "all calls",
                "records_external_calls": True,
                "answered_external_without_recording": 0,
            },
            {
                "number": "102",
                "name": STAFF,
                "recording": "disabled",
                "records_external_calls": False,
                "answered_external_without_recording": 3,
            },
        ],
        "queues": [{"number": "800", "name": "Sales", "recording": "AllowToOptOut"}],
    },
    CheckId.LATE_RECORDING: {
        "bridge_window_s": 120.0,
        "watch_s": 180.0,
        "journeys": [
            {
                "call_id": "7001",
                "extension": "101",
                "number": CALLER,
                "hung_up_at": "2026-11-21T09:58:00+00:00",
                "state": "ready",
                "ready_after_s": 4.2,
                "upper_bound_only": False,
                "recording_id": 881,
                "attempts": [
                    {"n": 1, "after_s": 1.0, "found": False, "note": "not yet"},
                    {"n": 2, "after_s": 4.2, "found": True, "note": ""},
                ],
            }
        ],
    },
    CheckId.CONTACT_MATCH: {
        "region": "AU",
        "contacts": 60,
        "counts": {"exact E.164 match": 1, "matches only after normalising": 1, "no contact": 0},
        "calls": [
            {
                "call_id": "1",
                "raw": CALLER,
                "e164": CALLER,
                "match": "exact E.164 match",
                "contacts": ["Lachlan Walker"],
                "reason": f"Attaches to Lachlan Walker: the contact's number is stored as {CALLER}.",
            },
            {
                "call_id": "2",
                "raw": "+61432663505",
                "e164": "+61432663505",
                "match": "matches only after normalising",
                "contacts": [CONTACT],
                "reason": f"{CONTACT} has it stored as {LOCAL}.",
            },
        ],
        "bulk_fixes": [
            {
                "contact_id": "6",
                "name": CONTACT,
                "label": "Mobile",
                "stored": LOCAL,
                "e164": "+61432663505",
            }
        ],
    },
    CheckId.RETENTION: {
        "required_days": 90,
        "auto_delete": True,
        "auto_delete_days": 120,
        "archive_enabled": False,
        "referenced": 40,
        "deleted_by_retention": [],
        "missing": [],
        "absent_unconfirmed": [],
        "archived": [],
    },
    CheckId.REACHABILITY: {
        "host": HOST,
        "port": 5001,
        "latency_ms": 42.5,
        "tls_version": "TLSv1.3",
        "http_status": 401,
        "certificate": {
            "subject": f"CN={HOST}",
            "issuer": "CN=R11,O=Let's Encrypt,C=US",
            "not_after": "2027-01-30T00:00:00+00:00",
            "days_left": 70.0,
            "sha256": "ab" * 32,
            "names": [HOST],
        },
        "steps": [
            {"step": "dns", "ok": True, "ms": 3.0, "detail": f"{HOST} resolves to 203.0.113.7"},
            {"step": "tcp", "ok": True, "ms": 40.0, "detail": f"connected to {HOST}:5001"},
        ],
    },
}


def results(**changes: dict[str, Any]) -> list[CheckResult]:
    out = []
    for check in CHECK_ORDER:
        base = CheckResult(
            check,
            CheckStatus.PASS,
            f"{check} is fine.",
            "",
            (f"{check} evidence",),
            DETAILS.get(check, {}),
        )
        out.append(replace(base, **changes.get(check.value, {})))
    return out


def diagnosis(**changes: dict[str, Any]) -> Diagnosis:
    pbx = PbxFacts(f"https://{HOST}:5001", "20.0.10.1116", 20, "Enterprise", "AU", "self-managed")
    return Diagnosis.in_order(pbx, results(**changes), NOW, 850.0)


def meta(**changes: Any) -> ReportMeta:
    fields: dict[str, Any] = {
        "generated_at": NOW,
        "customer": "Harbour Dental",
        "connection": "Main PBX",
        "engineer": "Sam Engineer",
        "app_version": "0.1.0",
    }
    fields.update(changes)
    return ReportMeta(**fields)


def test_healthy_diagnosis_has_the_seven_sections_in_seed_order_and_nothing_outstanding() -> None:
    report = Report.build(diagnosis(), meta())
    assert [c.id for c in report.checks] == list(CHECK_ORDER)
    assert [c.order for c in report.checks] == list(range(1, 8))
    assert report.actions == ()
    assert report.first_failure is None
    assert report.summary_line().startswith("Every check that ran passed")
    assert report.pbx.host == HOST and report.pbx.version == "20.0.10.1116"
    assert [c.role for c in report.capabilities] == ["Reports User", "Recording Manager"]
    assert all(c.status is CheckStatus.PASS for c in report.capabilities)


def test_retention_failure_becomes_the_first_outstanding_action() -> None:
    fix = "Set the recording retention to at least 90 days."
    report = Report.build(
        diagnosis(
            retention={
                "status": CheckStatus.FAIL,
                "finding": "Recordings are deleted after 30 days, but the customer needs 90.",
                "fix": fix,
                "details": {
                    **DETAILS[CheckId.RETENTION],
                    "auto_delete_days": 30,
                    "deleted_by_retention": [191, 192],
                },
            },
            contact_match={"status": CheckStatus.WARN, "fix": "Normalise the numbers."},
        ),
        meta(),
    )
    assert [(a.check, a.status) for a in report.actions] == [
        (CheckId.RETENTION, CheckStatus.FAIL),
        (CheckId.CONTACT_MATCH, CheckStatus.WARN),
    ]
    assert report.actions[0].text == fix
    assert report.first_failure is CheckId.RETENTION
    assert report.summary_line() == "1 check failed and 1 warning; fix check 6 first."
    assert report.retention is not None
    assert report.retention.auto_delete_days == 30
    assert report.retention.deleted_by_retention == (191, 192)
    assert report.retention.status is CheckStatus.FAIL


def test_refused_recordings_fail_the_recording_manager_capability_only() -> None:
    report = Report.build(
        diagnosis(
            api_roles={
                "status": CheckStatus.FAIL,
                "fix": "Assign the missing role (Recording Manager, for recording fetch).",
                "details": {
                    "call_history": "ok",
                    "recording_list": "403 forbidden",
                    "recording_download": "not tried",
                },
            }
        ),
        meta(),
    )
    history, fetch = report.capabilities
    assert (history.role, history.status) == ("Reports User", CheckStatus.PASS)
    assert (fetch.role, fetch.status) == ("Recording Manager", CheckStatus.FAIL)
    assert "403 forbidden" in fetch.detail
    assert report.actions[0].check is CheckId.API_ROLES


def test_a_recording_list_without_a_download_is_only_partly_proven() -> None:
    report = Report.build(
        diagnosis(
            api_roles={
                "status": CheckStatus.WARN,
                "details": {**DETAILS[CheckId.API_ROLES], "recording_download": "not tried"},
            }
        ),
        meta(),
    )
    assert report.capabilities[1].status is CheckStatus.WARN


def test_unreachable_pbx_blocks_six_checks_and_keeps_the_probe_steps() -> None:
    blocked = {
        check.value: {
            "status": CheckStatus.SKIP,
            "finding": "Not checked: blocked by check 7, the PBX is not reachable with this key.",
            "evidence": (),
            "details": {},
        }
        for check in CHECK_ORDER
        if check is not CheckId.REACHABILITY
    }
    unreachable = {
        "status": CheckStatus.FAIL,
        "finding": f"The name {HOST} does not resolve from this machine (DNS).",
        "fix": "Check the PBX address.",
        "details": {
            "host": HOST,
            "port": 5001,
            "latency_ms": None,
            "tls_version": None,
            "http_status": None,
            "certificate": None,
            "steps": [{"step": "dns", "ok": False, "ms": 2.0, "detail": "no such host"}],
        },
    }
    report = Report.build(diagnosis(**blocked, reachability=unreachable), meta())
    assert [c.status for c in report.checks] == [CheckStatus.SKIP] * 6 + [CheckStatus.FAIL]
    assert [a.check for a in report.actions] == [CheckId.REACHABILITY]
    assert all(c.status is CheckStatus.SKIP for c in report.capabilities)
    assert report.extensions == () and report.retention is None and report.contact_match is None
    assert report.reachability is not None
    assert report.reachability.certificate is None
    assert [(s.step, s.ok) for s in report.reachability.steps] == [("DNS", False)]


def test_structured_sections_come_from_the_details() -> None:
    report = Report.build(diagnosis(), meta())
    assert [(x.number, x.records_external_calls) for x in report.extensions] == [
        ("101", True),
        ("102", False),
    ]
    assert report.extensions[1].calls_without_recording == 3
    assert report.contact_match is not None
    # Problems first in the sample: the call that only matches after normalising.
    assert report.contact_match.sample[0].match == "matches only after normalising"
    assert report.contact_match.bulk_fixes[0].stored == LOCAL
    late = report.late_recording
    assert late is not None and late.window_s == 120.0
    assert [a.found for a in late.journeys[0].attempts] == [False, True]
    assert report.reachability is not None
    cert = report.reachability.certificate
    assert cert is not None and cert.issuer.startswith("CN=R11") and cert.sha256 == "ab" * 32


def test_masking_hides_numbers_names_and_the_host_everywhere() -> None:
    report = Report.build(diagnosis(), meta(mask=True))
    document = json.dumps(report.as_json(), ensure_ascii=False)
    for secret_ish in (CALLER, "+61432663505", LOCAL, CONTACT, STAFF, "Lachlan Walker", HOST):
        assert secret_ish not in document, secret_ish
    assert report.masked and report.as_json()["masked"] is True
    assert report.pbx.host == "pbx.•••.com.au"
    assert report.extensions[1].name == "W. N."
    assert report.contact_match is not None
    sample = report.contact_match.sample
    assert {s.number for s in sample} == {"+••••••••678", "+••••••••505"}
    assert report.contact_match.bulk_fixes[0].stored == "•••• ••• 505"
    assert report.contact_match.bulk_fixes[0].name == "M. M."
    assert "L. W." in next(s.reason for s in sample if s.match == "exact E.164 match")
    assert report.late_recording is not None
    assert report.late_recording.journeys[0].number == "+••••••••678"
    # What the customer needs stays readable: the customer's own name, the fix, the issuer.
    assert report.meta.customer == "Harbour Dental"
    assert report.reachability is not None and report.reachability.certificate is not None
    assert report.reachability.certificate.subject == "CN=pbx.•••.com.au"
    assert report.reachability.certificate.issuer == "CN=R11,O=Let's Encrypt,C=US"


def test_unmasked_report_shows_everything_and_toggles_both_ways() -> None:
    plain = Report.build(diagnosis(), meta())
    document = json.dumps(plain.as_json(), ensure_ascii=False)
    for shown in (CALLER, LOCAL, CONTACT, STAFF, HOST):
        assert shown in document
    masked = plain.with_mask(True)
    assert masked.masked and CALLER not in json.dumps(masked.as_json(), ensure_ascii=False)
    assert masked.with_mask(False).as_json() == plain.as_json()
    assert plain.with_mask(False) is plain


def test_json_shape() -> None:
    document = Report.build(diagnosis(), meta()).as_json()
    assert document["schema"] == REPORT_SCHEMA == "pbx-companion/report/1"
    assert document["generated_by"] == {"engineer": "Sam Engineer", "app_version": "0.1.0"}
    assert [c["id"] for c in document["checks"]] == [c.value for c in CHECK_ORDER]
    assert document["checked_at"] == NOW.isoformat()
    assert "logo" not in json.dumps(document)


def test_details_from_an_older_or_edited_document_cost_a_line_not_the_report() -> None:
    odd = diagnosis(
        extension_recording={"details": {"extensions": "not a list", "queues": [1, None]}},
        contact_match={"details": {"calls": [{"raw": 5}], "counts": [], "bulk_fixes": None}},
        reachability={"details": {"certificate": "?", "steps": [{"ok": "yes"}], "port": "x"}},
        late_recording={"details": {"journeys": [{"attempts": [{"after_s": "soon"}]}]}},
    )
    report = Report.build(odd, meta(mask=True))
    assert report.extensions == () and report.queues == ()
    assert report.reachability is not None and report.reachability.port is None
    assert report.late_recording is not None
    assert report.late_recording.journeys[0].attempts[0].after_s == 0.0
    json.dumps(report.as_json())


@pytest.mark.parametrize(
    ("host", "masked"),
    [
        ("pbx.harbourdental.com.au", "pbx.•••.com.au"),
        ("harbourdental.3cx.com.au", "•••.3cx.com.au"),
        ("voip.example.co.uk", "voip.•••.co.uk"),
        ("127.0.0.1", "•••.•••.•••.1"),
        ("localhost", "localhost"),
        ("acme", "•••"),
        ("2001:db8::1", "•••"),
        ("", ""),
    ],
)
def test_mask_host(host: str, masked: str) -> None:
    assert mask_host(host) == masked


def test_scrub_removes_secrets_bearer_tokens_jwts_and_keyed_values() -> None:
    jwt = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiI5MDAiLCJyb2xlIjoiYWRtaW4ifQ.c2lnbmF0dXJlLXNpZ25hdHVyZQ"
    text = (
        "key K5yeXQ8Q6zaY3XZ7iVT7blX6n6wIA6Sc; Authorization: Bearer abc.def-123; "
        f"token {jwt}; client_secret=hunter2hunter2 and password: 'swordfish'"
    )
    clean = scrub(text, ["K5yeXQ8Q6zaY3XZ7iVT7blX6n6wIA6Sc", "abc"])
    for leaked in ("K5yeXQ8Q6zaY3XZ7iVT7blX6n6wIA6Sc", "abc.def-123", jwt, "hunter2", "swordfish"):
        assert leaked not in clean
    assert clean.count(REDACTED) >= 5
    assert "Authorization: Bearer " + REDACTED in clean
    # Short strings are not treated as secrets (they would shred ordinary words).
    assert scrub("the abc of it", ["abc"]) == "the abc of it"
    assert scrub("Call 0412 345 678 on 2026-11-21") == "Call 0412 345 678 on 2026-11-21"


@pytest.mark.parametrize(
    ("evidence", "masked"),
    [
        # The doctor's evidence lines start with the number, then a colon.
        ("+61482836554: no contact has this number", "+••••••••554: no contact has this number"),
        ("0432 663 505: stored locally", "•••• ••• 505: stored locally"),
        ("Caller +61412345678 (mobile)", "Caller +••••••••678 (mobile)"),
        # What only looks like a number stays: versions, dates, times, ids, the latency.
        (
            "Version: 3CX 20.0.10.1116 (floor 18.0.11.0)",
            "Version: 3CX 20.0.10.1116 (floor 18.0.11.0)",
        ),
        ("Recording 191 on 2026-08-24 at 10:15:02", "Recording 191 on 2026-08-24 at 10:15:02"),
        ("connected in 43 ms", "connected in 43 ms"),
    ],
)
def test_masked_evidence(evidence: str, masked: str) -> None:
    report = Report.build(diagnosis(licence={"evidence": (evidence,)}), meta(mask=True))
    assert report.check(CheckId.LICENCE).evidence == (masked,)
    plain = Report.build(diagnosis(licence={"evidence": (evidence,)}), meta())
    assert plain.check(CheckId.LICENCE).evidence == (evidence,)


def test_times_are_on_the_customers_clock_with_the_zone_named() -> None:
    auckland = replace(
        diagnosis(),
        pbx=replace(
            diagnosis().pbx,
            time_zone="Pacific/Auckland",
            business_hours="Mon–Fri 08:30–17:30, break 12:30–13:00, 3 holidays",
            hours_source="read from the PBX",
        ),
    )
    report = Report.build(auckland, meta())
    assert report.pbx.time_zone == "Pacific/Auckland"
    assert report.pbx.hours_source == "read from the PBX"
    # 10:00 UTC on 21 November is 23:00 the same day in Auckland (NZDT, UTC+13).
    assert report.pbx.clock(report.checked_at) == "21 November 2026, 23:00 NZDT"
    document = report.as_json()
    assert document["pbx"]["time_zone"] == "Pacific/Auckland"
    assert document["pbx"]["business_hours"].startswith("Mon–Fri 08:30–17:30")
    assert document["checked_at"] == NOW.isoformat()  # the instant stays in UTC
    assert document["checked_at_customer_time"] == "2026-11-21T23:00:00+13:00"


def test_a_diagnosis_without_the_customers_zone_says_utc() -> None:
    report = Report.build(diagnosis(), meta())
    assert report.pbx.time_zone is None
    assert report.pbx.clock(report.checked_at) == "21 November 2026, 10:00 UTC"
    assert report.as_json()["checked_at_customer_time"] == NOW.isoformat()
    assert on_customer_clock(NOW, "Not/AZone") == "21 November 2026, 10:00 UTC"
