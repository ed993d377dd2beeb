from __future__ import annotations

import aiohttp


async def test_v18_login_cookie_and_lists(make_sim) -> None:
    sim = await make_sim(pbx_version="18.0.11.200")
    # The session cookie is set for an IP-address host; aiohttp only keeps those when unsafe.
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
        async with http.get(f"{sim.url}/api/ExtensionList") as r:
            assert r.status == 401
        async with http.post(
            f"{sim.url}/api/login", json={"Username": sim.client_id, "Password": "wrong"}
        ) as r:
            assert r.status == 401
        async with http.post(
            f"{sim.url}/api/login", json={"Username": sim.client_id, "Password": sim.client_secret}
        ) as r:
            assert r.status == 200 and await r.text() == "AuthSuccess"
            assert "X-3CX-Version" not in r.headers
        async with http.get(f"{sim.url}/api/SystemStatus") as r:
            assert (await r.json())["Version"] == "18.0.11.200"
        async with http.get(f"{sim.url}/api/ExtensionList") as r:
            ext = (await r.json())["list"][0]
            assert {"Email", "MobileNumber", "CurrentProfile"} <= set(ext)
        async with http.get(f"{sim.url}/api/CallLog?startRow=0&numberOfRows=5") as r:
            log = await r.json()
            assert len(log["CallLogRows"]) == 5 and log["HasMoreRows"] is True
            assert set(log["CallLogRows"][0]) >= {
                "Answered",
                "CallTime",
                "CallerId",
                "Destination",
                "Duration",
            }
        async with http.get(f"{sim.url}/api/RecordingList?start=0&count=3") as r:
            recs = await r.json()
            assert recs["TotalRowsCount"] > 3 and len(recs["list"]) == 3
            rid = next(x["Id"] for x in recs["list"] if not x["IsArchived"])
        async with http.get(f"{sim.url}/api/RecordingList/Download?file={rid}") as r:
            assert r.status == 200 and r.content_type == "audio/x-wav"
        async with http.get(f"{sim.url}/api/activeCalls") as r:
            assert (await r.json())["list"] == []
        async with http.get(f"{sim.url}/xapi/v1/SystemStatus") as r:
            assert r.status == 404
        async with http.get(f"{sim.url}/callcontrol") as r:
            assert r.status == 404


async def test_old_version_fault(make_sim) -> None:
    sim = await make_sim(scenarios=["old-version"])
    assert sim.version == "18.0.10.5" and not sim.is_v20
