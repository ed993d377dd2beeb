import csv
import io
from pathlib import Path

import pytest

from app.domain.connection import ContactColumns
from app.domain.contact_match import ContactIndex, MatchKind
from app.domain.contacts import ContactSource, PhoneEntry
from app.services.contacts.crm_import import (
    MAX_PROBLEMS_KEPT,
    ColumnMapping,
    ContactsFileError,
    CrmFlavour,
    RowProblem,
    columns_of,
    detect_columns,
    parse_contacts_csv,
    preview_contacts_file,
    read_contacts_csv,
    read_contacts_for,
)
from app.sim.crm import FLAVOURS, export_csv
from app.sim.tenant import Tenant

HUBSPOT = FLAVOURS["hubspot"]


def csv_text(rows: list[list[str]], delimiter: str = ",") -> str:
    out = io.StringIO()
    csv.writer(out, delimiter=delimiter, lineterminator="\r\n").writerows(rows)
    return out.getvalue()


def hubspot_row(rid: str, first: str, phone: str, mobile: str = "") -> list[str]:
    return [rid, first, "Citizen", f"{first.lower()}@example.com", phone, mobile, "Acme", "2025"]


@pytest.mark.parametrize(
    ("flavour", "expected", "id_column", "names", "company", "phones"),
    [
        (
            "hubspot",
            CrmFlavour.HUBSPOT,
            "Record ID",
            ("First Name", "Last Name"),
            "Company Name",
            (("Phone Number", "Phone"), ("Mobile Phone Number", "Mobile")),
        ),
        (
            "salesforce",
            CrmFlavour.SALESFORCE,
            "Id",
            ("FirstName", "LastName"),
            None,  # AccountId is an id, not the company's name
            (("Phone", "Phone"), ("MobilePhone", "Mobile")),
        ),
        (
            "gohighlevel",
            CrmFlavour.GOHIGHLEVEL,
            "Contact Id",
            ("First Name", "Last Name"),
            "Business Name",
            (("Phone", "Phone"),),
        ),
        (
            "zoho",
            CrmFlavour.ZOHO,
            "Record Id",
            ("First Name", "Last Name"),
            "Account Name",
            (("Phone", "Phone"), ("Mobile", "Mobile")),
        ),
        (
            "generic",
            CrmFlavour.GENERIC,
            None,
            ("name",),
            "company",
            (("phone", "Phone"), ("mobile", "Mobile")),
        ),
    ],
)
def test_each_crm_is_recognised_by_its_export_headers(
    flavour: str,
    expected: CrmFlavour,
    id_column: str | None,
    names: tuple[str, ...],
    company: str | None,
    phones: tuple[tuple[str, str], ...],
) -> None:
    mapping = detect_columns(FLAVOURS[flavour])
    assert mapping == ColumnMapping(
        flavour=expected,
        id_column=id_column,
        name_columns=names,
        company_column=company,
        email_column=next(h for h in FLAVOURS[flavour] if h.lower() == "email"),
        phone_columns=phones,
    )


@pytest.mark.parametrize("flavour", sorted(FLAVOURS))
@pytest.mark.parametrize("country", ["AU", "US", "GB"])
def test_simulated_exports_load_every_contact(flavour: str, country: str) -> None:
    tenant = Tenant(seed=7, country=country, unnormalised_contacts=True)
    result = parse_contacts_csv(export_csv(tenant, flavour, unnormalised=True))

    assert result.problems == ()
    assert result.rows_read == len(tenant.contacts)
    assert [c.name for c in result.contacts] == [
        f"{t.first_name} {t.last_name}" for t in tenant.contacts
    ]
    assert all(c.source is ContactSource.CRM_EXPORT for c in result.contacts)
    assert len({c.id for c in result.contacts}) == len(tenant.contacts)
    # Every customer's true number finds their contact, however the export wrote it.
    index = ContactIndex.build(result.contacts, country)
    for customer, loaded in zip(tenant.contacts, result.contacts, strict=True):
        match = index.match(customer.e164)
        assert match.kind in (MatchKind.EXACT, MatchKind.NORMALISED, MatchKind.AMBIGUOUS)
        assert loaded in match.contacts


