"""The session's contact matcher: the contacts the connection's bridge searches, compared as it
compares numbers, so every pane names a caller's contact as the doctor's cause 5 judges it."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from app.domain.bridge import (
    Bridge,
    NumberMatch,
    PhonebookResolution,
    PhonebookResolving,
)
from app.domain.causes.contact_match import ContactMatchDetails
from app.domain.connection import ConnectionProfile, ContactColumns
from app.domain.contact_match import MatchKind
from app.services.facts.options import DoctorOptions
from app.services.session import ContactsUnavailable, PbxSession
from app.services.setup.contact_preview import preview_contacts
from app.sim import Simulator
from tests.conftest import SimFactory

EXPORT = "Full Name,Main Line,Notes\nJane Smith,0412 345 678,VIP\nBob Jones,(02) 9000 1234,\n"
# The bridges a customer may have, and the sim knob that makes 3CX's own match the last 9 digits.
E164 = Bridge()
NORMALISING = Bridge(NumberMatch.NORMALISED)
THREECX = Bridge.for_match(NumberMatch.PHONEBOOK)
LAST_9 = "phonebook-resolving=MatchLength:9"


def profile_of(sim: Simulator, **changes: object) -> ConnectionProfile:
    profile = ConnectionProfile(
        id="sim", name="Harbour Dental", url=sim.url, client_id=sim.client_id, ca_file=sim.ca_file
    )
    return replace(profile, **changes)  # type: ignore[arg-type]


def stored_locally(sim: Simulator) -> tuple[str, str, str]:
    """A phonebook contact the ``unnormalised-contacts`` fault stored in a local format, whose
    number nobody else has: (E.164 number, name, the number as stored)."""
    contact = sim.tenant.contacts[0]
    assert not contact.phone.startswith("+") and not contact.mobile and not contact.business
    assert [c.e164 for c in sim.tenant.contacts].count(contact.e164) == 1
    return contact.e164, f"{contact.first_name} {contact.last_name}", contact.phone


async def doctors_reason(session: PbxSession, number: str) -> str:
    """What the doctor's cause 5 says of the recent calls from ``number``, for the session's
    bridge (the same gatherer and rule as the Doctor tab and the guided setup)."""
    options = DoctorOptions(bridge=session.profile.bridge)
    preview = await preview_contacts(await session.client(), options, last_n=5)
    details = ContactMatchDetails.from_json(preview.verdict.details)
    reasons = {call.reason for call in details.calls if call.e164 == number}
    assert len(reasons) == 1, f"the doctor judged no (or differing) calls from {number}"
    return reasons.pop()


async def names_for(session: PbxSession, number: str) -> set[str]:
    matcher = await session.contact_matcher()
    return {c.name for c in matcher.match(number).contacts}


async def test_the_mapped_columns_are_used_and_without_them_the_file_is_reported(
    make_sim: SimFactory, tmp_path: Path
) -> None:
    sim = await make_sim(tls=True)
    export = tmp_path / "crm.csv"
    export.write_text(EXPORT, encoding="utf-8")
    plain = profile_of(sim, region="AU", contacts_csv=str(export))
    columns = ContactColumns(phone=("Main Line",), name=("Full Name",))
    mapped = PbxSession(replace(plain, contacts_columns=columns), sim.client_secret)
    unmapped = PbxSession(plain, sim.client_secret)
    try:
        assert await names_for(mapped, "+61412345678") == {"Jane Smith"}
        matcher = await mapped.contact_matcher()
        assert matcher.problems == () and matcher.searched.startswith("the CRM export crm.csv")
        # Without the mapping no phone column is found: said, and the phonebook is used instead.
        assert await names_for(unmapped, "+61412345678") == set()
        fallback = await unmapped.contact_matcher()
        assert any("crm.csv not read" in p for p in fallback.problems)
        assert fallback.searched == "the 3CX phonebook"
        assert "crm.csv not read" in fallback.describe()
    finally:
        await mapped.aclose()
        await unmapped.aclose()


async def test_3cxs_own_integration_searches_the_phonebook_as_3cx_resolves(
    make_sim: SimFactory, tmp_path: Path
) -> None:
    sim = await make_sim(tls=True, faults=[LAST_9])
    export = tmp_path / "hubspot.csv"
    export.write_text(sim.crm_export_csv("hubspot"), encoding="utf-8")
    crm = PbxSession(profile_of(sim, contacts_csv=str(export)), sim.client_secret)
    threecx = PbxSession(
        profile_of(sim, contacts_csv=str(export), bridge=THREECX), sim.client_secret
    )
    try:
        # The bridge on the CRM searches the export: the store the doctor reads for it.
        on_crm = await crm.contact_matcher()
        assert on_crm.searched == "the CRM export hubspot.csv (HubSpot)"
        assert on_crm.bridge == E164 and on_crm.index.resolution is None
        # 3CX's own integration searches its phonebook, matching as PhoneBookSettings say.
        own = await threecx.contact_matcher()
        assert own.searched == "the 3CX phonebook" and own.bridge == THREECX
        assert own.index.resolution == PhonebookResolution(PhonebookResolving.MATCH_LENGTH, 9)
        assert await threecx.contact_matcher() is own  # read once per session
        assert len(own) == len(sim.tenant.contacts)
    finally:
        await crm.aclose()
        await threecx.aclose()


@pytest.mark.parametrize(
    ("bridge", "knobs", "attaches"),
    [(E164, [], False), (NORMALISING, [], True), (THREECX, [LAST_9], True)],
    ids=["e164", "normalised", "3cx-last-9-digits"],
)
async def test_a_contact_stored_locally_lands_where_the_bridge_says(
    make_sim: SimFactory, bridge: Bridge, knobs: list[str], attaches: bool
) -> None:
    sim = await make_sim(tls=True, faults=["unnormalised-contacts", *knobs])
    number, name, stored = stored_locally(sim)
    await sim.place_call("missed", number=number, ring_s=0.01)
    session = PbxSession(profile_of(sim, bridge=bridge), sim.client_secret)
    try:
        found = (await session.contact_matcher()).match(number)
        if attaches:
            assert found.kind is MatchKind.EXACT and found.summary() == name
            assert found.reason.startswith(f"Attaches to {name}")
        else:
            assert found.kind is MatchKind.NORMALISED and found.attached is None
            assert found.summary() == (
                f"new contact would be created (stored as {stored}, not E.164)"
            )
        assert found.reason == await doctors_reason(session, number)
    finally:
        await session.aclose()


async def test_3cxs_own_integration_on_a_pbx_that_does_not_say_matches_nothing(
    make_sim: SimFactory,
) -> None:
    sim = await make_sim(tls=True, pbx_version="18.0.11.200")
    session = PbxSession(profile_of(sim, bridge=THREECX), sim.client_secret)
    try:
        with pytest.raises(ContactsUnavailable) as raised:
            await session.contact_matcher()
        # The doctor's own words for the same connection (cause 5 skipped).
        assert str(raised.value).startswith(
            "How 3CX matches callers to phonebook contacts could not be read (this PBX version "
            "does not say)"
        )
    finally:
        await session.aclose()
