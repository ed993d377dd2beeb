"""Cause 5 as a pure rule: typed facts in, the verdict with its finding, fix and evidence out."""

from __future__ import annotations

import pytest

from app.domain.bridge import (
    Bridge,
    ContactStore,
    NumberMatch,
    PhonebookResolution,
    PhonebookResolving,
)
from app.domain.causes.contact_match import (
    NO_RESOLVING_FIX,
    SHARED_NUMBER_FIX,
    ContactMatchDetails,
    ContactMatchFacts,
    RecentCall,
    SearchedContacts,
    judge_contact_match,
)
from app.domain.contact_match import MatchKind
from app.domain.contacts import Contact, ContactSource, PhoneEntry
from app.domain.diagnosis import CheckId, CheckStatus, DiagnosisFormatError

GRACE = Contact(
    "100037",
    "Grace Brown",
    None,
    (PhoneEntry("Phone", "+61881234567"),),
    ContactSource.CRM_EXPORT,
    "grace@example.au",
)
IVY = Contact(
    "100074", "Ivy Chen", None, (PhoneEntry("Phone", "+61412345678"),), ContactSource.CRM_EXPORT
)
GRACE_LOCAL = Contact(
    "100037", "Grace Brown", None, (PhoneEntry("Phone", "08 8123 4567"),), ContactSource.CRM_EXPORT
)
NOBODY = "+61299998888"
LAST_9 = PhonebookResolution(PhonebookResolving.MATCH_LENGTH, 9)


def facts(
    contacts: tuple[Contact, ...],
    numbers: list[str],
    *,
    bridge: Bridge | None = None,
    store: ContactStore = ContactStore.CRM,
    **more: object,
) -> ContactMatchFacts:
    values: dict[str, object] = {
        "bridge": bridge or Bridge(),
        "region": "AU",
        "region_source": "the PBX licence and E.164 settings",
        "searched": SearchedContacts(store, contacts, "the CRM export crm.csv", record_ids=True),
        "calls": tuple(RecentCall(f"c{n}", number) for n, number in enumerate(numbers)),
        "recent_label": "last 7 days",
    }
    values.update(more)
    return ContactMatchFacts(**values)  # type: ignore[arg-type]


def test_every_contact_found_and_strangers_as_expected_pass() -> None:
    result = judge_contact_match(facts((GRACE, IVY), ["+61881234567", "0412 345 678", NOBODY]))
    assert result.id is CheckId.CONTACT_MATCH
    assert result.status is CheckStatus.PASS
    assert result.finding == (
        "Every recent caller who is a contact attaches to exactly one contact. 1 recent call "
        "came from numbers no contact has: the bridge gives each a new contact, as expected "
        "for first-time callers."
    )
    assert result.fix == ""
    assert result.evidence[0] == (
        "Bridge: compares exact E.164 strings, searching the CRM export crm.csv"
    )
    assert "3 recent external calls (last 7 days): 2 attach to one contact, 1 match no contact" in (
        result.evidence
    )


def test_local_format_under_e164_fails_with_the_bulk_fix_list_first() -> None:
    calls = ["+61881234567", "+61881234567", "0412345678", NOBODY]
    result = judge_contact_match(facts((GRACE_LOCAL, IVY), calls))
    assert result.status is CheckStatus.FAIL
    assert result.finding == (
        "2 recent calls would have gone to a new or default contact although the caller is a "
        "contact (Grace Brown): the contact's number is stored in a local format, not E.164, "
        "so a bridge that compares E.164 misses the contact."
    )
    assert result.fix == (
        "Normalise the contact phone numbers in the CRM to E.164 (international, "
        "plus-prefixed). For Australian numbers that means +61, no leading zero. The 1 stored "
        "number to change is listed with its E.164 form (bulk-fix list): re-import them "
        "through the CRM's import. Then place a test call from a known E.164 contact and "
        "confirm it lands on that contact, not on a default or new record."
    )
    assert result.evidence[:2] == (
        "1 stored number not in E.164 (bulk-fix list)",
        "Grace Brown, Phone: '08 8123 4567' → +61881234567",
    )
    details = result.details
    assert details["counts"][str(MatchKind.NORMALISED)] == 2
    assert details["bulk_fixes"] == [
        {
            "contact_id": "100037",
            "name": "Grace Brown",
            "label": "Phone",
            "stored": "08 8123 4567",
            "e164": "+61881234567",
        }
    ]
    assert details["bridge"] == {"match": "e164", "store": "crm"}


def test_the_same_crm_passes_on_a_bridge_that_normalises() -> None:
    normalising = Bridge.for_match(NumberMatch.NORMALISED)
    result = judge_contact_match(facts((GRACE_LOCAL,), ["+61881234567"], bridge=normalising))
    assert result.status is CheckStatus.PASS
    assert result.details["bulk_fixes"] == []


def test_a_local_number_nobody_called_is_said_but_does_not_fail() -> None:
    result = judge_contact_match(facts((GRACE_LOCAL, IVY), ["0412345678"]))
    assert result.status is CheckStatus.PASS
    assert result.finding.endswith(
        "1 stored number is not in E.164: no recent caller used it, but the next call from it "
        "would miss the contact (bulk-fix list)."
    )
    assert result.evidence[-2:] == (
        "1 stored number not in E.164 (bulk-fix list)",
        "Grace Brown, Phone: '08 8123 4567' → +61881234567",
    )


