"""Tolerant readers for wire JSON: missing fields, nulls, odd types and absurd values become
``None``, so nothing read from a PBX can overflow the arithmetic done with it later.

A value out of the sane range (a 400-digit id, a duration of 1e300 seconds, a date in year 9999)
reads as absent. Where the row cannot be read at all without the field (its identity), the
``identity_*`` readers raise ``UnreadableAnswer`` naming the field and what it held instead.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from app.domain.durations import parse_iso_duration
from app.threecx.errors import UnreadableAnswer

_FRACTION = re.compile(r"(\.\d{6})\d+")
_INTEGER = re.compile(r"-?[0-9]{1,20}")  # ASCII digits only: int() also reads "١٢" and fails on "²"

# Beyond 2**53 a JSON number is not exact in the PBX's own JavaScript; no 3CX id, count or size
# comes near it, and every later sum or timedelta stays in range below it.
MAX_SAFE_INTEGER = 2**53
# No 3CX PBX wrote a date before 1990 or plans one past 2100; outside it is a placeholder or a
# fault, and datetime arithmetic near year 1 or 9999 overflows.
EARLIEST_YEAR = 1990
LATEST_YEAR = 2100
# A call or a ring longer than a month is not a call; a negative one is not a duration.
MAX_DURATION = timedelta(days=31)
_NO_TIME = timedelta(0)
# Durations read, by their text: a call log repeats many ("PT0S" on every unanswered leg), and
# parsing one costs more than looking it up. Bounded: cleared when full.
_SANE_DURATIONS: dict[str, timedelta | None] = {}
_DURATIONS_KEPT = 4096
# No 3CX field is near this long; a longer string is not the field it claims to be.
MAX_TEXT = 10_000


def text(row: Mapping[str, Any], *names: str) -> str | None:
    """The first of ``names`` holding a non-empty string (sane numbers are stringified)."""
    for name in names:
        raw = row.get(name)
        if raw is None:
            continue
        if type(raw) is str:  # most fields of most rows: answered here, without a call
            stripped = raw.strip()
            if stripped and len(raw) <= MAX_TEXT:
                return stripped
            continue
        value = text_value(raw)
        if value is not None:
            return value
    return None


def text_value(value: Any) -> str | None:
    """``value`` as text: a non-empty string, or a sane number written out; else ``None``."""
    if type(value) is str:  # most fields of most rows: answered first
        stripped = value.strip()
        return stripped if stripped and len(value) <= MAX_TEXT else None
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int):
        return str(value) if abs(value) <= MAX_SAFE_INTEGER else None
    if isinstance(value, float):
        return str(value) if math.isfinite(value) and abs(value) <= MAX_SAFE_INTEGER else None
    if isinstance(value, str) and value.strip() and len(value) <= MAX_TEXT:
        return value.strip()
    return None


def integer(
    row: Mapping[str, Any],
    *names: str,
    low: int = -MAX_SAFE_INTEGER,
    high: int = MAX_SAFE_INTEGER,
) -> int | None:
    """The first of ``names`` holding a whole number within [low, high]."""
    for name in names:
        raw = row.get(name)
        if raw is None:
            continue
        value = raw if type(raw) is int else _integer_of(raw)  # exact int: no bool, no float
        if value is not None and abs(value) <= MAX_SAFE_INTEGER and low <= value <= high:
            return value
    return None


def _integer_of(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if abs(value) <= MAX_SAFE_INTEGER else None
    if isinstance(value, float):
        if math.isfinite(value) and value.is_integer() and abs(value) <= MAX_SAFE_INTEGER:
            return int(value)
        return None
    if isinstance(value, str) and _INTEGER.fullmatch(value.strip()):
        number = int(value.strip())
        return number if abs(number) <= MAX_SAFE_INTEGER else None
    return None


def boolean(row: Mapping[str, Any], *names: str) -> bool | None:
    for name in names:
        value = row.get(name)
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.strip().lower() in ("true", "false"):
            return value.strip().lower() == "true"
        if isinstance(value, int):
            return value != 0
    return None


def timestamp(row: Mapping[str, Any], *names: str) -> datetime | None:
    for name in names:
        value = row.get(name)
        if isinstance(value, str) and value.strip() and len(value) <= MAX_TEXT:
            parsed = parse_datetime(value)
            if parsed is not None:
                return parsed
    return None


def parse_datetime(value: str) -> datetime | None:
    """ISO 8601 as 3CX writes it (``Z``, offsets, up to 7 fractional digits); naive = UTC.

    A date outside 1990–2100 is ``None``: a placeholder or a fault, not a time.
    """
    cleaned = _FRACTION.sub(_six_digits, value.strip())
    if cleaned.endswith(("Z", "z")):
        cleaned = cleaned[:-1] + "+00:00"
    try:
        parsed = datetime.fromisoformat(cleaned)
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    if not EARLIEST_YEAR <= parsed.year <= LATEST_YEAR:
        return None
    return parsed


def _six_digits(match: re.Match[str]) -> str:
    # A function, not the template r"\1": Python 3.11 expands a template in Python, per call.
    return match.group(1)


def duration(row: Mapping[str, Any], *names: str) -> timedelta | None:
    """The first of ``names`` holding an ISO 8601 duration within [0, MAX_DURATION]."""
    for name in names:
        raw = text(row, name)
        if raw is None:
            continue
        value = _SANE_DURATIONS.get(raw)
        if value is None and raw not in _SANE_DURATIONS:
            value = _sane_duration_of(raw)
            if len(_SANE_DURATIONS) >= _DURATIONS_KEPT:
                _SANE_DURATIONS.clear()
            _SANE_DURATIONS[raw] = value
        if value is not None:
            return value
    return None


def _sane_duration_of(raw: str) -> timedelta | None:
    try:
        value = parse_iso_duration(raw)
    except (OverflowError, ValueError):  # "P99999999999D", or digits that make inf
        return None
    if value is not None and _NO_TIME <= value <= MAX_DURATION:
        return value
    return None


def sane_duration(value: timedelta | None) -> timedelta | None:
    """``value`` if it is within [0, MAX_DURATION], else ``None``."""
    if value is None or not timedelta(0) <= value <= MAX_DURATION:
        return None
    return value


def rows(body: Any, key: str = "value") -> list[Mapping[str, Any]]:
    """The list of objects inside an envelope; non-objects are dropped."""
    items = body.get(key) if isinstance(body, Mapping) else body
    if not isinstance(items, list):
        return []
    return [item for item in items if isinstance(item, Mapping)]


def odata_datetime(value: datetime) -> str:
    """Unquoted ISO datetime for OData function arguments and filters."""
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


# ---- identities: a row without a readable one is skipped, one with an absurd one is refused --
def identity_text(row: Mapping[str, Any], *names: str) -> str | None:
    """Like ``text``; ``None`` when every name is absent, empty or null, and
    ``UnreadableAnswer`` when one holds a value that is no identity (a list, a 400-digit
    number)."""
    found = text(row, *names)
    if found is None:
        _refuse_absurd(row, names, "an identifier")
    return found


def identity_integer(row: Mapping[str, Any], *names: str) -> int | None:
    """Like ``integer``, refusing a present value that is not a sane whole number."""
    found = integer(row, *names)
    if found is None:
        _refuse_absurd(row, names, "a whole number")
    return found


def _refuse_absurd(row: Mapping[str, Any], names: tuple[str, ...], expected: str) -> None:
    for name in names:
        value = row.get(name)
        if value is None or (isinstance(value, str) and not value.strip()):
            continue
        raise UnreadableAnswer(f"{name} was {describe(value)}, not {expected}.")


def describe(value: Any) -> str:
    """What a JSON value is, short enough for a finding: never the whole of a long value."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        # str() refuses ints past 4,300 digits; the bit length tells their size as well.
        bits = value.bit_length()
        digits = len(str(abs(value))) if bits < 14_000 else round(bits * math.log10(2))
        return f"a number {digits} digits long" if digits > 15 else f"the number {value}"
    if isinstance(value, float):
        return f"the number {value!r}" if math.isfinite(value) else f"{value!r}"
    if isinstance(value, str):
        shown = value if len(value) <= 40 else value[:40] + "…"
        return (
            f"the text {shown!r}" if len(value) <= 200 else f"a text {len(value):,} characters long"
        )
    if isinstance(value, list):
        return "a list"
    if isinstance(value, Mapping):
        return "an object"
    return f"a {type(value).__name__}"
