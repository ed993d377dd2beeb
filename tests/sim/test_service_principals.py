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


# ---- department, role and Extensions to Monitor (Groups and Peers) --------------------------
async def create(
    http: aiohttp.ClientSession, sim: Simulator, admin: dict[str, str], body: dict[str, Any]
) -> tuple[int, Any]:
    async with http.post(f"{sim.url}/xapi/v1/ServicePrincipals", headers=admin, json=body) as r:
        return r.status, await r.json() if r.content_type == "application/json" else None


async def patch(
    http: aiohttp.ClientSession, sim: Simulator, admin: dict[str, str], pid: int, body: Any
) -> tuple[int, Any]:
    async with http.patch(
        f"{sim.url}/xapi/v1/ServicePrincipals({pid})", headers=admin, json=body
    ) as r:
        return r.status, await r.json() if r.content_type == "application/json" else None


async def read(
    http: aiohttp.ClientSession, sim: Simulator, admin: dict[str, str], pid: int
) -> dict[str, Any]:
    async with http.get(
        f"{sim.url}/xapi/v1/ServicePrincipals({pid})?$expand=Groups,Peers", headers=admin
    ) as r:
        assert r.status == 200
        body: dict[str, Any] = await r.json()
    validate("GET /ServicePrincipals({Id})", body)
    return body


def owner_in(group_id: int) -> dict[str, Any]:
    return {"Groups": [{"GroupId": group_id, "Rights": {"RoleName": "system_owners"}}]}


async def test_a_patch_sets_department_role_and_peers_and_get_expands_them(
    make_sim: SimFactory, http: aiohttp.ClientSession
) -> None:
    sim = await make_sim(faults=["departments=Main office:4"])
    admin = await admin_headers(http, sim)
    office = sim.departments()[1]
    _, created = await create(http, sim, admin, {"Number": "940", "CallControlEnabled": True})
    pid = created["Id"]
    assert await patch(http, sim, admin, pid, owner_in(office.id)) == (204, None)
    peers = {"Peers": [{"Number": n, "Type": "Extension"} for n in office.members]}
    assert await patch(http, sim, admin, pid, peers) == (204, None)
    body = await read(http, sim, admin, pid)
    (group,) = body["Groups"]
    assert (group["GroupId"], group["Name"]) == (office.id, "Main office")
    assert group["Rights"]["RoleName"] == "system_owners"
    assert [p["Number"] for p in body["Peers"]] == list(office.members)
    assert {p["Type"] for p in body["Peers"]} == {"Extension"}
    # Navigation properties only when expanded; $select keeps the expanded ones.
    async with http.get(f"{sim.url}/xapi/v1/ServicePrincipals({pid})", headers=admin) as r:
        assert "Groups" not in await r.json()
    async with http.get(
        f"{sim.url}/xapi/v1/ServicePrincipals?$select=Number&$expand=Peers", headers=admin
    ) as r:
        listed = await r.json()
    validate("GET /ServicePrincipals", listed)
    mine = next(p for p in listed["value"] if p["Number"] == "940")
    assert set(mine) == {"Number", "Peers"} and len(mine["Peers"]) == 4


async def test_a_post_may_carry_them_inline(
    make_sim: SimFactory, http: aiohttp.ClientSession
) -> None:
    sim = await make_sim()
    admin = await admin_headers(http, sim)
    default = sim.departments()[0]
    body = {"Number": "941", **owner_in(default.id), "Peers": [{"Number": "101"}]}
    status, created = await create(http, sim, admin, body)
    assert status == 201
    validate("POST /ServicePrincipals", created)
    stored = await read(http, sim, admin, created["Id"])
    assert stored["Groups"][0]["Rights"]["RoleName"] == "system_owners"
    assert [p["Number"] for p in stored["Peers"]] == ["101"]


