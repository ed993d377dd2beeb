"""The customer's departments (3CX v20 ``Groups``): who sits in which, and their wire rows.

A fresh v20 PBX has one department, DEFAULT, holding every user. The ``departments`` knob adds
named departments of given sizes ("Main office:8,Support:3"), filled with the extensions in
number order; whoever is left stays in DEFAULT, which a PBX always keeps.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from app.sim.records import Extension
from app.sim.wire_v20 import membership

Row = dict[str, Any]

DEFAULT_ID = 28
DEFAULT_NAME = "DEFAULT"
# Live PBXs list each user's speed-dial favourites in /Groups as a group named like this (a
# capture showed "___FAVORITES___2002"); 3CX's console and integrators filter them out.
FAVORITES_PREFIX = "___FAVORITES___"
FAVORITES_ID = 2002


@dataclass(frozen=True)
class Department:
    id: int
    name: str
    members: tuple[str, ...]  # extension numbers
    is_default: bool = False

    @property
    def number(self) -> str:
        # Groups are numbered "GRP…" (a capture showed "GRP4"); the exact form is UNCONFIRMED.
        return f"GRP{self.id}"


def parse_layout(spec: str | None) -> list[tuple[str, int]]:
    """``"Main office:8,Support:3"`` as ``[("Main office", 8), ("Support", 3)]``; a missing or
    unreadable size counts 0, so a typo empties a department instead of stopping the PBX."""
    layout: list[tuple[str, int]] = []
    for part in (spec or "").split(","):
        name, _, size = part.partition(":")
        if not name.strip():
            continue
        size = size.strip()
        layout.append((name.strip(), int(size) if size.isascii() and size.isdigit() else 0))
    return layout


def build(extensions: Sequence[Extension], spec: str | None) -> list[Department]:
    """DEFAULT first, then the named departments in the order ``spec`` gives them."""
    numbers = [e.number for e in extensions]
    named: list[Department] = []
    start = 0
    for offset, (name, size) in enumerate(parse_layout(spec)):
        named.append(
            Department(DEFAULT_ID + 1 + offset, name, tuple(numbers[start : start + size]))
        )
        start += size
    default = Department(DEFAULT_ID, DEFAULT_NAME, tuple(numbers[start:]), is_default=True)
    return [default, *named]


def of_extension(departments: Sequence[Department], number: str) -> Department:
    """The department an extension sits in (DEFAULT when no other holds it)."""
    return next((d for d in departments if number in d.members), departments[0])


def group_row(d: Department) -> Row:
    """A ``Pbx.Group`` as ``/Groups`` lists it (Members only when expanded)."""
    return {
        "Id": d.id,
        "Number": d.number,
        "Name": d.name,
        "IsDefault": d.is_default,
        "HasMembers": bool(d.members),
        "AllowCallService": True,
        "GloballyVisible": False,
        "CurrentGroupHours": "Default",
        "Language": "EN",
        "TimeZoneId": None,  # a department without its own zone follows the PBX's
        "TranscriptionMode": "Nothing",
    }


def favorites_row(owner: Extension) -> Row:
    """The speed-dial group live PBXs list among the departments (not a department)."""
    favorites = Department(FAVORITES_ID, f"{FAVORITES_PREFIX}{owner.number}", ())
    return group_row(favorites) | {"AllowCallService": False}


def member_rows(d: Department, extensions: Sequence[Extension]) -> list[Row]:
    """The department's ``Members``, as the users' own ``Groups`` show them."""
    by_number = {e.number: e for e in extensions}
    return [
        membership(e, d.id, d.name)
        for number in d.members
        if (e := by_number.get(number)) is not None
    ]
