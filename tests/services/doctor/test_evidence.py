"""Verdicts only from evidence: what the PBX did not say is never a pass, nor a wrong key.

The empty licence answer comes from the simulator's ``licence-unreadable`` fault (both licence
answers are ``{"value": null}``) or from replacing what it serves at ``/LicenseStatus`` with an
object without fields; the rest are the rules asked directly with the facts a misbehaving PBX
leaves.
"""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime
from typing import Any

import pytest

from app.domain.causes.api_answers import (
    HISTORY,
    KEY_FIX,
    REVOKED,
    REVOKED_FIX,
    Answer,
    ProbeAnswer,
    Where,
    fix_for,
    sign_in_finding,
)
from app.domain.causes.licence import BY_HAND, LicenceFacts, assess_licence, judge_licence
from app.domain.causes.reachability import ReachabilityFacts, judge_reachability, lifetime_words
from app.domain.causes.roles import RolesFacts, capability_ticks, judge_roles
from app.domain.connection import ClientIdError, normalise_client_id
from app.domain.diagnosis import CheckId, CheckStatus
from app.domain.licence import Edition, Licence, SystemStatus
from app.domain.version import PbxVersion
from app.services.doctor import Doctor
from app.services.doctor.text import render_text
from app.services.facts.outcome import Outcome, probe_answer
from app.services.pbx_summary import licence_line, summarise
from app.services.setup.capabilities import TOKEN, verify_capabilities
from app.sim import Simulator
from app.threecx.connect import ClientIdUnusable, open_client
from app.threecx.errors import AuthRejected, TokenRevoked
from app.threecx.v20.tokens import credential_hint, read_expires_in, sane_lifetime
from tests.conftest import SimFactory
from tests.support.timeouts import timeouts_for
from tests.threecx.conftest import params_for

NOW = datetime(2026, 3, 4, 10, 0, tzinfo=UTC)
EMPTY_LICENCE = Licence(active=None, edition=Edition.ENTERPRISE, product_code=None, expires_at=None)


def status(**changes: Any) -> SystemStatus:
    values: dict[str, Any] = {
        "fqdn": "pbx.example.com",
        "version": "20.0.10.1116",
        "activated": True,
        "licence_active": True,
        "expires_at": None,
        "recording_stopped": False,
        "recording_quota_reached": False,
    }
    values.update(changes)
    return SystemStatus(**values)


def licence_facts(licence: Licence | None, st: SystemStatus | None) -> LicenceFacts:
    return LicenceFacts(NOW, PbxVersion(20, 0, 10, 1116), "v20", licence=licence, status=st)


# ---- unknown is never PASS --------------------------------------------------------------------
def test_an_empty_licence_answer_is_could_not_be_read_even_when_system_status_says_active() -> None:
    result = judge_licence(licence_facts(EMPTY_LICENCE, status()))
    assert result.status is CheckStatus.WARN
    assert "The licence could not be read" in result.finding
    assert "is active" not in result.finding.replace("whether the licence is active", "")
    assert result.fix == BY_HAND
    licence_item = assess_licence(licence_facts(EMPTY_LICENCE, status()))[1]
    assert licence_item.status is CheckStatus.WARN


def test_either_answer_saying_not_active_fails() -> None:
    active = Licence(True, Edition.ENTERPRISE, None, None)
    result = judge_licence(licence_facts(active, status(licence_active=False)))
    assert result.status is CheckStatus.FAIL and "not active" in result.finding


def test_recording_not_said_stopped_is_not_a_pass() -> None:
    facts = licence_facts(
        Licence(True, Edition.ENTERPRISE, None, None), status(recording_stopped=None)
    )
    recording = assess_licence(facts)[3]
    assert recording.status is CheckStatus.SKIP and recording.fix == BY_HAND
    assert judge_licence(facts).status is CheckStatus.WARN


def test_the_pbx_summary_says_unknown_not_not_active() -> None:
    line = licence_line(EMPTY_LICENCE)
    assert "NOT active" not in line and "state unknown" in line and "expires unknown" in line
    assert licence_line(Licence(False, Edition.ENTERPRISE, None, None)).endswith(
        "NOT active, expires no expiry"
    )


