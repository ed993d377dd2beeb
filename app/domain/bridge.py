"""The customer's bridge: which contacts it searches and how it compares a caller's number.

The field docs' bridge looks the caller up in the CRM by exact E.164 strings; 3CX's own CRM
integration resolves the caller in the 3CX phonebook as its PhoneBookSettings say (the exact
number, or the last N digits); some bridges normalise both sides first. One stored number can
attach on one bridge and miss on another, so cause 5 is judged for the customer's bridge.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import TypeVar

from app.domain.contact_match import (
    ContactIndex,
    MatchKind,
    NumberFix,
    StoredNumber,
    display_name,
)
from app.domain.contacts import Contact, ContactSource

E = TypeVar("E", bound=enum.StrEnum)

NEW_CONTACT = "new contact would be created"
_NAMES_SHOWN = 5
_EXTENSION_DIGITS = 6  # at most this many digits: an extension, not a caller's number


class ContactStore(enum.StrEnum):
    """Where the bridge looks a caller up."""

    CRM = "crm"  # the CRM's contacts, as its export shows them
    PHONEBOOK = "3cx-phonebook"

    @property
    def words(self) -> str:
        return "the CRM's contacts" if self is ContactStore.CRM else "the 3CX phonebook"


class NumberMatch(enum.StrEnum):
    """How the bridge compares the caller's number with a stored one (``--bridge-match``)."""

    E164 = "e164"  # exact E.164 strings: the field docs' bridge, and the default
    PHONEBOOK = "3cx-phonebook"  # 3CX's own resolution (PhoneBookSettings)
    NORMALISED = "normalised"  # both sides normalised to E.164 first

    @property
    def plain_words(self) -> str:
        """The choice as the guided setup offers it to the customer."""
        return _PLAIN_WORDS[self]

    @property
    def short_words(self) -> str:
        """The choice in a few words, for a list; ``plain_words`` explains it."""
        return _SHORT_WORDS[self]


_SHORT_WORDS = {
    NumberMatch.E164: "Exact E.164 number (most bridges)",
    NumberMatch.PHONEBOOK: "3CX's own CRM integration (its phonebook)",
    NumberMatch.NORMALISED: "Both numbers normalised first",
}
_PLAIN_WORDS = {
    NumberMatch.E164: (
        "A CRM bridge that looks the caller up by the exact E.164 number (+ and the country "
        "code), as most bridges do"
    ),
    NumberMatch.PHONEBOOK: (
        "3CX's own CRM integration: 3CX finds the caller in its phonebook, matching the "
        "exact number or the last digits as its phonebook settings say"
    ),
    NumberMatch.NORMALISED: (
        "A bridge that normalises both numbers first, so 08 8123 4567 and +61 8 8123 4567 "
        "are the same"
    ),
}


class PhonebookResolving(enum.StrEnum):
    """3CX's ``Pbx.TypeOfPhoneBookResolving``, by its wire values."""

    NOT_RESOLVE = "NotResolve"
    MATCH_EXACT = "MatchExact"
    MATCH_LENGTH = "MatchLength"


@dataclass(frozen=True)
class PhonebookResolution:
    """How 3CX matches a caller to a phonebook contact (``GET /PhoneBookSettings``)."""

    kind: PhonebookResolving
    length: int | None = None  # MatchLength: compare the last N digits

    def describe(self) -> str:
        if self.kind is PhonebookResolving.NOT_RESOLVE:
            return "no resolving"
        if self.kind is PhonebookResolving.MATCH_EXACT or not self.length:
            return "match the exact number"
        return f"match the last {self.length} digits"

    def key(self, number: str) -> str | None:
        """What 3CX compares of ``number``: its digits, or their last N; None: never matches.

        Punctuation is ignored (a reading the docs leave open); a number shorter than N digits
        is compared whole.
        """
        if self.kind is PhonebookResolving.NOT_RESOLVE:
            return None
        digits = "".join(ch for ch in number if ch.isdigit())
        if not digits:
            return None
        if self.kind is PhonebookResolving.MATCH_LENGTH and self.length and self.length > 0:
            return digits[-self.length :]
        return digits


class BridgeFormatError(ValueError):
    """A saved bridge that cannot be read back; the message names the field."""


