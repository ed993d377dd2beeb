"""Defensive mapping (issue 18): any JSON value of the wrong type, out of range or absurd maps
to a domain object with the field unknown, or is refused as an ``UnreadableAnswer`` naming the
field. Nothing else leaves a mapping function, and nothing read overflows later arithmetic."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.domain.wire_shapes import WireSeen
from app.threecx.errors import UnreadableAnswer
from app.threecx.tolerant_fields import (
    _DURATIONS_KEPT,
    _SANE_DURATIONS,
    MAX_DURATION,
    describe,
    duration,
    identity_integer,
    integer,
    parse_datetime,
    text,
    timestamp,
)
from app.threecx.v18 import mapping as v18
from app.threecx.v20 import mapping as v20
from app.threecx.v20 import office_hours
from app.threecx.v20.admin import _admin_token, principal_from_row

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
HUGE = 10**400

# Values no PBX should send, each of which once broke a reader somewhere.
ABSURD = st.sampled_from(
    [
        HUGE,
        -HUGE,
        2**53 + 1,
        1e300,
        -1e300,
        float("inf"),
        float("nan"),
        "9" * 400,
        "-" + "9" * 30,
        "PT" + "9" * 400 + "S",
        "P99999999999D",
        "-PT5S",
        "PT1e300S",
        "9999-12-31T23:59:59Z",
        "0001-01-01T00:00:00-14:00",
        "²",
        "\u0661\u0662",
        "99:99:99",
        "1e300:00:00",
        "nan:00:00",
        "x" * 20_000,
        [],
        [1, [2, [3]]],
        {},
        {"value": None},
    ]
)
SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.integers(-HUGE, HUGE),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=20),
    ABSURD,
)
JSON = st.recursive(
    SCALARS,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3)
    ),
    max_leaves=6,
)

FIELDS = sorted(
    {
        # v20 users, queues, call log, history view, recordings, contacts, settings
        "Id", "Number", "FirstName", "LastName", "DisplayName", "EmailAddress", "Email",
        "Enabled", "IsRegistered", "RecordCalls", "RecordExternalCallsOnly", "ForbidRecording",
        "AllowOwnRecordings", "Name", "Recording", "PollingStrategy", "MainCallHistoryId",
        "CallHistoryId", "CdrId", "CallId", "SegmentId", "StartTime", "SegmentStartTime",
        "SourceDn", "SourceCallerId", "SourceDisplayName", "DestinationDn",
        "DestinationCallerId", "DestinationDisplayName", "DestinationType", "DstDnType",
        "RingingDuration", "TalkingDuration", "CallTime", "Answered", "Direction", "CallType",
        "Status", "Reason", "RecordingUrl", "SrcRecId", "DstRecId", "SrcCallerNumber",
        "DstCallerNumber", "SrcDn", "DstDn", "SrcExternal", "DstExternal", "CallAnswered",
        "EndTime", "FromCallerNumber", "ToCallerNumber", "FromDn", "ToDn", "IsArchived",
        "ArchivedUrl", "FromDidNumber", "ToDidNumber", "Business", "Mobile2", "PhoneNumber",
        "CompanyName", "AutoDeleteRecordingEnabled", "AutoDeleteRecordingDays",
        "IsRecordingArchiveEnabled", "RecordingsQuota", "ResolvingType", "ResolvingLength",
        "FQDN", "Version", "Activated", "LicenseActive", "ExpirationDate", "RecordingStopped",
        "RecordingQuotaReached", "RecordingUsedSpace", "RecordingQuota", "ExtensionsTotal",
        "CallsActive", "IsEnterprise", "IsProfessional", "IsCfdEnabled", "ProductCode",
        "MaintenanceExpiresAt", "CountryCode", "MaxSimCalls", "AreaCode", "NationalCode",
        "InternationalCode",
        # call control participants
        "id", "dn", "callid", "status", "party_caller_id", "party_caller_name", "party_dn",
        "party_dn_type", "party_did", "device_id", "legid", "originated_by_dn",
        # v18
        "MobileNumber", "Duration", "CallerId", "Destination", "From", "To", "Date",
        "Participants", "CallerNumber", "DID", "FileName", "Caller", "Callee", "EstablishedAt",
        "LastChangeStatus", "Now", "list",
        # office hours, holidays and API clients
        "TimeZoneId", "Hours", "BreakTime", "OfficeHolidays", "Type", "Periods", "DayOfWeek",
        "Start", "Stop", "IgnoreHolidays", "Day", "Month", "DayEnd", "MonthEnd", "Year",
        "YearEnd", "IsRecurrent", "XAPIEnabled", "CallControlEnabled", "IsSystem",
    }
)  # fmt: skip
ROWS = st.dictionaries(st.sampled_from(FIELDS), JSON, max_size=14)

Mapper = Callable[[dict[str, Any]], object]
MAPPERS: dict[str, Mapper] = {
    "v20.extension_from_user": v20.extension_from_user,
    "v20.queue_from_row": v20.queue_from_row,
    "v20.call_from_log_row": lambda r: v20.call_from_log_row(r, WireSeen()),
    "v20.call_from_history_view": v20.call_from_history_view,
    "v20.recording_from_row": v20.recording_from_row,
    "v20.retention_from_row": v20.retention_from_row,
    "v20.contact_from_row": v20.contact_from_row,
    "v20.phonebook_resolution_from_row": v20.phonebook_resolution_from_row,
    "v20.system_status_from_row": v20.system_status_from_row,
    "v20.licence_from_rows": lambda r: v20.licence_from_rows(r, r),
    "v20.numbering_plan_from_row": v20.numbering_plan_from_row,
    "v20.participant_from_row": lambda r: v20.participant_from_row(r, "Extension", WireSeen()),
    "office_hours.business_hours_from_rows": lambda r: office_hours.business_hours_from_rows(
        r, [r]
    ),
    "office_hours.holiday_from_row": office_hours.holiday_from_row,
    "office_hours.periods": lambda r: office_hours.periods_from_rows([r]),
    "v18.extension_from_row": v18.extension_from_row,
    "v18.system_status_from_row": v18.system_status_from_row,
    "v18.licence_from_status": v18.licence_from_status,
    "v18.note_status_shapes": lambda r: v18.note_status_shapes(r, WireSeen()),
    "v18.active_calls_from_body": lambda r: v18.active_calls_from_body(r, WireSeen()),
    "v18.active_call_from_row": v18.active_call_from_row,
    "v18.call_from_row": v18.call_from_row,
    "v18.recording_from_row": v18.recording_from_row,
    "admin.principal_from_row": principal_from_row,
    "admin.token": lambda r: _admin_token(r | {"access_token": "a.b.c"}, "/token"),
}


def read(mapper: Mapper, row: dict[str, Any]) -> object:
    """The mapping's result, then everything the domain computes from its times and sizes."""
    try:
        result = mapper(row)
    except UnreadableAnswer as exc:
        assert exc.detail  # names the field and what it held
        return None
    except office_hours.UnknownTimeZone:
        return None  # a named finding of its own
    for item in result if isinstance(result, (list, tuple)) else [result]:
        use(item)
    return result


