from __future__ import annotations

import asyncio
import json

import aiohttp

from tests.sim.conftest import get_token


async def test_websocket_events_and_entity_get(make_sim, http) -> None:
    sim = await make_sim()
    token = await get_token(http, sim)
    h = {"Authorization": f"Bearer {token}"}
    async with http.ws_connect(f"{sim.url}/callcontrol/ws", headers=h) as ws:
        ext = sim.tenant.external_staff()[0].number
        task = asyncio.ensure_future(
            sim.place_call("inbound", extension=ext, ring_s=0.3, talk_s=0.3)
        )
        msg = await ws.receive(timeout=2)
        frame = json.loads(msg.data)
        assert frame["sequence"] == 1 and frame["event"]["event_type"] == 0
        entity = frame["event"]["entity"]
        assert entity.startswith(f"/callcontrol/{ext}/participants/")
        async with http.get(f"{sim.url}{entity}", headers=h) as r:
            part = await r.json()
        assert part["status"] == "Ringing" and part["party_dn_type"] == "Wexternalline"
        assert set(part) >= {"id", "dn", "party_caller_id", "callid", "legid", "device_id"}
        frames = [frame]
        await task
        while True:
            try:
                msg = await ws.receive(timeout=0.3)
            except TimeoutError:
                break
            frames.append(json.loads(msg.data))
        seqs = [f["sequence"] for f in frames]
        assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs)
        assert frames[-1]["event"]["event_type"] == 1
        async with http.get(f"{sim.url}{entity}", headers=h) as r:
            assert r.status == 404


async def test_makecall_and_drop(make_sim, http) -> None:
    sim = await make_sim()
    h = {"Authorization": f"Bearer {await get_token(http, sim)}"}
    ext = sim.tenant.external_staff()[0].number
    async with http.get(f"{sim.url}/callcontrol", headers=h) as r:
        dns = await r.json()
    assert any(d["dn"] == ext and d["type"] == "Wextension" for d in dns)
    async with http.post(
        f"{sim.url}/callcontrol/{ext}/makecall",
        headers=h,
        json={"destination": sim.tenant.contacts[0].e164},
    ) as r:
        result = await r.json()
    assert result["finalstatus"] == "Success"
    pid = result["result"]["id"]
    assert result["result"]["status"] == "Dialing"
    async with http.get(f"{sim.url}/callcontrol/{ext}/participants", headers=h) as r:
        assert [p["id"] for p in await r.json()] == [pid]
    async with http.post(
        f"{sim.url}/callcontrol/{ext}/participants/{pid}/drop", headers=h, json={}
    ) as r:
        assert r.status == 200
    for _ in range(20):
        await asyncio.sleep(0.02)
        if not sim.engine.live:
            break
    assert not sim.engine.live


async def test_auth_and_no_call_control(make_sim, http) -> None:
    sim = await make_sim(faults=["no-call-control"])
    async with http.get(f"{sim.url}/callcontrol") as r:
        assert r.status == 401
    h = {"Authorization": f"Bearer {await get_token(http, sim)}"}
    async with http.get(f"{sim.url}/callcontrol", headers=h) as r:
        assert r.status == 403
    try:
        async with http.ws_connect(f"{sim.url}/callcontrol/ws", headers=h):
            raise AssertionError("upgrade should fail")
    except aiohttp.WSServerHandshakeError as exc:
        assert exc.status == 403


async def test_ws_drop(make_sim, http) -> None:
    sim = await make_sim(faults=["ws-drop=0.3"])
    h = {"Authorization": f"Bearer {await get_token(http, sim)}"}
    async with http.ws_connect(f"{sim.url}/callcontrol/ws", headers=h) as ws:
        msg = await ws.receive(timeout=2)
        assert msg.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED)
