"""Call assembly: missed calls are settled, never transient."""

from datetime import UTC, datetime, timedelta

from app.domain.calls import CallDirection
from app.domain.live import CallAssembler, LiveState, Participant

T0 = datetime(2026, 11, 21, 9, 0, tzinfo=UTC)


def inbound_leg(pid: int, dn: str, status: str, call: str = "1264") -> Participant:
    return Participant(
        id=pid,
        dn=dn,
        status=status,
        call_id=call,
        party_caller_id="+61881234567",
        party_dn="10007",
        party_dn_type="Wexternalline",
        dn_type="Wextension",
        originated_by_dn="ROUTER",
        originated_by_type="Wroutepoint",
    )


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def test_answered_call_rings_connects_and_ends() -> None:
    a = CallAssembler()
    events = a.upsert(inbound_leg(1, "101", "Ringing"), at(0))
    events += a.upsert(inbound_leg(1, "101", "Connected"), at(3))
    events += a.remove("101", 1, at(60))
    assert [e.state for e in events] == [LiveState.RINGING, LiveState.CONNECTED, LiveState.ENDED]
    assert events[0].direction is CallDirection.INBOUND
    assert events[0].external_number == "+61881234567"
    assert events[-1].extension == "101"
    assert a.live_calls == 0


def test_ring_all_queue_with_no_answer_is_one_missed_call() -> None:
    a = CallAssembler()
    events = []
    for pid, dn in ((1, "201"), (2, "202"), (3, "203")):
        events += a.upsert(inbound_leg(pid, dn, "Ringing"), at(0))
    for pid, dn in ((1, "201"), (2, "202")):
        events += a.remove(dn, pid, at(20))
    assert [e.state for e in events] == [LiveState.RINGING]  # not missed while a leg still rings
    events += a.remove("203", 3, at(21))
    assert [e.state for e in events] == [LiveState.RINGING, LiveState.MISSED]


def test_answered_elsewhere_is_not_missed() -> None:
    a = CallAssembler()
    events = a.upsert(inbound_leg(1, "201", "Ringing"), at(0))
    events += a.upsert(inbound_leg(2, "202", "Ringing"), at(0))
    events += a.remove("201", 1, at(5))  # 201 stops ringing: 202 picked up
    events += a.upsert(inbound_leg(2, "202", "Connected"), at(5))
    events += a.remove("202", 2, at(90))
    states = [e.state for e in events]
    assert LiveState.MISSED not in states
    assert states[-1] is LiveState.ENDED
    assert events[-1].extension == "202"


def test_voicemail_pickup_before_last_leg_goes() -> None:
    a = CallAssembler()
    events = a.upsert(inbound_leg(1, "101", "Ringing"), at(0))
    voicemail = Participant(
        id=2,
        dn="999",
        status="Connected",
        call_id="1264",
        party_dn_type="Wexternalline",
        party_caller_id="+61881234567",
        dn_type="Wvoicemail",
    )
    events += a.upsert(voicemail, at(20))
    events += a.remove("101", 1, at(20))
    events += a.remove("999", 2, at(50))
    assert [e.state for e in events] == [
        LiveState.RINGING,
        LiveState.VOICEMAIL,
        LiveState.VOICEMAIL,
    ]


def test_unanswered_outbound_is_not_a_missed_call() -> None:
    a = CallAssembler()
    leg = Participant(
        id=5,
        dn="101",
        status="Dialing",
        call_id="9",
        party_caller_id="+61299998888",
        party_dn_type="Wexternalline",
        dn_type="Wextension",
        originated_by_dn="101",
        originated_by_type="Wextension",
    )
    events = a.upsert(leg, at(0)) + a.remove("101", 5, at(30))
    assert events[0].direction is CallDirection.OUTBOUND
    assert events[-1].state is LiveState.ENDED


def test_history_is_bounded() -> None:
    a = CallAssembler(max_calls=10)
    for i in range(50):
        a.upsert(inbound_leg(i, "101", "Ringing", call=str(i)), at(i))
    assert a.live_calls == 10
    assert len(a.legs()) == 10