def test_hubspot_row_becomes_a_contact() -> None:
    text = csv_text([HUBSPOT, hubspot_row("101", "Jane", "08 8123 4567", "0412 345 678")])
    (jane,) = parse_contacts_csv(text).contacts
    assert jane.id == "101"
    assert jane.name == "Jane Citizen"
    assert jane.company == "Acme"
    assert jane.email == "jane@example.com"
    assert jane.phones == (
        PhoneEntry("Phone", "08 8123 4567"),
        PhoneEntry("Mobile", "0412 345 678"),
    )


@pytest.mark.parametrize(
    ("headers", "flavour", "phones"),
    [
        (
            [" record id ", "FIRST NAME", "last name", "Phone number", "mobile phone number"],
            CrmFlavour.HUBSPOT,
            (("Phone number", "Phone"), ("mobile phone number", "Mobile")),
        ),
        (
            ["Contact ID", "Full Name", "Account Name", "Phone", "Mobile", "Home Phone", "Email"],
            CrmFlavour.SALESFORCE,
            (("Phone", "Phone"), ("Mobile", "Mobile"), ("Home Phone", "Home")),
        ),
        (
            ["Id", "FirstName", "LastName", "Phone", "MobilePhone", "HomePhone", "OtherPhone"],
            CrmFlavour.SALESFORCE,
            (
                ("Phone", "Phone"),
                ("MobilePhone", "Mobile"),
                ("HomePhone", "Home"),
                ("OtherPhone", "Other"),
            ),
        ),
        (
            ["Record Id", "First Name", "Last Name", "Phone", "Mobile", "Home Phone", "Fax"],
            CrmFlavour.ZOHO,
            (("Phone", "Phone"), ("Mobile", "Mobile"), ("Home Phone", "Home")),
        ),
        (
            ["Contact Id", "First Name", "Last Name", "Business Name", "Phone", "Created"],
            CrmFlavour.GOHIGHLEVEL,
            (("Phone", "Phone"),),
        ),
        (
            ["Contact", "Tel.", "Cell #", "phone 1", "Phone 2", "Fax", "Phone Type", "Number"],
            CrmFlavour.GENERIC,
            (
                ("Tel.", "Phone"),
                ("Cell #", "Mobile"),
                ("phone 1", "phone 1"),
                ("Phone 2", "Phone 2"),
                ("Number", "Phone"),
            ),
        ),
        (
            ["Name", "Telephone", "Work Phone Ext", "Phone Opt Out"],
            CrmFlavour.GENERIC,
            (("Telephone", "Phone"),),
        ),
    ],
)
def test_header_variations_are_tolerated(
    headers: list[str], flavour: CrmFlavour, phones: tuple[tuple[str, str], ...]
) -> None:
    mapping = detect_columns(headers)
    assert mapping.flavour is flavour
    assert mapping.phone_columns == phones


def test_full_name_column_is_used_when_there_is_no_first_and_last() -> None:
    mapping = detect_columns(["Contact ID", "Full Name", "Phone"])
    assert mapping.name_columns == ("Full Name",)
    assert mapping.id_column == "Contact ID"


def test_no_phone_column_says_which_columns_it_found_and_what_it_needs() -> None:
    with pytest.raises(ContactsFileError) as caught:
        detect_columns(["Record ID", "First Name", "Email", "Fax"])
    message = str(caught.value)
    assert "No phone number column" in message
    assert "'Record ID', 'First Name', 'Email', 'Fax'" in message
    assert "'Phone'" in message


