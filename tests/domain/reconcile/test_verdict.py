"""Each call's one state and cause, from what the PBX, the bridge log and the CRM show.

Every state and every cause the issue names has a case that injects its evidence and checks the
verdict and its words; the summary always adds up to the PBX's own call count.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import jsonschema
import pytest

from app.domain.bridge import Bridge, BridgeIndex
from app.domain.calls import CallDirection
from app.domain.contacts import Contact, ContactSource, PhoneEntry
from app.domain.diagnosis import CheckId
from app.domain.reconcile.ledger import Ledger, ledger_json, reconcile
from app.domain.reconcile.records import (
    ActivityKind,
    BridgeEvent,
    CallState,
    Confidence,
    CrmActivity,
    PbxCall,
    PbxRecording,
)

SCHEMA = json.loads(
    (
        Path(__file__).parents[3] / "resources/schemas/pbx-companion-reconcile-1.schema.json"
    ).read_text()
)
T0 = datetime(2026, 11, 18, 0, 30, tzinfo=UTC)  # 11:00 in Adelaide
REC = "/xapi/v1/Recordings({}/Pbx.DownloadRecording()"
GRACE = Contact(
    "c1", "Grace Hopper", None, (PhoneEntry("Mobile", "0412 345 678"),), ContactSource.CRM_EXPORT
)
ALAN = Contact(
    "c2", "Alan Turing", None, (PhoneEntry("Mobile", "+61498765432"),), ContactSource.CRM_EXPORT
)
INDEX = BridgeIndex.build([GRACE, ALAN], "AU", Bridge())


def call(n: int, number: str = "+61498765432", **kw: object) -> PbxCall:
    start = T0 + timedelta(minutes=10 * n)
    fields: dict[str, object] = {
        "call_id": f"00000000-01dc-0000-0000-{n:012x}",
        "started_at": start,
        "ended_at": start + timedelta(minutes=2),
        "direction": CallDirection.INBOUND,
        "external_number": number,
        "answered": True,
        "extension": "101",
        "recording": PbxRecording.PRESENT,
        "recording_ids": (100 + n,),
        "bridge_match": INDEX.match(number),
    }
    fields.update(kw)
    return PbxCall(**fields)  # type: ignore[arg-type]


def activity(c: PbxCall, row: int, **kw: object) -> CrmActivity:
    fields: dict[str, object] = {
        "row": row,
        "at": c.started_at + timedelta(seconds=3),
        "phone": c.external_number,
        "phone_e164": c.external_number,
        "contact": "Alan Turing",
        "recording_link": f"https://crm.example.com/rec/{row}",
        "call_id": c.call_id,
    }
    fields.update(kw)
    return CrmActivity(**fields)  # type: ignore[arg-type]


def fetch(c: PbxCall, line: int, after_s: float, status: int) -> BridgeEvent:
    return BridgeEvent(
        line=line,
        at=c.hung_up_at + timedelta(seconds=after_s),
        call_id=c.call_id,
        recording_id=c.recording_ids[0],
        method="GET",
        path=REC.format(c.recording_ids[0]),
        status=status,
    )


def ledger(calls: list[PbxCall], crm: list[CrmActivity], bridge: list[BridgeEvent] = ()) -> Ledger:  # type: ignore[assignment]
    return reconcile(calls, crm, bridge, period=(T0, T0 + timedelta(days=1)))


def only(result: Ledger) -> tuple[CallState, CheckId | None, str]:
    (entry,) = result.entries
    return entry.state, entry.cause, " ".join(entry.evidence)


def test_a_call_in_the_crm_with_its_recording_is_logged() -> None:
    c = call(1)
    state, cause, words = only(ledger([c], [activity(c, 1)]))
    assert (state, cause) == (CallState.LOGGED, None)
    assert "matched by call id" in words and "with its recording" in words


def test_without_a_call_id_the_number_and_time_tie_it_with_the_gap_shown() -> None:
    c = call(1)
    result = ledger([c], [activity(c, 7, call_id=None, at=c.hung_up_at + timedelta(seconds=40))])
    (entry,) = result.entries
    assert entry.state is CallState.LOGGED
    (match,) = entry.crm
    assert match.confidence is Confidence.NUMBER_AND_TIME and match.seconds_apart == 40


def test_two_calls_from_one_caller_each_keep_their_own_activity() -> None:
    first, second = call(1), call(2)
    rows = [activity(first, 1, call_id=None), activity(second, 2, call_id=None)]
    result = ledger([first, second], rows)
    assert [e.state for e in result.entries] == [CallState.LOGGED, CallState.LOGGED]
    assert [e.crm[0].activity.row for e in result.entries] == [1, 2]


def test_a_404_then_giving_up_before_3cx_wrote_the_file_is_late_recording() -> None:
    c = call(1, recording_ready_after_s=35.0)
    state, cause, words = only(
        ledger([c], [activity(c, 1, recording_link=None)], [fetch(c, 4, 2, 404)])
    )
    assert (state, cause) == (CallState.NO_RECORDING, CheckId.LATE_RECORDING)
    assert "asked 1 time (404 at +2 s)" in words and "last try was at +2 s" in words
    assert "3CX wrote the file at +35 s" in words


def test_no_try_at_all_is_a_bridge_that_gave_up_too_early() -> None:
    c = call(1)
    state, cause, words = only(ledger([c], [activity(c, 1, recording_link=None)]))
    assert (state, cause) == (CallState.NO_RECORDING, CheckId.LATE_RECORDING)
    assert "never asked for it" in words


@pytest.mark.parametrize("status", [401, 403])
def test_a_refused_recording_is_the_missing_role(status: int) -> None:
    c = call(1)
    state, cause, words = only(
        ledger([c], [activity(c, 1, recording_link=None)], [fetch(c, 9, 5, status)])
    )
    assert (state, cause) == (CallState.NO_RECORDING, CheckId.API_ROLES)
    assert f"{status} on /xapi/v1/Recordings" in words and "role 2 of 2" in words


def test_an_extension_that_does_not_record_is_cause_3() -> None:
    c = call(1, recording=PbxRecording.NOT_RECORDED, recording_ids=(), extension="114")
    state, cause, words = only(ledger([c], [activity(c, 1, recording_link=None)]))
    assert (state, cause) == (CallState.NO_RECORDING, CheckId.EXTENSION_RECORDING)
    assert "extension 114 is not set to record" in words


def test_a_deleted_file_behind_a_crm_link_is_retention() -> None:
    c = call(1, recording=PbxRecording.DELETED)
    state, cause, words = only(ledger([c], [activity(c, 1)]))
    assert (state, cause) == (CallState.NO_RECORDING, CheckId.RETENTION)
    assert "retention has since deleted" in words


@pytest.mark.parametrize("linked", [True, False])
def test_a_file_lost_from_the_pbx_is_no_recording_and_not_blamed_on_retention(
    linked: bool,
) -> None:
    # The Recordings tab's "missing": the call log points at a file the PBX no longer has.
    c = call(1, recording=PbxRecording.LOST)
    row = activity(c, 1) if linked else activity(c, 1, recording_link=None)
    state, cause, words = only(ledger([c], [row]))
    assert (state, cause) == (CallState.NO_RECORDING, CheckId.RETENTION)
    assert "retention did not delete it: it was deleted by hand or lost from storage" in words
    assert ("answers 404" in words) is linked


def test_a_call_logged_on_a_new_contact_names_the_stored_number_that_failed() -> None:
    c = call(1, number="+61412345678")  # Grace, stored as 0412 345 678
    row = activity(c, 1, contact="+61412345678", new_contact=True)
    state, cause, words = only(ledger([c], [row]))
    assert (state, cause) == (CallState.WRONG_CONTACT, CheckId.CONTACT_MATCH)
    assert "a new contact the bridge created, not on Grace Hopper" in words
    assert "0412 345 678" in words


@pytest.mark.parametrize("written", ["Turing, Alan", "ALAN TURING", "c2"])
def test_the_same_contact_written_another_way_is_the_right_contact(written: str) -> None:
    c = call(1)
    state, _cause, _words = only(ledger([c], [activity(c, 1, contact=written)]))
    assert state is CallState.LOGGED


def test_a_call_logged_on_another_contact_is_wrong_contact() -> None:
    c = call(1)
    state, cause, words = only(ledger([c], [activity(c, 1, contact="Grace Hopper")]))
    assert (state, cause) == (CallState.WRONG_CONTACT, CheckId.CONTACT_MATCH)
    assert "although Alan Turing has this number (stored as +61498765432)" in words


def test_two_activities_for_one_call_are_a_duplicate() -> None:
    c = call(1)
    state, cause, words = only(ledger([c], [activity(c, 3), activity(c, 8, call_id=None)]))
    assert (state, cause) == (CallState.DUPLICATED, None)
    assert "rows 3, 8" in words


def test_a_call_not_in_the_crm_is_missing() -> None:
    c = call(1)
    state, cause, words = only(ledger([c], []))
    assert (state, cause) == (CallState.MISSING, None)
    assert "no line for this call" in words


def test_every_call_missing_after_a_moment_with_401s_is_the_key() -> None:
    calls = [call(n) for n in range(1, 6)]
    crm = [activity(c, n) for n, c in enumerate(calls[:2], start=1)]
    refused = [
        BridgeEvent(
            line=20 + n,
            at=c.hung_up_at,
            call_id=c.call_id,
            method="GET",
            path="/xapi/v1/ReportCallLogData",
            status=401,
        )
        for n, c in enumerate(calls[2:])
    ]
    result = ledger(calls, crm, refused)
    states = [(e.state, e.cause) for e in result.entries]
    assert states[:2] == [(CallState.LOGGED, None)] * 2
    assert states[2:] == [(CallState.MISSING, CheckId.REACHABILITY)] * 3
    assert "the API key was rotated or revoked" in result.entries[4].evidence[0]


def test_a_missed_call_the_bridge_was_refused_for_is_the_key() -> None:
    c = call(1, answered=False, recording=PbxRecording.NONE)
    refused = BridgeEvent(
        line=3,
        at=c.hung_up_at,
        call_id=c.call_id,
        method="GET",
        path="/xapi/v1/ReportCallLogData",
        status=401,
    )
    state, cause, words = only(ledger([c], [], [refused]))
    assert (state, cause) == (CallState.MISSED_NOT_TRIGGERED, CheckId.REACHABILITY)
    assert "401" in words


def test_missing_calls_without_401s_are_not_blamed_on_the_key() -> None:
    calls = [call(1), call(2)]
    result = ledger(calls, [activity(calls[0], 1)])
    assert [(e.state, e.cause) for e in result.entries] == [
        (CallState.LOGGED, None),
        (CallState.MISSING, None),
    ]


def test_missed_calls_fired_or_not_and_the_two_usual_causes() -> None:
    fired = call(1, answered=False, recording=PbxRecording.NONE)
    local = call(2, number="+61412345678", answered=False, recording=PbxRecording.NONE)
    mapped = call(
        3, number="+61400000001", answered=False, recording=PbxRecording.NONE, did="+61881234503"
    )
    task = activity(
        fired,
        5,
        kind=ActivityKind.TASK,
        call_id=None,
        recording_link=None,
        at=fired.hung_up_at + timedelta(hours=9),
    )
    result = ledger([fired, local, mapped], [task])
    by_id = {e.call.call_id: e for e in result.entries}
    assert by_id[fired.call_id].state is CallState.MISSED_TRIGGERED
    assert by_id[local.call_id].state is CallState.MISSED_NOT_TRIGGERED
    assert by_id[local.call_id].cause is CheckId.CONTACT_MATCH
    assert "0412 345 678" in by_id[local.call_id].evidence[0]
    assert by_id[mapped.call_id].cause is None
    assert "DID +61881234503" in by_id[mapped.call_id].evidence[0]
    assert (result.summary.missed_in_pbx, result.summary.missed_triggers_fired) == (3, 1)
    assert result.summary.missed_gap == 2


def test_a_trigger_never_ties_to_a_later_call() -> None:
    early = call(1, answered=False, recording=PbxRecording.NONE)
    late = call(40, answered=False, recording=PbxRecording.NONE)  # 6.5 h later, same caller
    sms = activity(
        late,
        1,
        kind=ActivityKind.SMS,
        call_id=None,
        recording_link=None,
        at=late.hung_up_at + timedelta(seconds=30),
    )
    result = ledger([early, late], [sms])
    assert [e.state for e in result.entries] == [
        CallState.MISSED_NOT_TRIGGERED,
        CallState.MISSED_TRIGGERED,
    ]


def test_the_summary_adds_up_to_the_pbx_count_and_the_json_names_each_call() -> None:
    calls = [call(n) for n in range(1, 5)] + [call(9, answered=False, recording=PbxRecording.NONE)]
    crm = [
        activity(calls[0], 1),
        activity(calls[1], 2, recording_link=None),
        activity(calls[2], 3),
        activity(calls[2], 4),
        activity(calls[3], 9, call_id="someone-elses", phone_e164="+15550000000"),
    ]
    result = ledger(calls, crm)
    s = result.summary
    assert sum(s.by_state.values()) == s.calls == len(calls)
    assert s.unmatched_crm == 1 and s.matched == 3 and not s.all_fine
    document = ledger_json(result)
    jsonschema.validate(document, SCHEMA)
    assert document["schema"] == "pbx-companion/reconcile/1"
    assert [c["state"] for c in document["calls"]] == [
        "logged",
        "no_recording",
        "duplicated",
        "missing",
        "missed_not_triggered",
    ]
    assert document["summary"]["by_cause"] == {"late_recording": 1, "none": 3}
    assert document["calls"][1]["cause"] == "late_recording"
