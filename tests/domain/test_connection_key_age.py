"""A connection's key age: the words for it, and the warning past the engineer's limit."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.domain.connection import (
    ConnectionProfile,
    key_age_days,
    key_age_text,
    key_age_warning,
)

NOW = datetime(2026, 6, 1, 9, 30, tzinfo=UTC)


def profile(rotated: datetime | None) -> ConnectionProfile:
    return ConnectionProfile(
        id="c1",
        name="Harbour Dental",
        url="https://pbx.example.com:5001",
        client_id="900",
        key_rotated_at=rotated,
    )


@pytest.mark.parametrize(
    ("ago", "text"),
    [
        (None, "age not known"),
        (timedelta(hours=23), "set today"),
        (timedelta(days=1, hours=2), "set 1 day ago"),
        (timedelta(days=12), "set 12 days ago"),
        (-timedelta(days=3), "set today"),  # a clock set back is not a negative age
    ],
)
def test_key_age_in_words(ago: timedelta | None, text: str) -> None:
    rotated = None if ago is None else NOW - ago
    assert key_age_text(profile(rotated), now=NOW) == text


def test_warning_starts_on_the_chosen_day() -> None:
    assert key_age_warning(profile(NOW - timedelta(days=179)), now=NOW, warn_days=180) is None
    warning = key_age_warning(profile(NOW - timedelta(days=180)), now=NOW, warn_days=180)
    assert warning is not None
    assert warning.startswith("The API key for Harbour Dental was set 180 days ago")
    assert "past the 180 days" in warning
    assert "Admin console > Integrations > API" in warning
    assert "every bridge that holds the old key" in warning


def test_unknown_age_gives_no_warning_and_a_bad_limit_is_refused() -> None:
    assert key_age_warning(profile(None), now=NOW, warn_days=1) is None
    with pytest.raises(ValueError, match="warn_days"):
        key_age_warning(profile(NOW), now=NOW, warn_days=0)


@given(days=st.integers(0, 5000), warn=st.integers(1, 3650))
def test_warning_exactly_when_the_age_reaches_the_limit(days: int, warn: int) -> None:
    rotated = profile(NOW - timedelta(days=days, minutes=1))
    assert key_age_days(rotated, now=NOW) == days
    assert (key_age_warning(rotated, now=NOW, warn_days=warn) is not None) == (days >= warn)
