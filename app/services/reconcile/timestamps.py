"""Times as bridge logs and CRM exports write them, read as aware datetimes.

A time written without a zone is in the zone the caller names (the bridge host's, the CRM's):
never the machine's. Log lines use ISO 8601 (a "T" or a space, "," or "." before the
fraction, "Z" or an offset) or epoch seconds; CRM exports add the spreadsheet forms:
"18/11/2026 11:01 AM", "11/18/2026", "18.11.2026 11:01", "18 Nov 2026", "Nov 18, 2026".
"""

from __future__ import annotations

import functools
import re
from datetime import UTC, date, datetime, time, timedelta, timezone, tzinfo

# Regions that write the month first ("11/18/2026"): the US and the places that follow it.
MONTH_FIRST_REGIONS = frozenset({"US", "PH", "PR", "GU", "AS", "VI", "MP", "UM", "FM", "MH"})

_ZONE = r"(?P<zone>[Zz]|[+-]\d{2}(?::?\d{2})?|\s?(?:UTC|GMT)(?:[+-]\d{1,2}(?::?\d{2})?)?)"
_CLOCK = r"(?P<hour>\d{1,2}):(?P<minute>\d{2})(?::(?P<second>\d{2})(?:[.,](?P<fraction>\d{1,9}))?)?"
ISO_TIMESTAMP = re.compile(
    rf"(?P<year>\d{{4}})-(?P<month>\d{{2}})-(?P<day>\d{{2}})(?:[T ]|\s+){_CLOCK}\s?{_ZONE}?"
)
_EPOCH = re.compile(r"\d{10}(?:\d{3})?(?:\.\d+)?")
_MONTHS = {
    name: number
    for number, names in enumerate(
        (
            ("jan", "january"),
            ("feb", "february"),
            ("mar", "march"),
            ("apr", "april"),
            ("may",),
            ("jun", "june"),
            ("jul", "july"),
            ("aug", "august"),
            ("sep", "sept", "september"),
            ("oct", "october"),
            ("nov", "november"),
            ("dec", "december"),
        ),
        start=1,
    )
    for name in names
}
_NAME = r"[A-Za-z]{3,9}\.?"
_SHEET_DATE = re.compile(
    rf"(?P<a>\d{{1,4}})[/.-](?P<b>\d{{1,2}}|{_NAME})[/.-](?P<c>\d{{2,4}})"
    rf"|(?P<nd>\d{{1,2}})\s+(?P<nm>{_NAME}),?\s+(?P<ny>\d{{4}})"
    rf"|(?P<mn>{_NAME})\s+(?P<md>\d{{1,2}}),?\s+(?P<my>\d{{4}})"
)
_SHEET_CLOCK = re.compile(rf"(?:,|\s+|T)\s*{_CLOCK}(?:\s*(?P<half>[AaPp])\.?[Mm]\.?)?\s*{_ZONE}?")


def parse_log_time(value: object, zone: tzinfo) -> datetime | None:
    """A structured log field's time: ISO 8601 text, or epoch seconds or milliseconds."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return _from_epoch(float(value))
    if not isinstance(value, str):
        return None
    text = value.strip()
    found = ISO_TIMESTAMP.fullmatch(text)
    if found is not None:
        return iso_time(found, zone)
    if _EPOCH.fullmatch(text):
        return _from_epoch(float(text))
    return None


def iso_time(found: re.Match[str], zone: tzinfo) -> datetime | None:
    """The time an ``ISO_TIMESTAMP`` match names (None when it is no real date or time)."""
    try:
        # The C parser reads nearly every log's form; the match's groups read the rest.
        at = datetime.fromisoformat(found.group(0).strip())
    except ValueError:
        try:
            day = date(int(found["year"]), int(found["month"]), int(found["day"]))
        except ValueError:
            return None
        return _at(day, found, zone)
    return at if at.tzinfo is not None else at.replace(tzinfo=zone)


def parse_sheet_time(text: str, zone: tzinfo, *, day_first: bool) -> datetime | None:
    """A CRM export's time cell (or a date cell and a time cell joined by a space).

    ``day_first`` reads "03/04/2026" as 3 April; a part over 12 settles the order either way.
    A date without a time of day gives None: midnight would match no call.
    """
    text = text.strip()
    logged = parse_log_time(text, zone)  # ISO 8601 or epoch, as API-made exports write
    if logged is not None:
        return logged
    written = _SHEET_DATE.match(text)
    if written is None:
        return None
    clock = _SHEET_CLOCK.fullmatch(text, written.end())
    day = _sheet_date(written, day_first)
    if day is None or clock is None:
        return None
    return _at(day, clock, zone)


def has_date_only(text: str) -> bool:
    """Whether a cell holds a date and nothing more (an export that dropped the time)."""
    text = text.strip()
    written = _SHEET_DATE.match(text)
    return written is not None and written.end() == len(text)


def _sheet_date(found: re.Match[str], day_first: bool) -> date | None:
    if found["a"] is not None:
        a, b, c = found["a"], found["b"], found["c"]
        if len(a) == 4:  # 2026/11/18
            year, month, day = int(a), _month(b), int(c)
        elif not b.isdigit():  # 18-Nov-2026
            year, month, day = _year(c), _month(b), int(a)
        else:
            first, second = int(a), int(b)
            if first > 12 or (day_first and second <= 12):
                day, month = first, second
            else:
                month, day = first, second
            year = _year(c)
    elif found["nd"] is not None:
        year, month, day = int(found["ny"]), _month(found["nm"]), int(found["nd"])
    else:
        year, month, day = int(found["my"]), _month(found["mn"]), int(found["md"])
    try:
        return date(year, month, day)
    except ValueError:
        return None


def _month(text: str) -> int:
    if text.isdigit():
        return int(text)
    return _MONTHS.get(text.rstrip(".").lower(), 0)


def _year(text: str) -> int:
    # Two-digit years are this century's: exports are of recent calls.
    return 2000 + int(text) if len(text) == 2 else int(text)


def _at(day: date, found: re.Match[str], zone: tzinfo) -> datetime | None:
    hour, minute = int(found["hour"]), int(found["minute"])
    half = found.groupdict().get("half")
    if half is not None:
        if not 1 <= hour <= 12:
            return None
        hour = hour % 12 + (12 if half in "Pp" else 0)
    fraction = (found["fraction"] or "").ljust(6, "0")[:6]
    try:
        clock = time(hour, minute, int(found["second"] or 0), int(fraction))
    except ValueError:
        return None
    written_zone = _zone(found["zone"])
    return datetime.combine(day, clock, written_zone if written_zone is not None else zone)


@functools.lru_cache(maxsize=256)
def _zone(text: str | None) -> tzinfo | None:
    if not text:
        return None
    text = text.strip().upper()
    if text == "Z":
        return UTC
    text = text.removeprefix("UTC").removeprefix("GMT")
    if not text:
        return UTC
    sign = -1 if text[0] == "-" else 1
    digits = text[1:].replace(":", "")
    hours, minutes = (int(digits), 0) if len(digits) <= 2 else (int(digits[:2]), int(digits[2:]))
    if hours > 23 or minutes > 59:
        return None
    return timezone(sign * timedelta(hours=hours, minutes=minutes))


def _from_epoch(seconds: float) -> datetime | None:
    if seconds > 1e11:  # milliseconds, as JavaScript loggers write them
        seconds /= 1000
    try:
        return datetime.fromtimestamp(seconds, UTC)
    except (OverflowError, OSError, ValueError):
        return None