def _empty_licence(sim: Simulator) -> None:
    # What a PBX behind a misbehaving proxy sent: an object with no licence fields at all.
    sim.licence_status = lambda: {}  # type: ignore[method-assign]


@pytest.mark.parametrize("answer", ["value-null", "no-fields"])
async def test_the_doctor_and_the_summary_never_pass_an_empty_licence_answer(
    make_sim: SimFactory, answer: str
) -> None:
    if answer == "value-null":  # both licence answers are {"value": null}: the sim's fault
        sim = await make_sim(tls=True, faults=["licence-unreadable"])
    else:
        sim = await make_sim(tls=True)
        _empty_licence(sim)
    diagnosis = await Doctor(params_for(sim, timeouts=timeouts_for(sim)), sim.client_secret).run()
    result = diagnosis.result(CheckId.LICENCE)
    assert result.status is CheckStatus.WARN
    assert "The licence could not be read" in result.finding and BY_HAND in result.fix
    text = render_text(diagnosis)
    assert "[PASS] The licence is active" not in text
    assert "The licence could not be read" in text
    document = diagnosis.as_json()
    check = next(c for c in document["checks"] if c["id"] == CheckId.LICENCE.value)
    assert check["status"] == "warn" and check["fix"] == result.fix
    assert "The licence is active" not in json.dumps(check)

    client = await open_client(params_for(sim), sim.client_secret)
    try:
        await client.authenticate()
        lines = (await summarise(client)).lines()
    finally:
        await client.aclose()
    shown = next(line for line in lines if line.startswith("Licence:"))
    assert "state unknown" in shown and "NOT active" not in shown


# ---- a withdrawn token is never a missing role -------------------------------------------------
WITHDRAWN = probe_answer(Outcome(error=TokenRevoked(endpoint="/ReportCallLogData/…")))


def test_a_withdrawn_token_is_its_own_answer() -> None:
    assert WITHDRAWN.answer is Answer.REVOKED and not WITHDRAWN.refused
    assert not Outcome(error=TokenRevoked()).denied and Outcome(error=TokenRevoked()).revoked
    assert fix_for(Where.CALL_HISTORY, WITHDRAWN, True) == REVOKED_FIX
    assert sign_in_finding(WITHDRAWN) == REVOKED


@pytest.mark.parametrize("which", ["history", "list", "both"])
def test_roles_warn_on_a_withdrawn_token_and_never_say_a_role_is_missing(which: str) -> None:
    ok = ProbeAnswer(Answer.OK, count=3)
    facts = RolesFacts(
        v20=True,
        call_history=WITHDRAWN if which in ("history", "both") else ok,
        recording_list=WITHDRAWN if which in ("list", "both") else ok,
    )
    result = judge_roles(facts)
    assert result.status is CheckStatus.WARN
    assert REVOKED in result.finding and result.fix == REVOKED_FIX
    assert "role is" not in result.finding and HISTORY not in result.fix
    ticks = {t.key: t for t in capability_ticks(facts)}
    if which != "list":
        assert ticks["call_history"].fix == REVOKED_FIX


def test_reachability_warns_on_a_token_withdrawn_at_sign_in() -> None:
    facts = ReachabilityFacts(tls_now=NOW, host="pbx", port=443, steps=(), sign_in=WITHDRAWN)
    result = judge_reachability(facts)
    assert result.status is CheckStatus.WARN
    assert result.finding == REVOKED and result.fix == REVOKED_FIX


# ---- Client ID or key ---------------------------------------------------------------------------
def test_a_rejected_sign_in_says_client_id_or_key_and_regenerates_last() -> None:
    rejected = probe_answer(Outcome(error=AuthRejected(endpoint="/connect/token")))
    finding = sign_in_finding(rejected)
    assert "Client ID or API key" in finding
    fix = fix_for(Where.SIGN_IN, rejected, True)
    assert fix == KEY_FIX and fix.startswith("First check the Client ID and the key")
    assert fix.index("Regenerate the key only if it is lost") > fix.index("Integrations")


def test_an_answer_that_names_the_client_id_is_passed_on() -> None:
    said = credential_hint(AuthRejected("unknown client '900'"))
    assert "does not know this Client ID" in said
    assert credential_hint(AuthRejected("invalid_client")) == ""  # OAuth's word covers both
    rejected = probe_answer(Outcome(error=AuthRejected(said, endpoint="/connect/token")))
    assert sign_in_finding(rejected).endswith(said)


