"""Reading CRM activity exports: each CRM's shape, a corrected mapping, zones and regions,
broken rows counted with their row numbers, and the kinds a missed-call workflow writes."""

from __future__ import annotations

import csv
import tracemalloc
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from app.domain.calls import CallDirection
from app.domain.phones import NumberError
from app.domain.reconcile.records import ActivityKind, CrmActivity
from app.services.contacts.crm_import import CrmFlavour
from app.services.reconcile.activity_columns import ActivityColumns, ActivityColumnsError
from app.services.reconcile.crm_activities import (
    ActivitiesFileError,
    ActivityProblem,
    iter_crm_activities,
    preview_crm_activities,
    read_crm_activities,
)
from tests.services.reconcile.exports import (
    HUBSPOT,
    SALESFORCE,
    SHEET,
    ZOHO,
    csv_text,
    one_row,
    write_csv,
)

SYDNEY = ZoneInfo("Australia/Sydney")
CHICAGO = ZoneInfo("America/Chicago")
GUID = "00000000-01dc-0000-0000-0000000008c6"


ANN = CrmActivity(
    row=1,
    at=datetime(2026, 11, 18, 11, 1, tzinfo=SYDNEY),
    phone="0412 345 678",
    phone_e164="+61412345678",
    direction=CallDirection.INBOUND,
    contact="Ann Citizen",
    recording_link="https://api.hubspot.com/rec/1.mp3",
    call_id=GUID,
    kind=ActivityKind.CALL,
    new_contact=False,
)


def hubspot_row(**cells: str) -> list[str]:
    """A row of HubSpot's export, by header (``Activity_date`` for "Activity date")."""
    named = {key.replace("_", " "): value for key, value in cells.items()}
    return [named.get(header, "") for header in HUBSPOT]


def test_a_hubspot_calls_export(tmp_path: Path) -> None:
    rows = [
        hubspot_row(
            Activity_date="2026-11-18 11:01",
            Activity_type="Call",
            Call_direction="INBOUND",
            Phone_number="0412 345 678",
            Associated_Contact="Ann Citizen",
            Call_recording_URL="https://api.hubspot.com/rec/1.mp3",
            Call_notes=f"Logged by the bridge. 3CX call id: {GUID}",
        ),
        hubspot_row(
            Activity_date="2026-11-18 11:05",
            Activity_type="Task",
            Phone_number="+61 2 9876 5432",
            Associated_Contact="Bob Ng",
            Contact_created_by="3CX bridge",
        ),
    ]
    export = write_csv(tmp_path / "hubspot.csv", [HUBSPOT, *rows])
    read = read_crm_activities(export, zone=SYDNEY, region="AU")
    assert read.flavour is CrmFlavour.HUBSPOT
    assert read.activities == (
        ANN,
        CrmActivity(
            row=2,
            at=datetime(2026, 11, 18, 11, 5, tzinfo=SYDNEY),
            phone="+61 2 9876 5432",
            phone_e164="+61298765432",
            direction=None,
            contact="Bob Ng",
            kind=ActivityKind.TASK,
            new_contact=True,
        ),
    )
    counts = read.counts
    assert (counts.rows, counts.activities, counts.problem_rows, counts.encoding) == (
        2,
        2,
        0,
        "utf-8",
    )
    assert counts.problem_summary() is None


SF_DAY = ["00T1", "2026-11-18"]
CARLA = ["Carla Diaz", "", "261118110003_2246", "Call"]
MISSED = ["", "", "", "Task"]
EMAIL = ["Dan", "", "", "Email"]


def test_a_salesforce_task_export(tmp_path: Path) -> None:
    export = write_csv(
        tmp_path / "salesforce.csv",
        [
            SALESFORCE,
            [*SF_DAY, "2026-11-18T00:31:02.000+0000", "Call", "Outbound", "(312) 555-0134", *CARLA],
            [
                *SF_DAY,
                "2026-11-18T00:40:00.000+0000",
                "Missed call",
                "Inbound",
                "312-555-0199",
                *MISSED,
            ],
            [*SF_DAY, "2026-11-18T00:41:00.000+0000", "Follow up", "", "", *EMAIL],
        ],
    )
    read = read_crm_activities(export, zone=CHICAGO, region="US")
    assert read.flavour is CrmFlavour.SALESFORCE
    first, missed, email = read.activities
    assert first.at == datetime(2026, 11, 18, 0, 31, 2, tzinfo=UTC)
    assert (first.phone_e164, first.direction, first.contact) == (
        "+13125550134",
        CallDirection.OUTBOUND,
        "Carla Diaz",
    )
    assert (first.call_id, first.kind) == ("261118110003_2246", ActivityKind.CALL)
    assert (missed.direction, missed.kind, missed.contact) == (
        CallDirection.INBOUND,
        ActivityKind.TASK,
        None,
    )
    assert (email.kind, email.phone, email.phone_e164) == (ActivityKind.EMAIL, None, None)
    assert read.counts.problem_rows == 0


