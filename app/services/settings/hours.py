"""A connection's business hours in the settings file: zone, hours, breaks, holidays, source.

Kept apart from ``settings`` so the file format of the customer's clock reads in one place.
Decoding raises ``HoursEntryError`` whose message names the field (``business_hours.breaks[1]
.start``), as every other bad settings entry does.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, time
from typing import Any

from app.domain.business_hours import (
    BusinessHours,
    BusinessHoursError,
    Holiday,
    HoursSource,
    Period,
)

FIELD = "business_hours"
# On disk a source is its short name, not the sentence the screens show.
SOURCE_NAMES: dict[HoursSource, str] = {source: source.name.lower() for source in HoursSource}
_SOURCES_BY_NAME = {name: source for source, name in SOURCE_NAMES.items()}


class HoursEntryError(ValueError):
    """Business hours in the settings that cannot be used; the message names the field."""


def encode_hours(hours: BusinessHours) -> dict[str, Any]:
    return {
        "timezone": hours.timezone,
        "days": list(hours.days),
        "opens": hours.opens.isoformat(),
        "closes": hours.closes.isoformat(),
        "breaks": [_encode_period(p) for p in hours.breaks],
        "holidays": [
            {
                "name": h.name,
                "first": h.first.isoformat(),
                "last": h.last.isoformat(),
                "recurrent": h.recurrent,
            }
            for h in hours.holidays
        ],
        "periods": [_encode_period(p) for p in hours.periods],
        "source": SOURCE_NAMES[hours.source],
    }


def _encode_period(period: Period) -> dict[str, Any]:
    return {"day": period.day, "start": period.start.isoformat(), "stop": period.stop.isoformat()}


def decode_hours(raw: Any) -> BusinessHours:
    """The hours of one connection entry; None (never set) is the default, not yet known."""
    if raw is None:
        return BusinessHours()
    if not isinstance(raw, dict):
        raise HoursEntryError(f"{FIELD} must be an object")
    days = raw.get("days", [])
    if not isinstance(days, list) or not all(_is_int(d) for d in days):
        raise HoursEntryError(f"{FIELD}.days must be a list of day numbers (0 = Monday)")
    timezone = raw.get("timezone")
    if not isinstance(timezone, str):
        raise HoursEntryError(f"{FIELD}.timezone must be a time zone name")
    source_name = raw.get("source", SOURCE_NAMES[HoursSource.UNSET])
    source = _SOURCES_BY_NAME.get(source_name) if isinstance(source_name, str) else None
    if source is None:
        known = ", ".join(SOURCE_NAMES.values())
        raise HoursEntryError(f"{FIELD}.source {source_name!r} is not one of {known}")
    breaks = _periods(raw.get("breaks"), "breaks")
    holidays = _holidays(raw.get("holidays"))
    periods = _periods(raw.get("periods"), "periods")
    try:
        return BusinessHours(
            timezone=timezone,
            days=tuple(sorted(set(days))),
            opens=_clock(raw.get("opens"), "opens"),
            closes=_clock(raw.get("closes"), "closes"),
            breaks=breaks,
            holidays=holidays,
            source=source,
            periods=periods,
        )
    except BusinessHoursError as exc:
        raise HoursEntryError(f"{FIELD}: {exc}") from exc


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _clock(value: Any, key: str) -> time:
    if not isinstance(value, str):
        raise HoursEntryError(f"{FIELD}.{key} must be a time like 08:30")
    try:
        return time.fromisoformat(value)
    except ValueError as exc:
        raise HoursEntryError(f"{FIELD}.{key} {value!r} is not a time like 08:30") from exc


def _day(value: Any, key: str) -> date:
    if not isinstance(value, str):
        raise HoursEntryError(f"{FIELD}.{key} must be a date like 2026-12-25")
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise HoursEntryError(f"{FIELD}.{key} {value!r} is not a date like 2026-12-25") from exc


def _items(raw: Any, key: str) -> list[Mapping[str, Any]]:
    if raw is None:
        return []
    if not isinstance(raw, list) or not all(isinstance(item, dict) for item in raw):
        raise HoursEntryError(f"{FIELD}.{key} must be a list of objects")
    return raw


def _periods(raw: Any, key: str) -> tuple[Period, ...]:
    periods: list[Period] = []
    for n, item in enumerate(_items(raw, key)):
        where = f"{key}[{n}]"
        day = item.get("day")
        if not isinstance(day, int) or isinstance(day, bool):
            raise HoursEntryError(f"{FIELD}.{where}.day must be a day number (0 = Monday)")
        start = _clock(item.get("start"), f"{where}.start")
        stop = _clock(item.get("stop"), f"{where}.stop")
        try:
            periods.append(Period(day, start, stop))
        except BusinessHoursError as exc:
            raise HoursEntryError(f"{FIELD}.{where}: {exc}") from exc
    return tuple(periods)


def _holidays(raw: Any) -> tuple[Holiday, ...]:
    holidays: list[Holiday] = []
    for n, item in enumerate(_items(raw, "holidays")):
        where = f"holidays[{n}]"
        name = item.get("name", "")
        if not isinstance(name, str):
            raise HoursEntryError(f"{FIELD}.{where}.name must be text")
        first = _day(item.get("first"), f"{where}.first")
        last = _day(item.get("last", item.get("first")), f"{where}.last")
        recurrent = item.get("recurrent", False)
        if not isinstance(recurrent, bool):
            raise HoursEntryError(f"{FIELD}.{where}.recurrent must be true or false")
        if last < first and not recurrent:
            raise HoursEntryError(f"{FIELD}.{where}: the last day is before the first")
        holidays.append(Holiday(name, first, last, recurrent))
    return tuple(holidays)


def migrate_entry_hours_to_v2(entry: Any) -> Any:
    """Schema 1 kept no source: those hours were a silent default or a guess, so ``unset``
    (the app then reads the PBX, or asks, instead of trusting them)."""
    if isinstance(entry, dict) and isinstance(entry.get(FIELD), dict):
        hours = dict(entry[FIELD])
        hours.setdefault("source", SOURCE_NAMES[HoursSource.UNSET])
        return {**entry, FIELD: hours}
    return entry
