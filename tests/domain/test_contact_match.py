"""Stored numbers by E.164, and the words a bridge (by default the E.164 one) has for each."""

import pytest

from app.domain.bridge import Bridge, BridgeIndex, NumberMatch
from app.domain.contact_match import ContactIndex, MatchKind, NumberFix, display_name
from app.domain.contacts import Contact, ContactSource, PhoneEntry
from app.domain.phones import NumberError


def contact(cid: str, name: str, *numbers: str, company: str | None = None) -> Contact:
    labels = ("Phone", "Mobile", "Home")
    return Contact(
        id=cid,
        name=name,
        company=company,
        phones=tuple(PhoneEntry(label, n) for label, n in zip(labels, numbers, strict=False)),
        source=ContactSource.CRM_EXPORT,
    )


JANE = contact("1", "Jane Citizen", "+61881234567")
JOE = contact("2", "Joe Citizen", "08 8123 9999")
ANN = contact("3", "Ann Lee", "08 8123 4000", company="Harbourside Plumbing")
BOB = contact("4", "Bob Lee", "+61881234000")
TWICE = contact("5", "Mia Rossi", "+61412345678", "0412 345 678")
TWICE_LOCAL = contact("6", "Noah Chen", "0413 000 111", "(0413) 000-111")
NO_NUMBER = contact("7", "Ruby Kelly", "101", "n/a", "")
CONTACTS = [JANE, JOE, ANN, BOB, TWICE, TWICE_LOCAL, NO_NUMBER]


@pytest.fixture
def index() -> ContactIndex:
    return ContactIndex.build(CONTACTS, "AU")


E164 = Bridge()  # the field docs' bridge: exact E.164 strings


def reason(caller: str, contacts: list[Contact] = CONTACTS, bridge: Bridge = E164) -> str:
    """What a bridge says of a call from ``caller``."""
    return BridgeIndex.build(contacts, "AU", bridge).match(caller).reason


@pytest.mark.parametrize("caller", ["+61881234567", "61881234567", "08 8123 4567"])
def test_exact_when_the_contact_stores_e164(index: ContactIndex, caller: str) -> None:
    match = index.match(caller)
    assert match.kind is MatchKind.EXACT
    assert match.e164 == "+61881234567"
    assert match.contacts == (JANE,)
    assert reason(caller) == (
        "Attaches to Jane Citizen: the contact's number is stored as +61881234567."
    )


def test_normalised_when_only_a_local_format_is_stored(index: ContactIndex) -> None:
    match = index.match("+61881239999")
    assert match.kind is MatchKind.NORMALISED
    assert match.contacts == (JOE,)
    assert [s.raw for s in match.stored] == ["08 8123 9999"]
    assert reason("+61881239999") == (
        "Joe Citizen has this number stored as '08 8123 9999', not in E.164: a bridge that "
        "compares E.164 will miss the contact and create a new one."
    )


def test_orphan_when_no_contact_has_the_number(index: ContactIndex) -> None:
    match = index.match("+61299998888")
    assert match.kind is MatchKind.ORPHAN
    assert match.contacts == ()
    assert reason("+61299998888") == (
        "No contact has this number: "
        "the bridge would create a new contact with only the phone number."
    )


def test_ambiguous_when_two_contacts_share_the_number(index: ContactIndex) -> None:
    match = index.match("+61881234000")
    assert match.kind is MatchKind.AMBIGUOUS
    assert match.contacts == (ANN, BOB)
    # Ann stored the number locally: only a normalising bridge sees both.
    assert reason("+61881234000", bridge=Bridge(NumberMatch.NORMALISED)) == (
        "2 contacts share this number (Ann Lee, Bob Lee): the bridge may attach the call to either."
    )


def test_ambiguous_names_many_contacts_without_listing_them_all() -> None:
    many = [contact(str(i), f"Person {i}", "+61881234000") for i in range(7)]
    assert reason("0881234000", many) == (
        "7 contacts share this number (Person 0, Person 1, Person 2, Person 3, Person 4, "
        "and 2 more): the bridge may attach the call to any of them."
    )