@pytest.mark.parametrize(
    ("body", "target"),
    [
        ({"Groups": [{"GroupId": 999}]}, "GroupId"),
        ({"Groups": [{"GroupId": 28, "Rights": {"RoleName": "root"}}]}, "RoleName"),
        ({"Groups": "DEFAULT"}, "Groups"),
        ({"Peers": [{"Number": "555"}]}, "Peers"),
        ({"Number": "999"}, "Number"),
    ],
    ids=["unknown-department", "unknown-role", "not-a-list", "unknown-peer", "new-number"],
)
async def test_a_bad_patch_is_refused_with_an_odata_error(
    make_sim: SimFactory, http: aiohttp.ClientSession, body: dict[str, Any], target: str
) -> None:
    sim = await make_sim()
    admin = await admin_headers(http, sim)
    _, created = await create(http, sim, admin, {"Number": "942"})
    status, error = await patch(http, sim, admin, created["Id"], body)
    assert status == 400
    validate("error", error)
    assert error["error"]["details"][0]["target"] == target
    assert sim.principal_by_number("942")["_groups"] == []


async def test_only_an_admin_patches_and_only_a_known_client(
    make_sim: SimFactory, http: aiohttp.ClientSession
) -> None:
    sim = await make_sim()
    admin = await admin_headers(http, sim)
    bearer = await new_client(http, sim, "943", XAPIEnabled=True)
    pid = sim.principal_by_number("943")["Id"]
    assert (await patch(http, sim, bearer, pid, owner_in(28)))[0] == 403
    status, error = await patch(http, sim, admin, 12345, owner_in(28))
    assert status == 404
    validate("error", error)


@pytest.mark.parametrize(
    ("refused", "body", "status"),
    [
        ("groups", owner_in(28), 403),
        ("groups", {"Groups": [{"GroupId": 28}]}, 403),
        ("role", owner_in(28), 403),
        ("peers", {"Peers": [{"Number": "101"}]}, 400),
    ],
    ids=["groups", "groups-without-role", "role", "peers"],
)
async def test_the_refusal_knob_refuses_each_setting(
    make_sim: SimFactory, http: aiohttp.ClientSession, refused: str, body: Any, status: int
) -> None:
    sim = await make_sim(faults=[f"api-client-settings-refused={refused}"])
    admin = await admin_headers(http, sim)
    _, created = await create(http, sim, admin, {"Number": "944"})
    answer, error = await patch(http, sim, admin, created["Id"], body)
    assert answer == status
    if error is not None:
        validate("error", error)
    # Refused inline too: nothing is created then.
    assert (await create(http, sim, admin, {"Number": "945", **body}))[0] == status
    assert sim.principal_by_number("945") is None


async def test_a_refused_role_still_takes_the_department_alone(
    make_sim: SimFactory, http: aiohttp.ClientSession
) -> None:
    sim = await make_sim(faults=["api-client-settings-refused=role"])
    admin = await admin_headers(http, sim)
    _, created = await create(http, sim, admin, {"Number": "946"})
    assert await patch(http, sim, admin, created["Id"], {"Groups": [{"GroupId": 28}]}) == (
        204,
        None,
    )
    stored = await read(http, sim, admin, created["Id"])
    assert stored["Groups"][0]["Rights"]["RoleName"] == "users"  # the PBX's least role


@pytest.mark.parametrize("fault", ["missing-recording-role", "missing-history-role"])
async def test_the_role_an_admin_gives_decides_the_capabilities(
    make_sim: SimFactory, http: aiohttp.ClientSession, fault: str
) -> None:
    # The role faults stand for the built-in client's role; a client an admin made System
    # Owner holds both capabilities, one made System Administrator neither (API-NOTES §3).
    sim = await make_sim(faults=[fault])
    admin = await admin_headers(http, sim)
    owner = await new_client(http, sim, "947", XAPIEnabled=True)
    sysadmin = await new_client(http, sim, "948", XAPIEnabled=True)
    for number, role in (("947", "system_owners"), ("948", "system_admins")):
        pid = sim.principal_by_number(number)["Id"]
        body = {"Groups": [{"GroupId": 28, "Rights": {"RoleName": role}}]}
        assert (await patch(http, sim, admin, pid, body))[0] == 204
    history = f"{sim.url}/xapi/v1/CallHistoryView?$top=1"
    recordings = f"{sim.url}/xapi/v1/Recordings?$top=1"
    assert [await status_of(http, url, owner) for url in (history, recordings)] == [200, 200]
    assert [await status_of(http, url, sysadmin) for url in (history, recordings)] == [403, 403]
    builtin = await new_client(http, sim, "949", XAPIEnabled=True)  # no role given: the fault's
    refused = recordings if fault == "missing-recording-role" else history
    assert await status_of(http, refused, builtin) == 403
