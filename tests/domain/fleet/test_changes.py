"""The fleet's change rules: each change between the last good run and this one, with the check
it threatens and the fix; nothing "not known" reads as lost; time is an input."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from app.domain.diagnosis import CheckId
from app.domain.fleet.changes import (
    EXPIRY_WARNING_DAYS,
    Change,
    ChangeKind,
    changes_since,
)
from app.domain.fleet.facts import RunFacts

NOW = datetime(2026, 11, 18, 0, 30, tzinfo=UTC)
GOOD = RunFacts(
    version="20.0.10.1116",
    licence_expires_at=NOW + timedelta(days=300),
    maintenance_expired=False,
    certificate_sha256="AA:" * 31 + "AA",
    certificate_not_after=NOW + timedelta(days=200),
    key_rotated_at=NOW - timedelta(days=10),
    capabilities={"call_history": "ok", "recording_list": "ok", "recording_download": "ok"},
    recording_extensions=("101", "102", "103"),
    silent_extensions=("104",),
    retention_days=365,
    monitored=("101", "102"),
    passed=tuple(CheckId),
)


def changes(after: RunFacts, before: RunFacts | None = GOOD, **kw: object) -> list[Change]:
    return changes_since(before, after, now=NOW, key_warning_days=180, **kw)  # type: ignore[arg-type]


def kinds(found: list[Change]) -> list[ChangeKind]:
    return [c.kind for c in found]


def test_the_same_facts_change_nothing() -> None:
    assert changes(GOOD) == []


def test_an_upgrade_names_both_builds_and_threatens_reachability() -> None:
    [change] = changes(replace(GOOD, version="20.0.11.2001"))
    assert change.kind is ChangeKind.VERSION
    assert "upgraded from 20.0.10.1116 to 20.0.11.2001" in change.finding
    assert change.threatens is CheckId.REACHABILITY
    assert "test call" in change.fix
    assert (change.was, change.now) == ("20.0.10.1116", "20.0.11.2001")


def test_a_build_going_back_is_not_called_an_upgrade() -> None:
    [change] = changes(replace(GOOD, version="20.0.9.100"))
    assert "went back" in change.finding and "upgraded" not in change.finding


@pytest.mark.parametrize(
    ("days", "expected"),
    [(EXPIRY_WARNING_DAYS - 1, True), (EXPIRY_WARNING_DAYS, False), (0.5, True), (-1, False)],
)
def test_licence_expiring_within_30_days(days: float, expected: bool) -> None:
    found = changes(replace(GOOD, licence_expires_at=NOW + timedelta(days=days)))
    assert (ChangeKind.LICENCE_EXPIRING in kinds(found)) is expected
    if expected:
        [change] = found
        assert change.threatens is CheckId.LICENCE
        assert "Renew the 3CX licence" in change.fix


def test_licence_expiry_is_judged_against_now_given_not_the_clock() -> None:
    after = replace(GOOD, licence_expires_at=datetime(2030, 1, 10, tzinfo=UTC))
    after = replace(after, certificate_not_after=None)
    later = changes_since(
        after, after, now=datetime(2029, 12, 20, tzinfo=UTC), key_warning_days=9999
    )
    assert kinds(later) == [ChangeKind.LICENCE_EXPIRING]
    assert "in 21 days" in later[0].finding
    assert changes(after) == []


def test_expired_maintenance_is_named_even_without_a_last_good_run() -> None:
    found = changes(replace(GOOD, maintenance_expired=True), before=None)
    assert kinds(found) == [ChangeKind.MAINTENANCE_EXPIRED]
    assert found[0].threatens is CheckId.LICENCE


@pytest.mark.parametrize(
    ("days", "expected"),
    [(EXPIRY_WARNING_DAYS - 1, True), (EXPIRY_WARNING_DAYS, False), (0.5, True), (-1, False)],
)
def test_maintenance_ending_within_30_days(days: float, expected: bool) -> None:
    ends = NOW + timedelta(days=days)
    found = changes(replace(GOOD, maintenance_expires_at=ends))
    assert (ChangeKind.MAINTENANCE_EXPIRING in kinds(found)) is expected
    if expected:
        [change] = found
        assert change.threatens is CheckId.LICENCE
        assert f"3CX maintenance ends on {ends.date().isoformat()}" in change.finding
        assert "Renew maintenance" in change.fix


def test_maintenance_already_expired_is_said_once_not_as_ending() -> None:
    after = replace(GOOD, maintenance_expired=True, maintenance_expires_at=NOW + timedelta(days=3))
    assert kinds(changes(after)) == [ChangeKind.MAINTENANCE_EXPIRED]


def test_a_renewed_certificate_is_a_change_against_the_last_good_run() -> None:
    [change] = changes(replace(GOOD, certificate_sha256="BB:" * 31 + "BB"))
    assert change.kind is ChangeKind.CERTIFICATE_CHANGED
    assert change.threatens is CheckId.REACHABILITY
    assert "pins the old one" in change.fix
    assert change.was == GOOD.certificate_sha256


def test_a_certificate_expiring_soon_or_expired() -> None:
    soon = changes(replace(GOOD, certificate_not_after=NOW + timedelta(days=7, hours=1)))
    assert kinds(soon) == [ChangeKind.CERTIFICATE_EXPIRING]
    assert "in 7 days" in soon[0].finding
    gone = changes(replace(GOOD, certificate_not_after=NOW - timedelta(days=2)))
    assert "expired on" in gone[0].finding


def test_a_key_older_than_the_warning_age() -> None:
    old = replace(GOOD, key_rotated_at=NOW - timedelta(days=200))
    found = changes_since(old, old, now=NOW, key_warning_days=180)
    assert kinds(found) == [ChangeKind.KEY_OLD]
    assert "200 days ago, past the 180 days" in found[0].finding
    assert changes_since(old, old, now=NOW, key_warning_days=365) == []
    with pytest.raises(ValueError):
        changes_since(old, old, now=NOW, key_warning_days=0)


def test_a_key_rotated_since_the_last_good_run_reminds_of_the_bridges() -> None:
    [change] = changes(replace(GOOD, key_rotated_at=NOW - timedelta(hours=1)))
    assert change.kind is ChangeKind.KEY_ROTATED
    assert "every bridge" in change.fix


def test_a_lost_capability_threatens_the_roles_check() -> None:
    after = replace(
        GOOD,
        capabilities={
            "call_history": "ok",
            "recording_list": "403 forbidden",
            "recording_download": "403 forbidden",
        },
    )
    [change] = changes(after)
    assert change.kind is ChangeKind.CAPABILITY_LOST
    assert change.threatens is CheckId.API_ROLES
    assert "list recordings (Recording Manager) and download recordings" in change.finding


def test_a_probe_not_tried_or_failing_on_the_network_is_not_a_lost_capability() -> None:
    assert changes(replace(GOOD, capabilities={"call_history": "ok"})) == []
    assert changes(replace(GOOD, capabilities={"call_history": "failed"})) == []
    assert changes(replace(GOOD, capabilities=None)) == []


def test_an_extension_that_stopped_recording() -> None:
    after = replace(GOOD, recording_extensions=("101",), silent_extensions=("102", "103", "104"))
    [change] = changes(after)
    assert change.kind is ChangeKind.STOPPED_RECORDING
    assert change.threatens is CheckId.EXTENSION_RECORDING
    assert "2 extensions stopped recording" in change.finding
    assert "102 and 103" in change.finding and "104" not in change.finding


def test_modes_not_reported_are_not_a_stop() -> None:
    assert changes(replace(GOOD, recording_extensions=None, silent_extensions=None)) == []


@pytest.mark.parametrize(
    ("was", "now", "lowered"),
    [(365, 30, True), (0, 90, True), (30, 365, False), (90, 0, False), (None, 30, False)],
)
def test_retention_lowered(was: int | None, now: int, lowered: bool) -> None:
    found = changes(replace(GOOD, retention_days=now), before=replace(GOOD, retention_days=was))
    assert (kinds(found) == [ChangeKind.RETENTION_LOWERED]) is lowered
    if lowered:
        assert found[0].threatens is CheckId.RETENTION
        assert f"lowered to {now} days" in found[0].finding


def test_call_control_monitored_list_emptied() -> None:
    [change] = changes(replace(GOOD, monitored=()))
    assert change.kind is ChangeKind.MONITORED_EMPTIED
    assert "101 and 102" in change.finding
    assert changes(replace(GOOD, monitored=None)) == []  # not probed this time


def test_a_check_failing_now_carries_this_runs_fix_and_changes_are_in_check_order() -> None:
    after = replace(
        GOOD,
        failed=(CheckId.RETENTION,),
        version="20.0.11.1",
        recording_extensions=(),
        silent_extensions=("101",),
    )
    found = changes(after, fixes={CheckId.RETENTION: "Raise retention to 90 days."})
    assert kinds(found) == [
        ChangeKind.STOPPED_RECORDING,
        ChangeKind.NEWLY_FAILING,
        ChangeKind.VERSION,
    ]
    assert found[1].fix == "Raise retention to 90 days."
    assert found[1].as_json()["threatens_order"] == 6


def test_without_a_last_good_run_only_this_runs_dates_count() -> None:
    after = replace(GOOD, version="99.0", certificate_not_after=NOW + timedelta(days=3))
    assert kinds(changes(after, before=None)) == [ChangeKind.CERTIFICATE_EXPIRING]


def test_facts_survive_json() -> None:
    assert RunFacts.from_json(GOOD.as_json()) == GOOD
    assert RunFacts.from_json(RunFacts().as_json()) == RunFacts()
