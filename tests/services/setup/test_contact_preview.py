"""Step 8: the contact-attach preview, the column mapping step and the bulk-fix export."""

from __future__ import annotations

import asyncio
import csv
import io
from datetime import UTC, datetime
from pathlib import Path

import pytest

from app.domain.bridge import Bridge, BridgeIndex, ContactStore, NumberMatch
from app.domain.calls import CallDirection
from app.domain.contact_match import MatchKind, NumberFix
from app.domain.contacts import Contact, ContactSource, PhoneEntry
from app.domain.diagnosis import CheckId, CheckStatus
from app.domain.phones import NumberError, to_e164
from app.services.contacts.crm_import import (
    ContactsFileError,
    CrmFlavour,
    build_mapping,
    parse_contacts_csv,
    preview_contacts_csv,
    read_contacts_text,
)
from app.services.doctor import Doctor
from app.services.facts.options import DoctorOptions
from app.services.setup.contact_preview import (
    FixColumns,
    NormalisationExportError,
    attach_row,
    csv_header,
    fix_columns,
    preview_contact_attach,
    preview_contacts,
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


def crm_index(sim: Simulator, flavour: str = "hubspot") -> BridgeIndex:
    imported = parse_contacts_csv(sim.crm_export_csv(flavour))
    return BridgeIndex.build(imported.contacts, sim.tenant.country.code, Bridge())


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
    options = DoctorOptions(
        crm_contacts=imported.contacts, crm_record_ids=True, use_phonebook=False, region="AU"
    )
    preview = await preview_contacts(client, options, last_n=50)
    diagnosis = await Doctor(params_for(sim), sim.client_secret, options).run()
    cause_5 = diagnosis.result(CheckId.CONTACT_MATCH)
    doctor = {c["call_id"]: c for c in cause_5.details["calls"]}
    compared = 0
    for row in preview.rows:
        seen = doctor.get(row.call_id)
        if seen is None or seen["match"] == str(MatchKind.UNUSABLE):
            continue
        compared += 1
        assert OUTCOME_OF_KIND[MatchKind(seen["match"])] == row.outcome
        assert seen["e164"] == row.e164
        assert row.reason.startswith(seen["reason"])  # the doctor's words, then what to do
    assert compared >= 10


async def test_a_healthy_crm_attaches_and_the_phonebook_works_too(
    make_sim: SimFactory, connect: ClientFactory
) -> None:
    sim = await make_sim()
    client = await signed_in(connect, sim)
    rows = await preview_contact_attach(client, crm_index(sim, "zoho"), last_n=20)
    assert "attaches" in {r.outcome for r in rows}
    assert "attaches-after-normalising" not in {r.outcome for r in rows}
    phonebook = BridgeIndex.build(await client.contacts(), "AU", Bridge())
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
    ("direction", "raw", "outcome", "words", "match"),
    [
        (CallDirection.INTERNAL, "101", "internal", "internal call", NumberMatch.E164),
        (CallDirection.INBOUND, "", "invalid-number", "withheld", NumberMatch.E164),
        (CallDirection.INBOUND, "anonymous", "invalid-number", "withheld", NumberMatch.E164),
        (CallDirection.INBOUND, "Ext.101", "internal", "internal extension", NumberMatch.E164),
        (CallDirection.INBOUND, "102", "internal", "internal extension", NumberMatch.E164),
        (
            CallDirection.INBOUND,
            "not-a-number-at-all",
            "invalid-number",
            "not a phone number",
            NumberMatch.E164,
        ),
        # An E.164 bridge sees only Cy's number as stored; a normalising one sees both.
        (CallDirection.INBOUND, "+61 8 8123 4567", "attaches", "Attaches to Cy", NumberMatch.E164),
        (
            CallDirection.INBOUND,
            "+61 8 8123 4567",
            "ambiguous",
            "2 contacts share",
            NumberMatch.NORMALISED,
        ),
        (CallDirection.OUTBOUND, "0412 345 678", "attaches", "Attaches to Bo", NumberMatch.E164),
        (CallDirection.INBOUND, "+61299999999", "orphan", "new contact", NumberMatch.E164),
    ],
)
def test_each_outcome_says_why(
    direction: CallDirection, raw: str, outcome: str, words: str, match: NumberMatch
) -> None:
    index = BridgeIndex.build(
        [
            contact("1", "Al", "08 8123 4567"),
            contact("2", "Cy", "+61881234567"),
            contact("3", "Bo", "+61412345678"),
        ],
        "AU",
        Bridge.for_match(match),
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
        contacts = parse_contacts_csv(text, preview.detected).contacts
        index = BridgeIndex.build(contacts, "AU", Bridge())
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
    index = BridgeIndex.build(imported.contacts, "AU", Bridge(), record_ids=True)
    fixes = index.bulk_fixes()
    assert fixes
    columns = fix_columns(ContactStore.CRM, imported.mapping)
    assert columns == FixColumns("Record ID", "Email")  # HubSpot's own headers
    path = tmp_path / "fix.csv"
    path.write_text("old content")
    assert write_normalisation_csv(fixes, path, columns) == len(fixes)
    text, table = read_export(path)
    header = ("Record ID", "Contact", "Email", "Phone field", "Stored number", "E.164 number")
    assert tuple(table[0]) == csv_header(columns) == header
    assert len(table) == len(fixes) + 1
    records = {c.id: c for c in imported.contacts}
    for row, fix in zip(table[1:], fixes, strict=True):
        assert row == [fix.contact_id, fix.contact_name, fix.email, fix.label, fix.stored, fix.e164]
        # What the CRM finds the record by: its own id and email, never a row number.
        assert row[0] in records and not row[0].startswith("row")
        assert row[2] == records[row[0]].email and "@" in row[2]
        assert to_e164(fix.stored, "AU") == fix.e164 and fix.e164.startswith("+61")

    # The CRM re-imports the file by Record ID: each record's number becomes its E.164 form.
    reimport = parse_contacts_csv(
        text,
        build_mapping(
            table[0],
            phone_columns=["E.164 number"],
            id_column="Record ID",
            name_columns=["Contact"],
            email_column="Email",
        ),
    )
    fixed: dict[tuple[str, str], str] = {}
    for row in table[1:]:
        fixed[(row[0], row[4])] = row[5]
    assert {c.id for c in reimport.contacts} <= set(records)
    updated = [
        Contact(
            c.id,
            c.name,
            c.company,
            tuple(PhoneEntry(p.label, fixed.get((c.id, p.number), p.number)) for p in c.phones),
            c.source,
            c.email,
        )
        for c in imported.contacts
    ]
    after = BridgeIndex.build(updated, "AU", Bridge(), record_ids=True)
    rows = await preview_contact_attach(client, after, last_n=30)
    assert "attaches-after-normalising" not in {r.outcome for r in rows}
    assert "attaches" in {r.outcome for r in rows}
    assert after.bulk_fixes() == []


def test_an_export_without_a_record_id_column_writes_no_row_numbers(tmp_path: Path) -> None:
    text = "name,phone,email\r\nAl Smith,08 8123 4567,al@example.au\r\n"
    imported = parse_contacts_csv(text)
    assert imported.contacts[0].id == "row 2"  # the reader's own label for the row
    index = BridgeIndex.build(imported.contacts, "AU", Bridge())
    columns = fix_columns(ContactStore.CRM, imported.mapping)
    assert columns == FixColumns(None, "email")
    path = tmp_path / "fix.csv"
    write_normalisation_csv(index.bulk_fixes(), path, columns)
    _, table = read_export(path)
    assert table == [
        ["Contact", "email", "Phone field", "Stored number", "E.164 number"],
        ["Al Smith", "al@example.au", "Phone", "08 8123 4567", "+61881234567"],
    ]


def test_export_neutralises_spreadsheet_formulas_in_names(tmp_path: Path) -> None:
    path = tmp_path / "fix.csv"
    write_normalisation_csv(
        [NumberFix("=1+1", "@SUM(A1)", "Phone", "0412 345 678", "+61412345678", "-x@y")],
        path,
        FixColumns("Record ID", "Email"),
    )
    row = list(csv.reader(path.read_text("utf-8-sig").splitlines()))[1]
    assert row == ["'=1+1", "'@SUM(A1)", "'-x@y", "Phone", "0412 345 678", "+61412345678"]


def test_export_to_a_missing_folder_names_it(tmp_path: Path) -> None:
    with pytest.raises(NormalisationExportError, match="does not exist"):
        write_normalisation_csv([], tmp_path / "nope" / "fix.csv")


def _without_clock(evidence: tuple[str, ...]) -> list[str]:
    """The evidence but the window line, whose minutes move between two runs."""
    return [line for line in evidence if not line.startswith("Recent calls:")]


@pytest.mark.parametrize(
    ("faults", "match", "verdict"),
    [
        ([], NumberMatch.E164, CheckStatus.PASS),
        (["unnormalised-contacts"], NumberMatch.E164, CheckStatus.FAIL),
        (
            ["unnormalised-contacts", "phonebook-resolving=MatchLength:9"],
            NumberMatch.PHONEBOOK,
            CheckStatus.PASS,
        ),
        (["shared-numbers"], NumberMatch.E164, CheckStatus.WARN),
        (["unnormalised-contacts"], NumberMatch.PHONEBOOK, CheckStatus.FAIL),  # MatchExact
    ],
    ids=["healthy", "local-e164", "local-3cx-last-9", "local-3cx-exact", "shared-line"],
)
async def test_the_setup_preview_says_what_the_doctor_says(
    make_sim: SimFactory,
    connect: ClientFactory,
    faults: list[str],
    match: NumberMatch,
    verdict: CheckStatus,
) -> None:
    sim = await make_sim(faults=faults)
    imported = parse_contacts_csv(sim.crm_export_csv("hubspot"))
    options = DoctorOptions(
        crm_contacts=imported.contacts,
        crm_contacts_label="hubspot.csv (HubSpot)",
        crm_record_ids=True,
        bridge=Bridge.for_match(match),
    )
    preview = await preview_contacts(await signed_in(connect, sim), options, last_n=20)
    diagnosis = await Doctor(params_for(sim), sim.client_secret, options).run()
    doctor = diagnosis.result(CheckId.CONTACT_MATCH)

    assert doctor.status is verdict, doctor.finding
    assert preview.verdict.status is doctor.status
    assert preview.verdict.finding == doctor.finding
    assert preview.verdict.fix == doctor.fix
    assert _without_clock(preview.verdict.evidence) == _without_clock(doctor.evidence)
    assert preview.verdict.details == doctor.details
    assert preview.rows and preview.index is not None
    assert preview.index.bridge == Bridge.for_match(match)
