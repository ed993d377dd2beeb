from __future__ import annotations

import base64
import json

import aiohttp
import pytest

from tests.sim.conftest import get_token, token_form
from tests.support.waiting import until


def claims(token: str) -> dict:
    payload = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


@pytest.mark.parametrize(("version", "expected"), [("20.0.10.1116", 3600), ("20.0.8.100", 60)])
async def test_expires_in_minutes_before_20_0_9(make_sim, http, version, expected) -> None:
    sim = await make_sim(pbx_version=version)
    async with http.post(f"{sim.url}/connect/token", data=token_form(sim)) as r:
        body = await r.json()
    assert body["expires_in"] == expected
    assert body["token_type"] == "Bearer" and body["refresh_token"] is None
    header = json.loads(base64.urlsafe_b64decode(body["access_token"].split(".")[0] + "=="))
    assert header["alg"] == "ES256"
    assert claims(body["access_token"])["role"] == "Reports"


async def test_multipart_token_and_wrong_secret(make_sim, http) -> None:
    sim = await make_sim()
    form = aiohttp.FormData()
    for k, v in (
        ("client_id", sim.client_id),
        ("client_secret", sim.client_secret),
        ("grant_type", "client_credentials"),
    ):
        form.add_field(k, v, content_type="text/plain")
    form._is_multipart = True
    async with http.post(f"{sim.url}/connect/token", data=form) as r:
        assert r.status == 200
        assert r.content_type == "application/json"
    async with http.post(
        f"{sim.url}/connect/token",
        data={
            "client_id": sim.client_id,
            "client_secret": "nope",
            "grant_type": "client_credentials",
        },
    ) as r:
        assert r.status == 401
        assert await r.json() == {
            "error": "unauthorized",
            "error_description": "The request requires valid user authentication.",
        }


async def test_token_really_expires_and_missing_bearer_is_401(make_sim, http) -> None:
    sim = await make_sim()

    async def status_with(token: str) -> int:
        h = {"Authorization": f"Bearer {token}"}
        async with http.get(f"{sim.url}/xapi/v1/SystemStatus", headers=h) as r:
            return r.status

    # A long-lived token shows the bearer works, with no race against its expiry.
    assert await status_with(await get_token(http, sim)) == 200
    sim.faults.set("token-lifetime", "1")  # tokens issued from now on live one second
    short = await get_token(http, sim)
    assert claims(short)["exp"] - claims(short)["iat"] == 1
    await until(
        lambda: sim.tokens.check(f"Bearer {short}") is None, "the simulator to expire the token"
    )
    assert await status_with(short) == 401
    async with http.get(f"{sim.url}/xapi/v1/Users") as r:
        assert r.status == 401
        assert r.headers["X-3CX-Version"] == sim.version


async def test_single_token_knob_revokes_the_previous_token(make_sim, http) -> None:
    sim = await make_sim(faults=["single-token"])
    first = await get_token(http, sim)
    await get_token(http, sim)
    async with http.get(
        f"{sim.url}/xapi/v1/Defs?$select=Id", headers={"Authorization": f"Bearer {first}"}
    ) as r:
        assert r.status == 401