def test_no_phone_column_in_a_file_is_the_same_clear_error() -> None:
    with pytest.raises(ContactsFileError, match=r"No phone number column.*'Name', 'Email'"):
        parse_contacts_csv("Name,Email\r\nJane,jane@example.com\r\n")


def test_a_row_with_the_wrong_field_count_is_reported_and_its_neighbours_kept() -> None:
    text = csv_text(
        [
            HUBSPOT,
            hubspot_row("1", "Ann", "08 8123 0001"),
            ["2", "Bob", "Citizen", "bob@example.com", "08 8123 0002"],
            hubspot_row("3", "Cat", "08 8123 0003"),
        ]
    )
    result = parse_contacts_csv(text)
    assert [c.id for c in result.contacts] == ["1", "3"]
    assert result.problems == (RowProblem(3, "wrong number of fields (5, expected 8)"),)
    assert result.rows_read == 3


def test_a_row_without_any_phone_number_is_reported() -> None:
    text = csv_text([HUBSPOT, hubspot_row("1", "Ann", ""), hubspot_row("2", "Bob", "0881230002")])
    result = parse_contacts_csv(text)
    assert [c.id for c in result.contacts] == ["2"]
    assert result.problems == (RowProblem(2, "no phone number"),)


def test_quoted_fields_with_line_breaks_keep_the_line_numbers_right() -> None:
    text = csv_text(
        [
            HUBSPOT,
            ["1", "Ann", "Citizen", "", "08 8123 0001", "", "Acme\nPty\nLtd", "2025"],
            ["2", "Bob", "Citizen"],
            hubspot_row("3", "Cat", "08 8123 0003"),
        ]
    )
    result = parse_contacts_csv(text)
    assert [c.company for c in result.contacts] == ["Acme\nPty\nLtd", "Acme"]
    assert result.problems == (RowProblem(5, "wrong number of fields (3, expected 8)"),)


def test_an_unbalanced_quote_loses_only_its_own_row() -> None:
    lines = [
        ",".join(HUBSPOT),
        "1,Ann,Citizen,,08 8123 0001,,Acme,2025",
        '2,"Bob,Citizen,,08 8123 0002,,Acme,2025',
        "3,Cat,Citizen,,08 8123 0003,,Acme,2025",
        "4,Dan,Citizen,,08 8123 0004,,Acme,2025",
    ]
    result = parse_contacts_csv("\r\n".join(lines) + "\r\n")
    assert [c.id for c in result.contacts] == ["1", "3", "4"]
    assert len(result.problems) == 1
    assert result.problems[0].line == 3
    assert "unbalanced quote" in result.problems[0].message


def test_two_stray_quotes_do_not_merge_the_rows_between_them() -> None:
    # The second stray quote closes the first one's field, leaving a row of the right width.
    lines = [
        ",".join(HUBSPOT),
        '1,"Ann,Citizen,,08 8123 0001,,Acme,2025',
        "2,Bob,Citizen,,08 8123 0002,,Acme,2025",
        '3,"Cat,Citizen,,08 8123 0003,,Acme,2025',
        "4,Dan,Citizen,,08 8123 0004,,Acme,2025",
    ]
    result = parse_contacts_csv("\r\n".join(lines) + "\r\n")
    assert [c.id for c in result.contacts] == ["2", "4"]
    assert [p.line for p in result.problems] == [2, 4]


def test_a_nul_byte_loses_only_its_own_row() -> None:
    text = csv_text(
        [
            HUBSPOT,
            hubspot_row("1", "Ann", "08 8123 0001"),
            hubspot_row("2", "B\0b", "08 8123 0002"),
            hubspot_row("3", "Cat", "08 8123 0003"),
        ]
    )
    result = parse_contacts_csv(text)
    assert [c.id for c in result.contacts] == ["1", "3"]
    assert [(p.line, "NUL byte" in p.message) for p in result.problems] == [(3, True)]