@dataclass(frozen=True)
class Bridge:
    """The customer's bridge: how it compares numbers, and in which store it looks."""

    match: NumberMatch = NumberMatch.E164
    store: ContactStore = ContactStore.CRM

    @classmethod
    def for_match(cls, match: NumberMatch) -> Bridge:
        """The usual store for a comparison: 3CX's own resolution searches its phonebook."""
        store = ContactStore.PHONEBOOK if match is NumberMatch.PHONEBOOK else ContactStore.CRM
        return cls(match, store)

    def describe(self, resolution: PhonebookResolution | None = None) -> str:
        """ "compares exact E.164 strings" etc., for evidence and reports."""
        if self.match is NumberMatch.E164:
            return "compares exact E.164 strings"
        if self.match is NumberMatch.NORMALISED:
            return "normalises both numbers to E.164, then compares them"
        how = resolution.describe() if resolution is not None else "not read"
        return f"3CX's own phonebook resolution ({how})"

    def as_json(self) -> dict[str, str]:
        return {"match": self.match.value, "store": self.store.value}

    @classmethod
    def from_json(cls, data: object, where: str = "bridge") -> Bridge:
        if not isinstance(data, Mapping):
            raise BridgeFormatError(f"{where} must be an object")
        match = _member(NumberMatch, data.get("match", NumberMatch.E164.value), f"{where}.match")
        default = cls.for_match(match).store
        store = _member(ContactStore, data.get("store", default.value), f"{where}.store")
        return cls(match, store)


def _member(kind: type[E], value: object, where: str) -> E:
    try:
        return kind(str(value))
    except ValueError:
        allowed = ", ".join(member.value for member in kind)
        raise BridgeFormatError(f"{where} {value!r} is not one of {allowed}") from None


@dataclass(frozen=True)
class BridgeMatch:
    """Where a call from ``raw`` lands on this bridge, and why in words for the customer.

    ``contacts``: the people it attaches to (EXACT, AMBIGUOUS) or misses (NORMALISED: the
    contact exists, stored in a form this bridge does not match).
    """

    raw: str
    e164: str | None
    kind: MatchKind
    contacts: tuple[Contact, ...]
    stored: tuple[StoredNumber, ...]
    reason: str
    bridge: Bridge = Bridge()  # the bridge that matched it, for ``summary``
    resolution: PhonebookResolution | None = None

    @property
    def attached(self) -> Contact | None:
        """The one contact the bridge attaches the call to; None: no contact, or several."""
        return self.contacts[0] if self.kind is MatchKind.EXACT else None

    @property
    def finds_no_contact(self) -> bool:
        """The bridge finds no contact for the caller: none has the number, or this bridge
        misses the one that does."""
        return self.kind in (MatchKind.ORPHAN, MatchKind.NORMALISED)

    def summary(self, name: Callable[[str], str] = str, number: Callable[[str], str] = str) -> str:
        """Where the call lands, in a few words for a table cell (``reason`` says why).

        The contact's name when the bridge attaches the call to it; otherwise what the bridge
        does instead. ``name`` and ``number`` mask a name or a stored number (presenter mode).
        """
        if self.kind is MatchKind.UNUSABLE:
            return "no usable caller id"
        if self.kind is MatchKind.ORPHAN:
            return NEW_CONTACT
        if self.kind is MatchKind.AMBIGUOUS:
            return f"{len(self.contacts)} contacts share this number"
        if self.kind is MatchKind.EXACT:
            return name(display_name(self.contacts[0]))
        stored = number(self.stored[0].raw)
        if self.bridge.match is NumberMatch.E164:
            return f"{NEW_CONTACT} (stored as {stored}, not E.164)"
        assert self.resolution is not None
        if self.resolution.kind is PhonebookResolving.NOT_RESOLVE:
            return "no contact: 3CX's phonebook is set to no resolving"
        return f"no contact: 3CX's phonebook ({self.resolution.describe()}) misses {stored}"


