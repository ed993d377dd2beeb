"""API clients' department, role and Extensions to Monitor (``Groups`` and ``Peers`` of a
``Pbx.ServicePrincipal``): read from an admin's POST or PATCH body, checked as a PBX checks
them, and rendered as v20 rows.

A client stores ``_groups`` as (department id, role) pairs and ``_peers`` as DN numbers. The
built-in client has none: its rights are whatever the role faults say.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from typing import Any

from app.sim.departments import Department
from app.sim.records import Extension
from app.sim.wire_v20 import ROLE_UI_NAMES, rights

Row = dict[str, Any]

SYSTEM_OWNER = "system_owners"
# A department picked without a role: the PBX gives the least (UNCONFIRMED).
DEFAULT_ROLE = "users"
# The simulator's code for a value the PBX will not take (3CX's own is not documented).
INVALID = "WARNINGS.XAPI.INVALID_VALUE"


class SettingsRefused(Exception):
    """What the PBX answers to a body it will not store: a status and an OData error."""

    def __init__(self, status: int, message: str = "", detail: str = "", target: str = ""):
        super().__init__(message)
        self.status = status
        self.message = message
        self.detail = detail
        self.target = target


def refused_settings(value: str | None) -> frozenset[str]:
    """The settings the ``api-client-settings-refused`` knob names ("groups,peers")."""
    return frozenset(part.strip().lower() for part in (value or "").split(",") if part.strip())


def read_settings(
    body: Mapping[str, Any],
    departments: Sequence[Department],
    dns: Collection[str],
    refused: Collection[str],
) -> Row:
    """The ``_groups`` and ``_peers`` a body sets (only those it names); ``dns`` are the
    numbers a client may monitor. Raises ``SettingsRefused``."""
    settings: Row = {}
    if "Groups" in body:
        settings["_groups"] = _groups(body["Groups"], departments, refused)
    if "Peers" in body:
        settings["_peers"] = _peers(body["Peers"], dns, refused)
    return settings


def _objects(value: Any, name: str) -> list[Mapping[str, Any]]:
    if not isinstance(value, list) or not all(isinstance(v, Mapping) for v in value):
        raise SettingsRefused(400, f"{name} must be a list of objects", INVALID, name)
    return value


def _groups(
    value: Any, departments: Sequence[Department], refused: Collection[str]
) -> list[tuple[int, str]]:
    known = {d.id for d in departments}
    out: list[tuple[int, str]] = []
    for group in _objects(value, "Groups"):
        group_id = group.get("GroupId")
        if type(group_id) is not int or group_id not in known:
            raise SettingsRefused(400, "Not Found", "WARNINGS.XAPI.NOT_FOUND", "GroupId")
        given = group.get("Rights")
        role = given.get("RoleName") if isinstance(given, Mapping) else None
        role = role or DEFAULT_ROLE
        if role not in ROLE_UI_NAMES:
            raise SettingsRefused(400, f"Unknown role '{role}'", INVALID, "RoleName")
        out.append((group_id, role))
    if out and "groups" in refused:
        raise SettingsRefused(403)
    if "role" in refused and any(role == SYSTEM_OWNER for _, role in out):
        raise SettingsRefused(403)  # this admin may not hand out System Owner
    return out


def _peers(value: Any, dns: Collection[str], refused: Collection[str]) -> list[str]:
    numbers: list[str] = []
    for peer in _objects(value, "Peers"):
        number = str(peer.get("Number") or "").strip()
        if number not in dns:
            raise SettingsRefused(400, "Not Found", "WARNINGS.XAPI.NOT_FOUND", "Peers")
        if number not in numbers:
            numbers.append(number)
    if numbers and "peers" in refused:
        raise SettingsRefused(400, "The Extensions to Monitor could not be saved", INVALID, "Peers")
    return numbers


def role_of(principal: Mapping[str, Any]) -> str | None:
    """The role an admin gave the client (its first department's), or None if none was."""
    groups = principal.get("_groups") or []
    return str(groups[0][1]) if groups else None


def groups_rows(principal: Mapping[str, Any], departments: Sequence[Department]) -> list[Row]:
    """The client's ``Groups`` (``Pbx.UserGroup``)."""
    names = {d.id: d.name for d in departments}
    return [
        {
            "GroupId": group_id,
            "Id": principal["Id"] * 10 + index,
            "Name": names.get(group_id, ""),
            "MemberName": principal["Number"],
            "Number": principal["Number"],
            "CanDelete": True,
            "Rights": rights(role),
            "Tags": [],
        }
        for index, (group_id, role) in enumerate(principal.get("_groups") or [])
    ]


def peers_rows(principal: Mapping[str, Any], extensions: Sequence[Extension]) -> list[Row]:
    """The client's ``Peers`` (``Pbx.Peer``): its Extensions to Monitor."""
    by_number = {e.number: e for e in extensions}
    rows: list[Row] = []
    for number in principal.get("_peers") or []:
        e = by_number.get(number)
        rows.append(
            {
                "Id": e.id if e else 0,
                "Number": number,
                "Name": e.display_name if e else number,
                "Type": "Extension" if e else "Queue",
                "Hidden": False,
                "Tags": [],
            }
        )
    return rows
