"""Whether a connection the engineer entered can be used: one message per dialog field.

Pure and fast, so the dialog runs it on every keystroke; ``file_problems`` alone touches the disk.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, Final

from app.domain.addresses import AddressError, parse_pbx_address
from app.domain.connection import ConnectionProfile, looks_like_did, parse_tags, tag_problem
from app.domain.phones import NumberError, validate_region
from app.services.connections.secrets import (
    normalise_pasted_key,
)
from app.threecx.tls import normalise_fingerprint

# The words the dialog uses for each field, so a message names what the engineer sees.
FIELD_LABELS: Final[dict[str, str]] = {
    "name": "Name",
    "customer": "Customer",
    "tags": "Tags",
    "url": "PBX address",
    "client_id": "Client ID",
    "secret": "API key",
    "region": "Region",
    "ca_file": "CA file",
    "pin_sha256": "Certificate pin",
    "business_hours": "Business hours",
    "did_sources": "DID source lists",
    "contacts_csv": "CRM contacts CSV",
    "settings": "Settings",
}


class ConnectionStoreError(Exception):
    """A connection could not be added, changed, removed or opened. Never contains a key.

    ``field`` is the dialog field the message is about (a key of FIELD_LABELS), if any.
    """

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class InvalidConnectionError(ConnectionStoreError):
    """What the engineer entered cannot be used: one message per field."""

    def __init__(self, problems: Mapping[str, str]) -> None:
        self.problems = dict(problems)
        text = "; ".join(f"{FIELD_LABELS.get(f, f)}: {m}" for f, m in self.problems.items())
        super().__init__(text, field=next(iter(self.problems), None))


def check_dids(did_sources: Mapping[str, str]) -> tuple[dict[str, str], str | None]:
    cleaned: dict[str, str] = {}
    for did, source in did_sources.items():
        number, target = did.strip(), source.strip()
        if not number:
            return cleaned, f"a DID is empty (its source list is {target!r})"
        if not looks_like_did(number):
            return cleaned, f"{number!r} is not a phone number"
        if not target:
            return cleaned, f"DID {number} has no source list"
        if number in cleaned:
            return cleaned, f"DID {number} is listed twice"
        cleaned[number] = target
    return cleaned, None


def check_profile(
    profile: ConnectionProfile, *, taken_names: Iterable[str] = ()
) -> tuple[ConnectionProfile, dict[str, str]]:
    """The profile with its fields tidied (trimmed, normalised URL, upper-case region) and a
    message per field that cannot be used. Pure and fast: no file or network access.
    """
    problems: dict[str, str] = {}
    changes: dict[str, Any] = {}

    name = profile.name.strip()
    if not name:
        problems["name"] = "Give the connection a name, e.g. the customer's site."
    elif name.casefold() in {taken.strip().casefold() for taken in taken_names}:
        problems["name"] = f"Another connection is already called {name!r}."
    changes["name"] = name
    changes["customer"] = profile.customer.strip()
    changes["tags"] = parse_tags(profile.tags)
    if (problem := tag_problem(changes["tags"])) is not None:
        problems["tags"] = problem

    try:
        changes["url"] = parse_pbx_address(profile.url).base_url
    except AddressError as exc:
        problems["url"] = str(exc)

    client_id = profile.client_id.strip()
    if not client_id:
        problems["client_id"] = (
            "The Client ID is empty: copy it from the API client in the 3CX admin console."
        )
    changes["client_id"] = client_id

    region = (profile.region or "").strip()
    if region:
        try:
            changes["region"] = validate_region(region)
        except NumberError as exc:
            problems["region"] = f"{exc}, or leave it empty to use the PBX's own country."
    else:
        changes["region"] = None

    pin = (profile.pin_sha256 or "").strip()
    if pin:
        try:
            changes["pin_sha256"] = normalise_fingerprint(pin)
        except ValueError as exc:
            problems["pin_sha256"] = str(exc)
    else:
        changes["pin_sha256"] = None

    for path_field in ("ca_file", "contacts_csv"):
        value = (getattr(profile, path_field) or "").strip()
        changes[path_field] = value or None

    dids, did_problem = check_dids(profile.did_sources)
    if did_problem:
        problems["did_sources"] = did_problem[0].upper() + did_problem[1:] + "."
    changes["did_sources"] = dids

    return dataclasses.replace(profile, **changes), problems


def check_key(text: str) -> str:
    """The pasted key, trimmed; raises InvalidConnectionError for the "secret" field."""
    try:
        return normalise_pasted_key(text)
    except ValueError as exc:
        raise InvalidConnectionError({"secret": str(exc)}) from None


def file_problems(profile: ConnectionProfile) -> dict[str, str]:
    """Blocking: whether the files a profile names exist (run in a worker thread)."""
    problems: dict[str, str] = {}
    for path_field, what in (("ca_file", "CA file"), ("contacts_csv", "CRM contacts file")):
        value = getattr(profile, path_field)
        if value and not Path(value).is_file():
            problems[path_field] = f"The {what} {value} does not exist or is not a file."
    return problems
