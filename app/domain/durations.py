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
    match = _DURATION.match(text.strip())
    if match is None or text.strip() in ("P", "PT", "-P", "-PT"):
        return None
    parts = {k: float(v) for k, v in match.groupdict().items() if v and k != "sign"}
    value = timedelta(
        days=parts.get("days", 0.0),
        hours=parts.get("hours", 0.0),
        minutes=parts.get("minutes", 0.0),
        seconds=parts.get("seconds", 0.0),
    )
    return -value if match.group("sign") else value


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
