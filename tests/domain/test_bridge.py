"""The bridge model: which store it searches, how it compares numbers, who is one contact."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.domain.bridge import (
    Bridge,
    BridgeFormatError,
    BridgeIndex,
    ContactStore,
    NumberMatch,
    PhonebookResolution,
    PhonebookResolving,
    store_to_search,
)
from app.domain.contact_match import MatchKind
from app.domain.contacts import Contact, ContactSource, PhoneEntry

LAST_9 = PhonebookResolution(PhonebookResolving.MATCH_LENGTH, 9)
EXACT = PhonebookResolution(PhonebookResolving.MATCH_EXACT)
OFF = PhonebookResolution(PhonebookResolving.NOT_RESOLVE)
THREECX = Bridge.for_match(NumberMatch.PHONEBOOK)


def crm(cid: str, name: str, *numbers: str, email: str | None = None) -> Contact:
    phones = tuple(PhoneEntry(("Phone", "Mobile")[n], x) for n, x in enumerate(numbers))
    return Contact(cid, name, None, phones, ContactSource.CRM_EXPORT, email)


def book(cid: str, name: str, *numbers: str) -> Contact:
    phones = tuple(PhoneEntry("Business", x) for x in numbers)
    return Contact(cid, name, None, phones, ContactSource.PHONEBOOK)


GRACE_LOCAL = crm("100037", "Grace Brown", "08 8123 4567", email="grace@example.au")
GRACE_E164 = crm("100074", "Ivy Chen", "+61881234999")


def test_the_default_is_the_field_docs_bridge() -> None:
    assert Bridge() == Bridge(NumberMatch.E164, ContactStore.CRM)
    assert Bridge.for_match(NumberMatch.PHONEBOOK).store is ContactStore.PHONEBOOK
    assert Bridge.for_match(NumberMatch.NORMALISED).store is ContactStore.CRM
    for match in NumberMatch:
        assert len(match.plain_words) > 40  # said in plain words for the customer


def test_the_bridge_round_trips_and_a_bad_field_is_named() -> None:
    for match in NumberMatch:
        bridge = Bridge.for_match(match)
        assert Bridge.from_json(bridge.as_json()) == bridge
    assert Bridge.from_json({"match": "3cx-phonebook"}) == THREECX  # the store follows
    with pytest.raises(BridgeFormatError, match=r"bridge\.match 'fuzzy' is not one of e164"):
        Bridge.from_json({"match": "fuzzy"})
    with pytest.raises(BridgeFormatError, match=r"bridge\.store 'sheet'"):
        Bridge.from_json({"match": "e164", "store": "sheet"})
    with pytest.raises(BridgeFormatError, match="must be an object"):
        Bridge.from_json("e164")


def test_the_bridge_decides_the_one_store_searched() -> None:
    assert store_to_search(Bridge(), crm_export=True) is ContactStore.CRM
    # No CRM export: the 3CX phonebook stands in, unless the engineer said not to.
    assert store_to_search(Bridge(), crm_export=False) is ContactStore.PHONEBOOK
    assert store_to_search(Bridge(), crm_export=False, phonebook_allowed=False) is None
    assert store_to_search(THREECX, crm_export=True) is ContactStore.PHONEBOOK


@pytest.mark.parametrize(
    ("resolution", "number", "key", "words"),
    [
        (LAST_9, "+61 8 8123 4567", "881234567", "match the last 9 digits"),
        (LAST_9, "08 8123 4567", "881234567", "match the last 9 digits"),
        (LAST_9, "8123 4567", "81234567", "match the last 9 digits"),  # shorter: whole
        (EXACT, "+61 8 8123 4567", "61881234567", "match the exact number"),
        (EXACT, "(08) 8123-4567", "0881234567", "match the exact number"),
        (OFF, "+61881234567", None, "no resolving"),
        (EXACT, "anonymous", None, "match the exact number"),
    ],
)
def test_3cx_compares_digits_as_its_setting_says(
    resolution: PhonebookResolution, number: str, key: str | None, words: str
) -> None:
    assert resolution.key(number) == key
    assert resolution.describe() == words


# ---- how each bridge matches ------------------------------------------------------------------
def test_e164_bridge_misses_a_contact_stored_locally() -> None:
    index = BridgeIndex.build([GRACE_LOCAL, GRACE_E164], "AU", Bridge())
    missed = index.match("+61881234567")
    assert missed.kind is MatchKind.NORMALISED
    assert missed.contacts == (GRACE_LOCAL,)
    assert missed.reason == (
        "Grace Brown has this number stored as '08 8123 4567', not in E.164: a bridge that "
        "compares E.164 will miss the contact and create a new one."
    )
    found = index.match("0881234999")
    assert found.kind is MatchKind.EXACT
    assert found.reason == "Attaches to Ivy Chen: the contact's number is stored as +61881234999."
    assert index.match("+61299998888").kind is MatchKind.ORPHAN
    assert index.match("101").kind is MatchKind.UNUSABLE
    fixes = index.bulk_fixes()
    assert [(f.contact_id, f.stored, f.e164, f.email) for f in fixes] == [
        ("100037", "08 8123 4567", "+61881234567", "grace@example.au")
    ]


def test_e164_bridge_sees_only_the_number_stored_in_e164() -> None:
    local = crm("1", "Al", "08 8123 4567")
    exact = crm("2", "Cy", "+61881234567")
    assert BridgeIndex.build([local, exact], "AU", Bridge()).match("+61881234567").contacts == (
        exact,
    )
    both = BridgeIndex.build([local, exact], "AU", Bridge.for_match(NumberMatch.NORMALISED))
    shared = both.match("+61881234567")
    assert shared.kind is MatchKind.AMBIGUOUS
    assert shared.reason == (
        "2 contacts share this number (Al, Cy): the bridge may attach the call to either."
    )


def test_normalising_bridge_attaches_local_numbers_and_needs_no_fix() -> None:
    index = BridgeIndex.build([GRACE_LOCAL], "AU", Bridge.for_match(NumberMatch.NORMALISED))
    match = index.match("+61881234567")
    assert match.kind is MatchKind.EXACT
    assert (
        match.reason == "Attaches to Grace Brown: '08 8123 4567' is +61881234567 once normalised."
    )
    assert index.bulk_fixes() == []


def test_3cx_matching_the_last_9_digits_finds_local_numbers() -> None:
    index = BridgeIndex.build([book("7", "Grace Brown", "08 8123 4567")], "AU", THREECX, LAST_9)
    match = index.match("+61881234567")
    assert match.kind is MatchKind.EXACT
    assert "3CX's phonebook (match the last 9 digits) finds '08 8123 4567'" in match.reason
    assert index.bulk_fixes() == []
    # A number stored without its area code keeps too few digits to match.
    short = BridgeIndex.build([book("8", "Bo", "8123 4567")], "AU", THREECX, LAST_9)
    assert short.match("+61881234567").kind is MatchKind.ORPHAN  # not a number in AU at all


def test_3cx_matching_the_exact_number_misses_local_numbers() -> None:
    index = BridgeIndex.build([book("7", "Grace Brown", "08 8123 4567")], "AU", THREECX, EXACT)
    match = index.match("+61881234567")
    assert match.kind is MatchKind.NORMALISED
    assert match.reason == (
        "Grace Brown has this number stored as '08 8123 4567': 3CX's phonebook is set to match "
        "the exact number, so it misses the contact and the call lands on no contact."
    )
    assert [f.e164 for f in index.bulk_fixes()] == ["+61881234567"]


def test_3cx_without_resolving_matches_nobody_and_no_number_fix_helps() -> None:
    index = BridgeIndex.build([book("7", "Grace Brown", "+61881234567")], "AU", THREECX, OFF)
    match = index.match("+61881234567")
    assert match.kind is MatchKind.NORMALISED
    assert "set to no resolving" in match.reason
    assert index.bulk_fixes() == []


def test_3cx_resolution_is_needed_to_match_as_3cx_does() -> None:
    with pytest.raises(ValueError, match="phonebook resolution is needed"):
        BridgeIndex.build([GRACE_LOCAL], "AU", THREECX)


# ---- where a call lands, in a few words ---------------------------------------------------------
def test_the_summary_names_the_contact_only_when_the_bridge_attaches_the_call() -> None:
    contacts = [
        GRACE_LOCAL,
        GRACE_E164,
        crm("3", "Al", "+61299990000"),
        crm("4", "Cy", "+61299990000"),
    ]
    on_e164 = BridgeIndex.build(contacts, "AU", Bridge())
    missed = on_e164.match("+61881234567")
    assert missed.attached is None and missed.finds_no_contact
    assert missed.summary() == "new contact would be created (stored as 08 8123 4567, not E.164)"
    found = on_e164.match("+61881234999")
    assert found.attached == GRACE_E164 and not found.finds_no_contact
    assert found.summary() == "Ivy Chen"
    stranger = on_e164.match("+61299998888")
    assert stranger.finds_no_contact and stranger.summary() == "new contact would be created"
    shared = on_e164.match("+61299990000")
    assert shared.attached is None and not shared.finds_no_contact
    assert shared.summary() == "2 contacts share this number"
    assert on_e164.match("101").summary() == "no usable caller id"
    # The same stored number on a bridge that normalises, or on 3CX's own (last 9 digits).
    normalising = BridgeIndex.build(contacts, "AU", Bridge.for_match(NumberMatch.NORMALISED))
    assert normalising.match("+61881234567").summary() == "Grace Brown"
    last_9 = BridgeIndex.build([book("7", "Grace Brown", "08 8123 4567")], "AU", THREECX, LAST_9)
    assert last_9.match("+61881234567").summary() == "Grace Brown"


def test_the_summary_says_how_3cxs_own_resolution_misses_and_masks_what_it_shows() -> None:
    grace = [book("7", "Grace Brown", "08 8123 4567")]
    exact = BridgeIndex.build(grace, "AU", THREECX, EXACT).match("+61881234567")
    assert exact.summary() == (
        "no contact: 3CX's phonebook (match the exact number) misses 08 8123 4567"
    )
    off = BridgeIndex.build(grace, "AU", THREECX, OFF).match("+61881234567")
    assert off.summary() == "no contact: 3CX's phonebook is set to no resolving"
    assert exact.summary(number=lambda n: "•••" + n[-3:]) == (
        "no contact: 3CX's phonebook (match the exact number) misses •••567"
    )
    found = BridgeIndex.build(grace, "AU", THREECX, LAST_9).match("+61881234567")
    assert found.summary(name=lambda n: n[0] + ".") == "G."


# ---- identity ---------------------------------------------------------------------------------
def test_the_same_person_in_the_crm_and_the_phonebook_is_one_contact() -> None:
    people = [
        crm("100037", "Grace Brown", "+61881234567"),
        book("12", "Grace  brown", "+61881234567"),
    ]
    for record_ids in (True, False):
        index = BridgeIndex.build(people, "AU", Bridge(), record_ids=record_ids)
        match = index.match("+61881234567")
        assert match.kind is MatchKind.EXACT, match.reason
        assert match.reason == (
            "Attaches to Grace Brown: the contact's number is stored as +61881234567."
        )


def test_one_crm_record_listed_twice_is_one_contact() -> None:
    twice = [
        crm("100037", "Grace Brown", "+61881234567"),
        crm("100037", "G. Brown", "+61881234567"),
    ]
    index = BridgeIndex.build(twice, "AU", Bridge(), record_ids=True)
    assert index.match("+61881234567").kind is MatchKind.EXACT


def test_two_crm_records_under_one_name_are_two_contacts_told_apart_by_id() -> None:
    records = [
        crm("100037", "Lachlan Campbell", "+61881234567"),
        crm("100999", "Lachlan Campbell", "+61881234567"),
    ]
    index = BridgeIndex.build(records, "AU", Bridge(), record_ids=True)
    match = index.match("+61881234567")
    assert match.kind is MatchKind.AMBIGUOUS
    assert "(Lachlan Campbell (100037), Lachlan Campbell (100999))" in match.reason
    # Without record ids (row numbers), the name and number are all there is: one person.
    rows = BridgeIndex.build(records, "AU", Bridge(), record_ids=False)
    assert rows.match("+61881234567").kind is MatchKind.EXACT


def test_different_people_sharing_a_company_line_are_several_contacts() -> None:
    line = [book("1", "Olivia Singh", "+61451608509"), book("2", "William Singh", "+61451608509")]
    index = BridgeIndex.build(line, "AU", THREECX, LAST_9)
    assert index.match("0451 608 509").kind is MatchKind.AMBIGUOUS


NAMES = st.sampled_from(["Al", "Bo", "Cy", "al", ""])


@given(st.lists(st.tuples(NAMES, st.booleans()), min_size=1, max_size=8))
def test_people_are_counted_the_same_in_any_order(entries: list[tuple[str, bool]]) -> None:
    """Identity never depends on which store was read first."""
    contacts = [
        (crm if in_crm else book)(str(n), name, "+61881234567")
        for n, (name, in_crm) in enumerate(entries)
    ]
    forward = BridgeIndex.build(contacts, "AU", Bridge(), record_ids=False)
    backward = BridgeIndex.build(list(reversed(contacts)), "AU", Bridge(), record_ids=False)
    assert len(forward.match("+61881234567").contacts) == len(
        backward.match("+61881234567").contacts
    )


def test_the_bulk_fix_list_is_counted_whole_but_held_bounded() -> None:
    local = [crm(str(n), f"Person {n}", f"08 8{n:03d} {4000 + n:04d}") for n in range(250)]
    index = BridgeIndex.build([*local, crm("e", "Exact", "+61881239999")], "AU", Bridge())
    summary = index.fix_summary(200)
    assert (summary.count, len(summary.first), summary.more) == (250, 200, 50)
    every = index.bulk_fixes()
    assert summary.first == tuple(every[:200]) and len(every) == 250
    assert [f.contact_id for f in summary.first[:2]] == ["0", "1"]  # contact order
    # The export reads them one at a time, in the same order.
    fixes = index.iter_fixes()
    assert next(fixes) == every[0] and next(fixes) == every[1]
    assert index.fix_summary(0) == type(summary)((), 250)
    whole = index.fixes()  # counted and iterated on demand, never held
    assert len(whole) == 250 and list(whole) == every and every[-1] in whole


def test_indexing_a_store_leaves_the_normaliser_memo_to_caller_ids() -> None:
    from app.domain import phones

    before = phones._normalise.cache_info()
    people = [
        crm(f"m{n}", "M", f"+61 4{n:02d} 765 {n:03d}", f"+614{n:02d}765{n:03d}") for n in range(40)
    ]
    index = BridgeIndex.build(people, "AU", Bridge())
    after = phones._normalise.cache_info()
    assert (after.hits, after.misses) == (before.hits, before.misses)
    # A number stored in E.164 is one string for both forms.
    exact = [entry for entry in index._numbers.stored if entry.is_e164]
    assert len(exact) == 40 and all(entry.e164 is entry.raw for entry in exact)
    found = index.match("0400765000")
    assert found.kind is MatchKind.EXACT and found.attached == people[0]
