"""Step 8: the contact-attach preview, the column mapping step and the bulk-fix export."""

from __future__ import annotations

import asyncio
import csv
import io
from datetime import UTC, datetime
from pathlib import Path

import pytest

from app.domain.calls import CallDirection
from app.domain.contact_match import ContactIndex, MatchKind, NumberFix
from app.domain.contacts import Contact, ContactSource, PhoneEntry
from app.domain.diagnosis import CheckId
from app.domain.phones import NumberError, to_e164
from app.services.contacts_import import (
    ContactsFileError,
    CrmFlavour,
    build_mapping,
    parse_contacts_csv,
    preview_contacts_csv,
    read_contacts_text,
)
from app.services.doctor import Doctor, DoctorOptions
from app.services.setup.contact_preview import (
    CSV_HEADER,
    NormalisationExportError,
    attach_row,
    preview_contact_attach,
    watch_contact_attach,
    write_normalisation_csv,
)
from app.sim import Simulator
from app.threecx.client import PbxClient
from tests.conftest import SimFactory
from tests.threecx.conftest import ClientFactory, params_for

NOW = datetime(2026, 5, 1, tzinfo=UTC)
OUTCOME_OF_KIND = {
    MatchKind.EXACT: "attaches",
    MatchKind.NORMALISED: "attaches-after-normalising",
    MatchKind.ORPHAN: "orphan",
    MatchKind.AMBIGUOUS: "ambiguous",
}


def contact(cid: str, name: str, *numbers: str) -> Contact:
    return Contact(
        cid, name, None, tuple(PhoneEntry("Phone", n) for n in numbers), ContactSource.CRM_EXPORT
    )


def crm_index(sim: Simulator, flavour: str = "hubspot") -> ContactIndex:
    imported = parse_contacts_csv(sim.crm_export_csv(flavour))
    return ContactIndex.build(imported.contacts, sim.tenant.country.code)


def read_export(path: Path) -> tuple[str, list[list[str]]]:
    """The exported text and table; the replaced file left no temporary file behind."""
    assert [p.name for p in path.parent.iterdir()] == [path.name]
    text = path.read_text("utf-8-sig")
    return text, list(csv.reader(io.StringIO(text, newline="")))


async def signed_in(connect: ClientFactory, sim: Simulator) -> PbxClient:
    client: PbxClient = await connect(sim)
    await client.authenticate()
    return client


async def test_unnormalised_crm_numbers_show_which_calls_would_miss(
    make_sim: SimFactory, connect: ClientFactory
) -> None:
    sim = await make_sim(faults=["unnormalised-contacts"])
    client = await signed_in(connect, sim)
    rows = await preview_contact_attach(client, crm_index(sim), last_n=30, region="au")
    assert len(rows) == 30
    assert [r.when for r in rows] == sorted((r.when for r in rows), reverse=True)
    late = [r for r in rows if r.outcome == "attaches-after-normalising"]
    assert late
    for row in late:
        assert row.contact
        assert row.e164 == to_e164(row.raw_caller_id, "AU")
        assert "not in E.164" in row.reason and f"Store it as {row.e164}" in row.reason
    internal = [r for r in rows if r.direction == "internal"]
    assert all(r.outcome == "internal" and r.e164 is None for r in internal)
    orphans = [r for r in rows if r.outcome == "orphan"]
    assert all(r.contact is None and "No contact has this number" in r.reason for r in orphans)


async def test_the_preview_agrees_with_the_doctor(
    make_sim: SimFactory, connect: ClientFactory
) -> None:
    sim = await make_sim(faults=["unnormalised-contacts"])
    imported = parse_contacts_csv(sim.crm_export_csv("salesforce"))
    client = await signed_in(connect, sim)
    rows = await preview_contact_attach(
        client, ContactIndex.build(imported.contacts, "AU"), last_n=50
    )
    options = DoctorOptions(crm_contacts=imported.contacts, use_phonebook=False, region="AU")
    diagnosis = await Doctor(params_for(sim), sim.client_secret, options).run()
    cause_5 = next(r for r in diagnosis.checks if r.id is CheckId.CONTACT_MATCH)
    doctor = {c["call_id"]: c for c in cause_5.details["calls"]}
    compared = 0
    for row in rows:
        seen = doctor.get(row.call_id)
        if seen is None or seen["match"] == str(MatchKind.UNUSABLE):
            continue
        compared += 1
        assert OUTCOME_OF_KIND[MatchKind(seen["match"])] == row.outcome
        assert seen["e164"] == row.e164
    assert compared >= 10


