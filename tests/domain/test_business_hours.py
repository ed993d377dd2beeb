"""The customer's clock: office hours with breaks and holidays, judged in the PBX's zone."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

import pytest

from app.domain.business_hours import (
    BusinessHours,
    BusinessHoursError,
    Holiday,
    HoursSource,
    HoursState,
    Period,
    customer_time,
    describe_hours,
    edited_hours,
    region_hours,
    resolve_customer_hours,
)

AUCKLAND = ZoneInfo("Pacific/Auckland")
WEEKDAYS = range(5)
OFFICE = BusinessHours(
    timezone="Pacific/Auckland",
    breaks=tuple(Period(d, time(12, 30), time(13, 0)) for d in WEEKDAYS),
    holidays=(
        Holiday("Christmas Day", date(2000, 12, 25), date(2000, 12, 25), recurrent=True),
        Holiday("Summer shutdown", date(2026, 12, 28), date(2027, 1, 8)),
        Holiday("New Year", date(2000, 12, 31), date(2000, 1, 2), recurrent=True),
    ),
    source=HoursSource.PBX,
)


def at(y: int, m: int, d: int, hh: int, mm: int = 0) -> datetime:
    return datetime(y, m, d, hh, mm, tzinfo=AUCKLAND)


@pytest.mark.parametrize(
    ("moment", "state"),
    [
        (at(2026, 11, 25, 10), HoursState.OPEN),  # Wednesday morning
        (at(2026, 11, 25, 12, 45), HoursState.BREAK),  # lunch
        (at(2026, 11, 25, 17, 30), HoursState.CLOSED),  # closing time is closed
        (at(2026, 11, 28, 10), HoursState.CLOSED),  # Saturday
        (at(2026, 12, 25, 10), HoursState.HOLIDAY),  # a Friday, but Christmas
        (at(2027, 1, 6, 10), HoursState.HOLIDAY),  # one-off shutdown
        (at(2028, 1, 1, 10), HoursState.HOLIDAY),  # recurrent, wrapping over New Year
        (at(2027, 1, 11, 8, 30), HoursState.OPEN),  # back at work
    ],
)
def test_state_at_is_judged_on_the_customers_clock(moment: datetime, state: HoursState) -> None:
    assert OFFICE.state_at(moment)[0] is state
    # The same instant, written in another zone, is judged the same way.
    assert OFFICE.state_at(moment.astimezone(ZoneInfo("America/Los_Angeles")))[0] is state


def test_the_holiday_is_named() -> None:
    state, holiday = OFFICE.state_at(at(2026, 12, 25, 10))
    assert state is HoursState.HOLIDAY and holiday is not None
    assert holiday.name == "Christmas Day"


def test_next_opening_skips_breaks_weekends_and_holidays() -> None:
    assert OFFICE.next_opening(at(2026, 11, 25, 12, 40)) == at(2026, 11, 25, 13, 0)
    assert OFFICE.next_opening(at(2026, 11, 27, 18)) == at(2026, 11, 30, 8, 30)
    assert OFFICE.next_opening(at(2026, 12, 24, 18)) == at(2027, 1, 11, 8, 30)


def test_per_day_periods_from_the_pbx_are_the_truth() -> None:
    saturday_morning = BusinessHours(
        timezone="Pacific/Auckland",
        periods=(Period(0, time(9), time(17)), Period(5, time(9), time(12))),
    )
    assert saturday_morning.is_open(at(2026, 11, 28, 10))
    assert not saturday_morning.is_open(at(2026, 11, 28, 13))
    assert not saturday_morning.is_open(at(2026, 11, 24, 10))  # Tuesday: no period
    assert describe_hours(saturday_morning, with_zone=False) == "Mon 09:00–17:00; Sat 09:00–12:00"


def test_description_names_break_holidays_and_zone() -> None:
    assert describe_hours(OFFICE) == (
        "Mon–Fri 08:30–17:30, break 12:30–13:00, 3 holidays (Pacific/Auckland)"
    )


def test_customer_time_names_the_zone() -> None:
    instant = datetime(2026, 12, 6, 18, 0, tzinfo=UTC)
    assert customer_time(instant, OFFICE) == "07 Dec 2026 07:00 NZDT"


def test_bad_hours_name_the_field() -> None:
    with pytest.raises(BusinessHoursError, match="Time zone 'Mars/Olympus'"):
        BusinessHours(timezone="Mars/Olympus")
    with pytest.raises(BusinessHoursError, match="Closing time"):
        Period(0, time(17), time(9))


def test_region_hours_are_a_named_guess() -> None:
    guess = region_hours("nz")
    assert guess.timezone == "Pacific/Auckland" and guess.source is HoursSource.REGION
    assert region_hours("ZZ").source is HoursSource.UNSET


def test_whose_clock_wins() -> None:
    pbx = OFFICE
    mine = BusinessHours(timezone="Asia/Kolkata", source=HoursSource.ENGINEER)
    silent = BusinessHours(timezone="Australia/Sydney")
    assert resolve_customer_hours(pbx, mine, "NZ") is mine
    assert resolve_customer_hours(pbx, silent, "NZ") is pbx
    assert resolve_customer_hours(None, silent, "NZ").timezone == "Pacific/Auckland"
    assert resolve_customer_hours(None, None, None).timezone == "UTC"


def test_editing_keeps_what_the_pbx_said_until_the_engineer_changes_it() -> None:
    same = edited_hours(
        OFFICE,
        timezone=OFFICE.timezone,
        days=(4, 3, 2, 1, 0),
        opens=OFFICE.opens,
        closes=OFFICE.closes,
    )
    assert same is OFFICE

    later = edited_hours(
        OFFICE, timezone=OFFICE.timezone, days=OFFICE.days, opens=time(9), closes=OFFICE.closes
    )
    assert later.source is HoursSource.ENGINEER
    assert later.opens == time(9)
    assert later.breaks == OFFICE.breaks and later.holidays == OFFICE.holidays


def test_editing_drops_per_day_periods_once_days_or_times_change() -> None:
    pbx = BusinessHours(
        timezone="Pacific/Auckland",
        periods=(Period(0, time(9), time(17)), Period(5, time(9), time(12))),
        source=HoursSource.PBX,
    )
    moved = edited_hours(
        pbx, timezone="Europe/London", days=pbx.days, opens=pbx.opens, closes=pbx.closes
    )
    assert moved.periods == pbx.periods and moved.timezone == "Europe/London"
    changed = edited_hours(
        pbx, timezone=pbx.timezone, days=(0, 1), opens=pbx.opens, closes=pbx.closes
    )
    assert changed.periods == () and changed.days == (0, 1)
