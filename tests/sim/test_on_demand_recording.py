"""The ``on-demand-recording`` knob: extensions that record only when the user starts it."""

from __future__ import annotations

from app.sim.faults import STARTUP_ONLY, FaultSet


def test_the_knob_names_extensions_and_is_set_before_start() -> None:
    assert FaultSet(["on-demand-recording"]).numbers("on-demand-recording") == ("104", "107")
    assert FaultSet(["on-demand-recording=104, 110"]).numbers("on-demand-recording") == (
        "104",
        "110",
    )
    assert FaultSet().numbers("on-demand-recording") == ()
    assert "on-demand-recording" in STARTUP_ONLY


async def test_on_demand_extensions_read_as_on_demand_and_record_nothing(make_sim, api_for) -> None:
    sim = await make_sim(faults=["on-demand-recording=104,107"])
    api = await api_for(sim)
    for number in ("104", "107"):
        _, users, _ = await api.get(f"Users?$filter=Number eq '{number}'")
        row = users["value"][0]
        # v20's flags for "On Demand": Record calls off, the user may record, not forbidden.
        assert row["RecordCalls"] is False
        assert row["AllowOwnRecordings"] is True
        assert row["ForbidRecording"] is False
        call = await sim.place_call("inbound", extension=number, ring_s=0.01, talk_s=0.01)
        assert call.answered and not call.recorded
    # The generated history agrees: their answered inbound legs have no recording.
    legs = [
        s
        for s in sim.tenant.segments
        if s.answered and s.direction == "Inbound" and s.dst.dn in ("104", "107")
    ]
    assert legs and all(s.recording is None for s in legs)
    # Every other extension is untouched.
    others = [e for e in sim.tenant.extensions if e.number not in ("104", "107")]
    assert all(e.record_calls for e in others)
