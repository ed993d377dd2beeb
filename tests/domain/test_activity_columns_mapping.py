"""The CRM activity export's mapping as the connection keeps it: what a usable mapping needs,
and whether a saved one still fits a file's headers."""

from __future__ import annotations

import pytest

from app.domain.activity_columns import ActivityColumns, ActivityColumnsError
from app.domain.connection import ConnectionProfile
from app.services.reconcile.activity_columns import (
    ActivityColumns as FromServices,
)
from app.services.reconcile.activity_columns import remembered_columns

HEADERS = ["Started", "Agent phone", "Customer", "Ref"]


def test_the_services_use_the_domain_type() -> None:
    assert FromServices is ActivityColumns


@pytest.mark.parametrize(
    ("columns", "usable"),
    [
        (ActivityColumns(call_id="Ref"), True),
        (ActivityColumns(notes="Notes"), True),
        (ActivityColumns(time="Started", phone="Customer"), True),
        (ActivityColumns(date="Day", to_number="To"), True),
        (ActivityColumns(time="Started"), False),  # a time alone ties nothing to a call
        (ActivityColumns(phone="Customer", contact="Who"), False),
        (ActivityColumns(), False),
    ],
)
def test_a_mapping_needs_a_call_id_or_a_time_and_a_number(
    columns: ActivityColumns, usable: bool
) -> None:
    missing = columns.missing()
    assert (missing is None) is usable
    if not usable:
        assert missing is not None and "call id column" in missing and "phone number" in missing


def test_check_names_a_mapped_column_the_file_lacks() -> None:
    columns = ActivityColumns(time="Started", phone="Dialled")
    with pytest.raises(ActivityColumnsError, match=r"phone column 'Dialled' is not in the file"):
        columns.check(HEADERS)
    ActivityColumns(time="Started", phone="Customer").check(HEADERS)


def test_a_saved_mapping_applies_only_to_a_file_it_fits() -> None:
    saved = ActivityColumns(time=" Started", phone="Customer", call_id="Ref")
    assert remembered_columns(HEADERS, saved) is saved
    assert remembered_columns(["Started", "Customer"], saved) is None  # another export
    assert remembered_columns(HEADERS, None) is None
    unusable = ActivityColumns(contact="Customer")
    assert remembered_columns(HEADERS, unusable) is None


def test_a_connection_detects_until_the_engineer_maps() -> None:
    profile = ConnectionProfile(
        id="c1", name="Harbour", url="https://pbx.example.com", client_id="9"
    )
    assert profile.activity_columns is None
