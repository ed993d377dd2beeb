"""Cause 1 from hand-built facts: each aspect's verdict, with the field docs' fix."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.domain.causes.licence import (
    ACTIVE_AND_RECORDING,
    AFTER_KEY,
    BY_HAND,
    ENTERPRISE,
    LICENCE_EXPIRY_WARNING_DAYS,
    MAINTENANCE,
    QUOTA,
    RENEW,
    RENEW_SOON,
    UPGRADE,
    V20_ADDS,
    VERSION_BY_HAND,
    Aspect,
    LicenceDetails,
    LicenceFacts,
    assess_licence,
    judge_licence,
)
from app.domain.diagnosis import CheckId, CheckStatus, DiagnosisFormatError
from app.domain.licence import Edition, Licence, SystemStatus
from app.domain.version import PbxVersion

NOW = datetime(2026, 11, 18, 0, 30, tzinfo=UTC)
V20 = PbxVersion.parse("20.0.10.1116")


def licence(**changes: object) -> Licence:
    base = Licence(
        active=True,
        edition=Edition.ENTERPRISE,
        product_code="3CXPSENT",
        expires_at=NOW + timedelta(days=287),
        maintenance_expired=False,
        max_sim_calls=16,
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def status(**changes: object) -> SystemStatus:
    base = SystemStatus(
        fqdn="pbx.example.com",
        version="20.0.10.1116",
        activated=True,
        licence_active=True,
        expires_at=NOW + timedelta(days=287),
        recording_stopped=False,
        recording_quota_reached=False,
        recording_used_bytes=3 * 1024**3,
        recording_quota=10 * 1024**3,
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def facts(**changes: object) -> LicenceFacts:
    base = LicenceFacts(now=NOW, version=V20, generation="v20", licence=licence(), status=status())
    return replace(base, **changes)  # type: ignore[arg-type]


def items(f: LicenceFacts) -> dict[Aspect, tuple[CheckStatus, str, str]]:
    return {i.aspect: (i.status, i.finding, i.fix) for i in assess_licence(f)}


def test_a_healthy_v20_passes_with_its_evidence() -> None:
    result = judge_licence(facts())
    assert result.id is CheckId.LICENCE and result.status is CheckStatus.PASS
    assert (result.finding, result.fix) == (ACTIVE_AND_RECORDING, "")
    assert "Version: 3CX 20.0.10.1116 (supported floor 18.0.11.0)" in result.evidence
    assert "Recording: running (3.0 GB used of 10.0 GB)" in result.evidence
    assert all(status is CheckStatus.PASS for status, _, _ in items(facts()).values())


def test_v18_at_the_floor_passes_and_is_told_what_v20_adds() -> None:
    f = facts(
        version=PbxVersion.parse("18.0.11.200"),
        generation="v18",
        licence=licence(edition=Edition.PROFESSIONAL),
    )
    result = judge_licence(f)
    assert result.status is CheckStatus.PASS
    assert result.finding == f"{ACTIVE_AND_RECORDING} {V20_ADDS}"
    assert items(f)[Aspect.EDITION][0] is CheckStatus.PASS  # any paid tier on v18


def test_below_the_floor_must_be_upgraded() -> None:
    result = judge_licence(facts(version=PbxVersion.parse("18.0.10.5"), generation="v18"))
    assert result.status is CheckStatus.FAIL
    assert "older than the supported floor, v18 build 11" in result.finding
    assert result.fix == UPGRADE


def test_an_expired_licence_fails_with_renew() -> None:
    expired = NOW - timedelta(days=12)
    result = judge_licence(
        facts(licence=licence(active=False, expires_at=expired), status=status(expires_at=expired))
    )
    assert result.status is CheckStatus.FAIL
    assert result.finding == "The 3CX licence is not active (expired 2026-11-06)."
    assert result.fix == RENEW


@pytest.mark.parametrize(
    ("days", "expected"),
    [
        (LICENCE_EXPIRY_WARNING_DAYS, CheckStatus.PASS),
        (LICENCE_EXPIRY_WARNING_DAYS - 1, CheckStatus.WARN),
    ],
)
def test_a_licence_about_to_expire_is_a_warning(days: int, expected: CheckStatus) -> None:
    expires = NOW + timedelta(days=days)
    result = judge_licence(
        facts(licence=licence(expires_at=expires), status=status(expires_at=expires))
    )
    assert result.status is expected
    if expected is CheckStatus.WARN:
        assert result.finding == f"The 3CX licence expires on {expires.date()}, in {days} days."
        assert result.fix == RENEW_SOON


@given(st.integers(min_value=-400, max_value=400))
def test_expiry_alone_decides_fail_warn_or_pass(days: int) -> None:
    expires = NOW + timedelta(days=days, hours=1)
    result = judge_licence(
        facts(licence=licence(expires_at=expires), status=status(expires_at=expires))
    )
    if days < 0:
        assert result.status is CheckStatus.FAIL and result.fix == RENEW
    elif days < LICENCE_EXPIRY_WARNING_DAYS:
        assert result.status is CheckStatus.WARN and result.fix == RENEW_SOON
    else:
        assert result.status is CheckStatus.PASS


def test_stopped_recording_fails_with_the_quota_fix_and_both_faults_are_named() -> None:
    stopped = facts(status=status(recording_stopped=True, recording_quota_reached=True))
    result = judge_licence(stopped)
    assert result.status is CheckStatus.FAIL
    assert result.finding == "The PBX has stopped recording calls: the recording quota is reached."
    assert result.fix == QUOTA
    both = judge_licence(replace(stopped, licence=licence(active=False)))
    assert "not active" in both.finding and "stopped recording" in both.finding
    assert both.fix == f"{RENEW} {QUOTA}"


def test_a_lower_edition_on_v20_warns_because_the_api_still_answered() -> None:
    result = judge_licence(
        facts(licence=licence(edition=Edition.PROFESSIONAL, product_code="3CXPSPRO"))
    )
    assert result.status is CheckStatus.WARN
    assert "Professional (3CXPSPRO): the XAPI and Call Control need an Enterprise" in result.finding
    assert result.fix == ENTERPRISE


def test_expired_maintenance_is_a_warning() -> None:
    result = judge_licence(facts(licence=licence(maintenance_expired=True)))
    assert result.status is CheckStatus.WARN and result.fix == MAINTENANCE


def test_what_the_pbx_did_not_say_is_a_warning_to_check_by_hand() -> None:
    unread = facts(licence=None, status=None, licence_error="boom", status_error="boom")
    result = judge_licence(unread)
    assert result.status is CheckStatus.WARN
    assert result.finding.startswith("Could not read the licence: boom")
    assert result.fix == BY_HAND  # said once, not once per aspect
    silent = judge_licence(
        facts(status=status(recording_stopped=None, recording_quota_reached=None))
    )
    assert silent.status is CheckStatus.WARN
    assert silent.finding == "The PBX did not say whether it is recording."


def test_before_the_key_only_the_version_can_be_judged() -> None:
    before = LicenceFacts(now=NOW, version=None, generation="v20", signed_in=False)
    seen = items(before)
    assert seen[Aspect.VERSION][0] is CheckStatus.PASS and "v20" in seen[Aspect.VERSION][1]
    for aspect in (Aspect.LICENCE, Aspect.EDITION, Aspect.RECORDING):
        assert seen[aspect] == (CheckStatus.SKIP, AFTER_KEY, "")
    v18 = items(replace(before, generation="v18"))[Aspect.VERSION]
    assert v18[0] is CheckStatus.SKIP and v18[2] == VERSION_BY_HAND


def test_details_keep_every_aspect_and_read_back() -> None:
    result = judge_licence(facts(licence=licence(maintenance_expired=True)))
    details = LicenceDetails.from_json(result.details)
    assert details.version == "20.0.10.1116" and details.edition == "Enterprise"
    assert [i.aspect for i in details.items] == list(Aspect)
    assert details.as_json() == result.details
    with pytest.raises(DiagnosisFormatError, match=r"items\[0\]\.status"):
        LicenceDetails.from_json({"items": [{"aspect": "version", "status": 3, "finding": ""}]})
