"""The bridge's retry schedule after hang-up, and finding a recording without a reference."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from app.domain.calls import CallDirection, CallRecord
from app.domain.recordings import Recording, RecordingCallType, recording_for_call, retry_delays


@given(st.floats(min_value=0.5, max_value=3600))
def test_schedule_backs_off_and_ends_at_the_window(window: float) -> None:
    offsets = retry_delays(window)
    assert offsets[-1] == round(window, 3)
    assert offsets == sorted(offsets) and len(set(offsets)) == len(offsets)
    steps = [b - a for a, b in itertools.pairwise(offsets)]
    tolerance = 1e-3  # offsets are rounded to the millisecond
    assert all(step <= max(0.5, window / 4) + tolerance for step in steps)


def test_two_minute_window_looks_early_then_every_30_seconds() -> None:
    offsets = retry_delays(120)
    assert offsets[:4] == [0.5, 1.5, 3.5, 7.5]
    assert offsets[-1] == 120 and len(offsets) < 12


START = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)


def call(number: str, at: datetime = START) -> CallRecord:
    return CallRecord("c1", at, CallDirection.INBOUND, number, "101", "101", True)


def rec(rec_id: int, number: str, at: datetime) -> Recording:
    return Recording(rec_id, at, at, RecordingCallType.UNKNOWN, number, "Jane (101)")


def test_recording_found_by_number_in_another_format_and_nearby_time() -> None:
    recordings = [
        rec(1, "+61 8 8123 9999", START + timedelta(seconds=10)),
        rec(2, "0881234567", START + timedelta(seconds=12)),
        rec(3, "+61881234567", START + timedelta(minutes=10)),
    ]
    found = recording_for_call(call("+61881234567"), recordings)
    assert found is not None and found.id == 2


def test_no_recording_when_time_or_number_differ() -> None:
    recordings = [rec(3, "+61881234567", START + timedelta(minutes=10))]
    assert recording_for_call(call("+61881234567"), recordings) is None
    assert recording_for_call(call("+61899999999"), [rec(4, "+61881234567", START)]) is None