def test_a_zoho_calls_export(tmp_path: Path) -> None:
    export = write_csv(
        tmp_path / "zoho.csv",
        [
            ZOHO,
            ["18/11/2026 11:01 AM", "Inbound", "02 9876 5432", "Eve", "https://z/r/9", "8812"],
            ["18/11/2026 02:15 PM", "Missed", "0412345678", "Fay", "", ""],
        ],
    )
    read = read_crm_activities(export, zone=SYDNEY, region="AU")
    assert read.flavour is CrmFlavour.ZOHO
    answered, missed = read.activities
    assert answered.at == datetime(2026, 11, 18, 11, 1, tzinfo=SYDNEY)
    assert (answered.call_id, answered.recording_link, answered.phone_e164) == (
        "8812",
        "https://z/r/9",
        "+61298765432",
    )
    assert missed.at == datetime(2026, 11, 18, 14, 15, tzinfo=SYDNEY)
    assert (missed.direction, missed.kind) == (CallDirection.INBOUND, ActivityKind.CALL)


def test_a_generic_sheet_with_date_and_time_in_two_columns(tmp_path: Path) -> None:
    export = write_csv(
        tmp_path / "ghl.csv",
        [
            SHEET,
            ["18/11/2026", "11:01:30", "incoming", "0412 345 678", "Gus", "", GUID.upper(), "call"],
            ["18/11/2026", "9:05 pm", "outgoing", "0298765432", "Hal", "", "", "SMS"],
            ["2026-11-19", "", "incoming", "0412 345 678", "Gus", "", "", "Email"],
        ],
    )
    read = read_crm_activities(export, zone=SYDNEY, region="AU")
    assert read.flavour is CrmFlavour.GENERIC
    call, sms, email = read.activities
    assert call.at == datetime(2026, 11, 18, 11, 1, 30, tzinfo=SYDNEY)
    assert call.call_id == GUID  # ids are compared in lower case
    assert (sms.at, sms.direction, sms.kind) == (
        datetime(2026, 11, 18, 21, 5, tzinfo=SYDNEY),
        CallDirection.OUTBOUND,
        ActivityKind.SMS,
    )
    assert (email.at, email.kind) == (None, ActivityKind.EMAIL)
    assert read.counts.problems == [
        ActivityProblem(
            3, 4, "'2026-11-19' is a date without a time of day", "date without time", True
        )
    ]


@pytest.mark.parametrize(
    ("written", "kind"),
    [
        ("Call", ActivityKind.CALL),
        ("Logged call", ActivityKind.CALL),
        ("TASK", ActivityKind.TASK),
        ("To-do", ActivityKind.TASK),
        ("SMS", ActivityKind.SMS),
        ("Text message", ActivityKind.SMS),
        ("Email", ActivityKind.EMAIL),
        ("E-mail", ActivityKind.EMAIL),
        ("Meeting", ActivityKind.OTHER),
        ("", ActivityKind.CALL),  # a calls export names no kind
    ],
)
def test_kinds_and_which_are_a_workflows_triggers(
    tmp_path: Path, written: str, kind: ActivityKind
) -> None:
    export = one_row(tmp_path, "Activity type", written)
    (activity,) = read_crm_activities(export, zone=SYDNEY, region="AU").activities
    assert activity.kind is kind
    assert activity.kind.is_trigger == (
        kind in (ActivityKind.TASK, ActivityKind.SMS, ActivityKind.EMAIL)
    )


def test_times_without_a_zone_are_in_the_crms_zone_and_written_zones_win(tmp_path: Path) -> None:
    export = write_csv(
        tmp_path / "zones.csv",
        [
            ["Activity date", "Phone number"],
            ["2026-11-18 11:01", "0412345678"],
            ["2026-11-18T00:01:00Z", "0412345678"],
            ["2026-11-18 11:01 +05:30", "0412345678"],
        ],
    )
    in_sydney = read_crm_activities(export, zone=SYDNEY, region="AU").activities
    in_chicago = read_crm_activities(export, zone=CHICAGO, region="AU").activities
    assert in_sydney[0].at == datetime(2026, 11, 18, 11, 1, tzinfo=SYDNEY)
    assert in_chicago[0].at == datetime(2026, 11, 18, 11, 1, tzinfo=CHICAGO)
    assert [a.at for a in in_sydney[1:]] == [a.at for a in in_chicago[1:]]
    assert in_sydney[1].at == datetime(2026, 11, 18, 0, 1, tzinfo=UTC)


