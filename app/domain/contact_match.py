"""Contacts by the E.164 form of each stored number: who has a caller's number, and how they
stored it.

What a customer's bridge makes of that (attaches, misses a number stored in a local format,
finds several people) and the words for it are ``app.domain.bridge``'s: this index only finds
the stored numbers, as every bridge model starts from.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from app.domain import phones
from app.domain.contacts import Contact
from app.domain.phones import to_e164, validate_region


class MatchKind(enum.StrEnum):
    EXACT = "exact E.164 match"
    NORMALISED = "matches only after normalising"
    ORPHAN = "no contact"
    AMBIGUOUS = "several contacts"
    UNUSABLE = "no usable number"  # withheld, anonymous or internal caller id


@dataclass(frozen=True, slots=True)
class StoredNumber:
    """One phone number as a contact has it stored."""

    contact: Contact
    label: str
    raw: str
    e164: str | None  # None: not a phone number in the index's region
    is_e164: bool  # stored literally in E.164, as a bridge compares it


@dataclass(frozen=True)
class ContactMatch:
    """The contacts storing the number a caller id normalises to (what a bridge makes of them
    is a ``BridgeMatch``)."""

    raw: str  # the caller id as the PBX gave it
    e164: str | None
    kind: MatchKind
    contacts: tuple[Contact, ...]
    stored: tuple[StoredNumber, ...]


@dataclass(frozen=True)
class NumberFix:
    """A stored number to bulk-update in the CRM, and what to update it to."""

    contact_id: str
    contact_name: str
    label: str
    stored: str
    e164: str
    email: str | None = None  # with the record id, what a CRM's import matches records by


def display_name(contact: Contact) -> str:
    """The contact's name, else its company, else its id: what the engineer sees in the CRM."""
    return contact.name.strip() or (contact.company or "").strip() or f"contact {contact.id}"


class ContactIndex:
    """Contacts by the E.164 form of each stored number, for matching caller ids."""

    def __init__(self, region: str, contact_count: int, stored: list[StoredNumber]) -> None:
        self.region = region
        self._contact_count = contact_count
        self._stored = stored
        # Nearly every number is stored once, so the rare second entries are kept apart:
        # 100,000 one-item lists would cost the garbage collector more than the lookups.
        self._first: dict[str, StoredNumber] = {}
        self._others: dict[str, list[StoredNumber]] = {}
        for entry in stored:
            if entry.e164 is not None and self._first.setdefault(entry.e164, entry) is not entry:
                self._others.setdefault(entry.e164, []).append(entry)

    @classmethod
    def build(cls, contacts: Iterable[Contact], region: str) -> ContactIndex:
        """Index every non-blank stored number; ``region`` reads numbers without a "+"."""
        region = validate_region(region)
        stored: list[StoredNumber] = []
        count = 0
        for contact in contacts:
            count += 1
            for phone in contact.phones:
                if not phone.number.strip():
                    continue
                e164 = _stored_e164(phone.number, region)
                exact = e164 == phone.number
                # A number stored in E.164 keeps one string for both: half a large export's.
                stored.append(
                    StoredNumber(
                        contact, phone.label, phone.number, phone.number if exact else e164, exact
                    )
                )
        return cls(region, count, stored)

    def __len__(self) -> int:
        return self._contact_count

    @property
    def stored(self) -> Sequence[StoredNumber]:
        """Every non-blank stored number, in contact order."""
        return self._stored

    def match(self, raw: str) -> ContactMatch:
        """The contacts storing the number ``raw`` normalises to, and how they stored it."""
        e164 = to_e164(raw, self.region)
        if e164 is None:
            return ContactMatch(raw, None, MatchKind.UNUSABLE, (), ())
        first = self._first.get(e164)
        stored = () if first is None else (first, *self._others.get(e164, ()))
        # The same contact storing the number twice (phone and mobile) is still one contact.
        contacts = tuple(dict.fromkeys(entry.contact for entry in stored))
        if not contacts:
            kind = MatchKind.ORPHAN
        elif len(contacts) > 1:
            kind = MatchKind.AMBIGUOUS
        elif any(entry.is_e164 for entry in stored):
            kind = MatchKind.EXACT
        else:
            kind = MatchKind.NORMALISED
        return ContactMatch(raw, e164, kind, contacts, stored)

    def unusable(self) -> list[StoredNumber]:
        """Stored numbers that are not phone numbers at all, in contact order."""
        return [entry for entry in self._stored if entry.e164 is None]


def _stored_e164(raw: str, region: str) -> str | None:
    """``to_e164`` without the normaliser's memo, for a region already validated.

    The index keeps each stored number's E.164 form itself; memoising them as well filled the
    memo (262,144 entries, about 50 MB) with numbers no caller id is looked up by.
    """
    return phones.to_e164_uncached(raw, region)