def use(item: object) -> None:
    """The arithmetic later code does with read values: none of it may overflow."""
    started = getattr(item, "started_at", None)
    if started is not None:
        ringing = getattr(item, "ringing", None) or timedelta()
        talking = getattr(item, "talking", None) or timedelta()
        _ = (started + ringing + talking - NOW).total_seconds()
        _ = started.astimezone(UTC)
    for name in ("expires_at", "maintenance_expires_at", "ended_at", "at"):
        when = getattr(item, name, None)
        if isinstance(when, datetime):
            _ = (when - NOW).days, when.astimezone(UTC), when + timedelta(days=366)
    if hasattr(item, "deletes_before"):
        item.deletes_before(NOW)
        item.days_left(NOW - timedelta(days=3), NOW)
    if hasattr(item, "is_open"):
        item.is_open(NOW)
        item.next_opening(NOW)
    if hasattr(item, "covers") and isinstance(getattr(item, "first", None), date):
        item.covers(NOW.date())


@pytest.mark.parametrize("name", sorted(MAPPERS))
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(row=ROWS)
def test_hostile_rows_map_or_are_refused_by_name(name: str, row: dict[str, Any]) -> None:
    read(MAPPERS[name], row)


@pytest.mark.parametrize("name", sorted(MAPPERS))
@settings(max_examples=60, deadline=None)
@given(value=ABSURD, field_name=st.sampled_from(FIELDS))
def test_each_absurd_value_in_each_field(name: str, value: Any, field_name: str) -> None:
    read(MAPPERS[name], {field_name: value})


@settings(max_examples=100, deadline=None)
@given(body=JSON)
def test_any_body_for_the_whole_answer_readers(body: Any) -> None:
    read(lambda b: v18.active_calls_from_body(b, WireSeen()), body)
    if isinstance(body, dict):
        read(lambda b: office_hours.business_hours_from_rows(b, []), body)