def test_day_and_month_order_follows_the_region_unless_the_mapping_says(tmp_path: Path) -> None:
    export = write_csv(
        tmp_path / "dates.csv",
        [["Activity date", "Phone number"], ["03/04/2026 10:00", "+61412345678"]],
    )
    australian = read_crm_activities(export, zone=SYDNEY, region="AU").activities[0].at
    american = read_crm_activities(export, zone=SYDNEY, region="US").activities[0].at
    assert (australian, american) == (
        datetime(2026, 4, 3, 10, 0, tzinfo=SYDNEY),
        datetime(2026, 3, 4, 10, 0, tzinfo=SYDNEY),
    )
    columns = ActivityColumns(time="Activity date", phone="Phone number", day_first=False)
    told = read_crm_activities(export, zone=SYDNEY, region="AU", columns=columns)
    assert told.activities[0].at == american


def test_a_mapping_override_reads_columns_detection_would_miss(tmp_path: Path) -> None:
    export = write_csv(
        tmp_path / "odd.csv",
        [
            ["When", "Who rang", "Way", "Person", "Audio", "Ref", "Sort", "Brand new"],
            ["2026-11-18 11:01", "0412 345 678", "in", "Ida", "https://r/1", "8812", "sms", "yes"],
        ],
    )
    with pytest.raises(ActivityColumnsError, match="Nothing to match"):
        read_crm_activities(export, zone=SYDNEY, region="AU")
    columns = ActivityColumns(
        time="When",
        phone="Who rang",
        direction="Way",
        contact="Person",
        recording="Audio",
        call_id="Ref",
        kind="Sort",
        new_contact="Brand new",
    )
    remembered = ActivityColumns.from_json(columns.as_json())
    read = read_crm_activities(export, zone=SYDNEY, region="AU", columns=remembered)
    assert read.columns == columns
    assert read.activities == (
        replace(
            ANN,
            contact="Ida",
            recording_link="https://r/1",
            call_id="8812",
            kind=ActivityKind.SMS,
            new_contact=True,
        ),
    )


def test_a_mapping_naming_a_column_the_file_lacks_is_refused(tmp_path: Path) -> None:
    export = write_csv(tmp_path / "a.csv", [["Activity date", "Phone"], ["2026-11-18 10:00", "1"]])
    with pytest.raises(ActivityColumnsError, match=r"The call id column 'CallObject' is not"):
        read_crm_activities(
            export, zone=SYDNEY, region="AU", columns=ActivityColumns(call_id="CallObject")
        )


def test_from_and_to_numbers_are_read_by_direction(tmp_path: Path) -> None:
    export = write_csv(
        tmp_path / "fromto.csv",
        [
            ["Activity date", "Call direction", "From number", "To number"],
            ["2026-11-18 11:01", "INBOUND", "0412 345 678", "02 9000 0001"],
            ["2026-11-18 11:02", "OUTBOUND", "02 9000 0001", "0412 345 679"],
            ["2026-11-18 11:03", "INBOUND", "", "02 9000 0001"],  # withheld: not the DID
            ["2026-11-18 11:04", "", "0412 345 670", ""],
        ],
    )
    read = read_crm_activities(export, zone=SYDNEY, region="AU")
    assert [a.phone_e164 for a in read.activities] == [
        "+61412345678",
        "+61412345679",
        None,
        "+61412345670",
    ]