def test_blank_lines_and_empty_trailing_rows_are_ignored() -> None:
    text = csv_text([HUBSPOT, hubspot_row("1", "Ann", "08 8123 0001")])
    text += "\r\n,,,,,,,\r\n\r\n"
    result = parse_contacts_csv(text)
    assert len(result.contacts) == 1
    assert result.problems == ()
    assert result.rows_read == 1


def test_rows_without_an_id_column_are_named_by_their_line() -> None:
    text = "name,phone\r\nAnn,08 8123 0001\r\nBob,08 8123 0002\r\n"
    assert [c.id for c in parse_contacts_csv(text).contacts] == ["row 2", "row 3"]


def test_utf8_bom_is_not_part_of_the_first_header(tmp_path: Path) -> None:
    path = tmp_path / "hubspot.csv"
    text = csv_text([HUBSPOT, hubspot_row("1", "Zoë", "08 8123 0001")])
    path.write_bytes(text.encode("utf-8-sig"))
    result = read_contacts_csv(path)
    assert result.mapping.id_column == "Record ID"
    assert [(c.id, c.name) for c in result.contacts] == [("1", "Zoë Citizen")]


def test_excel_semicolons_and_cp1252(tmp_path: Path) -> None:
    # European Excel: ";" between fields, "," inside them, saved in the ANSI code page.
    path = tmp_path / "zoho.csv"
    rows = [
        FLAVOURS["zoho"],
        ["5001", "Renée", "Müller", "Café Crème, Ltd", "r@example.com", "08 8123 0001", "", "x"],
    ]
    path.write_bytes(csv_text(rows, delimiter=";").encode("cp1252"))
    result = read_contacts_csv(path)
    assert result.mapping.flavour is CrmFlavour.ZOHO
    (renee,) = result.contacts
    assert (renee.name, renee.company) == ("Renée Müller", "Café Crème, Ltd")
    assert renee.phones == (PhoneEntry("Phone", "08 8123 0001"),)


def test_excel_sep_line_and_tabs() -> None:
    text = "sep=\t\r\n" + csv_text([["Name", "Phone"], ["Ann", "08 8123 0001"]], delimiter="\t")
    result = parse_contacts_csv(text)
    assert [(c.name, c.id) for c in result.contacts] == [("Ann", "row 3")]


def test_excel_unicode_text_is_utf16_with_tabs(tmp_path: Path) -> None:
    path = tmp_path / "contacts.txt"
    text = csv_text([["Name", "Mobile"], ["Zoë", "0412 345 678"]], delimiter="\t")
    path.write_bytes(text.encode("utf-16"))
    (zoe,) = read_contacts_csv(path).contacts
    assert zoe.phones == (PhoneEntry("Mobile", "0412 345 678"),)


def test_an_explicit_mapping_overrides_detection() -> None:
    mapping = ColumnMapping(
        flavour=CrmFlavour.GENERIC,
        id_column=None,
        name_columns=("Who",),
        company_column=None,
        email_column=None,
        phone_columns=(("Digits", "Phone"),),
    )
    result = parse_contacts_csv("Who,Digits\r\nAnn,08 8123 0001\r\n", mapping)
    assert result.mapping is mapping
    assert result.contacts[0].phones == (PhoneEntry("Phone", "08 8123 0001"),)


def test_a_mapping_naming_a_missing_column_says_so() -> None:
    mapping = detect_columns(["Name", "Phone"])
    with pytest.raises(ContactsFileError, match=r"'Phone' is not in the file.*'Name', 'Tel'"):
        parse_contacts_csv("Name,Tel\r\nAnn,08 8123 0001\r\n", mapping)


@pytest.mark.parametrize("text", ["", "\r\n\r\n", "\ufeff", ",,,\r\n"])
def test_an_empty_file_says_so(text: str) -> None:
    with pytest.raises(ContactsFileError, match="empty"):
        parse_contacts_csv(text)