def test_different_people_on_one_number_warn() -> None:
    olivia = Contact(
        "1", "Olivia Singh", None, (PhoneEntry("Phone", "+61451608509"),), ContactSource.CRM_EXPORT
    )
    william = Contact(
        "2", "William Singh", None, (PhoneEntry("Phone", "+61451608509"),), ContactSource.CRM_EXPORT
    )
    result = judge_contact_match(facts((olivia, william), ["+61451608509"]))
    assert result.status is CheckStatus.WARN
    assert result.finding == (
        "1 recent call from numbers several contacts share: the bridge may attach them to either."
    )
    assert result.fix == SHARED_NUMBER_FIX


def test_no_caller_being_a_contact_warns_about_the_contacts_searched() -> None:
    result = judge_contact_match(facts((GRACE,), [NOBODY] * 5))
    assert result.status is CheckStatus.WARN
    assert "None of the 5 recent external callers is in the CRM export crm.csv" in result.finding


def test_unreadable_history_is_not_a_pass() -> None:
    result = judge_contact_match(facts((GRACE,), [], history_problem="403 Forbidden"))
    assert result.status is CheckStatus.WARN
    assert "call history could not be read (403 Forbidden)" in result.finding
    assert "check 2" in result.fix


def test_3cx_own_resolution_judges_by_its_setting() -> None:
    threecx = Bridge.for_match(NumberMatch.PHONEBOOK)
    local = facts((GRACE_LOCAL,), ["+61881234567"], bridge=threecx, store=ContactStore.PHONEBOOK)
    assert (
        judge_contact_match(
            facts((GRACE_LOCAL,), ["+61881234567"], bridge=threecx, resolution=LAST_9)
        ).status
        is CheckStatus.PASS
    )

    exact = PhonebookResolution(PhonebookResolving.MATCH_EXACT)
    failed = judge_contact_match(
        facts((GRACE_LOCAL,), ["+61881234567"], bridge=threecx, resolution=exact)
    )
    assert failed.status is CheckStatus.FAIL
    assert "stored in a form 3CX's phonebook (match the exact number) does not match" in (
        failed.finding
    )
    assert failed.evidence[0] == (
        "1 stored number that 3CX's phonebook (match the exact number) would miss (bulk-fix list)"
    )

    off = PhonebookResolution(PhonebookResolving.NOT_RESOLVE)
    unresolved = judge_contact_match(
        facts((GRACE,), ["+61881234567"], bridge=threecx, resolution=off)
    )
    assert unresolved.status is CheckStatus.FAIL
    assert "set to no resolving" in unresolved.finding
    assert unresolved.fix == NO_RESOLVING_FIX

    unknown = judge_contact_match(local)
    assert unknown.status is CheckStatus.SKIP
    assert "this PBX does not say" in unknown.finding


@pytest.mark.parametrize(
    ("store", "standing_in", "words"),
    [
        (ContactStore.CRM, False, "no CRM export was given"),
        (ContactStore.PHONEBOOK, True, "no CRM export was given"),
        (ContactStore.PHONEBOOK, False, "3CX's own integration has no contact"),
    ],
)
def test_nothing_to_search_is_skipped(store: ContactStore, standing_in: bool, words: str) -> None:
    searched = SearchedContacts(store, (), "the 3CX phonebook", standing_in=standing_in)
    bridge = (
        Bridge()
        if standing_in or store is ContactStore.CRM
        else Bridge.for_match(NumberMatch.PHONEBOOK)
    )
    resolution = LAST_9 if bridge.match is NumberMatch.PHONEBOOK else None
    result = judge_contact_match(
        facts((), ["+61881234567"], bridge=bridge, searched=searched, resolution=resolution)
    )
    assert result.status is CheckStatus.SKIP
    assert words in result.finding and result.fix


def test_an_unknown_region_warns() -> None:
    result = judge_contact_match(facts((GRACE,), [], region=None))
    assert result.status is CheckStatus.WARN
    assert "--region" in result.fix


def test_details_read_back_and_a_bad_field_is_named() -> None:
    result = judge_contact_match(facts((GRACE_LOCAL, IVY), ["+61881234567", NOBODY]))
    details = ContactMatchDetails.from_json(result.details)
    assert details.as_json() == result.details
    assert details.bridge == Bridge()
    assert details.calls[0].contacts == ("Grace Brown",)
    older = {k: v for k, v in result.details.items() if k not in ("bridge", "store", "resolution")}
    assert ContactMatchDetails.from_json(older).bridge is None  # saved before the bridge was
    with pytest.raises(DiagnosisFormatError, match=r"details\.calls\[0\]\.raw"):
        ContactMatchDetails.from_json({**result.details, "calls": [{"call_id": "1"}]})
    with pytest.raises(DiagnosisFormatError, match=r"details\.bridge\.match"):
        ContactMatchDetails.from_json({**result.details, "bridge": {"match": "nope"}})


def test_no_calls_to_judge_is_not_a_clean_bill_of_health() -> None:
    result = judge_contact_match(facts((GRACE_LOCAL,), []))
    assert result.status is CheckStatus.SKIP
    assert result.finding.startswith(
        "No external calls in the last 7 days to match: place a test call from a known contact"
    )
    assert "(bulk-fix list)" in result.finding  # the stored numbers were still checked
    assert result.fix.startswith("Place a test call from a known contact")
    assert result.details["bulk_fixes"]