# ---- the readers' clamps, named ---------------------------------------------------------------
def test_numbers_past_exact_json_are_absent() -> None:
    assert integer({"n": HUGE}, "n") is None
    assert integer({"n": 2**53}, "n") == 2**53
    assert integer({"n": 2**53 + 1}, "n") is None
    assert integer({"n": float("inf")}, "n") is None
    assert integer({"n": "9" * 400}, "n") is None
    assert integer({"n": "\u0661\u0662"}, "n") is None  # Arabic-Indic digits: not 3CX's
    assert integer({"n": "²"}, "n") is None
    assert integer({"n": " 42 "}, "n") == 42
    assert integer({"n": -5}, "n", low=0) is None
    assert text({"n": HUGE}, "n") is None and text({"n": float("nan")}, "n") is None
    assert text({"n": 101}, "n") == "101"


def test_durations_out_of_range_are_unknown() -> None:
    assert duration({"d": "PT1M16.46S"}, "d") == timedelta(minutes=1, seconds=16.46)
    for absurd in ("-PT5S", "P99999999999D", "PT" + "9" * 400 + "S", "P32D", 1e300, HUGE):
        assert duration({"d": absurd}, "d") is None, absurd
    assert duration({"d": "P31D"}, "d") == MAX_DURATION


def test_a_duration_read_again_reads_the_same() -> None:
    """Durations are remembered by their text (a call log repeats them): reading one again,
    or after the memory filled and was emptied, gives what the first read gave."""
    texts = ["PT0S", "PT1M16.46S", "P32D", "-PT5S", "PTxS"]
    expected = [timedelta(0), timedelta(minutes=1, seconds=16.46), None, None, None]
    assert [duration({"d": t}, "d") for t in texts] == expected
    assert [duration({"d": t}, "d") for t in texts] == expected
    for n in range(_DURATIONS_KEPT + 10):
        assert duration({"d": f"PT{n}S"}, "d") == timedelta(seconds=n)
    assert len(_SANE_DURATIONS) <= _DURATIONS_KEPT
    assert [duration({"d": t}, "d") for t in texts] == expected
    # The first sane one of several names, as before: an absurd first name falls through.
    assert duration({"a": "P32D", "b": "PT3S"}, "a", "b") == timedelta(seconds=3)


def test_dates_outside_1990_to_2100_are_unknown() -> None:
    assert parse_datetime("9999-12-31T23:59:59Z") is None
    assert parse_datetime("0001-01-01T00:00:00-14:00") is None
    assert parse_datetime("1989-12-31T23:59:59Z") is None
    assert parse_datetime("2100-12-31T23:59:59Z") is not None
    assert timestamp({"t": "x" * 20_000}, "t") is None


def test_an_absurd_identity_is_named() -> None:
    with pytest.raises(UnreadableAnswer, match="Id was a number 401 digits long"):
        v20.recording_from_row({"Id": HUGE})
    with pytest.raises(UnreadableAnswer, match="Number was a list"):
        v20.extension_from_user({"Number": ["101"]})
    with pytest.raises(UnreadableAnswer, match="Id was an object"):
        v18.recording_from_row({"Id": {"x": 1}})
    # Absent, null or empty is no identity: the row is skipped, as before.
    assert v20.recording_from_row({"Id": None}) is None
    assert v20.extension_from_user({"Number": "  "}) is None
    assert identity_integer({"Id": "17"}, "Id") == 17


def test_duration_400_digits_long_reads_as_unknown_in_v18() -> None:
    call = v18.call_from_row(
        {"CallTime": "2026-11-20T10:00:00Z", "CallerId": "101", "Duration": HUGE}
    )
    assert call is not None and call.talking is None
    assert describe(HUGE) == "a number 401 digits long"


def test_retention_past_a_century_is_unknown_and_never_overflows() -> None:
    policy = v20.retention_from_row(
        {"AutoDeleteRecordingEnabled": True, "AutoDeleteRecordingDays": 2**53}
    )
    assert policy.auto_delete_days is None
    assert policy.deletes_before(NOW) is None


def test_a_list_where_an_object_is_expected() -> None:
    assert office_hours.business_hours_from_rows({"Hours": ["Monday"]}, []) is None
    assert v18.recording_from_row({"Id": 3, "Participants": "101, 102"}) is not None


def test_admin_token_lifetimes_are_clamped() -> None:
    for raw, expected in ((1e400, None), (HUGE, None), (float("nan"), None), (-60, 60.0)):
        token = _admin_token({"access_token": "a.b.c", "expires_in": raw}, "/token")
        assert token.lifetime_s == expected, raw