def test_an_unreadable_file_says_so(tmp_path: Path) -> None:
    with pytest.raises(ContactsFileError, match=r"Cannot read .*missing\.csv"):
        read_contacts_csv(tmp_path / "missing.csv")


@pytest.mark.parametrize(
    ("start", "kind"),
    [(b"PK\x03\x04", "Excel workbook"), (b"\xd0\xcf\x11\xe0", ".xls"), (b"%PDF-1.7", "PDF")],
)
def test_a_workbook_is_not_a_csv(tmp_path: Path, start: bytes, kind: str) -> None:
    path = tmp_path / "contacts.csv"
    path.write_bytes(start + b"\0\0binary")
    with pytest.raises(ContactsFileError, match=f"{kind}.*not a CSV file.*CSV UTF-8"):
        read_contacts_csv(path)


def test_a_large_export_loads_with_its_broken_rows_reported() -> None:
    rows = [HUBSPOT] + [hubspot_row(str(i), "Ann", f"08 8123 {i:04d}") for i in range(5000)]
    rows[2500] = ["broken"]
    result = parse_contacts_csv(csv_text(rows))
    assert len(result.contacts) == 4999
    assert result.problems == (RowProblem(2501, "wrong number of fields (1, expected 8)"),)


def test_a_mapping_kept_with_the_connection_reads_the_file_the_same_way(tmp_path: Path) -> None:
    export = tmp_path / "crm.csv"
    export.write_text(
        "Full Name,Main Line,Notes\nJane Smith,0412 345 678,VIP\nBob Jones,(02) 9000 1234,\n",
        encoding="utf-8",
    )
    with pytest.raises(ContactsFileError, match="phone"):
        read_contacts_for(export, None)  # detection finds no phone column here
    columns = ContactColumns(phone=("Main Line",), name=("Full Name",))
    imported = read_contacts_for(export, columns)
    assert {c.name for c in imported.contacts} == {"Jane Smith", "Bob Jones"}
    assert columns_of(imported.mapping) == columns

    # The CRM's next export renamed the column: say which one, never match against nothing.
    export.write_text("Full Name,Phone Number\nJane Smith,0412 345 678\n", encoding="utf-8")
    with pytest.raises(ContactsFileError, match="'Main Line' is not in the file"):
        read_contacts_for(export, columns)


# ---- broken rows: bounded, counted, and named ----------------------------------------------


def test_every_broken_row_is_counted_though_only_the_first_are_described() -> None:
    rows = [HUBSPOT, hubspot_row("1", "Ann", "08 8123 0001")]
    rows += [["broken", "row"] for _ in range(MAX_PROBLEMS_KEPT + 50)]
    rows.append(hubspot_row("2", "Bob", "08 8123 0002"))
    result = parse_contacts_csv(csv_text(rows))
    assert [c.id for c in result.contacts] == ["1", "2"]
    assert len(result.problems) == MAX_PROBLEMS_KEPT
    assert result.skipped == MAX_PROBLEMS_KEPT + 50
    assert result.problem_kinds == (("wrong number of fields", MAX_PROBLEMS_KEPT + 50),)
    assert result.problem_summary() == (
        "150 rows skipped (150 wrong number of fields): line 3, 4, 5, 6, 7 and more."
    )


def test_a_clean_file_has_no_summary() -> None:
    result = parse_contacts_csv(csv_text([HUBSPOT, hubspot_row("1", "Ann", "08 8123 0001")]))
    assert (result.skipped, result.problem_summary()) == (0, None)


def test_a_ten_megabyte_line_is_a_broken_row_not_a_contact(tmp_path: Path) -> None:
    path = tmp_path / "crm.csv"
    rows = [HUBSPOT, hubspot_row("1", "Ann", "08 8123 0001")]
    rows.append([*hubspot_row("2", "Bob", "08 8123 0002")[:-1], "x" * 10_000_000])
    rows.append(hubspot_row("3", "Cat", "08 8123 0003"))
    path.write_text(csv_text(rows), encoding="utf-8")
    result = read_contacts_csv(path)
    assert [c.id for c in result.contacts] == ["1", "3"]
    (problem,) = result.problems
    assert (problem.line, problem.kind) == (3, "line too long")
    assert "over 1,000,000 characters" in problem.message


