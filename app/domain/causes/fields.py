"""Reading a check's ``details`` back from JSON; a wrong field raises, naming it."""

from __future__ import annotations

import enum
from collections.abc import Mapping
from datetime import datetime
from typing import Any, TypeVar

from app.domain.diagnosis import DiagnosisFormatError


def obj(value: object, where: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise DiagnosisFormatError(f"{where}: expected a JSON object")
    return value


def text(value: object, where: str) -> str:
    if not isinstance(value, str):
        raise DiagnosisFormatError(f"{where}: expected a string")
    return value


E = TypeVar("E", bound=enum.Enum)


def member(value: object, kind: type[E], where: str) -> E:
    """One of ``kind``'s values, e.g. a recording mode written as "on demand"."""
    raw = text(value, where)
    try:
        return kind(raw)
    except ValueError:
        raise DiagnosisFormatError(f"{where}: {raw!r} is not a mode") from None


def opt_text(value: object, where: str) -> str | None:
    return None if value is None else text(value, where)


def opt_int(value: object, where: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise DiagnosisFormatError(f"{where}: expected a whole number or null")
    return value


def opt_float(value: object, where: str) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise DiagnosisFormatError(f"{where}: expected a number or null")
    return float(value)


def opt_bool(value: object, where: str) -> bool | None:
    if value is None or isinstance(value, bool):
        return value
    raise DiagnosisFormatError(f"{where}: expected true, false or null")


def ints(value: object, where: str) -> tuple[int, ...]:
    if value is None:
        return ()
    if not isinstance(value, list) or any(
        isinstance(v, bool) or not isinstance(v, int) for v in value
    ):
        raise DiagnosisFormatError(f"{where}: expected a list of whole numbers")
    return tuple(value)


def items(value: object, where: str) -> list[Mapping[str, Any]]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise DiagnosisFormatError(f"{where}: expected a list")
    return [obj(v, f"{where}[{n}]") for n, v in enumerate(value)]


def opt_time(value: object, where: str) -> datetime | None:
    raw = opt_text(value, where)
    if raw is None:
        return None
    try:
        return datetime.fromisoformat(raw)
    except ValueError as exc:
        raise DiagnosisFormatError(f"{where}: {raw!r} is not an ISO date-time") from exc
