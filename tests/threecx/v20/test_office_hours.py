"""The customer's clock read from the PBX: the v20 client against the simulator, and the
mapping of every messy OfficeHours shape."""

from __future__ import annotations

import dataclasses
from datetime import UTC, date, datetime, time
from types import SimpleNamespace
from typing import Any

import pytest
from aiohttp import web

from app.domain.business_hours import END_OF_DAY, BusinessHours, Holiday, HoursSource, Period
from app.sim import office_hours as sim_office_hours
from app.sim.server import xapi as sim_server
from app.threecx.errors import Forbidden, MalformedResponse, ThreeCXError
from app.threecx.v20.office_hours import (
    RECURRENT_YEAR,
    UnknownTimeZone,
    business_hours_from_rows,
    resolve_zone,
)
from tests.threecx.conftest import ClientFactory, SimFactory

PINNED = datetime(2026, 11, 18, 0, 30, tzinfo=UTC)
ZONES = [
    {"Id": "250", "IanaName": "Australia/Adelaide", "WindowsName": "Cen. Australia Standard Time",
     "Name": "(UTC+09:30) Adelaide"},
    {"Id": "290", "IanaName": "Pacific/Auckland", "WindowsName": "New Zealand Standard Time",
     "Name": "(UTC+12:00) Auckland, Wellington"},
]  # fmt: skip
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday")


def body(**changes: Any) -> dict[str, Any]:
    """A Pbx.OfficeHours body: Mon–Fri 09:00–17:00 in Auckland, no breaks, no holidays."""
    base: dict[str, Any] = {
        "TimeZoneId": "290",
        "Hours": {
            "Type": "OfficeHours",
            "IgnoreHolidays": False,
            "Periods": [
                {"DayOfWeek": d, "Start": "09:00:00", "Stop": "17:00:00"} for d in WEEKDAYS
            ],
        },
        "BreakTime": {"Type": "BreakTime", "IgnoreHolidays": False, "Periods": []},
        "OfficeHolidays": [],
    }
    return base | changes


def hours_of(row: dict[str, Any], zones: list[dict[str, Any]] = ZONES) -> BusinessHours:
    hours = business_hours_from_rows(row, zones)
    assert hours is not None
    return hours


# ---- against the simulator ------------------------------------------------------------------
async def test_client_reads_the_tenants_hours(make_sim: SimFactory, connect: ClientFactory) -> None:
    sim = await make_sim(tls=True, now=PINNED)
    client = await connect(sim)
    await client.authenticate()
    hours = await client.office_hours()
    expected = sim.tenant.office_hours
    assert hours is not None
    assert hours.source is HoursSource.PBX
    assert hours.timezone == "Australia/Adelaide" == expected.timezone
    assert hours.openings() == expected.openings()
    assert hours.breaks == expected.breaks
    assert hours.holidays == expected.holidays
    assert (hours.days, hours.opens, hours.closes) == (
        expected.days,
        expected.opens,
        expected.closes,
    )
    assert dataclasses.replace(hours, periods=expected.periods) == expected


async def test_the_configured_zone_comes_back(make_sim: SimFactory, connect: ClientFactory) -> None:
    sim = await make_sim(time_zone="Pacific/Auckland")
    hours = await (await connect(sim)).office_hours()
    assert hours is not None and hours.timezone == "Pacific/Auckland"
    sim = await make_sim(time_zone="America/Denver")  # not in the simulator's usual table
    hours = await (await connect(sim)).office_hours()
    assert hours is not None and hours.timezone == "America/Denver"


def _serve(monkeypatch: pytest.MonkeyPatch, **functions: Any) -> None:
    """Replace what the simulator serves for OfficeHours or Defs/TimeZones."""
    real = {
        "time_zones": sim_office_hours.time_zones,
        "office_hours": sim_office_hours.office_hours,
    }
    monkeypatch.setattr(sim_server, "office_hours", SimpleNamespace(**(real | functions)))


def _raise(error: type[web.HTTPException]) -> Any:
    def serve(*args: Any) -> Any:
        raise error()

    return serve


