"""Contacts from the 3CX phonebook or a CRM export."""

from __future__ import annotations

import enum
from dataclasses import dataclass


class ContactSource(enum.StrEnum):
    PHONEBOOK = "3CX phonebook"
    CRM_EXPORT = "CRM export"


# Slotted: a large CRM export holds hundreds of thousands of these, and a per-instance dict
# would double what each costs.
@dataclass(frozen=True, slots=True)
class PhoneEntry:
    label: str  # "Business", "Mobile", ...
    number: str  # as stored, not normalised


@dataclass(frozen=True, slots=True)
class Contact:
    id: str
    name: str
    company: str | None
    phones: tuple[PhoneEntry, ...]
    source: ContactSource
    email: str | None = None