def test_one_contact_storing_the_number_twice_is_not_ambiguous(index: ContactIndex) -> None:
    match = index.match("+61412345678")
    assert match.kind is MatchKind.EXACT
    assert match.contacts == (TWICE,)
    assert [(s.label, s.raw, s.is_e164) for s in match.stored] == [
        ("Phone", "+61412345678", True),
        ("Mobile", "0412 345 678", False),
    ]


def test_one_contact_storing_two_local_formats_is_normalised(index: ContactIndex) -> None:
    match = index.match("+61413000111")
    assert match.kind is MatchKind.NORMALISED
    assert match.contacts == (TWICE_LOCAL,)
    assert "stored as '0413 000 111'" in reason("+61413000111")


@pytest.mark.parametrize("caller", ["", "anonymous", "101", "Ext.101", "10000"])
def test_unusable_for_withheld_and_internal_caller_ids(index: ContactIndex, caller: str) -> None:
    match = index.match(caller)
    assert match.kind is MatchKind.UNUSABLE
    assert match.e164 is None
    assert match.contacts == ()
    assert reason(caller) == "The caller id is withheld or internal: nothing to match."


def test_unusable_names_a_long_caller_id_that_is_not_a_number(index: ContactIndex) -> None:
    match = index.match("+61 8 8123 4567 8901")
    assert match.kind is MatchKind.UNUSABLE
    assert reason("+61 8 8123 4567 8901") == (
        "The caller id '+61 8 8123 4567 8901' is not a phone number: nothing to match."
    )


def test_bulk_fixes_list_exactly_the_stored_numbers_not_in_e164() -> None:
    spaced = contact("8", "Zara Singh", "+61 8 8123 7777", "+610881237778")
    index = BridgeIndex.build([*CONTACTS, spaced], "AU", E164)
    assert index.bulk_fixes() == [
        NumberFix("2", "Joe Citizen", "Phone", "08 8123 9999", "+61881239999"),
        NumberFix("3", "Ann Lee", "Phone", "08 8123 4000", "+61881234000"),
        NumberFix("5", "Mia Rossi", "Mobile", "0412 345 678", "+61412345678"),
        NumberFix("6", "Noah Chen", "Phone", "0413 000 111", "+61413000111"),
        NumberFix("6", "Noah Chen", "Mobile", "(0413) 000-111", "+61413000111"),
        NumberFix("8", "Zara Singh", "Phone", "+61 8 8123 7777", "+61881237777"),
        NumberFix("8", "Zara Singh", "Mobile", "+610881237778", "+61881237778"),
    ]


def test_unusable_lists_stored_numbers_that_are_not_phone_numbers(index: ContactIndex) -> None:
    assert [(s.contact.id, s.label, s.raw, s.e164) for s in index.unusable()] == [
        ("7", "Phone", "101", None),
        ("7", "Mobile", "n/a", None),
    ]


def test_length_counts_contacts_and_region_is_normalised() -> None:
    index = ContactIndex.build(iter(CONTACTS), " au ")
    assert len(index) == len(CONTACTS)
    assert index.region == "AU"


def test_bad_region_is_refused() -> None:
    with pytest.raises(NumberError, match="'Australia' is not a region code"):
        ContactIndex.build(CONTACTS, "Australia")


def test_the_region_decides_how_local_numbers_read() -> None:
    # "(415) 555-0100" is a US number only to a US PBX.
    stored = contact("1", "Sam Lee", "(415) 555-0100")
    assert ContactIndex.build([stored], "US").match("+14155550100").kind is MatchKind.NORMALISED
    assert ContactIndex.build([stored], "AU").match("+14155550100").kind is MatchKind.ORPHAN


@pytest.mark.parametrize(
    ("name", "company", "shown"),
    [("Jane Citizen", "Acme", "Jane Citizen"), (" ", "Acme", "Acme"), ("", None, "contact 9")],
)
def test_display_name_falls_back_to_company_then_id(
    name: str, company: str | None, shown: str
) -> None:
    assert display_name(contact("9", name, company=company)) == shown