async def test_no_office_hours_endpoint_gives_none(
    make_sim: SimFactory, connect: ClientFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    _serve(monkeypatch, office_hours=_raise(web.HTTPNotFound))
    assert await (await connect(await make_sim())).office_hours() is None


async def test_office_hours_forbidden_says_so(
    make_sim: SimFactory, connect: ClientFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    _serve(monkeypatch, office_hours=_raise(web.HTTPForbidden))
    with pytest.raises(Forbidden) as caught:
        await (await connect(await make_sim())).office_hours()
    assert caught.value.endpoint == "/OfficeHours"


@pytest.mark.parametrize("error", [web.HTTPNotFound, web.HTTPForbidden])
async def test_without_the_zone_list_an_id_cannot_be_resolved(
    make_sim: SimFactory,
    connect: ClientFactory,
    monkeypatch: pytest.MonkeyPatch,
    error: type[web.HTTPException],
) -> None:
    _serve(monkeypatch, time_zones=_raise(error))
    with pytest.raises(UnknownTimeZone) as caught:
        await (await connect(await make_sim())).office_hours()
    assert caught.value.zone_id == "250"
    assert "'250'" in caught.value.message and "zone list could not be read" in caught.value.message


async def test_without_the_zone_list_an_iana_id_still_works(
    make_sim: SimFactory, connect: ClientFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    def iana_id(hours: BusinessHours, now: datetime) -> dict[str, Any]:
        return sim_office_hours.office_hours(hours, now) | {"TimeZoneId": hours.timezone}

    _serve(monkeypatch, office_hours=iana_id, time_zones=_raise(web.HTTPNotFound))
    hours = await (await connect(await make_sim(scenarios=["gb"]))).office_hours()
    assert hours is not None and hours.timezone == "Europe/London"


async def test_garbage_is_a_typed_error(make_sim: SimFactory, connect: ClientFactory) -> None:
    sim = await make_sim(faults=["garbage-body"])
    with pytest.raises(MalformedResponse):
        await (await connect(sim)).office_hours()


async def test_v18_has_no_office_hours(make_sim: SimFactory, connect: ClientFactory) -> None:
    client = await connect(await make_sim(pbx_version="18.0.11.200"))
    await client.authenticate()
    assert await client.office_hours() is None


# ---- time zones -----------------------------------------------------------------------------
@pytest.mark.parametrize(
    "zone_id",
    ["290", "Pacific/Auckland", "New Zealand Standard Time", "(UTC+12:00) Auckland, Wellington"],
)
def test_zone_resolves_by_id_iana_windows_or_display_name(zone_id: str) -> None:
    assert resolve_zone(zone_id, ZONES) == "Pacific/Auckland"


def test_zone_id_wins_over_other_columns() -> None:
    zones = [
        {"Id": "Europe/London", "IanaName": "Europe/Dublin", "WindowsName": "", "Name": ""},
        {"Id": "85", "IanaName": "Europe/London", "WindowsName": "", "Name": ""},
    ]
    assert resolve_zone("Europe/London", zones) == "Europe/Dublin"


def test_an_iana_zone_id_needs_no_list() -> None:
    assert hours_of(body(TimeZoneId="Asia/Kolkata"), []).timezone == "Asia/Kolkata"


def test_a_row_with_a_bad_iana_name_is_passed_over() -> None:
    zones = [{"Id": "7", "IanaName": "Mars/Olympus_Mons", "WindowsName": "UTC", "Name": "UTC"}]
    assert resolve_zone("UTC", zones) == "UTC"
    with pytest.raises(UnknownTimeZone):
        resolve_zone("7", zones)


@pytest.mark.parametrize("zone_id", ["999", "Mars/Olympus_Mons", "../etc/passwd", None, ""])
def test_an_unknown_zone_is_a_clear_error(zone_id: str | None) -> None:
    with pytest.raises(UnknownTimeZone) as caught:
        business_hours_from_rows(body(TimeZoneId=zone_id), ZONES)
    error = caught.value
    assert isinstance(error, ThreeCXError) and error.endpoint == "/OfficeHours"
    assert "TimeZoneId" in error.message and "time zone" in error.next_step


# ---- hours and breaks -----------------------------------------------------------------------
def test_periods_map_and_summarise() -> None:
    periods = [
        {"DayOfWeek": "Monday", "Start": "08:00:00", "Stop": "12:00:00"},
        {"DayOfWeek": "Monday", "Start": "13:00:00", "Stop": "18:00:00"},
        {"DayOfWeek": "Saturday", "Start": "09:30:00.0000000", "Stop": "12:00"},
        {"DayOfWeek": "Sunday", "Start": "10:00:00", "Stop": "11:00:00"},
    ]
    hours = hours_of(body(Hours={"Type": "OfficeHours", "Periods": periods}))
    assert hours.periods == (
        Period(0, time(8), time(12)),
        Period(0, time(13), time(18)),
        Period(5, time(9, 30), time(12)),
        Period(6, time(10), time(11)),
    )
    assert (hours.days, hours.opens, hours.closes) == ((0, 5, 6), time(8), time(18))
    assert hours.source is HoursSource.PBX
    monday_lunch = datetime(2026, 11, 16, 12, 30, tzinfo=hours.zone)
    assert not hours.is_open(monday_lunch)


def test_stop_at_midnight_runs_to_the_end_of_the_day() -> None:
    periods = [
        {"DayOfWeek": "Friday", "Start": "18:00:00", "Stop": "00:00:00"},
        {"DayOfWeek": "Saturday", "Start": "00:00:00", "Stop": "00:00:00"},
        {"DayOfWeek": "Sunday", "Start": "20:00:00", "Stop": "24:00:00"},
    ]
    hours = hours_of(body(Hours={"Periods": periods}))
    assert hours.periods == (
        Period(4, time(18), END_OF_DAY),
        Period(5, time(0), END_OF_DAY),
        Period(6, time(20), END_OF_DAY),
    )
    assert hours.closes == END_OF_DAY
    assert hours.is_open(datetime(2026, 11, 20, 23, 59, 30, tzinfo=hours.zone))


def test_a_period_past_midnight_continues_the_next_day() -> None:
    periods = [{"DayOfWeek": "Sunday", "Start": "22:00:00", "Stop": "06:00:00"}]
    hours = hours_of(body(Hours={"Periods": periods}))
    assert hours.periods == (Period(0, time(0), time(6)), Period(6, time(22), END_OF_DAY))


def test_all_hours_means_open_all_week() -> None:
    hours = hours_of(body(Hours={"Type": "AllHours", "Periods": []}))
    assert hours.periods == tuple(Period(d, time(0), END_OF_DAY) for d in range(7))
    assert (hours.days, hours.opens, hours.closes) == (tuple(range(7)), time(0), END_OF_DAY)
    assert hours.is_open(datetime(2026, 11, 22, 3, 0, tzinfo=hours.zone))


def test_never_and_no_periods_mean_never_open() -> None:
    for schedule in ({"Type": "Never", "Periods": []}, {"Type": "OfficeHours", "Periods": []}):
        hours = hours_of(body(Hours=schedule))
        assert hours.periods == () and hours.days == () and hours.openings() == ()


def test_numeric_weekdays_are_dotnet_ones() -> None:
    periods = [{"DayOfWeek": 0, "Start": "09:00:00", "Stop": "10:00:00"}]
    assert hours_of(body(Hours={"Periods": periods})).periods == (Period(6, time(9), time(10)),)


def test_unreadable_periods_are_skipped() -> None:
    periods = [
        {"DayOfWeek": "Monday", "Start": "09:00:00", "Stop": "17:00:00"},
        {"DayOfWeek": "Funday", "Start": "09:00:00", "Stop": "17:00:00"},
        {"DayOfWeek": "Tuesday", "Start": "25:00:00", "Stop": "17:00:00"},
        {"DayOfWeek": "Tuesday", "Start": None},
        "not a period",
    ]
    hours = hours_of(body(Hours={"Periods": periods}))
    assert hours.periods == (Period(0, time(9), time(17)),)


@pytest.mark.parametrize(
    "hours",
    [None, "OfficeHours", {"Periods": [{"DayOfWeek": "Monday", "Start": "nine"}]}],
)
def test_no_readable_hours_gives_none(hours: Any) -> None:
    assert business_hours_from_rows(body(Hours=hours), ZONES) is None


def test_breaks_map() -> None:
    breaks = {
        "Type": "BreakTime",
        "Periods": [{"DayOfWeek": d, "Start": "12:30:00", "Stop": "13:00:00"} for d in WEEKDAYS],
    }
    hours = hours_of(body(BreakTime=breaks))
    assert hours.breaks == tuple(Period(d, time(12, 30), time(13)) for d in range(5))
    assert not hours.is_open(datetime(2026, 11, 18, 12, 45, tzinfo=hours.zone))


@pytest.mark.parametrize("breaks", [None, {}, {"Type": "Never", "Periods": [{"x": 1}]}, []])
def test_missing_break_time_means_no_breaks(breaks: Any) -> None:
    row = body(BreakTime=breaks)
    if breaks == []:
        del row["BreakTime"]
    assert hours_of(row).breaks == ()


# ---- holidays -------------------------------------------------------------------------------
def _holiday(**fields: Any) -> dict[str, Any]:
    return {"Id": 1, "Name": "Closed", "IsRecurrent": False} | fields


def test_recurrent_holidays_are_keyed_on_month_and_day() -> None:
    rows = [
        _holiday(Name="Christmas Day", Day=25, Month=12, Year=2026, DayEnd=25, MonthEnd=12,
                 YearEnd=2026, IsRecurrent=True),
        _holiday(Name="Leap", Day=29, Month=2, Year=0, IsRecurrent=True),
    ]  # fmt: skip
    hours = hours_of(body(OfficeHolidays=rows))
    assert hours.holidays == (
        Holiday("Christmas Day", date(RECURRENT_YEAR, 12, 25), date(RECURRENT_YEAR, 12, 25), True),
        Holiday("Leap", date(RECURRENT_YEAR, 2, 29), date(RECURRENT_YEAR, 2, 29), True),
    )
    assert hours.holiday_on(date(2031, 12, 25)) is not None


def test_a_holiday_over_new_year() -> None:
    recurrent = _holiday(Name="Shutdown", Day=24, Month=12, Year=2026, DayEnd=2, MonthEnd=1,
                         YearEnd=2027, IsRecurrent=True)  # fmt: skip
    once = _holiday(Name="Stocktake", Day=30, Month=12, Year=2026, DayEnd=3, MonthEnd=1)
    shutdown, stocktake = hours_of(body(OfficeHolidays=[recurrent, once])).holidays
    assert shutdown.recurrent
    for day in (date(2029, 12, 24), date(2029, 12, 31), date(2030, 1, 1), date(2030, 1, 2)):
        assert shutdown.covers(day)
    assert not shutdown.covers(date(2030, 1, 3)) and not shutdown.covers(date(2029, 7, 1))
    assert (stocktake.first, stocktake.last) == (date(2026, 12, 30), date(2027, 1, 3))
    assert stocktake.covers(date(2027, 1, 1)) and not stocktake.covers(date(2028, 1, 1))


def test_a_holiday_without_a_year_recurs() -> None:
    (holiday,) = hours_of(body(OfficeHolidays=[_holiday(Day=4, Month=7)])).holidays
    assert holiday.recurrent and holiday.first == holiday.last == date(RECURRENT_YEAR, 7, 4)


def test_unreadable_holidays_are_skipped() -> None:
    rows = [
        _holiday(Day=31, Month=2, Year=2026),
        _holiday(Month=5, Year=2026),
        _holiday(Name=None, Day=1, Month=5, Year=2026, DayEnd=None, MonthEnd=0, YearEnd=0),
        "garbage",
    ]
    (holiday,) = hours_of(body(OfficeHolidays=rows)).holidays
    assert holiday == Holiday("Holiday", date(2026, 5, 1), date(2026, 5, 1), recurrent=False)


def test_hours_that_ignore_holidays_keep_none() -> None:
    hours_row = body()["Hours"] | {"IgnoreHolidays": True}
    row = body(Hours=hours_row, OfficeHolidays=[_holiday(Day=25, Month=12, IsRecurrent=True)])
    assert hours_of(row).holidays == ()


def test_missing_holidays_mean_none() -> None:
    row = body()
    del row["OfficeHolidays"]
    assert hours_of(row).holidays == ()