@pytest.mark.parametrize(
    ("typed", "sent"),
    [("900", "900"), (" 900\n", "900"), ("\u200b900", "900"), ("9\ufeff00\u00ad", "900")],
)
def test_invisible_characters_are_dropped_from_the_client_id(typed: str, sent: str) -> None:
    assert normalise_client_id(typed) == sent


@pytest.mark.parametrize(
    ("typed", "named"),
    [("9 00", "space"), ("90\t0", "space"), ("9\u202e00", "RIGHT-TO-LEFT OVERRIDE"), ("", "empty")],
)
def test_a_client_id_that_cannot_be_sent_is_named(typed: str, named: str) -> None:
    with pytest.raises(ClientIdError) as caught:
        normalise_client_id(typed)
    assert named in str(caught.value)
    assert "key" not in str(caught.value).replace("Admin console", "")


async def test_a_zero_width_space_in_the_client_id_signs_in(make_sim: SimFactory) -> None:
    sim = await make_sim(tls=True)
    client = await open_client(params_for(sim, client_id=f"\u200b{sim.client_id}\u200b"), "x")
    await client.aclose()
    report = await verify_capabilities(
        params_for(sim, client_id=f"{sim.client_id}\u200b"), sim.client_secret
    )
    assert report.key_accepted


async def test_a_client_id_with_a_space_inside_is_named_not_blamed_on_the_key(
    make_sim: SimFactory,
) -> None:
    sim = await make_sim(tls=True)
    broken = params_for(sim, client_id=f"{sim.client_id[:1]} {sim.client_id[1:]}")
    with pytest.raises(ClientIdUnusable):
        await open_client(broken, sim.client_secret)
    report = await verify_capabilities(broken, sim.client_secret)
    token = report.check(TOKEN)
    assert token.ok is False and "space" in token.detail and "Client ID" in token.detail
    assert token.fix is not None and "The key is not at fault" in token.fix
    diagnosis = await Doctor(broken, sim.client_secret).run()
    reach = diagnosis.result(CheckId.REACHABILITY)
    assert reach.status is CheckStatus.FAIL and "space" in reach.finding
    assert "Regenerate" not in reach.fix


# ---- token lifetimes --------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("said", "read"),
    [
        (0, 0.0),
        (-60, -60.0),
        ("3600", 3600.0),
        ("soon", None),
        (True, None),
        (None, None),
        (10**400, math.inf),
        ("1e400", math.inf),
    ],
)
def test_expires_in_of_any_shape_is_read_without_a_crash(said: object, read: float | None) -> None:
    assert read_expires_in(said) == read
    lifetime = sane_lifetime(read if read is not None else 60.0)
    assert 1.0 <= lifetime <= 86400.0


@pytest.mark.parametrize("seconds", [0.0, -3600.0, math.nan, math.inf, 1e400])
def test_a_lifetime_never_prints_negative_or_absurd(seconds: float) -> None:
    assert lifetime_words(seconds) == "not said"
    assert lifetime_words(sane_lifetime(seconds)) == "60 s"


# ---- other judges: a mode the PBX did not say is not "records" ---------------------------------
def test_an_extension_whose_mode_was_not_said_is_not_claimed_to_record() -> None:
    from app.domain.causes.extension_recording import (
        ExtensionRecordingFacts,
        judge_extension_recording,
    )
    from app.domain.extensions import Extension, RecordingMode

    rows = (
        Extension("101", "Ann Lee", RecordingMode.ALL_CALLS),
        Extension("104", "Bo Tran", RecordingMode.UNKNOWN),
    )
    unchecked = ExtensionRecordingFacts("v20", "last 7 days", rows, unrecorded=None)
    result = judge_extension_recording(unchecked)
    assert result.status is CheckStatus.WARN
    assert "did not say the recording mode of 104" in result.finding
    assert "Every extension" not in result.finding
    checked = ExtensionRecordingFacts("v20", "last 7 days", rows, unrecorded={"101": 0, "104": 0})
    passed = judge_extension_recording(checked)
    assert passed.status is CheckStatus.PASS and "104" in passed.finding
    assert passed.finding.startswith("Every extension whose mode the PBX said")