class BridgeIndex:
    """The searched contacts, indexed as the customer's bridge compares numbers."""

    def __init__(
        self,
        numbers: ContactIndex,
        bridge: Bridge,
        resolution: PhonebookResolution | None,
        record_ids: bool,
    ) -> None:
        if bridge.match is NumberMatch.PHONEBOOK and resolution is None:
            raise ValueError("3CX's phonebook resolution is needed to match as 3CX does")
        self.bridge = bridge
        self.resolution = resolution
        self._numbers = numbers
        self._record_ids = record_ids
        self._by_key: dict[str, list[StoredNumber]] = {}
        if bridge.match is NumberMatch.PHONEBOOK:
            for entry in numbers.stored:
                key = self._key(entry.raw)
                if key is not None:
                    self._by_key.setdefault(key, []).append(entry)

    @classmethod
    def build(
        cls,
        contacts: Iterable[Contact],
        region: str,
        bridge: Bridge,
        resolution: PhonebookResolution | None = None,
        *,
        record_ids: bool = False,
    ) -> BridgeIndex:
        """``record_ids``: the CRM export's ids are the CRM's record ids (not row numbers)."""
        return cls(ContactIndex.build(contacts, region), bridge, resolution, record_ids)

    @property
    def region(self) -> str:
        return self._numbers.region

    def __len__(self) -> int:
        return len(self._numbers)

    def _key(self, number: str) -> str | None:
        assert self.resolution is not None
        return self.resolution.key(number)

    def _seen(self, raw: str, same_number: tuple[StoredNumber, ...]) -> list[StoredNumber]:
        """The stored numbers this bridge finds for a caller id ``raw``."""
        if self.bridge.match is NumberMatch.E164:
            return [entry for entry in same_number if entry.is_e164]
        if self.bridge.match is NumberMatch.NORMALISED:
            return list(same_number)
        key = self._key(raw)
        return list(self._by_key.get(key, ())) if key is not None else []

    def match(self, raw: str) -> BridgeMatch:
        """Where a call from (or to) ``raw`` lands in the searched store."""
        found = self._numbers.match(raw)
        if found.kind is MatchKind.UNUSABLE or found.e164 is None:
            return self._landed(raw, None, MatchKind.UNUSABLE, (), (), _unusable(raw))
        seen = self._seen(raw, found.stored)
        if seen:
            people = self.people(seen)
            kind = MatchKind.EXACT if len(people) == 1 else MatchKind.AMBIGUOUS
            reason = self._reason(kind, people, seen)
            return self._landed(raw, found.e164, kind, people, tuple(seen), reason)
        if found.stored:
            people = self.people(found.stored)
            reason = self._reason(MatchKind.NORMALISED, people, found.stored)
            return self._landed(raw, found.e164, MatchKind.NORMALISED, people, found.stored, reason)
        reason = (
            "No contact has this number: "
            "the bridge would create a new contact with only the phone number."
        )
        return self._landed(raw, found.e164, MatchKind.ORPHAN, (), (), reason)

    def _landed(
        self,
        raw: str,
        e164: str | None,
        kind: MatchKind,
        people: tuple[Contact, ...],
        stored: tuple[StoredNumber, ...],
        reason: str,
    ) -> BridgeMatch:
        return BridgeMatch(raw, e164, kind, people, stored, reason, self.bridge, self.resolution)

    # ---- identity -------------------------------------------------------------------------
    def people(self, entries: Iterable[StoredNumber]) -> tuple[Contact, ...]:
        """The different people among ``entries``, which all store one number.

        The same person kept in several stores, or twice in one, is one contact: by the CRM's
        record id where both have one, else by name (they share the number already). Two CRM
        records with different ids are two contacts, even under one name.
        """
        people: list[Contact] = []
        for entry in entries:
            if not any(self._same_person(entry.contact, known) for known in people):
                people.append(entry.contact)
        return tuple(people)

    def _record_id(self, contact: Contact) -> str | None:
        if self._record_ids and contact.source is ContactSource.CRM_EXPORT:
            return contact.id
        return None

    def _same_person(self, one: Contact, other: Contact) -> bool:
        if one == other:
            return True
        first, second = self._record_id(one), self._record_id(other)
        if first is not None and second is not None:
            return first == second
        name = _name_key(one)
        return bool(name) and name == _name_key(other)

    # ---- words ----------------------------------------------------------------------------
    def _reason(
        self, kind: MatchKind, people: tuple[Contact, ...], stored: Iterable[StoredNumber]
    ) -> str:
        if kind is MatchKind.AMBIGUOUS:
            names = shown_names(people)
            if len(people) > _NAMES_SHOWN:
                names = [*names[:_NAMES_SHOWN], f"and {len(people) - _NAMES_SHOWN} more"]
            which = "either" if len(people) == 2 else "any of them"
            return (
                f"{len(people)} contacts share this number ({', '.join(names)}): "
                f"the bridge may attach the call to {which}."
            )
        who = display_name(people[0])
        first = next(iter(stored))
        if kind is MatchKind.EXACT:
            if self.bridge.match is NumberMatch.E164:
                return f"Attaches to {who}: the contact's number is stored as {first.e164}."
            if self.bridge.match is NumberMatch.NORMALISED:
                return f"Attaches to {who}: {first.raw!r} is {first.e164} once normalised."
            assert self.resolution is not None
            return f"Attaches to {who}: 3CX's phonebook ({self.resolution.describe()}) finds {first.raw!r}."
        if self.bridge.match is NumberMatch.E164:
            return (
                f"{who} has this number stored as {first.raw!r}, not in E.164: a bridge that "
                "compares E.164 will miss the contact and create a new one."
            )
        assert self.resolution is not None
        if self.resolution.kind is PhonebookResolving.NOT_RESOLVE:
            return (
                f"{who} has this number, but 3CX's phonebook is set to no resolving: the call "
                "lands on no contact."
            )
        return (
            f"{who} has this number stored as {first.raw!r}: 3CX's phonebook is set to "
            f"{self.resolution.describe()}, so it misses the contact and the call lands on no "
            "contact."
        )

    # ---- the bulk fix ---------------------------------------------------------------------
    def needs_fix(self, entry: StoredNumber) -> bool:
        """Whether this bridge would miss a caller whose number ``entry`` stores."""
        if entry.e164 is None or self.bridge.match is NumberMatch.NORMALISED:
            return False
        if self.bridge.match is NumberMatch.E164:
            return not entry.is_e164
        assert self.resolution is not None
        if self.resolution.kind is PhonebookResolving.NOT_RESOLVE:
            return False  # no stored form helps: the setting is the fix
        return self._key(entry.raw) != self._key(entry.e164)

    def iter_fixes(self) -> Iterator[NumberFix]:
        """Stored numbers this bridge would miss, with their E.164 form, in contact order.

        Made one at a time: a 300,000-row export can need that many fixes, and the doctor
        keeps only the first few (``fix_summary``) while the CSV export streams them all.
        """
        for entry in self._numbers.stored:
            if entry.e164 is not None and self.needs_fix(entry):
                yield _fix(entry, entry.e164)

    def fix_summary(self, keep: int) -> FixSummary:
        """How many stored numbers need the fix, and the first ``keep`` of them."""
        first: list[NumberFix] = []
        count = 0
        for entry in self._numbers.stored:
            if entry.e164 is None or not self.needs_fix(entry):
                continue
            count += 1
            if len(first) < keep:
                first.append(_fix(entry, entry.e164))
        return FixSummary(tuple(first), count)

    def fixes(self) -> LazyFixes:
        """Every fix, counted and iterated on demand, never held: what an export writes."""
        return LazyFixes(self)

    def bulk_fixes(self) -> list[NumberFix]:
        """Every fix in one list: for small stores and tests (the doctor asks ``fix_summary``)."""
        return list(self.iter_fixes())


