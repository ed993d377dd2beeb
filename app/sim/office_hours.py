"""The tenant's office hours as v20 sends them: ``GET /OfficeHours`` and ``GET /Defs/TimeZones``.

``OfficeHours.TimeZoneId`` is a key of the PBX's own zone list, not an IANA name, so a client
has to resolve it through ``/Defs/TimeZones``. How live PBXs key that list is UNCONFIRMED; the
simulator uses Windows' numeric zone indexes as strings ("250"), the messiest plausible choice.
"""

from __future__ import annotations

from datetime import datetime, time
from typing import Any
from zoneinfo import ZoneInfo

from app.domain.business_hours import END_OF_DAY, BusinessHours, Holiday, Period

Row = dict[str, Any]

# .NET's DayOfWeek names, in the domain's order (0 = Monday).
DAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")

# (Id, IanaName, WindowsName, Name), in the order Windows lists its zones (by UTC offset).
TIME_ZONES: tuple[tuple[str, str, str, str], ...] = (
    ("20", "America/Chicago", "Central Standard Time", "(UTC-06:00) Central Time (US & Canada)"),
    ("35", "America/New_York", "Eastern Standard Time", "(UTC-05:00) Eastern Time (US & Canada)"),
    ("2147483728", "UTC", "UTC", "(UTC) Coordinated Universal Time"),
    (
        "85",
        "Europe/London",
        "GMT Standard Time",
        "(UTC+00:00) Dublin, Edinburgh, Lisbon, London",
    ),
    ("110", "Europe/Berlin", "W. Europe Standard Time", "(UTC+01:00) Amsterdam, Berlin, Rome"),
    ("190", "Asia/Kolkata", "India Standard Time", "(UTC+05:30) Chennai, Kolkata, Mumbai"),
    ("215", "Asia/Singapore", "Singapore Standard Time", "(UTC+08:00) Kuala Lumpur, Singapore"),
    ("225", "Australia/Perth", "W. Australia Standard Time", "(UTC+08:00) Perth"),
    ("235", "Asia/Tokyo", "Tokyo Standard Time", "(UTC+09:00) Osaka, Sapporo, Tokyo"),
    ("250", "Australia/Adelaide", "Cen. Australia Standard Time", "(UTC+09:30) Adelaide"),
    ("260", "Australia/Brisbane", "E. Australia Standard Time", "(UTC+10:00) Brisbane"),
    (
        "255",
        "Australia/Sydney",
        "AUS Eastern Standard Time",
        "(UTC+10:00) Canberra, Melbourne, Sydney",
    ),
    ("290", "Pacific/Auckland", "New Zealand Standard Time", "(UTC+12:00) Auckland, Wellington"),
)
EXTRA_ZONE_ID = "1000"  # a zone the table lacks (SimConfig.time_zone) gets this Id


def time_zones(zone: str) -> list[Row]:
    """The ``/Defs/TimeZones`` rows; always includes ``zone`` so OfficeHours can point at it."""
    out = [
        {"Id": zid, "IanaName": iana, "WindowsName": windows, "Name": name}
        for zid, iana, windows, name in TIME_ZONES
    ]
    if all(row["IanaName"] != zone for row in out):
        out.append({"Id": EXTRA_ZONE_ID, "IanaName": zone, "WindowsName": "", "Name": zone})
    return out


def zone_id(zone: str) -> str:
    return str(next(row["Id"] for row in time_zones(zone) if row["IanaName"] == zone))


def office_hours(hours: BusinessHours, now: datetime) -> Row:
    """The ``Pbx.OfficeHours`` body; ``OfficeHolidays`` is a navigation property ($expand)."""
    year = now.astimezone(ZoneInfo(hours.timezone)).year
    return {
        "TimeZoneId": zone_id(hours.timezone),
        "SystemLanguage": "en",
        "Hours": schedule(hours.openings(), "OfficeHours"),
        "BreakTime": schedule(hours.breaks, "BreakTime"),
        "OfficeHolidays": [holiday(i, h, year) for i, h in enumerate(hours.holidays, 1)],
    }


def schedule(periods: tuple[Period, ...], kind: str) -> Row:
    ordered = sorted(periods, key=lambda p: ((p.day + 1) % 7, p.start))  # Sunday first, as .NET
    return {"IgnoreHolidays": False, "Periods": [period(p) for p in ordered], "Type": kind}


def period(p: Period) -> Row:
    # 3CX writes a period that runs to midnight as ending at 00:00:00.
    stop = time(0) if p.stop == END_OF_DAY else p.stop
    return {
        "DayOfWeek": DAY_NAMES[p.day],
        "Start": f"{p.start:%H:%M:%S}",
        "Stop": f"{stop:%H:%M:%S}",
    }


def holiday(holiday_id: int, h: Holiday, year: int) -> Row:
    """A ``Pbx.Holiday``. A recurrent one carries the current year (as if entered this year
    with "every year" ticked); the year of such a holiday means nothing to a client."""
    first, last = h.first, h.last
    if h.recurrent:
        wraps = (last.month, last.day) < (first.month, first.day)  # e.g. 24 Dec – 2 Jan
        start_year, end_year = year, year + (1 if wraps else 0)
    else:
        start_year, end_year = first.year, last.year
    return {
        "Id": holiday_id,
        "Name": h.name,
        "Day": first.day,
        "Month": first.month,
        "Year": start_year,
        "DayEnd": last.day,
        "MonthEnd": last.month,
        "YearEnd": end_year,
        "IsRecurrent": h.recurrent,
        "TimeOfStartDate": "PT0S",
        "TimeOfEndDate": "PT23H59M",
        "HolidayPrompt": None,
    }
