"""Which column holds what in a CRM activity export, and the mapping a connection keeps."""

from __future__ import annotations

import json

import pytest

from app.services.contacts.crm_import import CrmFlavour
from app.services.reconcile.activity_columns import (
    ActivityColumns,
    ActivityColumnsError,
    activity_flavour,
    detect_activity_columns,
)
from tests.services.reconcile.exports import HUBSPOT, SALESFORCE, SHEET, ZOHO


@pytest.mark.parametrize(
    ("headers", "flavour", "expected"),
    [
        (
            HUBSPOT,
            CrmFlavour.HUBSPOT,
            ActivityColumns(
                time="Activity date",
                phone="Phone number",
                direction="Call direction",
                contact="Associated Contact",
                recording="Call recording URL",
                notes="Call notes",
                kind="Activity type",
                new_contact="Contact created by",
            ),
        ),
        (
            SALESFORCE,
            CrmFlavour.SALESFORCE,
            ActivityColumns(
                time="CreatedDate",  # Activity Date is a date only
                phone="Phone",
                direction="CallType",
                contact="Who.Name",
                call_id="CallObject",
                notes="Description",
                kind="TaskSubtype",
            ),
        ),
        (
            ZOHO,
            CrmFlavour.ZOHO,
            ActivityColumns(
                time="Call Start Time",
                phone="Phone",
                direction="Call Type",
                contact="Contact Name",
                recording="Call Recording",
                call_id="Call ID",
            ),
        ),
        (
            SHEET,
            CrmFlavour.GENERIC,
            ActivityColumns(
                date="date",
                clock="time",
                phone="phone",
                direction="direction",
                contact="contact",
                recording="recording",
                call_id="call id",
                kind="type",
            ),
        ),
    ],
)
def test_each_crms_export_is_detected(
    headers: list[str], flavour: CrmFlavour, expected: ActivityColumns
) -> None:
    assert detect_activity_columns(headers) == expected
    assert activity_flavour(headers) is flavour
    expected.check(headers)


def test_headers_are_matched_whatever_their_case_and_spacing() -> None:
    detected = detect_activity_columns([" ACTIVITY_DATE ", "phone-number", "New Contact"])
    assert (detected.time, detected.phone, detected.new_contact) == (
        "ACTIVITY_DATE",
        "phone-number",
        "New Contact",
    )


def test_from_and_to_numbers_when_there_is_no_phone_column() -> None:
    detected = detect_activity_columns(["Activity date", "From number", "To number"])
    assert (detected.phone, detected.from_number, detected.to_number) == (
        None,
        "From number",
        "To number",
    )


def test_a_date_column_alone_is_the_time() -> None:
    assert detect_activity_columns(["Date", "Phone"]).time == "Date"


def test_the_mapping_round_trips_through_json() -> None:
    columns = ActivityColumns(
        date="Day", clock="Hour", phone="Caller", call_id="Ref", kind="What", day_first=False
    )
    saved = json.loads(json.dumps(columns.as_json()))
    assert ActivityColumns.from_json(saved) == columns
    assert ActivityColumns.from_json({}) == ActivityColumns()
    # A newer app's keys are ignored; an empty name is no column.
    assert ActivityColumns.from_json({"phone": "", "colour": "red"}) == ActivityColumns()


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ([], r"^activity_columns must be an object$"),
        ({"phone": 3}, r"^activity_columns\.phone must be a column name or null$"),
        ({"day_first": "yes"}, r"^activity_columns\.day_first must be true, false or null$"),
    ],
)
def test_a_saved_mapping_that_cannot_be_read_names_the_field(data: object, message: str) -> None:
    with pytest.raises(ActivityColumnsError, match=message):
        ActivityColumns.from_json(data)


def test_a_mapped_column_missing_from_the_file_is_named() -> None:
    columns = ActivityColumns(time="Activity date", from_number="Caller ID")
    with pytest.raises(
        ActivityColumnsError,
        match=r"^The from number column 'Caller ID' is not in the file; its columns are "
        r"'Activity date', 'Phone number'\.$",
    ):
        columns.check(["Activity date", "Phone number"])


def test_a_mapping_with_nothing_to_match_by_is_refused() -> None:
    with pytest.raises(ActivityColumnsError, match="Nothing to match the activities to calls by"):
        ActivityColumns(time="Activity date", contact="Who").check(["Activity date", "Who"])
    ActivityColumns(call_id="Ref").check(["Ref"])  # a call id alone is enough
