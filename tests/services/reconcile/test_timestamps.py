"""Times as logs and CRM exports write them, read in the zone the caller names."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from app.services.reconcile.timestamps import has_date_only, parse_log_time, parse_sheet_time

SYDNEY = ZoneInfo("Australia/Sydney")
NEW_YORK = ZoneInfo("America/New_York")


def local(
    year: int, month: int, day: int, hour: int, minute: int, second: int = 0, micro: int = 0
) -> datetime:
    return datetime(year, month, day, hour, minute, second, micro, tzinfo=SYDNEY)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2026-11-18T00:31:02.120Z", datetime(2026, 11, 18, 0, 31, 2, 120_000, tzinfo=UTC)),
        ("2026-11-18 11:01:02,120", local(2026, 11, 18, 11, 1, 2, 120_000)),
        ("2026-11-18T00:31:02.000+0000", datetime(2026, 11, 18, 0, 31, 2, tzinfo=UTC)),
        ("2026-11-18T9:01:02 UTC", datetime(2026, 11, 18, 9, 1, 2, tzinfo=UTC)),
        (1_763_425_862, datetime(2025, 11, 18, 0, 31, 2, tzinfo=UTC)),
        ("1763425862120", datetime(2025, 11, 18, 0, 31, 2, 120_000, tzinfo=UTC)),
        ("2026-02-30T00:00:00Z", None),
        ("yesterday", None),
        (True, None),
        (None, None),
    ],
)
def test_log_times(value: object, expected: datetime | None) -> None:
    assert parse_log_time(value, SYDNEY) == expected


@pytest.mark.parametrize(
    ("text", "day_first", "expected"),
    [
        ("2026-11-18 11:01", True, local(2026, 11, 18, 11, 1)),
        ("18/11/2026 11:01 AM", True, local(2026, 11, 18, 11, 1)),
        ("11/18/2026 11:01 PM", False, local(2026, 11, 18, 23, 1)),
        ("11/18/2026 12:05 AM", True, local(2026, 11, 18, 0, 5)),  # 18 cannot be a month
        ("03/04/2026 13:00", True, local(2026, 4, 3, 13, 0)),
        ("03/04/2026 13:00", False, local(2026, 3, 4, 13, 0)),
        ("18.11.2026 11:01:30", True, local(2026, 11, 18, 11, 1, 30)),
        ("18 Nov 2026 11:01", False, local(2026, 11, 18, 11, 1)),
        ("Nov 18, 2026 11:01 am", True, local(2026, 11, 18, 11, 1)),
        ("18-Nov-2026 11:01:02", True, local(2026, 11, 18, 11, 1, 2)),
        ("18/11/26 9:05", True, local(2026, 11, 18, 9, 5)),
        ("2026/11/18 09:00 UTC", True, datetime(2026, 11, 18, 9, 0, tzinfo=UTC)),
        (
            "18/11/2026 09:00 +05:30",
            True,
            datetime(2026, 11, 18, 9, 0, tzinfo=timezone(timedelta(hours=5, minutes=30))),
        ),
        ("2026-11-18", True, None),  # a date alone matches no call
        ("13/13/2026 10:00", True, None),
        ("18/11/2026 13:00 PM", True, None),
        ("soon", True, None),
    ],
)
def test_sheet_times(text: str, day_first: bool, expected: datetime | None) -> None:
    assert parse_sheet_time(text, SYDNEY, day_first=day_first) == expected


def test_a_naive_sheet_time_is_in_the_crms_zone() -> None:
    in_sydney = parse_sheet_time("2026-11-18 11:01", SYDNEY, day_first=True)
    in_new_york = parse_sheet_time("2026-11-18 11:01", NEW_YORK, day_first=True)
    assert in_sydney is not None and in_new_york is not None
    assert in_new_york - in_sydney == timedelta(hours=16)


def test_a_date_alone_is_told_apart() -> None:
    assert has_date_only("18/11/2026") and has_date_only(" 2026-11-18 ")
    assert not has_date_only("18/11/2026 10:00")
