from datetime import timedelta

from hypothesis import given
from hypothesis import strategies as st

from app.domain.durations import format_iso_duration, parse_iso_duration


def test_parses_3cx_durations() -> None:
    assert parse_iso_duration("PT1M16.46S") == timedelta(minutes=1, seconds=16.46)
    assert parse_iso_duration("PT0S") == timedelta(0)
    assert parse_iso_duration("P1DT2H") == timedelta(days=1, hours=2)
    assert parse_iso_duration("-PT5S") == timedelta(seconds=-5)


def test_rejects_garbage() -> None:
    for text in (None, "", "P", "PT", "1:16", "PTxS", "P1Y"):
        assert parse_iso_duration(text) is None


@given(st.floats(min_value=0, max_value=86_400 * 3, allow_nan=False).map(lambda s: round(s, 2)))
def test_round_trip(seconds: float) -> None:
    value = timedelta(seconds=seconds)
    parsed = parse_iso_duration(format_iso_duration(value))
    assert parsed is not None
    assert abs(parsed.total_seconds() - value.total_seconds()) < 0.01