async def test_a_healthy_crm_attaches_and_the_phonebook_works_too(
    make_sim: SimFactory, connect: ClientFactory
) -> None:
    sim = await make_sim()
    client = await signed_in(connect, sim)
    rows = await preview_contact_attach(client, crm_index(sim, "zoho"), last_n=20)
    assert "attaches" in {r.outcome for r in rows}
    assert "attaches-after-normalising" not in {r.outcome for r in rows}
    phonebook = ContactIndex.build(await client.contacts(), "AU")
    from_phonebook = await preview_contact_attach(client, phonebook, last_n=20)
    assert "attaches" in {r.outcome for r in from_phonebook}


async def test_region_must_be_the_index_region(
    make_sim: SimFactory, connect: ClientFactory
) -> None:
    sim = await make_sim()
    client = await signed_in(connect, sim)
    with pytest.raises(ValueError, match="indexed for region AU, not GB"):
        await preview_contact_attach(client, crm_index(sim), region="GB")
    with pytest.raises(NumberError):
        await preview_contact_attach(client, crm_index(sim), region="ZZZ")
    with pytest.raises(ValueError, match="last_n"):
        await preview_contact_attach(client, crm_index(sim), last_n=0)


async def test_the_next_live_call_is_previewed(
    make_sim: SimFactory, connect: ClientFactory
) -> None:
    sim = await make_sim()
    client = await signed_in(connect, sim)
    index = crm_index(sim)
    known = next(c for c in sim.tenant.contacts if c.phone)
    rows: list = []

    async def first_row() -> None:
        async for row in watch_contact_attach(client, index):
            rows.append(row)
            return

    watcher = asyncio.create_task(first_row())
    await asyncio.wait_for(sim.wait_for_call_control_client(), 10)
    await sim.place_call("inbound", number=known.phone, ring_s=0.3, talk_s=0.1)
    await asyncio.wait_for(watcher, 10)
    assert rows[0].raw_caller_id == known.phone
    assert rows[0].outcome == "attaches"
    assert rows[0].direction == "inbound"


@pytest.mark.parametrize(
    ("direction", "raw", "outcome", "words"),
    [
        (CallDirection.INTERNAL, "101", "internal", "internal call"),
        (CallDirection.INBOUND, "", "invalid-number", "withheld"),
        (CallDirection.INBOUND, "anonymous", "invalid-number", "withheld"),
        (CallDirection.INBOUND, "Ext.101", "internal", "internal extension"),
        (CallDirection.INBOUND, "102", "internal", "internal extension"),
        (CallDirection.INBOUND, "not-a-number-at-all", "invalid-number", "not a phone number"),
        (CallDirection.INBOUND, "+61 8 8123 4567", "ambiguous", "2 contacts share"),
        (CallDirection.OUTBOUND, "0412 345 678", "attaches", "Attaches to Bo"),
        (CallDirection.INBOUND, "+61299999999", "orphan", "new contact"),
    ],
)
def test_each_outcome_says_why(
    direction: CallDirection, raw: str, outcome: str, words: str
) -> None:
    index = ContactIndex.build(
        [
            contact("1", "Al", "08 8123 4567"),
            contact("2", "Cy", "+61881234567"),
            contact("3", "Bo", "+61412345678"),
        ],
        "AU",
    )
    row = attach_row("c1", NOW, direction, raw, index)
    assert row.outcome == outcome
    assert words in row.reason
    assert row.raw_caller_id == raw
    if outcome == "ambiguous":
        assert row.contact == "Al, Cy"


async def test_each_crm_flavour_is_detected_and_previewed(
    make_sim: SimFactory, connect: ClientFactory
) -> None:
    sim = await make_sim(faults=["unnormalised-contacts"])
    client = await signed_in(connect, sim)
    expected = {
        "hubspot": CrmFlavour.HUBSPOT,
        "salesforce": CrmFlavour.SALESFORCE,
        "gohighlevel": CrmFlavour.GOHIGHLEVEL,
        "zoho": CrmFlavour.ZOHO,
        "generic": CrmFlavour.GENERIC,
    }
    for flavour, crm in expected.items():
        text = sim.crm_export_csv(flavour)
        preview = preview_contacts_csv(text, sample=3)
        assert preview.problem is None
        assert preview.detected is not None and preview.detected.flavour is crm
        assert len(preview.sample_rows) == 3
        assert all(len(row) == len(preview.headers) for row in preview.sample_rows)
        index = ContactIndex.build(parse_contacts_csv(text, preview.detected).contacts, "AU")
        rows = await preview_contact_attach(client, index, last_n=15)
        assert {"attaches", "attaches-after-normalising"} & {r.outcome for r in rows}, flavour


