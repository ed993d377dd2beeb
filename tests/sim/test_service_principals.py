"""API clients created by an admin: their access flags are enforced, their numbers are DNs."""

from __future__ import annotations

from typing import Any

import aiohttp
import pytest

from app.sim import Simulator
from tests.conftest import SimFactory
from tests.sim.test_contract import validate


async def admin_headers(http: aiohttp.ClientSession, sim: Simulator) -> dict[str, str]:
    async with http.post(
        f"{sim.url}/webclient/api/Login/GetAccessToken",
        json={"Username": sim.admin_username, "Password": sim.admin_password, "SecurityCode": ""},
    ) as r:
        login = await r.json()
    return {"Authorization": f"Bearer {login['Token']['access_token']}"}


async def new_client(
    http: aiohttp.ClientSession, sim: Simulator, number: str, **flags: bool
) -> dict[str, str]:
    """Create an API client with ``flags`` and return its bearer header."""
    admin = await admin_headers(http, sim)
    async with http.post(
        f"{sim.url}/xapi/v1/ServicePrincipals", headers=admin, json={"Number": number, **flags}
    ) as r:
        assert r.status == 201
        created = await r.json()
    async with http.post(
        f"{sim.url}/xapi/v1/ServicePrincipals({created['Id']})/Pbx.GenerateAppToken",
        headers=admin,
    ) as r:
        key = (await r.json())["value"]
    form = {"client_id": number, "client_secret": key, "grant_type": "client_credentials"}
    async with http.post(f"{sim.url}/connect/token", data=form) as r:
        assert r.status == 200
        return {"Authorization": f"Bearer {(await r.json())['access_token']}"}


async def status_of(http: aiohttp.ClientSession, url: str, headers: dict[str, str]) -> int:
    async with http.get(url, headers=headers) as r:
        return r.status


async def test_xapi_access_unticked_refuses_xapi(
    make_sim: SimFactory, http: aiohttp.ClientSession
) -> None:
    sim = await make_sim()
    bearer = await new_client(http, sim, "930", XAPIEnabled=False, CallControlEnabled=True)
    assert await status_of(http, f"{sim.url}/xapi/v1/SystemStatus", bearer) == 403
    assert await status_of(http, f"{sim.url}/callcontrol", bearer) == 200


async def test_call_control_unticked_refuses_rest_and_websocket(
    make_sim: SimFactory,
    http: aiohttp.ClientSession,
) -> None:
    sim = await make_sim()
    bearer = await new_client(http, sim, "931", XAPIEnabled=True, CallControlEnabled=False)
    assert await status_of(http, f"{sim.url}/xapi/v1/SystemStatus", bearer) == 200
    assert await status_of(http, f"{sim.url}/callcontrol", bearer) == 403
    with pytest.raises(aiohttp.WSServerHandshakeError) as caught:
        await http.ws_connect(f"{sim.url}/callcontrol/ws", headers=bearer)
    assert caught.value.status == 403


async def test_admin_users_are_not_limited_by_client_flags(
    make_sim: SimFactory, http: aiohttp.ClientSession
) -> None:
    sim = await make_sim()
    admin = await admin_headers(http, sim)
    assert await status_of(http, f"{sim.url}/xapi/v1/SystemStatus", admin) == 200
    assert await status_of(http, f"{sim.url}/callcontrol", admin) == 200


@pytest.mark.parametrize("number", ["101", "800", "900"], ids=["extension", "queue", "client"])
async def test_a_client_id_must_be_a_free_dn(
    make_sim: SimFactory, http: aiohttp.ClientSession, number: str
) -> None:
    sim = await make_sim()
    admin = await admin_headers(http, sim)
    async with http.post(
        f"{sim.url}/xapi/v1/ServicePrincipals", headers=admin, json={"Number": number}
    ) as r:
        assert r.status == 400
        body: Any = await r.json()
    validate("error", body)
    assert body["error"]["details"][0]["message"] == "WARNINGS.XAPI.ALREADY_IN_USE"
