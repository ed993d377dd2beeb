"""Wire JSON → domain: real-looking rows map exactly; odd rows never crash the mapping."""

from __future__ import annotations

import contextlib
from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from app.domain.calls import CallDirection, CallOutcome
from app.domain.extensions import QueueRecording, RecordingMode
from app.domain.licence import Edition
from app.domain.recordings import RecordingCallType
from app.domain.wire_shapes import WireSeen, WireShape
from app.threecx.errors import UnreadableAnswer
from app.threecx.tolerant_fields import parse_datetime, rows
from app.threecx.v18 import mapping as v18
from app.threecx.v20 import mapping as v20

CALL_LOG_ROW = {
    "MainCallHistoryId": "00000000-01dc-5a4e-0000-000000000010",
    "CallHistoryId": "00000000-01dc-5a4e-0000-000000000011",
    "CdrId": "00000000-0000-0000-0000-000000000001",
    "CallId": 1264,
    "SegmentId": 3,
    "StartTime": "2026-11-21T09:15:02.1234567Z",
    "SourceType": 1,
    "SourceDn": "10007",
    "SourceCallerId": "+61881234567",
    "SourceDisplayName": "Jane Citizen",
    "DestinationType": 0,
    "DestinationDn": "101",
    "DestinationCallerId": "Ext.101",
    "DestinationDisplayName": "Sam Agent",
    "ActionType": 1,
    "RingingDuration": "PT4.2S",
    "TalkingDuration": "PT1M16.46S",
    "Answered": True,
    "Direction": "Inbound",
    "CallType": "InboundExternal",
    "Status": "Answered",
    "Reason": None,
    "RecordingUrl": "/recordings/101/x.wav",
    "SrcRecId": None,
    "DstRecId": 881,
}


def test_call_log_row_maps_exactly() -> None:
    call = v20.call_from_log_row(CALL_LOG_ROW)
    assert call is not None
    assert call.call_id == "00000000-01dc-5a4e-0000-000000000010"  # never CallId (§9.1)
    assert call.segment_id == "00000000-0000-0000-0000-000000000001"
    assert call.started_at == datetime(2026, 11, 21, 9, 15, 2, 123456, tzinfo=UTC)
    assert call.direction is CallDirection.INBOUND
    assert call.caller == "+61881234567"
    assert call.extension == "101"
    assert call.answered is True
    assert call.outcome is CallOutcome.ANSWERED
    assert call.talking == timedelta(minutes=1, seconds=16.46)
    assert call.recording_ids == (881,)
    assert call.external_number == "+61881234567"


def test_call_log_row_reads_fallbacks_and_notes_each_shape_when_first_shown() -> None:
    """Each field is read once per row: the fallback fields still count, and a wire shape is
    noted the first time a row shows it, in the order the rows showed them."""
    seen = WireSeen()
    plain = {
        "CdrId": "7",
        "StartTime": "2026-11-21T09:15:02Z",
        "Direction": "Inbound",
        "SourceCallerId": "+61881234567",
        "DstDnType": 5,  # no DestinationType: the voicemail box is known from this one
        "actionDnDn": "105",  # no DestinationDn: the extension is the action's DN
    }
    call = v20.call_from_log_row(plain, seen)
    assert call is not None
    assert call.outcome is CallOutcome.VOICEMAIL and call.answered is False
    assert call.extension == "105" and call.callee == "" and call.caller == "+61881234567"
    assert seen.described() == (str(WireShape.LEG_ID_ONLY),)
    shaped = plain | {
        "MainCallHistoryId": "m-7",
        "StartTime": "2026-11-21T20:15:02.1234567+11:00",
        "DestinationDisplayName": "Rasheed, Dina",
    }
    for _ in range(2):
        again = v20.call_from_log_row(shaped, seen)
        assert again is not None and again.call_id == "m-7"
        assert again.started_at == datetime(2026, 11, 21, 9, 15, 2, 123456, tzinfo=UTC)
    assert seen.described() == tuple(
        str(shape)
        for shape in (
            WireShape.LEG_ID_ONLY,
            WireShape.MAIN_CALL_ID,
            WireShape.FRACTIONAL_TIMES,
            WireShape.LAST_FIRST_NAMES,
        )
    )


