"""ISO 8601 durations as 3CX writes them (``PT1M16.46S``)."""

from __future__ import annotations

import re
from datetime import timedelta

_DURATION = re.compile(
    r"^(?P<sign>-)?P(?:(?P<days>\d+(?:\.\d+)?)D)?"
    r"(?:T(?:(?P<hours>\d+(?:\.\d+)?)H)?(?:(?P<minutes>\d+(?:\.\d+)?)M)?"
    r"(?:(?P<seconds>\d+(?:\.\d+)?)S)?)?$"
)


def parse_iso_duration(text: str | None) -> timedelta | None:
    """Return the duration, or ``None`` for a missing or unreadable value."""
    if not text:
        return None
    stripped = text.strip()
    match = _DURATION.match(stripped)
    if match is None or stripped in ("P", "PT", "-P", "-PT"):
        return None
    # Read by position, not through groupdict(): two of these per call-history row.
    sign, days, hours, minutes, seconds = match.groups()
    value = timedelta(
        days=float(days) if days else 0.0,
        hours=float(hours) if hours else 0.0,
        minutes=float(minutes) if minutes else 0.0,
        seconds=float(seconds) if seconds else 0.0,
    )
    return -value if sign else value


def format_iso_duration(value: timedelta) -> str:
    total = value.total_seconds()
    sign = "-" if total < 0 else ""
    total = abs(total)
    hours, rest = divmod(total, 3600)
    minutes, seconds = divmod(rest, 60)
    out = f"{sign}PT"
    if hours:
        out += f"{int(hours)}H"
    if minutes:
        out += f"{int(minutes)}M"
    if seconds or out.endswith("T"):
        out += f"{seconds:.2f}".rstrip("0").rstrip(".") + "S"
    return out
