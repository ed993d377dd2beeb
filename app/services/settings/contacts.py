"""A connection's contacts in the settings file: the CRM export's columns and the bridge.

Kept apart from ``settings`` as ``settings_hours`` is. Decoding raises ``ContactsEntryError``
naming the field (``bridge.match``, ``contacts_columns.phone``), as every other bad settings
entry does. Both fields are optional: a file written before they existed reads as "detect the
columns" and the field docs' bridge (E.164, on the CRM).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from app.domain.bridge import Bridge, BridgeFormatError
from app.domain.connection import ContactColumns


class ContactsEntryError(ValueError):
    """Contacts settings that cannot be used; the message names the field."""


def encode_columns(columns: ContactColumns | None) -> dict[str, Any] | None:
    if columns is None:
        return None
    return {
        "phone": list(columns.phone),
        "name": list(columns.name),
        "id": columns.id,
        "company": columns.company,
        "email": columns.email,
    }


def decode_columns(raw: Any) -> ContactColumns | None:
    if raw is None:
        return None
    if not isinstance(raw, dict):
        raise ContactsEntryError("contacts_columns must be an object")

    def headers(key: str) -> tuple[str, ...]:
        value = raw.get(key) or []
        if not isinstance(value, list) or not all(isinstance(h, str) for h in value):
            raise ContactsEntryError(f"contacts_columns.{key} must be a list of column names")
        return tuple(value)

    phone = headers("phone")
    if not phone:
        raise ContactsEntryError("contacts_columns.phone names no phone column")
    return ContactColumns(
        phone=phone,
        name=headers("name"),
        id=_optional_text(raw, "id"),
        company=_optional_text(raw, "company"),
        email=_optional_text(raw, "email"),
    )


def encode_bridge(bridge: Bridge) -> dict[str, str]:
    return bridge.as_json()


def decode_bridge(raw: Any) -> Bridge:
    """The saved bridge; absent (an older file) is the field docs' bridge."""
    if raw is None:
        return Bridge()
    try:
        return Bridge.from_json(raw)
    except BridgeFormatError as exc:
        raise ContactsEntryError(str(exc)) from exc


def _optional_text(entry: Mapping[str, Any], key: str) -> str | None:
    value = entry.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise ContactsEntryError(f"contacts_columns.{key} must be text or null")
    return value or None