class LazyFixes(Collection[NumberFix]):
    """A bridge's whole bulk-fix list as a collection whose rows are made while read."""

    def __init__(self, index: BridgeIndex) -> None:
        self._index = index

    def __iter__(self) -> Iterator[NumberFix]:
        return self._index.iter_fixes()

    def __len__(self) -> int:
        return self._index.fix_summary(0).count

    def __contains__(self, item: object) -> bool:
        return any(fix == item for fix in self)


def _fix(entry: StoredNumber, e164: str) -> NumberFix:
    contact = entry.contact
    return NumberFix(contact.id, contact.name, entry.label, entry.raw, e164, contact.email)


@dataclass(frozen=True)
class FixSummary:
    """The bulk-fix list held bounded: the first rows and how many there are in all."""

    first: tuple[NumberFix, ...]
    count: int

    @property
    def more(self) -> int:
        """Fixes beyond ``first``: counted, not held."""
        return self.count - len(self.first)


def shown_names(people: Iterable[Contact]) -> list[str]:
    """Display names, with the record id beside a name two different contacts share."""
    people = list(people)
    names = [display_name(c) for c in people]
    return [
        f"{name} ({contact.id})" if names.count(name) > 1 else name
        for name, contact in zip(names, people, strict=True)
    ]


def _name_key(contact: Contact) -> str:
    return " ".join(contact.name.casefold().split())


def _unusable(raw: str) -> str:
    if sum(ch.isdigit() for ch in raw) <= _EXTENSION_DIGITS:
        return "The caller id is withheld or internal: nothing to match."
    return f"The caller id {raw!r} is not a phone number: nothing to match."


def store_to_search(
    bridge: Bridge, *, crm_export: bool, phonebook_allowed: bool = True
) -> ContactStore | None:
    """The one store the doctor and the setup read for this bridge; None: none it may read.

    A bridge on the CRM is checked against the CRM's export; without one, the 3CX phonebook
    stands in (a CRM is often synced from it). Both at once would count every person twice.
    """
    if bridge.store is ContactStore.PHONEBOOK:
        return ContactStore.PHONEBOOK
    if crm_export:
        return ContactStore.CRM
    return ContactStore.PHONEBOOK if phonebook_allowed else None
