"""v20 ``GET /OfficeHours`` + ``GET /Defs/TimeZones`` → the customer's ``BusinessHours``.

``OfficeHours.TimeZoneId`` is a key of the PBX's zone list; which key live PBXs use is
UNCONFIRMED, so it is matched against every column of ``/Defs/TimeZones`` and, failing that,
taken as an IANA name. Periods are .NET weekdays with ``HH:MM:SS`` times; a period ending at
``00:00:00`` runs to midnight.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import date, time
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from app.domain.business_hours import END_OF_DAY, BusinessHours, Holiday, HoursSource, Period
from app.threecx.errors import MalformedResponse
from app.threecx.tolerant_fields import boolean, integer, rows, text

Row = Mapping[str, Any]

WEEKDAYS = {
    name: index
    for index, name in enumerate(
        ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
    )
}
# .NET's DayOfWeek numbers (0 = Sunday), should a PBX send numbers instead of names.
DOTNET_WEEKDAYS = (6, 0, 1, 2, 3, 4, 5)
# Recurrent holidays are kept on this (leap) year: only their month and day mean anything,
# and 29 February must stay a valid date.
RECURRENT_YEAR = 2000
ZONE_KEYS = ("Id", "IanaName", "WindowsName", "Name")
# ASCII digits only: str.isdigit() also passes "²", which int() refuses.
DOTNET_DAY = re.compile(r"[0-6]")
CLOCK = re.compile(r"([0-9]{1,2}):([0-9]{1,2})(?::([0-9]{1,2}))?(?:\.[0-9]{1,7})?")
# Holidays are dated within these years; past them a year is a fault, and date() overflows.
HOLIDAY_YEARS = (1990, 2100)
MAX_ZONE_NAME = 64  # the longest IANA name is about 30 characters
MIDNIGHT = time(0)


class UnknownTimeZone(MalformedResponse):
    """The PBX named a time zone that neither its zone list nor the IANA database resolves."""

    what = "The PBX's time zone could not be read."
    next_step = (
        "Check the time zone under Admin console > Office Hours, then set the customer's time "
        "zone by hand for this connection."
    )

    def __init__(self, zone_id: str | None, detail: str = "") -> None:
        self.zone_id = zone_id
        said = "OfficeHours has no TimeZoneId."
        if zone_id:
            said = f"TimeZoneId {zone_id!r} is not a zone this app knows."
        super().__init__(f"{said} {detail}".strip(), endpoint="/OfficeHours")


def business_hours_from_rows(
    body: Row, zones: Sequence[Row], *, zones_problem: str = ""
) -> BusinessHours | None:
    """The PBX's hours; ``None`` when it gave no opening hours this app can read.

    Raises ``UnknownTimeZone`` when the hours are readable but their zone is not.
    ``zones_problem`` says why ``zones`` is empty, for that error's message.
    """
    hours = body.get("Hours")
    if not isinstance(hours, Mapping):
        return None
    openings = opening_periods(hours)
    if openings is None:
        return None
    zone = resolve_zone(text(body, "TimeZoneId"), zones, zones_problem=zones_problem)
    breaks = break_periods(body.get("BreakTime"))
    holidays: tuple[Holiday, ...] = ()
    if boolean(hours, "IgnoreHolidays") is not True:
        holidays = tuple(
            h for row in rows(body, key="OfficeHolidays") if (h := holiday_from_row(row))
        )
    return BusinessHours(
        timezone=zone,
        days=tuple(sorted({p.day for p in openings})),
        opens=min((p.start for p in openings), default=MIDNIGHT),
        closes=max((p.stop for p in openings), default=END_OF_DAY),
        breaks=breaks,
        holidays=holidays,
        source=HoursSource.PBX,
        periods=openings,
    )


def resolve_zone(zone_id: str | None, zones: Sequence[Row], *, zones_problem: str = "") -> str:
    """The IANA name of ``zone_id``: matched on Id, then IanaName, WindowsName and Name."""
    if zone_id is None:
        raise UnknownTimeZone(None)
    wanted = zone_id.casefold()
    for key in ZONE_KEYS:
        for row in zones:
            value = text(row, key)
            if value is None or value.casefold() != wanted:
                continue
            iana = text(row, "IanaName")
            if iana is not None and _known_zone(iana):
                return iana
    if _known_zone(zone_id):
        return zone_id
    detail = f"The PBX's zone list could not be read ({zones_problem})." if zones_problem else ""
    raise UnknownTimeZone(zone_id, detail)


def _known_zone(name: str) -> bool:
    if len(name) > MAX_ZONE_NAME or "\x00" in name:
        return False
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        return False
    return True


def opening_periods(schedule: Row) -> tuple[Period, ...] | None:
    """``Hours`` as weekly periods; ``None`` when it lists periods and none can be read."""
    kind = (text(schedule, "Type") or "").casefold()
    if kind == "allhours":
        return tuple(Period(day, MIDNIGHT, END_OF_DAY) for day in range(7))
    if kind == "never":
        return ()
    listed = rows(schedule, key="Periods")
    found = periods_from_rows(listed)
    if listed and not found:
        return None
    return found


def break_periods(schedule: Any) -> tuple[Period, ...]:
    if not isinstance(schedule, Mapping) or (text(schedule, "Type") or "").casefold() == "never":
        return ()
    return periods_from_rows(rows(schedule, key="Periods"))


def periods_from_rows(listed: Sequence[Row]) -> tuple[Period, ...]:
    """Readable periods, by day and start; one running past midnight is split in two."""
    found: set[Period] = set()
    for row in listed:
        day = weekday(row.get("DayOfWeek"))
        start = clock_time(row.get("Start"))
        stop = clock_time(row.get("Stop"))
        if day is None or start is None or stop is None or start == END_OF_DAY:
            continue
        if stop == MIDNIGHT:
            stop = END_OF_DAY
        if stop > start:
            found.add(Period(day, start, stop))
            continue
        found.add(Period(day, start, END_OF_DAY))  # e.g. 22:00–06:00: ends the next morning
        if stop > MIDNIGHT:
            found.add(Period((day + 1) % 7, MIDNIGHT, stop))
    return tuple(sorted(found, key=lambda p: (p.day, p.start, p.stop)))


def weekday(value: Any) -> int | None:
    """0 = Monday, from "Monday" (the spec) or a .NET DayOfWeek number (0 = Sunday)."""
    if isinstance(value, str):
        name = value.strip().casefold()
        if name in WEEKDAYS:
            return WEEKDAYS[name]
        value = int(name) if DOTNET_DAY.fullmatch(name) else None
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= 6:
        return DOTNET_WEEKDAYS[value]
    return None


def clock_time(value: Any) -> time | None:
    """ "08:30:00", "08:30", "08:30:00.0000000"; "24:00:00" is the end of the day."""
    if not isinstance(value, str):
        return None
    match = CLOCK.fullmatch(value.strip())
    if match is None:
        return None
    hour, minute, second = (int(p or "0") for p in match.groups())
    if (hour, minute, second) == (24, 0, 0):
        return END_OF_DAY
    if hour > 23 or minute > 59 or second > 59:
        return None
    return time(hour, minute, second)


def holiday_from_row(row: Row) -> Holiday | None:
    """A ``Pbx.Holiday``; a recurrent one (or one without a year) is keyed on month and day.

    ``TimeOfStartDate``/``TimeOfEndDate`` (part-day holidays) are not kept: the domain closes
    whole days.
    """
    day, month = integer(row, "Day", low=1, high=31), integer(row, "Month", low=1, high=12)
    if not day or not month:
        return None
    day_end = integer(row, "DayEnd", low=1, high=31) or day
    month_end = integer(row, "MonthEnd", low=1, high=12) or month
    year = integer(row, "Year") or 0
    year_end = integer(row, "YearEnd") or 0
    if any(y > 0 and not HOLIDAY_YEARS[0] <= y <= HOLIDAY_YEARS[1] for y in (year, year_end)):
        return None  # a year no PBX means: not a holiday to close on
    name = text(row, "Name") or "Holiday"
    try:
        if boolean(row, "IsRecurrent") is True or year <= 0:
            first = date(RECURRENT_YEAR, month, day)
            last = date(RECURRENT_YEAR, month_end, day_end)
            return Holiday(name, first, last, recurrent=True)
        first = date(year, month, day)
        last = date(year_end if year_end > 0 else year, month_end, day_end)
        if last < first and year_end <= 0:
            last = last.replace(year=year + 1)  # 24 Dec – 2 Jan without a YearEnd
    except ValueError:
        return None
    return Holiday(name, first, max(first, last), recurrent=False)