def test_broken_rows_are_counted_with_their_row_numbers(tmp_path: Path) -> None:
    export = write_csv(
        tmp_path / "broken.csv",
        [
            ["Activity date", "Phone number", "Associated Contact"],
            ["2026-11-18 11:01", "0412 345 678", "Ann"],
            ["2026-11-18 11:02", "0412 345 678"],  # a field short
            ["next Tuesday", "0412 345 678", "Bob"],
            [],  # a blank line is no row
            ["2026-11-18 11:04", "banana", "Cat"],
            ["", "0412 345 678", "Dee"],
            ["soon", "x" * 500, "Eve"],
            ["2026-11-18 11:06", "0412 345 678", "Fin"],
        ],
    )
    read = read_crm_activities(export, zone=SYDNEY, region="AU")
    assert [a.contact for a in read.activities] == ["Ann", "Bob", "Cat", "Dee", "Eve", "Fin"]
    assert [a.row for a in read.activities] == [1, 3, 4, 5, 6, 7]
    counts = read.counts
    assert counts.problems == [
        ActivityProblem(
            2, 3, "wrong number of fields (2, expected 3)", "wrong number of fields", False
        ),
        ActivityProblem(3, 4, "the time 'next Tuesday' cannot be read", "unreadable time", True),
        ActivityProblem(
            4,
            6,
            "the number 'banana' in 'Phone number' is not a phone number",
            "unreadable number",
            True,
        ),
        ActivityProblem(5, 7, "the 'Activity date' cell is empty", "no time", True),
        ActivityProblem(
            6,
            8,
            "the time 'soon' cannot be read; the 'Phone number' cell is not a phone number",
            "unreadable time",
            True,
        ),
    ]
    bob, cat, eve = read.activities[1], read.activities[2], read.activities[4]
    assert (bob.at, bob.phone_e164) == (None, "+61412345678")
    assert (cat.phone, cat.phone_e164) == ("banana", None)
    assert (eve.phone, eve.phone_e164) == (None, None)
    assert (counts.rows, counts.activities, counts.problem_rows, counts.dropped) == (7, 6, 5, 1)
    assert counts.problem_kinds == {
        "wrong number of fields": 1,
        "unreadable time": 2,
        "unreadable number": 2,
        "no time": 1,
    }
    assert counts.problem_summary() == (
        "5 rows with problems (2 unreadable time, 2 unreadable number, 1 wrong number of fields, "
        "1 no time), 1 of them skipped: row 2, 3, 4, 5, 6."
    )


def test_a_stray_quote_breaks_one_row_not_the_file(tmp_path: Path) -> None:
    export = tmp_path / "quote.csv"
    export.write_text(
        "Activity date,Phone number,Associated Contact\r\n"
        '2026-11-18 11:01,0412 345 678,"Ann\r\n'
        "2026-11-18 11:02,0412 345 679,Bob\r\n"
        "2026-11-18 11:03,0412 345 670,Cat\r\n",
        encoding="utf-8",
        newline="",
    )
    read = read_crm_activities(export, zone=SYDNEY, region="AU")
    assert [a.contact for a in read.activities] == ["Bob", "Cat"]
    assert [(p.row, p.line, p.kept) for p in read.counts.problems] == [(1, 2, False)]


def test_excel_exports_bom_semicolons_sep_line_and_cp1252(tmp_path: Path) -> None:
    rows = [
        ["Activity date", "Phone number", "Associated Contact"],
        ["18/11/2026 11:01", "0412345678", "Zoë"],
    ]
    text = csv_text(rows, delimiter=";")
    excel = tmp_path / "excel.csv"
    excel.write_bytes(b"sep=;\r\n" + text.encode("cp1252"))
    bom = tmp_path / "bom.csv"
    bom.write_bytes(b"\xef\xbb\xbf" + text.encode())
    for path, encoding in ((excel, "cp1252"), (bom, "utf-8")):
        read = read_crm_activities(path, zone=SYDNEY, region="AU")
        assert [(a.contact, a.phone_e164) for a in read.activities] == [("Zoë", "+61412345678")]
        assert read.counts.encoding == encoding
        assert read.columns.time == "Activity date"


def test_a_call_id_in_the_notes_needs_a_label_with_id(tmp_path: Path) -> None:
    export = write_csv(
        tmp_path / "notes.csv",
        [
            ["Activity date", "Phone number", "Call notes"],
            ["2026-11-18 11:01", "0412345678", "Bridge: 3CX call id: 8812"],
            ["2026-11-18 11:02", "0412345678", "Asked to call 2 days later"],
            ["2026-11-18 11:03", "0412345678", f"logged {GUID}"],
        ],
    )
    read = read_crm_activities(export, zone=SYDNEY, region="AU")
    assert [a.call_id for a in read.activities] == ["8812", None, GUID]


