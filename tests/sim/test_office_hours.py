"""The simulated PBX's office hours: ``GET /OfficeHours`` keyed into ``GET /Defs/TimeZones``."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from typing import Any

from app.domain.business_hours import END_OF_DAY, Holiday, Period
from app.sim import office_hours
from tests.sim.test_contract import validate

# A pinned PBX clock: recurrent holidays carry the current year on the PBX's clock, which in
# Adelaide is already 2027 (01 Jan 00:30 ACDT).
PINNED = datetime(2026, 12, 31, 14, 0, tzinfo=UTC)


def zone_of(body: dict[str, Any], zones: dict[str, Any]) -> str:
    return next(z["IanaName"] for z in zones["value"] if z["Id"] == body["TimeZoneId"])


async def test_office_hours_name_a_zone_of_the_pbxs_own_list(make_sim, api_for) -> None:
    sim = await make_sim(now=PINNED)
    api = await api_for(sim)
    status, body, _ = await api.get("OfficeHours?$expand=OfficeHolidays")
    assert status == 200
    validate("GET /OfficeHours", body)
    status, zones, _ = await api.get("Defs/TimeZones")
    assert status == 200
    validate("GET /Defs/TimeZones", zones)

    assert body["@odata.context"].endswith("$metadata#OfficeHours")
    assert body["TimeZoneId"] == "250"  # not an IANA name: a client must look it up
    assert zone_of(body, zones) == "Australia/Adelaide"
    assert {z["IanaName"] for z in zones["value"]} >= {
        "Australia/Adelaide",
        "Australia/Sydney",
        "America/Chicago",
        "America/New_York",
        "Europe/London",
        "Pacific/Auckland",
        "UTC",
        "Asia/Kolkata",
    }
    assert all(z["Id"] != z["IanaName"] for z in zones["value"])
    adelaide = next(z for z in zones["value"] if z["Id"] == "250")
    assert adelaide["WindowsName"] == "Cen. Australia Standard Time"

    hours = body["Hours"]
    assert hours["Type"] == "OfficeHours"
    assert [p["DayOfWeek"] for p in hours["Periods"]] == [
        "Monday",
        "Tuesday",
        "Wednesday",
        "Thursday",
        "Friday",
    ]
    assert {(p["Start"], p["Stop"]) for p in hours["Periods"]} == {("08:30:00", "17:30:00")}
    assert {(p["Start"], p["Stop"]) for p in body["BreakTime"]["Periods"]} == {
        ("12:30:00", "13:00:00")
    }
    christmas = next(h for h in body["OfficeHolidays"] if h["Name"] == "Christmas Day")
    assert christmas["IsRecurrent"] is True
    assert (christmas["Day"], christmas["Month"], christmas["Year"]) == (25, 12, 2027)
    assert (christmas["DayEnd"], christmas["MonthEnd"], christmas["YearEnd"]) == (25, 12, 2027)


async def test_holidays_are_a_navigation_property(make_sim, api_for) -> None:
    api = await api_for(await make_sim())
    _, plain, _ = await api.get("OfficeHours")
    validate("GET /OfficeHours", plain)
    assert "OfficeHolidays" not in plain and plain["Hours"]["Periods"]
    _, selected, _ = await api.get("OfficeHours?$select=TimeZoneId")
    validate("GET /OfficeHours", selected)
    assert set(selected) == {"@odata.context", "TimeZoneId"}
    assert selected["@odata.context"].endswith("#OfficeHours(TimeZoneId)")
    status, error, _ = await api.get("OfficeHours?$select=NoSuchField")
    assert status == 400
    validate("error", error)


async def test_time_zones_is_an_odata_collection(make_sim, api_for) -> None:
    api = await api_for(await make_sim())
    _, body, _ = await api.get(
        "Defs/TimeZones?$filter=IanaName eq 'Pacific/Auckland'&$select=Id,WindowsName&$count=true"
    )
    validate("GET /Defs/TimeZones", body)
    assert body["@odata.count"] == 1
    assert body["value"] == [{"Id": "290", "WindowsName": "New Zealand Standard Time"}]


async def test_the_configured_zone_is_the_pbxs(make_sim, api_for) -> None:
    api = await api_for(await make_sim(time_zone="Pacific/Auckland"))
    _, body, _ = await api.get("OfficeHours")
    _, zones, _ = await api.get("Defs/TimeZones")
    assert body["TimeZoneId"] == "290"
    assert zone_of(body, zones) == "Pacific/Auckland"


async def test_a_zone_the_table_lacks_is_added_to_the_list(make_sim, api_for) -> None:
    api = await api_for(await make_sim(time_zone="America/Denver"))
    _, body, _ = await api.get("OfficeHours")
    _, zones, _ = await api.get("Defs/TimeZones")
    validate("GET /Defs/TimeZones", zones)
    assert body["TimeZoneId"] == office_hours.EXTRA_ZONE_ID
    assert zone_of(body, zones) == "America/Denver"


def test_a_period_to_midnight_ends_at_00_00() -> None:
    row = office_hours.period(Period(5, time(18, 0), END_OF_DAY))
    assert row == {"DayOfWeek": "Saturday", "Start": "18:00:00", "Stop": "00:00:00"}


def test_periods_are_listed_sunday_first() -> None:
    periods = (Period(0, time(9), time(17)), Period(6, time(10), time(14)))
    days = [p["DayOfWeek"] for p in office_hours.schedule(periods, "OfficeHours")["Periods"]]
    assert days == ["Sunday", "Monday"]


def test_holidays_carry_their_years() -> None:
    wrap = Holiday("Shutdown", date(2000, 12, 24), date(2000, 1, 2), recurrent=True)
    row = office_hours.holiday(1, wrap, 2026)
    assert (row["Year"], row["YearEnd"]) == (2026, 2027)
    once = Holiday("Stocktake", date(2027, 3, 1), date(2027, 3, 2))
    row = office_hours.holiday(2, once, 2026)
    assert (row["Day"], row["Month"], row["Year"], row["IsRecurrent"]) == (1, 3, 2027, False)
    assert (row["DayEnd"], row["MonthEnd"], row["YearEnd"]) == (2, 3, 2027)
