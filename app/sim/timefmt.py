"""Wire formats for times and durations (the spec's date-time and duration patterns)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta


def iso(dt: datetime | None) -> str | None:
    """`2026-11-21T10:48:00Z`: UTC, whole seconds, matches the spec's date-time pattern."""
    if dt is None:
        return None
    return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def iso_duration(seconds: float) -> str:
    """ISO 8601 duration as 3CX writes it, e.g. `PT1M16.46S`."""
    seconds = max(0.0, round(seconds, 2))
    hours, rem = divmod(seconds, 3600)
    minutes, secs = divmod(rem, 60)
    out = "PT"
    if hours:
        out += f"{int(hours)}H"
    if minutes:
        out += f"{int(minutes)}M"
    text = f"{secs:.2f}".rstrip("0").rstrip(".")
    if secs or out == "PT":
        out += f"{text}S"
    return out


def hms(seconds: float) -> str:
    """v18 call-log duration `00:01:16`."""
    total = round(seconds)
    return f"{total // 3600:02d}:{total % 3600 // 60:02d}:{total % 60:02d}"


def parse_iso(text: str) -> datetime:
    """Parse an OData datetime literal; raises ValueError when it is not one."""
    value = text.strip()
    if value.endswith("Z"):
        value = value[:-1] + "+00:00"
    elif len(value) > 6 and value[-6] == " " and value[-3] == ":":
        value = value[:-6] + "+" + value[-5:]  # an unencoded "+00:00" read back as a space
    if "T" not in value:
        raise ValueError(text)
    dt = datetime.fromisoformat(value)
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return dt


__all__ = ["hms", "iso", "iso_duration", "parse_iso", "timedelta"]
