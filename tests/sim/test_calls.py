from __future__ import annotations

import asyncio

import pytest

from app.sim.wire_quirks import main_history_id
from tests.sim.conftest import recent_call_log_path


async def rows_for(api, sim, call_id: int) -> list[dict]:
    """A call's legs: they share MainCallHistoryId (CallId is a row number, API-NOTES §9.1)."""
    key = main_history_id(call_id)
    _, body, _ = await api.get(
        recent_call_log_path(sim, 2) + f"?$filter=MainCallHistoryId eq '{key}'"
    )
    return body["value"]


@pytest.mark.parametrize("kind", ["inbound", "outbound", "internal", "missed", "voicemail"])
async def test_each_kind_lands_in_the_call_log(make_sim, api_for, kind) -> None:
    sim = await make_sim()
    api = await api_for(sim)
    call = await sim.place_call(kind, ring_s=0.05, talk_s=0.05)
    rows = await rows_for(api, sim, call.call_id)
    assert rows, kind
    direction = {"outbound": "Outbound", "internal": "Internal"}.get(kind, "Inbound")
    assert {r["Direction"] for r in rows} == {direction}
    answered_ext = [
        r
        for r in rows
        if (r["Answered"] and r["DestinationType"] == 0)
        or (r["Answered"] and r["Direction"] == "Outbound")
    ]
    if kind == "missed":
        assert not any(r["Answered"] for r in rows)
    if kind == "voicemail":
        assert any(r["Answered"] and r["DestinationType"] == 5 for r in rows)
        assert not answered_ext
    if kind in ("inbound", "outbound", "internal"):
        assert answered_ext


async def test_ring_all_queue_miss_is_one_call(make_sim, api_for) -> None:
    sim = await make_sim()
    api = await api_for(sim)
    call = await sim.place_call("queue", answered=False, ring_s=0.05)
    rows = await rows_for(api, sim, call.call_id)
    agent_rows = [r for r in rows if r["DestinationType"] == 0]
    assert len(agent_rows) == len(call.agent_dns) >= 2
    assert not any(r["Answered"] for r in rows)
    assert {r["MainCallHistoryId"] for r in rows} == {call.history_id}
    assert len({r["CdrId"] for r in rows}) == len(rows)  # each leg its own id
    assert call.to_json()["missed"] is True


async def test_recording_appears_after_the_delay(make_sim, api_for) -> None:
    sim = await make_sim(recording_delay_s=0.3)
    api = await api_for(sim)
    call = await sim.place_call(
        "inbound", extension=sim.tenant.external_staff()[0].number, ring_s=0.05, talk_s=0.05
    )
    assert call.recorded
    rows = await rows_for(api, sim, call.call_id)
    assert rows[0]["DstRecId"] is None and rows[0]["RecordingUrl"] is None
    for _ in range(50):
        await asyncio.sleep(0.05)
        if call.recording_id is not None:
            break
    rid = call.recording_id
    assert rid is not None
    rows = await rows_for(api, sim, call.call_id)
    assert rows[0]["DstRecId"] == rid and rows[0]["RecordingUrl"]
    _, recs, _ = await api.get(f"Recordings?$filter=Id eq {rid}")
    assert recs["value"][0]["CallType"] == "InboundExternal"
    # A live PBX gives the file's path, not a download URL (§9.5): download by id.
    assert rows[0]["RecordingUrl"].endswith(f"({rid}).wav")
    status, _, _ = await api.get(f"Recordings/Pbx.DownloadRecording(recId={rid})")
    assert status == 200


async def test_generator_produces_traffic_and_history_is_deterministic(make_sim) -> None:
    a = await make_sim(seed=7)
    b = await make_sim(seed=7)
    assert a.tenant.company == b.tenant.company
    assert [s.cdr_id for s in list(a.tenant.segments)[:50]] == [
        s.cdr_id for s in list(b.tenant.segments)[:50]
    ]
    assert a.client_secret == b.client_secret
    busy = await make_sim(calls_per_minute=600)
    for _ in range(60):
        await asyncio.sleep(0.05)
        if busy.engine.live:
            break
    assert busy.engine.live


async def test_crm_export_flavours(make_sim) -> None:
    sim = await make_sim()
    for flavour, header in [
        ("hubspot", "Record ID"),
        ("salesforce", "Id"),
        ("gohighlevel", "Contact Id"),
        ("zoho", "Record Id"),
        ("generic", "name"),
    ]:
        text = sim.crm_export_csv(flavour)
        assert text.splitlines()[0].split(",")[0] == header
        assert len(text.splitlines()) == len(sim.tenant.contacts) + 1
    with pytest.raises(ValueError):
        sim.crm_export_csv("nope")