def test_direction_is_inferred_when_the_field_is_missing() -> None:
    row = {k: v for k, v in CALL_LOG_ROW.items() if k not in ("Direction", "CallType")}
    call = v20.call_from_log_row(row | {"Answered": False})
    assert call is not None
    assert call.direction is CallDirection.INBOUND
    assert call.outcome is CallOutcome.MISSED
    out = v20.call_from_log_row(
        {
            "CdrId": "5",
            "SourceDn": "101",
            "SourceCallerId": "Ext.101",
            "DestinationCallerId": "0299998888",
            "Answered": False,
        }
    )
    assert out is not None and out.direction is CallDirection.OUTBOUND
    assert out.outcome is CallOutcome.UNANSWERED_OUTBOUND


def test_user_recording_flags() -> None:
    def mode(**flags: Any) -> RecordingMode:
        ext = v20.extension_from_user({"Number": "101", "FirstName": "Sam", **flags})
        assert ext is not None
        return ext.recording

    assert (
        mode(RecordCalls=True, RecordExternalCallsOnly=False, ForbidRecording=False)
        is RecordingMode.ALL_CALLS
    )
    assert mode(RecordCalls=True, RecordExternalCallsOnly=True) is RecordingMode.EXTERNAL_ONLY
    assert (
        mode(RecordCalls=False, AllowOwnRecordings=True, ForbidRecording=False)
        is RecordingMode.ON_DEMAND
    )
    assert mode(RecordCalls=False, ForbidRecording=False) is RecordingMode.DISABLED
    assert mode(RecordCalls=True, ForbidRecording=True) is RecordingMode.FORBIDDEN
    assert mode() is RecordingMode.UNKNOWN


def test_queue_recording_and_strategy() -> None:
    q = v20.queue_from_row(
        {
            "Number": "800",
            "Name": "Sales",
            "Recording": "AllowToOptOut",
            "PollingStrategy": "RingAll",
        }
    )
    assert q is not None and q.recording is QueueRecording.ALLOW_TO_OPT_OUT and q.ring_all
    odd = v20.queue_from_row({"Number": "801", "Recording": "Sometimes"})
    assert odd is not None and odd.recording is QueueRecording.UNKNOWN and not odd.ring_all


def test_recording_row() -> None:
    rec = v20.recording_from_row(
        {
            "Id": 881,
            "StartTime": "2026-11-21T09:15:02Z",
            "EndTime": "2026-11-21T09:16:20+10:30",
            "CallType": "InboundExternal",
            "FromCallerNumber": "+61881234567",
            "ToDn": "101",
            "ToCallerNumber": "Ext.101",
            "IsArchived": True,
            "ArchivedUrl": "https://archive/x",
        }
    )
    assert rec is not None
    assert rec.call_type is RecordingCallType.INBOUND_EXTERNAL
    assert rec.archived and rec.state.value == "archived"
    assert rec.ended_at is not None and rec.ended_at.utcoffset() == timedelta(hours=10, minutes=30)


def test_licence_from_both_endpoints() -> None:
    lic = v20.licence_from_rows(
        {
            "CountryCode": "au",
            "IsEnterprise": True,
            "IsCfdEnabled": True,
            "ProductCode": "3CXPSENT",
        },
        {"LicenseActive": False, "ExpirationDate": "2026-01-01T00:00:00Z"},
    )
    assert lic.edition is Edition.ENTERPRISE
    assert lic.country_code == "AU"
    assert lic.active is False
    assert lic.expired(datetime(2026, 11, 21, tzinfo=UTC))
    assert lic.call_control_allowed is True
    pro = v20.licence_from_rows({"IsEnterprise": False, "IsProfessional": True}, {})
    assert pro.edition is Edition.PROFESSIONAL and pro.call_control_allowed is False


