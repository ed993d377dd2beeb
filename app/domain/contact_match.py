"""Which contact a caller's number attaches to, and why (cause 5 of the field guide).

A bridge matches by E.164. A contact whose number is stored in a local format only matches
once normalised, so a bridge that compares E.164 creates an orphan contact instead; several
contacts sharing a number make the match a coin toss.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass

from app.domain.contacts import Contact
from app.domain.phones import to_e164, validate_region

_NAMES_SHOWN = 5
_EXTENSION_DIGITS = 6  # at most this many digits: an extension, not a caller's number


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
    raw: str  # the caller id as the PBX gave it
    e164: str | None
    kind: MatchKind
    contacts: tuple[Contact, ...]
    stored: tuple[StoredNumber, ...]

    @property
    def reason(self) -> str:
        """One sentence an engineer can read out to the customer."""
        if self.kind is MatchKind.UNUSABLE:
            if sum(ch.isdigit() for ch in self.raw) <= _EXTENSION_DIGITS:
                return "The caller id is withheld or internal: nothing to match."
            return f"The caller id {self.raw!r} is not a phone number: nothing to match."
        if self.kind is MatchKind.ORPHAN:
            return (
                "No contact has this number: "
                "the bridge would create a new contact with only the phone number."
            )
        if self.kind is MatchKind.AMBIGUOUS:
            names = [display_name(c) for c in self.contacts[:_NAMES_SHOWN]]
            if len(self.contacts) > _NAMES_SHOWN:
                names.append(f"and {len(self.contacts) - _NAMES_SHOWN} more")
            which = "either" if len(self.contacts) == 2 else "any of them"
            return (
                f"{len(self.contacts)} contacts share this number ({', '.join(names)}): "
                f"the bridge may attach the call to {which}."
            )
        who = display_name(self.contacts[0])
        if self.kind is MatchKind.EXACT:
            return f"Attaches to {who}: the contact's number is stored as {self.e164}."
        stored = next(s for s in self.stored if not s.is_e164)
        return (
            f"{who} has this number stored as {stored.raw!r}, not in E.164: a bridge that "
            "compares E.164 will miss the contact and create a new one."
        )


@dataclass(frozen=True)
class NumberFix:
    """A stored number to bulk-update in the CRM, and what to update it to."""

    contact_id: str
    contact_name: str
    label: str
    stored: str
    e164: str


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
                e164 = to_e164(phone.number, region)
                stored.append(
                    StoredNumber(contact, phone.label, phone.number, e164, e164 == phone.number)
                )
        return cls(region, count, stored)

    def __len__(self) -> int:
        return self._contact_count

    def match(self, raw: str) -> ContactMatch:
        """The contact(s) a call from ``raw`` attaches to."""
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

    def bulk_fixes(self) -> list[NumberFix]:
        """Stored numbers that are phone numbers but not in E.164, in contact order."""
        return [
            NumberFix(
                contact_id=entry.contact.id,
                contact_name=entry.contact.name,
                label=entry.label,
                stored=entry.raw,
                e164=entry.e164,
            )
            for entry in self._stored
            if entry.e164 is not None and not entry.is_e164
        ]

    def unusable(self) -> list[StoredNumber]:
        """Stored numbers that are not phone numbers at all, in contact order."""
        return [entry for entry in self._stored if entry.e164 is None]
