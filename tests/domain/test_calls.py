from datetime import UTC, datetime, timedelta

from app.domain.calls import CallDirection, CallOutcome, CallRecord, merge_call_segments

T0 = datetime(2026, 11, 21, 9, 0, tzinfo=UTC)


def leg(
    call: str, ext: str, answered: bool, offset: int = 0, recs: tuple[int, ...] = ()
) -> CallRecord:
    return CallRecord(
        call_id=call,
        started_at=T0 + timedelta(seconds=offset),
        direction=CallDirection.INBOUND,
        caller="+61881234567",
        callee=ext,
        extension=ext,
        answered=answered,
        recording_ids=recs,
        outcome=CallOutcome.ANSWERED if answered else CallOutcome.MISSED,
    )


def test_queue_legs_fold_into_one_call_answered_by_one_agent() -> None:
    merged = merge_call_segments(
        [
            leg("7", "201", False),
            leg("7", "202", True, 1, (55,)),
            leg("7", "203", False, 2),
            leg("8", "101", False),
        ]
    )
    assert [c.call_id for c in merged] == ["7", "8"]
    call = merged[0]
    assert call.answered is True
    assert call.extension == "202"
    assert call.recording_ids == (55,)
    assert call.outcome is CallOutcome.ANSWERED
    assert merged[1].outcome is CallOutcome.MISSED


def test_external_number_follows_direction() -> None:
    inbound = leg("1", "101", True)
    assert inbound.external_number == "+61881234567"
    outbound = CallRecord("2", T0, CallDirection.OUTBOUND, "101", "+61299998888", "101", True)
    assert outbound.external_number == "+61299998888"
    internal = CallRecord("3", T0, CallDirection.INTERNAL, "101", "102", "102", True)
    assert internal.external_number is None and not internal.is_external
