"""Tolerant readers for wire JSON: missing fields, nulls and odd types become ``None``."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

_FRACTION = re.compile(r"(\.\d{6})\d+")


def text(row: Mapping[str, Any], *names: str) -> str | None:
    """The first of ``names`` holding a non-empty string (numbers are stringified)."""
    for name in names:
        value = row.get(name)
        if isinstance(value, bool) or value is None:
            continue
        if isinstance(value, (int, float)):
            return str(value)
        if isinstance(value, str) and value.strip():
            return value.strip()
    return None


def integer(row: Mapping[str, Any], *names: str) -> int | None:
    for name in names:
        value = row.get(name)
        if isinstance(value, bool):
            continue
        if isinstance(value, int):
            return value
        if isinstance(value, float) and value.is_integer():
            return int(value)
        if isinstance(value, str) and value.strip().lstrip("-").isdigit():
            return int(value.strip())
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
        if isinstance(value, str) and value.strip():
            parsed = parse_datetime(value)
            if parsed is not None:
                return parsed
    return None


def parse_datetime(value: str) -> datetime | None:
    """ISO 8601 as 3CX writes it (``Z``, offsets, up to 7 fractional digits); naive = UTC."""
    cleaned = _FRACTION.sub(r"\1", value.strip())
    if cleaned.endswith(("Z", "z")):
        cleaned = cleaned[:-1] + "+00:00"
    try:
        parsed = datetime.fromisoformat(cleaned)
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed


def rows(body: Any, key: str = "value") -> list[Mapping[str, Any]]:
    """The list of objects inside an envelope; non-objects are dropped."""
    items = body.get(key) if isinstance(body, Mapping) else body
    if not isinstance(items, list):
        return []
    return [item for item in items if isinstance(item, Mapping)]


def odata_datetime(value: datetime) -> str:
    """Unquoted ISO datetime for OData function arguments and filters."""
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
