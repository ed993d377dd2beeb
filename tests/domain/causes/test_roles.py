"""Cause 2 from hand-built answers: what each 401 and 403 means, and the same fix everywhere."""

from __future__ import annotations

import pytest

from app.domain.causes.api_answers import (
    HISTORY,
    KEY_FIX,
    KEY_REJECTED,
    NOT_TRIED,
    RECORDINGS,
    SIGN_IN_FORBIDDEN_FIX,
    Answer,
    ProbeAnswer,
    roles_fix,
)
from app.domain.causes.roles import (
    BLAST_RADIUS_FIX,
    BOTH_ROLES,
    CALL_HISTORY,
    NO_RECORDING_YET,
    RECORDING_DOWNLOAD,
    RECORDING_LIST,
    TOKEN,
    RolesDetails,
    RolesFacts,
    capability_ticks,
    judge_roles,
)
from app.domain.diagnosis import CheckId, CheckStatus

FORBIDDEN = ProbeAnswer(Answer.FORBIDDEN, "The API user is not allowed to do this (403).")
REJECTED = ProbeAnswer(Answer.REJECTED, "The PBX rejected the API credentials (401).")
UNAVAILABLE = ProbeAnswer(
    Answer.FAILED,
    "The PBX answered with a server error. HTTP 503",
    "Retry in a minute; if it persists, check the PBX's services in the admin console.",
    "The PBX answered with a server error.",
)


def ok(count: int) -> ProbeAnswer:
    return ProbeAnswer(Answer.OK, count=count)


def facts(**changes: object) -> RolesFacts:
    values: dict[str, object] = {
        "v20": True,
        "call_history": ok(8),
        "recording_list": ok(5),
        "recording_download": ok(48_000),
        "version": "20.0.10.1116",
    }
    values.update(changes)
    return RolesFacts(**values)  # type: ignore[arg-type]


def ticks(f: RolesFacts) -> dict[str, tuple[bool | None, str | None]]:
    return {t.key: (t.ok, t.fix) for t in capability_ticks(f)}


def test_both_capabilities_proven_pass() -> None:
    result = judge_roles(facts())
    assert (result.id, result.status, result.finding, result.fix) == (
        CheckId.API_ROLES,
        CheckStatus.PASS,
        BOTH_ROLES,
        "",
    )
    assert result.details == {
        "call_history": "ok",
        "recording_list": "ok",
        "recording_download": "ok",
    }
    assert "Recording download: ok (48,000 bytes of audio)" in result.evidence
    assert all(ok is True for ok, _ in ticks(facts()).values())


@pytest.mark.parametrize("refusal", [FORBIDDEN, REJECTED], ids=["403", "401"])
def test_a_refused_recording_list_is_the_missing_recording_manager(refusal: ProbeAnswer) -> None:
    """Seed 000: a Reports-User-only key gets "a 401 or 403 on the recording URL"."""
    f = facts(recording_list=refusal, recording_download=NOT_TRIED)
    result = judge_roles(f)
    assert result.status is CheckStatus.FAIL
    assert result.finding.startswith("Role 1 of 2 is assigned, role 2 of 2 is not")
    assert result.fix == roles_fix(True, [RECORDINGS])
    assert ticks(f)[RECORDING_LIST] == (False, result.fix)  # the tick says what the doctor says
    assert result.details["recording_list"] == refusal.answer.value


def test_a_refused_download_alone_is_the_same_missing_role() -> None:
    f = facts(recording_download=FORBIDDEN)
    assert judge_roles(f).fix == roles_fix(True, [RECORDINGS]) == ticks(f)[RECORDING_DOWNLOAD][1]


def test_a_refused_call_history_is_the_missing_reports_user() -> None:
    f = facts(call_history=FORBIDDEN)
    result = judge_roles(f)
    assert result.status is CheckStatus.FAIL
    assert result.finding.startswith("Role 2 of 2 is assigned, role 1 of 2 is not")
    assert result.fix == roles_fix(True, [HISTORY]) == ticks(f)[CALL_HISTORY][1]


def test_neither_role_names_both() -> None:
    result = judge_roles(facts(call_history=FORBIDDEN, recording_list=REJECTED))
    assert result.finding.startswith("Neither role is assigned")
    assert f"({HISTORY}; {RECORDINGS})" in result.fix


def test_v18_points_at_the_v18_console() -> None:
    result = judge_roles(facts(v20=False, recording_list=FORBIDDEN))
    assert "On v18: Users, edit the API user" in result.fix
    assert "Integrations > API" not in result.fix


@pytest.mark.parametrize(
    ("sign_in", "fix"),
    [(REJECTED, KEY_FIX), (FORBIDDEN, SIGN_IN_FORBIDDEN_FIX)],
    ids=["401", "403"],
)
def test_a_refused_sign_in_is_the_key_or_the_console_restriction(
    sign_in: ProbeAnswer, fix: str
) -> None:
    f = facts(sign_in=sign_in, call_history=NOT_TRIED, recording_list=NOT_TRIED)
    token, *rest = capability_ticks(f)
    assert (token.key, token.ok, token.fix) == (TOKEN, False, fix)
    if sign_in is REJECTED:
        assert token.detail == KEY_REJECTED
    assert all(t.ok is None and t.detail.startswith("Not tried") for t in rest)
    result = judge_roles(f)
    assert result.status is CheckStatus.SKIP and result.fix == fix


def test_an_admin_key_works_but_warns_about_the_blast_radius() -> None:
    result = judge_roles(facts(admin_claims=("Admin", "GlobalAdmin")))
    assert result.status is CheckStatus.WARN
    assert "over-privileged" in result.finding and "(Admin, GlobalAdmin)" in result.finding
    assert result.fix == BLAST_RADIUS_FIX
    assert "Token role claims: Admin, GlobalAdmin" in result.evidence


def test_no_recording_yet_cannot_prove_the_download() -> None:
    f = facts(recording_list=ok(0), recording_download=NOT_TRIED)
    result = judge_roles(f)
    assert (result.status, result.fix) == (CheckStatus.WARN, NO_RECORDING_YET)
    assert ticks(f)[RECORDING_DOWNLOAD] == (None, NO_RECORDING_YET)
    assert result.details["recording_download"] == "not tried"


def test_a_server_error_is_not_a_missing_role() -> None:
    f = facts(call_history=UNAVAILABLE)
    result = judge_roles(f)
    assert result.status is CheckStatus.WARN
    assert result.finding.startswith("Could not prove both capabilities")
    assert result.fix == UNAVAILABLE.next_step == ticks(f)[CALL_HISTORY][1]
    assert result.details["call_history"] == "The PBX answered with a server error."


def test_details_read_back() -> None:
    result = judge_roles(facts(recording_list=FORBIDDEN, recording_download=NOT_TRIED))
    details = RolesDetails.from_json(result.details)
    assert details == RolesDetails("ok", "403 forbidden", "not tried")
    assert details.as_json() == result.details
