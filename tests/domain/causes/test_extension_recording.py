"""Cause 3 as a pure rule: typed facts in, one verdict out, never contradicting itself."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.domain.calls import CallDirection, CallRecord
from app.domain.causes.extension_recording import (
    ExtensionRecordingDetails,
    ExtensionRecordingFacts,
    cause_sentence,
    count_by_extension,
    judge_extension_recording,
    references_recordings,
    unrecorded_candidates,
)
from app.domain.causes.recording import SETTLE_AFTER_HANG_UP, recording_fix
from app.domain.diagnosis import CheckStatus, DiagnosisFormatError
from app.domain.extensions import Extension, Queue, QueueRecording, RecordingMode

NOW = datetime(2026, 11, 18, 0, 30, tzinfo=UTC)
ALL = RecordingMode.ALL_CALLS
ON_DEMAND = RecordingMode.ON_DEMAND
OFF = RecordingMode.DISABLED


def facts(
    modes: dict[str, RecordingMode],
    lost: dict[str, int] | None,
    *,
    generation: str = "v20",
    queues: tuple[Queue, ...] = (),
) -> ExtensionRecordingFacts:
    return ExtensionRecordingFacts(
        generation=generation,
        recent_label="last 7 days",
        extensions=tuple(Extension(n, NAMES.get(n, ""), m) for n, m in modes.items()),
        queues=queues,
        unrecorded=lost,
    )


NAMES = {"101": "Ann Lee", "104": "Bo Tran", "107": "Cy Park", "103": "Di Ross"}


def test_on_demand_extensions_that_lost_calls_are_named_as_the_cause_in_one_sentence() -> None:
    result = judge_extension_recording(
        facts({"101": ALL, "104": ON_DEMAND, "107": ON_DEMAND}, {"104": 4, "107": 2})
    )
    assert result.status is CheckStatus.FAIL
    assert result.finding == (
        "104 (Bo Tran) and 107 (Cy Park) record only on demand: 6 answered external calls in "
        "the last 7 days have no recording (a call the user does not record has no file), and "
        "no bridge can recover them."
    )
    # Not the contradictions the issue quoted.
    assert "Every extension is set to record" not in result.finding
    assert "inbound rule" not in result.finding
    assert result.evidence[0] == (
        "3 extensions read; 2 do not record external calls (0 not set to record, 2 only on demand)"
    )
    listed = [line for line in result.evidence if line.startswith("Extension ")]
    assert len(listed) == 2 and all("on demand" in line for line in listed)
    assert result.evidence[-1] == (
        "Cross-check, last 7 days: 6 answered external calls without a recording (on 104 and 107)"
    )
    assert result.fix == recording_fix(True, "104 (Bo Tran) and 107 (Cy Park)")


def test_details_round_trip_and_keep_the_keys_the_report_reads() -> None:
    result = judge_extension_recording(
        facts(
            {"101": ALL, "104": ON_DEMAND},
            {"104": 3},
            queues=(Queue("801", "Support", QueueRecording.DISABLED),),
        )
    )
    details = ExtensionRecordingDetails.from_json(result.details)
    assert details.as_json() == result.details
    row = result.details["extensions"][1]
    assert row == {
        "number": "104",
        "name": "Bo Tran",
        "recording": "on demand",
        "records": "records only on demand",
        "records_external_calls": False,
        "answered_external_without_recording": 3,
    }
    assert result.details["queues"] == [
        {"number": "801", "name": "Support", "recording": "Disabled"}
    ]
    assert [r.number for r in details.culprits] == ["104"]
    assert cause_sentence(details) is not None and result.finding.startswith(
        cause_sentence(details) or "?"
    )


def test_details_from_json_names_the_wrong_field() -> None:
    with pytest.raises(DiagnosisFormatError, match=r"extensions\[0\]\.recording"):
        ExtensionRecordingDetails.from_json(
            {"extensions": [{"number": "101", "name": "", "recording": "sometimes"}]}
        )


def test_off_and_on_demand_together_make_one_cause_sentence() -> None:
    result = judge_extension_recording(
        facts({"103": OFF, "104": ON_DEMAND, "107": ON_DEMAND}, {"103": 1, "104": 2})
    )
    assert result.status is CheckStatus.FAIL
    assert result.finding.startswith(
        "103 (Di Ross) is not set to record and 104 (Bo Tran) records only on demand: 3 answered "
        "external calls in the last 7 days have no recording"
    )
    # 107 lost nothing yet, is set the same way: said once, counted as listed, fixed too.
    assert result.finding.endswith(
        "Also 107 (Cy Park) records only on demand (1 extension); none lost an answered "
        "external call in the last 7 days."
    )
    assert result.fix.startswith("Turn recording on for 103 (Di Ross), 104 (Bo Tran) and 107")


def test_extensions_that_will_not_record_but_lost_nothing_warn() -> None:
    result = judge_extension_recording(facts({"101": ALL, "103": OFF, "104": ON_DEMAND}, {}))
    assert result.status is CheckStatus.WARN
    assert result.finding == (
        "103 (Di Ross) is not set to record and 104 (Bo Tran) records only on demand "
        "(2 extensions); none lost an answered external call in the last 7 days."
    )


def test_calls_lost_on_recording_extensions_point_at_an_inbound_rule() -> None:
    result = judge_extension_recording(facts({"101": ALL, "104": ALL}, {"101": 2}))
    assert result.status is CheckStatus.WARN
    assert result.finding == (
        "Every extension is set to record external calls, yet 2 answered external calls in the "
        "last 7 days on 101 (Ann Lee) have no recording: an inbound rule may override the "
        "extension."
    )
    assert "inbound rules" in result.fix


def test_an_inbound_rule_is_not_blamed_with_every_extension_recording_when_one_does_not() -> None:
    result = judge_extension_recording(facts({"101": ALL, "104": ON_DEMAND}, {"101": 1}))
    assert "Every extension" not in result.finding
    assert "set to record, has no recording either" in result.finding


def test_v18_names_the_extensions_whose_calls_went_unrecorded() -> None:
    unknown = RecordingMode.UNKNOWN
    result = judge_extension_recording(
        facts({"101": unknown, "102": unknown}, {"102": 1}, generation="v18")
    )
    assert result.status is CheckStatus.FAIL
    assert result.finding.startswith(
        "102 did not record (the API does not say its recording mode): 1 answered external "
        "call in the last 7 days has no recording, and no bridge can recover it."
    )
    assert result.evidence[0] == "2 extensions read; modes not given by this API"
    assert "set Recording to All Calls" in result.fix


def test_healthy_and_unreadable() -> None:
    healthy = judge_extension_recording(facts({"101": ALL}, {}))
    assert healthy.status is CheckStatus.PASS
    assert healthy.finding == "Every extension is set to record external calls."
    unreadable = judge_extension_recording(
        ExtensionRecordingFacts("v20", "last 7 days", None, "403 on /Users", True)
    )
    assert unreadable.status is CheckStatus.SKIP
    assert "403 on /Users" in unreadable.finding


def call(
    extension: str | None,
    ended_ago: timedelta,
    *,
    direction: CallDirection = CallDirection.INBOUND,
    answered: bool = True,
    recording_ids: tuple[int, ...] = (),
) -> CallRecord:
    talk = timedelta(seconds=30)
    return CallRecord(
        "1",
        NOW - ended_ago - talk,
        direction,
        "+61412345678",
        extension or "",
        extension,
        answered,
        talking=talk,
        recording_ids=recording_ids,
    )


def test_only_settled_answered_external_calls_without_a_recording_count() -> None:
    settled = SETTLE_AFTER_HANG_UP
    counted = call("104", settled)
    calls = [
        counted,
        call("104", settled - timedelta(seconds=1)),  # may still be written
        call("104", settled, direction=CallDirection.INTERNAL),
        call("104", settled, answered=False),
        call("104", settled, recording_ids=(7,)),
        call(None, settled),
    ]
    assert unrecorded_candidates(calls, NOW) == [counted]
    assert count_by_extension([counted, counted]) == {"104": 2}
    assert references_recordings(calls) and not references_recordings([counted])


MODES = st.sampled_from([ALL, RecordingMode.EXTERNAL_ONLY, ON_DEMAND, OFF, RecordingMode.FORBIDDEN])


@given(
    st.dictionaries(
        st.integers(100, 130).map(str),
        st.tuples(MODES, st.integers(0, 5)),
        min_size=1,
        max_size=12,
    )
)
def test_every_count_is_the_length_of_the_list_it_names(
    table: dict[str, tuple[RecordingMode, int]],
) -> None:
    result = judge_extension_recording(
        facts({n: m for n, (m, _) in table.items()}, {n: c for n, (_, c) in table.items()})
    )
    listed = [line for line in result.evidence if line.startswith("Extension ")]
    said = re.match(r"\d+ extensions? read; (\d+) do(?:es)? not record", result.evidence[0])
    assert (int(said.group(1)) if said else 0) == len(listed)
    silent = {n for n, (m, _) in table.items() if m not in (ALL, RecordingMode.EXTERNAL_ONLY)}
    assert {line.split()[1].rstrip(":") for line in listed} == silent
    lost_silent = sum(c for n, (_, c) in table.items() if n in silent)
    if lost_silent:
        assert result.status is CheckStatus.FAIL
        assert f"{lost_silent} answered external call" in result.finding
        named = {n for n in silent if table[n][1]}
        first = result.finding.split(":")[0]
        if len(named) <= 6:  # past six, the list ends "and N more"
            assert {n for n in table if re.search(rf"\b{n}\b", first)} == named
    for extra in re.finditer(r"\((\d+) extensions?\)", result.finding):
        assert int(extra.group(1)) == len(silent) - len([n for n in silent if table[n][1]])