def test_contact_phones_keep_their_labels() -> None:
    c = v20.contact_from_row(
        {
            "Id": 4,
            "FirstName": "Jane",
            "LastName": "Citizen",
            "CompanyName": "Acme",
            "Business": "08 8123 4567",
            "Mobile2": "0412 345 678",
            "Home": None,
        }
    )
    assert c is not None
    assert c.name == "Jane Citizen"
    assert [(p.label, p.number) for p in c.phones] == [
        ("Business", "08 8123 4567"),
        ("Mobile", "0412 345 678"),
    ]


def test_v18_names() -> None:
    ext = v18.extension_from_row(
        {"Number": "101", "FirstName": "Sam", "Email": "s@x", "MobileNumber": "0400"}
    )
    assert ext is not None and ext.email == "s@x" and ext.recording is RecordingMode.UNKNOWN
    call = v18.call_from_row(
        {
            "Answered": False,
            "CallTime": "2026-11-21T09:00:00",
            "CallerId": "0881234567",
            "Destination": "101",
            "Duration": "00:00:00",
        }
    )
    assert call is not None
    assert call.direction is CallDirection.INBOUND and call.outcome is CallOutcome.MISSED
    assert call.started_at is not None and call.started_at.tzinfo is not None
    assert call.talking == timedelta(0)
    rec = v18.recording_from_row(
        {
            "Id": 3,
            "IsArchived": False,
            "Date": "2026-11-20T10:00:00Z",
            "Participants": ["0881234567", "101"],
            "CallerNumber": "0881234567",
            "DID": "0870001000",
        }
    )
    assert (
        rec is not None
        and rec.from_number == "0881234567"
        and rec.to_number == "101"
        and rec.did == "0870001000"
    )


def test_dates_as_3cx_writes_them() -> None:
    assert parse_datetime("2026-11-21T09:15:02.1234567Z") == datetime(
        2026, 11, 21, 9, 15, 2, 123456, tzinfo=UTC
    )
    assert parse_datetime("2026-11-21T09:15:02") == datetime(2026, 11, 21, 9, 15, 2, tzinfo=UTC)
    assert parse_datetime("yesterday") is None


def test_envelopes() -> None:
    assert rows({"value": [{"a": 1}, "junk", None, 3]}) == [{"a": 1}]
    assert rows({"list": [{"a": 1}]}, "list") == [{"a": 1}]
    assert rows({"value": None}) == []
    assert rows("garbage") == []


# Odd inputs: any subset of the real fields, each null, missing or of a wrong type.
# Texts use the characters the parsers read (digits, signs, ISO 8601 letters) and a few
# troublemakers (Arabic-Indic and full-width digits, a no-break space, an accent). Not full
# Unicode: its first draw builds Hypothesis's Unicode tables, over a second with a fresh
# .hypothesis folder (as on CI), which alone failed the too_slow health check.
ODD_TEXT = st.text(
    alphabet="0123456789+-:.,/ ()#xTZPDHMSabcE\u0663\uff13\u00a0\u00e9\n", max_size=30
)
JUNK = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**40), 2**40),
    st.floats(allow_nan=True, allow_infinity=True),
    ODD_TEXT,
    st.sampled_from(
        ["", " ", "PT1M", "2026-11-21T09:00:00Z", "Ext.101", "+61881234567", "true", "RingAll"]
    ),
    st.lists(st.integers(), max_size=3),
    st.fixed_dictionaries({}, optional={"Id": st.integers(), "Name": ODD_TEXT}),
)


def odd_rows(fields: list[str]) -> st.SearchStrategy[dict[str, Any]]:
    return st.dictionaries(st.sampled_from(fields), JUNK, max_size=12)


