"""The recording terms every check and pane shares: which settings record, when a missing
recording is lost, what "monitors nothing" means, and where the setting lives."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from app.domain.calls import CallDirection, CallRecord
from app.domain.causes.recording import (
    DEFAULT_BRIDGE_WINDOW_S,
    ROUTE_POINT,
    SETTLE_AFTER_HANG_UP,
    WRITE_WINDOW,
    Recorder,
    VisibleDn,
    does_not_record,
    hung_up_at,
    monitored_dns,
    monitors_nothing,
    recorder,
    recording_fix,
    recording_setting,
    records_call,
    records_external_calls,
    settle_words,
    settled,
    unrecorded_reason,
)
from app.domain.extensions import Extension, RecordingMode

NOW = datetime(2026, 11, 18, 0, 30, tzinfo=UTC)

EXPECTED = {
    RecordingMode.ALL_CALLS: Recorder.RECORDS,
    RecordingMode.EXTERNAL_ONLY: Recorder.RECORDS,
    RecordingMode.ON_DEMAND: Recorder.ON_DEMAND,
    RecordingMode.DISABLED: Recorder.OFF,
    RecordingMode.FORBIDDEN: Recorder.OFF,
    RecordingMode.UNKNOWN: Recorder.UNKNOWN,
}


@pytest.mark.parametrize("mode", list(RecordingMode))
def test_every_mode_has_one_meaning(mode: RecordingMode) -> None:
    assert recorder(mode) is EXPECTED[mode]
    # The mode's own property says the same: they cannot drift apart.
    assert records_external_calls(mode) == mode.records_external_calls


def test_on_demand_does_not_count_as_recording_a_bridges_calls() -> None:
    assert records_external_calls(RecordingMode.ON_DEMAND) is False
    assert records_call(RecordingMode.ON_DEMAND, external=True) is False


def test_external_only_records_external_calls_but_not_internal_ones() -> None:
    assert records_call(RecordingMode.EXTERNAL_ONLY, external=True) is True
    assert records_call(RecordingMode.EXTERNAL_ONLY, external=False) is False
    assert records_call(RecordingMode.UNKNOWN, external=True) is None


def ext(number: str, mode: RecordingMode) -> Extension:
    return Extension(number, f"User {number}", mode)


def test_why_a_call_will_have_no_recording() -> None:
    assert does_not_record("104", RecordingMode.ON_DEMAND) == (
        "extension 104 does not record (on demand)"
    )
    on_demand = ext("104", RecordingMode.ON_DEMAND)
    assert (
        unrecorded_reason(on_demand, external=True) == "extension 104 does not record (on demand)"
    )
    assert unrecorded_reason(ext("103", RecordingMode.FORBIDDEN), external=True) == (
        "extension 103 does not record (forbidden)"
    )
    assert unrecorded_reason(ext("105", RecordingMode.EXTERNAL_ONLY), external=False) == (
        "extension 105 records external calls only"
    )
    assert unrecorded_reason(ext("105", RecordingMode.EXTERNAL_ONLY), external=True) is None
    assert unrecorded_reason(ext("101", RecordingMode.ALL_CALLS), external=True) is None
    assert unrecorded_reason(ext("101", RecordingMode.UNKNOWN), external=True) is None
    assert unrecorded_reason(None, external=True) is None


def test_the_settle_window_is_the_field_docs_two_minutes_plus_the_bridge_window() -> None:
    assert timedelta(minutes=2) == WRITE_WINDOW
    assert DEFAULT_BRIDGE_WINDOW_S == 120.0
    assert WRITE_WINDOW + timedelta(seconds=DEFAULT_BRIDGE_WINDOW_S) == SETTLE_AFTER_HANG_UP
    assert settle_words() == "4 minutes"


def call(started: datetime | None, talk_s: float = 60, ring_s: float = 10) -> CallRecord:
    return CallRecord(
        "1",
        started,
        CallDirection.INBOUND,
        "+61412345678",
        "101",
        "101",
        True,
        talking=timedelta(seconds=talk_s),
        ringing=timedelta(seconds=ring_s),
    )


def test_settled_counts_from_hang_up_not_from_the_start() -> None:
    # An hour-long call that started long ago only just ended: its file may still come.
    long_call = call(NOW - timedelta(hours=1), talk_s=3600 - 70, ring_s=10)
    assert hung_up_at(long_call) == NOW - timedelta(minutes=1)
    assert not settled(long_call, NOW)
    assert not settled(long_call, NOW + SETTLE_AFTER_HANG_UP - timedelta(minutes=1, seconds=1))
    assert settled(long_call, NOW + SETTLE_AFTER_HANG_UP - timedelta(minutes=1))
    assert settled(call(None), NOW)  # no times given: not a fresh call


def test_the_route_point_alone_monitors_nothing() -> None:
    route = VisibleDn("ROUTER", ROUTE_POINT)
    assert monitors_nothing([])
    assert monitors_nothing([route])
    assert monitored_dns([route]) == ()
    assert not monitors_nothing([route, VisibleDn("101", "Wextension")])
    assert monitored_dns([route, VisibleDn("101", "Wextension"), VisibleDn("800", "Wqueue")]) == (
        "101",
        "800",
    )


def test_the_menu_path_follows_the_version() -> None:
    assert recording_setting(True).startswith("Admin console > Users, edit the user, Options")
    assert "tick Record calls" in recording_setting(True)
    assert recording_setting(False) == (
        "Extensions, choose the user, Options: set Recording to All Calls"
    )
    fix = recording_fix(True, "104 and 107")
    assert fix.startswith("Turn recording on for 104 and 107: Admin console > Users")
    assert "Inbound rules can override" in fix and "within two minutes" in fix
    assert "set Recording to All Calls" in recording_fix(False, "104")