async def test_odata_paging_select_count_filter(make_sim, api_for) -> None:
    sim = await make_sim()
    api = await api_for(sim)
    n = len(sim.tenant.extensions)
    _, page1, _ = await api.get("Users?$top=5&$skip=0&$count=true&$orderby=Number desc")
    _, page2, _ = await api.get("Users?$top=5&$skip=5&$orderby=Number desc")
    assert page1["@odata.count"] == n and "@odata.count" not in page2
    numbers = [u["Number"] for u in page1["value"] + page2["value"]]
    assert numbers == sorted(numbers, reverse=True) and len(set(numbers)) == 10
    _, sel, _ = await api.get("Users?$select=Id,Number")
    assert sel["@odata.context"].endswith("#Users(Id,Number)")
    assert all(set(u) == {"Id", "Number"} for u in sel["value"])
    _, one, _ = await api.get("Users?$filter=Number eq '102'")
    assert [u["Number"] for u in one["value"]] == ["102"]
    _, both, _ = await api.get("Users?$filter=Id ge 3 and Id lt 5")
    assert [u["Id"] for u in both["value"]] == [3, 4]
    ct = sim.tenant.contacts[0]
    _, found, _ = await api.get(f"Contacts?$filter=contains(LastName,'{ct.last_name[1:4]}')")
    assert ct.id in [c["Id"] for c in found["value"]]
    status, _, _ = await api.get("Users?$top=101")
    assert status == 400
    status, err, _ = await api.get("Users?$filter=substringof('a',FirstName)")
    assert status == 400 and err["error"]["message"]
    rid = max(sim.tenant.recordings)
    _, recs, _ = await api.get(f"Recordings?$filter=Id eq {rid}")
    assert [r["Id"] for r in recs["value"]] == [rid]
    status, _, _ = await api.get(f"Recordings({rid})")
    assert status == 404


async def test_call_log_parameters_and_range(make_sim, api_for) -> None:
    from tests.sim.conftest import call_log_path, recent_call_log_path

    sim = await make_sim()
    api = await api_for(sim)
    status, body, _ = await api.get(recent_call_log_path(sim, 30) + "?$top=10&$count=true")
    assert status == 200 and len(body["value"]) == 10 and body["@odata.count"] >= 10
    assert body["value"][0]["TalkingDuration"].startswith("PT")
    status, _, _ = await api.get(call_log_path("2020-01-01T00:00:00Z", "2026-01-01T00:00:00Z"))
    assert status == 504
    bad = call_log_path().replace(",hidePcalls=true", "")
    status, _, _ = await api.get(bad)
    assert status == 404
    status, _, _ = await api.get(call_log_path("2026-13-45T00:00:00Z"))
    assert status == 500


async def test_recording_download_is_a_wav(make_sim, api_for) -> None:
    import io
    import wave

    sim = await make_sim()
    api = await api_for(sim)
    rid = max(r.id for r in sim.tenant.recordings.values() if not r.archived)
    status, body, headers = await api.get(f"Recordings/Pbx.DownloadRecording(recId={rid})")
    assert status == 200 and headers["Content-Type"] == "audio/x-wav"
    with wave.open(io.BytesIO(body)) as w:
        assert w.getframerate() == 8000 and w.getnchannels() == 1 and w.getnframes() > 0


async def test_a_recording_archived_after_it_was_listed_is_listed_as_archived(
    make_sim, api_for
) -> None:
    """The recordings list keeps each row it wrote, until the recording changes."""
    sim = await make_sim()
    api = await api_for(sim)
    rec = max((r for r in sim.tenant.recordings.values() if not r.archived), key=lambda r: r.id)
    _, before, _ = await api.get(f"Recordings?$filter=Id eq {rec.id}")
    assert [row["IsArchived"] for row in before["value"]] == [False]
    rec.archived = True
    _, after, _ = await api.get(f"Recordings?$filter=Id eq {rec.id}")
    assert [row["IsArchived"] for row in after["value"]] == [True]
    assert after["value"][0]["ArchivedUrl"] == f"{sim.archive_base}/{rec.id}.wav"


def test_a_recording_file_is_the_same_tone_however_many_were_made_before() -> None:
    """The tones' samples are kept between files: a short file after a long one, and a long
    one after a short one, hold exactly the samples each would alone."""
    import io
    import math
    import wave

    from app.sim.audio import tone_wav

    for rec_id, seconds in ((3, 2.5), (11, 1.0), (19, 3.0), (3, 0.5)):
        with wave.open(io.BytesIO(tone_wav(rec_id, seconds))) as w:
            frames = w.readframes(w.getnframes())
        freq = 350.0 + (rec_id % 8) * 55.0
        expected = [
            int(8000 * math.sin(2 * math.pi * freq * i / 8000)) for i in range(len(frames) // 2)
        ]
        assert len(frames) == 2 * int(8000 * seconds)
        assert list(memoryview(frames).cast("h")) == expected