V20_FIELDS = sorted(
    set(CALL_LOG_ROW)
    | {
        "Id",
        "Number",
        "FirstName",
        "LastName",
        "DisplayName",
        "RecordCalls",
        "RecordExternalCallsOnly",
        "ForbidRecording",
        "AllowOwnRecordings",
        "Enabled",
        "EmailAddress",
    }
    | {
        "Name",
        "Recording",
        "PollingStrategy",
        "IsArchived",
        "ArchivedUrl",
        "FromCallerNumber",
        "ToCallerNumber",
        "EndTime",
        "FromDn",
        "ToDn",
    }
    | {
        "Business",
        "Mobile2",
        "Home",
        "PhoneNumber",
        "CompanyName",
        "Email",
        "AutoDeleteRecordingEnabled",
        "AutoDeleteRecordingDays",
    }
    | {
        "IsEnterprise",
        "IsProfessional",
        "CountryCode",
        "LicenseActive",
        "ExpirationDate",
        "ProductCode",
        "MaxSimCalls",
    }
    | {
        "id",
        "dn",
        "callid",
        "status",
        "party_caller_id",
        "party_dn_type",
        "legid",
        "SegmentStartTime",
        "SrcCallerNumber",
        "DstCallerNumber",
        "SrcExternal",
        "DstExternal",
        "CallAnswered",
        "CallTime",
    }
)
V18_FIELDS = [
    "Number",
    "FirstName",
    "LastName",
    "Email",
    "MobileNumber",
    "IsRegistered",
    "Answered",
    "CallTime",
    "CallerId",
    "Destination",
    "Duration",
    "Id",
    "IsArchived",
    "Date",
    "Participants",
    "CallerNumber",
    "DID",
    "Activated",
    "ProductCode",
    "ExpirationDate",
    "Version",
    "FQDN",
]


@settings(max_examples=300)
@given(odd_rows(V20_FIELDS))
def test_v20_mapping_never_crashes(row: dict[str, Any]) -> None:
    for convert in (
        v20.call_from_log_row,
        v20.call_from_history_view,
        v20.extension_from_user,
        v20.queue_from_row,
        v20.recording_from_row,
        v20.contact_from_row,
        v20.participant_from_row,
    ):
        # May return None; a row whose identity is absurd is refused by name, nothing else.
        with contextlib.suppress(UnreadableAnswer):
            convert(row)
    v20.retention_from_row(row)
    v20.system_status_from_row(row)
    v20.licence_from_rows(row, row)
    v20.numbering_plan_from_row(row)


@settings(max_examples=300)
@given(odd_rows(V18_FIELDS))
def test_v18_mapping_never_crashes(row: dict[str, Any]) -> None:
    for convert in (v18.extension_from_row, v18.recording_from_row):
        with contextlib.suppress(UnreadableAnswer):
            convert(row)
    v18.call_from_row(row)
    v18.licence_from_status(row)
    v18.system_status_from_row(row)


@given(
    st.lists(
        st.fixed_dictionaries(
            {
                "MainCallHistoryId": st.integers(1, 50).map(lambda n: f"main-{n}"),
                "CallId": st.integers(1, 500),  # a row number of the response: identifies nothing
                "Answered": st.booleans(),
                "SourceCallerId": st.just("+61881234567"),
                "DestinationDn": st.sampled_from(["201", "202", "203"]),
                "Direction": st.just("Inbound"),
            }
        ),
        max_size=200,
    )
)
def test_long_pages_fold_into_one_call_per_main_call_history_id(
    page: list[dict[str, Any]],
) -> None:
    from app.domain.calls import merge_call_segments

    calls = merge_call_segments([c for r in page if (c := v20.call_from_log_row(r))])
    assert len(calls) == len({r["MainCallHistoryId"] for r in page})
    for call in calls:
        legs = [r for r in page if r["MainCallHistoryId"] == call.call_id]
        assert call.answered == any(r["Answered"] for r in legs)