def test_mapping_step_corrects_columns_detection_missed(tmp_path: Path) -> None:
    path = tmp_path / "odd.csv"
    path.write_bytes("Who;Digits;Firm\r\nAl Smith;08 8123 4567;Acme\r\n".encode("cp1252"))
    text = read_contacts_text(path)
    preview = preview_contacts_csv(text)
    assert preview.headers == ("Who", "Digits", "Firm")
    assert preview.detected is None
    assert preview.problem is not None and "No phone number column" in preview.problem
    mapping = build_mapping(
        preview.headers, phone_columns=["Digits"], name_columns=["Who"], company_column="Firm"
    )
    assert mapping.phone_columns == (("Digits", "Digits"),)
    imported = parse_contacts_csv(text, mapping)
    assert [(c.name, c.company, c.phones[0].number) for c in imported.contacts] == [
        ("Al Smith", "Acme", "08 8123 4567")
    ]
    with pytest.raises(ContactsFileError, match="phone column 'Mobile' is not in the file"):
        build_mapping(preview.headers, phone_columns=["Mobile"])
    with pytest.raises(ContactsFileError, match="at least one phone number column"):
        build_mapping(preview.headers, phone_columns=[""])
    with pytest.raises(ContactsFileError, match="empty"):
        preview_contacts_csv("")


def test_phone_columns_keep_the_crm_labels() -> None:
    mapping = build_mapping(
        ["Name", "Mobile Phone Number", "Work Tel"],
        phone_columns=["Mobile Phone Number", "Work Tel", "Work Tel"],
    )
    assert mapping.phone_columns == (("Mobile Phone Number", "Mobile"), ("Work Tel", "Work Tel"))


async def test_bulk_fix_export_reimports_and_then_attaches(
    make_sim: SimFactory, connect: ClientFactory, tmp_path: Path
) -> None:
    sim = await make_sim(faults=["unnormalised-contacts"])
    client = await signed_in(connect, sim)
    imported = parse_contacts_csv(sim.crm_export_csv("hubspot"))
    index = ContactIndex.build(imported.contacts, "AU")
    fixes = index.bulk_fixes()
    assert fixes
    path = tmp_path / "fix.csv"
    path.write_text("old content")
    assert write_normalisation_csv(fixes, path) == len(fixes)
    text, table = read_export(path)
    assert tuple(table[0]) == CSV_HEADER
    assert len(table) == len(fixes) + 1
    for row, fix in zip(table[1:], fixes, strict=True):
        assert row == [fix.contact_id, fix.contact_name, fix.label, fix.stored, fix.e164]
        assert to_e164(fix.stored, "AU") == fix.e164 and fix.e164.startswith("+61")

    # The CRM re-imports the E.164 column onto the same records: the calls now attach.
    reimport = parse_contacts_csv(
        text,
        build_mapping(
            table[0],
            phone_columns=["E.164 number"],
            id_column="Contact ID",
            name_columns=["Contact"],
        ),
    )
    fixed_numbers: dict[str, list[str]] = {}
    for c in reimport.contacts:
        fixed_numbers.setdefault(c.id, []).append(c.phones[0].number)
    updated = [
        Contact(
            c.id,
            c.name,
            c.company,
            tuple(
                PhoneEntry(p.label, to_e164(p.number, "AU") or p.number)
                if c.id in fixed_numbers
                else p
                for p in c.phones
            ),
            c.source,
        )
        for c in imported.contacts
    ]
    rows = await preview_contact_attach(client, ContactIndex.build(updated, "AU"), last_n=30)
    assert "attaches-after-normalising" not in {r.outcome for r in rows}
    assert ContactIndex.build(updated, "AU").bulk_fixes() == []


def test_export_neutralises_spreadsheet_formulas_in_names(tmp_path: Path) -> None:
    path = tmp_path / "fix.csv"
    write_normalisation_csv(
        [NumberFix("=1+1", "@SUM(A1)", "Phone", "0412 345 678", "+61412345678")], path
    )
    row = list(csv.reader(path.read_text("utf-8-sig").splitlines()))[1]
    assert row == ["'=1+1", "'@SUM(A1)", "Phone", "0412 345 678", "+61412345678"]


def test_export_to_a_missing_folder_names_it(tmp_path: Path) -> None:
    with pytest.raises(NormalisationExportError, match="does not exist"):
        write_normalisation_csv([], tmp_path / "nope" / "fix.csv")