def test_a_signed_recording_link_keeps_no_signature(tmp_path: Path) -> None:
    link = "https://s3.example.com/r/1.wav?X-Amz-Credential=AKIA1&X-Amz-Signature=deadbeef&v=1"
    export = one_row(tmp_path, "Call recording URL", link)
    (activity,) = read_crm_activities(export, zone=SYDNEY, region="AU").activities
    assert activity.recording_link == (
        "https://s3.example.com/r/1.wav?X-Amz-Credential=***&X-Amz-Signature=***&v=1"
    )
    preview = preview_crm_activities(export)
    assert "deadbeef" not in repr(preview.sample_rows)


@pytest.mark.parametrize(
    ("written", "created"),
    [("3CX bridge", True), ("Integration: 3CX", True), ("Jane Smith", False), ("", False)],
)
def test_contact_created_by_the_bridge(tmp_path: Path, written: str, created: bool) -> None:
    export = one_row(tmp_path, "Contact created by", written)
    (activity,) = read_crm_activities(export, zone=SYDNEY, region="AU").activities
    assert activity.new_contact is created


@pytest.mark.parametrize(("written", "created"), [("yes", True), ("TRUE", True), ("no", False)])
def test_a_new_contact_yes_no_column(tmp_path: Path, written: str, created: bool) -> None:
    export = one_row(tmp_path, "New contact", written)
    (activity,) = read_crm_activities(export, zone=SYDNEY, region="AU").activities
    assert activity.new_contact is created


def test_the_preview_shows_headers_rows_and_what_was_detected(tmp_path: Path) -> None:
    export = write_csv(
        tmp_path / "p.csv",
        [["When", "Who"], *[[f"2026-11-18 11:0{n}", f"041234567{n}"] for n in range(8)]],
    )
    preview = preview_crm_activities(export, sample=3)
    assert preview.headers == ("When", "Who")
    assert preview.sample_rows == (
        ("2026-11-18 11:00", "0412345670"),
        ("2026-11-18 11:01", "0412345671"),
        ("2026-11-18 11:02", "0412345672"),
    )
    assert preview.detected == ActivityColumns()
    assert preview.problem is not None and preview.problem.startswith("Nothing to match")


def test_files_that_cannot_be_read(tmp_path: Path) -> None:
    with pytest.raises(ActivitiesFileError, match=r"Cannot read .*missing\.csv"):
        read_crm_activities(tmp_path / "missing.csv", zone=SYDNEY, region="AU")
    empty = tmp_path / "empty.csv"
    empty.write_text("\r\n\r\n")
    with pytest.raises(ActivitiesFileError, match="The file is empty: export the activities again"):
        read_crm_activities(empty, zone=SYDNEY, region="AU")
    workbook = tmp_path / "calls.xlsx"
    workbook.write_bytes(b"PK\x03\x04" + b"\0" * 64)
    with pytest.raises(ActivitiesFileError, match="Excel workbook"):
        preview_crm_activities(workbook)


def test_an_unknown_region_is_refused(tmp_path: Path) -> None:
    export = write_csv(tmp_path / "r.csv", [["Activity date", "Phone"], ["2026-11-18 10:00", "1"]])
    with pytest.raises(NumberError):
        read_crm_activities(export, zone=SYDNEY, region="XX")


def test_the_iterator_counts_as_it_goes_and_closes_its_file(tmp_path: Path) -> None:
    export = write_csv(
        tmp_path / "i.csv",
        [["Activity date", "Phone"], ["2026-11-18 10:00", "0412345678"], ["bad", "0412345678"]],
    )
    with iter_crm_activities(export, zone=SYDNEY, region="AU") as activities:
        assert next(activities).row == 1
        assert (activities.counts.rows, activities.flavour) == (1, CrmFlavour.GENERIC)
    abandoned = iter_crm_activities(export, zone=SYDNEY, region="AU")
    abandoned.close()


def test_a_large_export_is_streamed(tmp_path: Path) -> None:
    export = tmp_path / "large.csv"
    with export.open("w", encoding="utf-8", newline="") as file:
        writer = csv.writer(file, lineterminator="\r\n")
        writer.writerow(["Activity date", "Phone number", "Call notes"])
        for n in range(20_000):
            writer.writerow(
                [
                    f"2026-11-18 {n // 3600 % 24:02d}:{n // 60 % 60:02d}:{n % 60:02d}",
                    f"04{n:08d}",
                    "note " * 200,
                ]
            )
    tracemalloc.start()
    try:
        with iter_crm_activities(export, zone=SYDNEY, region="AU") as activities:
            count = sum(1 for _ in activities)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert export.stat().st_size > 16 * 2**20  # read whole, it alone would pass the bound
    assert count == 20_000
    assert peak < 4 * 2**20