def test_a_huge_quoted_cell_over_lines_loses_only_its_row() -> None:
    note = "\n".join("y" * 1000 for _ in range(200))  # 200 kB over 200 lines
    rows = [HUBSPOT, hubspot_row("1", "Ann", "08 8123 0001")]
    rows.append(["2", "Bob", "Citizen", "", "08 8123 0002", "", note, "2025"])
    rows.append(hubspot_row("3", "Cat", "08 8123 0003"))
    result = parse_contacts_csv(csv_text(rows))
    assert [c.id for c in result.contacts] == ["1", "3"]
    assert [p.line for p in result.problems][:1] == [3]
    assert result.problems[0].kind == "not valid CSV"
    assert "a cell over 131,072 characters" in result.problems[0].message


def test_a_name_cell_too_long_to_be_a_name_breaks_its_row() -> None:
    rows = [HUBSPOT, hubspot_row("1", "A" * 5000, "08 8123 0001")]
    rows.append(hubspot_row("2", "Bob", "08 8123 0002"))
    result = parse_contacts_csv(csv_text(rows))
    assert [c.id for c in result.contacts] == ["2"]
    assert result.problems == (
        RowProblem(
            2,
            "the 'First Name' cell is 5,000 characters long (more than 1,000 is not contact data)",
        ),
    )


def test_a_400_digit_number_is_an_invalid_number_row() -> None:
    rows = [HUBSPOT, hubspot_row("1", "Ann", "9" * 400), hubspot_row("2", "Bob", "08 8123 0002")]
    result = parse_contacts_csv(csv_text(rows))
    assert [c.id for c in result.contacts] == ["2"]
    (problem,) = result.problems
    assert problem.kind == "invalid phone number"
    assert problem.message == (
        "the 'Phone Number' cell is not a phone number (400 characters, 400 digits)"
    )


def test_a_windows_row_deep_in_a_utf8_file_is_read_as_windows_1252(tmp_path: Path) -> None:
    # The encoding is told from the first 64 KB: a pasted-in cp1252 row far below still reads.
    path = tmp_path / "crm.csv"
    rows = [HUBSPOT] + [hubspot_row(str(i), "Zoë", f"08 8123 {i:04d}") for i in range(2000)]
    data = csv_text(rows).encode("utf-8")
    data += csv_text([hubspot_row("9001", "Renée", "08 8123 9001")]).encode("cp1252")
    data += csv_text([hubspot_row("9002", "Bad\x81Byte", "08 8123 9002")]).encode("latin-1")
    path.write_bytes(data)
    result = read_contacts_csv(path)
    assert result.encoding == "utf-8"
    names = {c.id: c.name for c in result.contacts}
    assert (names["0"], names["9001"]) == ("Zoë Citizen", "Renée Citizen")
    assert "9002" not in names
    (problem,) = result.problems
    assert (problem.line, problem.kind) == (2003, "encoding")
    assert "neither UTF-8 nor Windows-1252" in problem.message


def test_the_preview_of_a_file_reads_its_first_rows(tmp_path: Path) -> None:
    path = tmp_path / "crm.csv"
    rows = [HUBSPOT] + [hubspot_row(str(i), "Ann", f"08 8123 {i:04d}") for i in range(50)]
    path.write_text(csv_text(rows), encoding="utf-8")
    preview = preview_contacts_file(path, sample=3)
    assert preview.headers == tuple(HUBSPOT)
    assert [row[0] for row in preview.sample_rows] == ["0", "1", "2"]
    assert preview.detected is not None and preview.detected.flavour is CrmFlavour.HUBSPOT
