"""Departments (/Groups): one DEFAULT by default, named ones from the knob, as users see them."""

from __future__ import annotations

from app.sim.departments import DEFAULT_NAME, FAVORITES_PREFIX, parse_layout
from app.sim.faults import STARTUP_ONLY
from tests.conftest import SimFactory
from tests.sim.test_contract import validate


def departments_of(body: dict) -> list[dict]:
    return [g for g in body["value"] if not g["Name"].startswith(FAVORITES_PREFIX)]


def test_the_layout_is_read_leniently_and_fixed_at_start() -> None:
    assert parse_layout("Main office:8, Support:3") == [("Main office", 8), ("Support", 3)]
    assert parse_layout("Main office:x,,Support,Sales:²") == [
        ("Main office", 0),
        ("Support", 0),
        ("Sales", 0),
    ]
    assert parse_layout(None) == []
    assert "departments" in STARTUP_ONLY


async def test_a_fresh_pbx_has_one_default_department_holding_everyone(
    make_sim: SimFactory, api_for
) -> None:
    sim = await make_sim()
    api = await api_for(sim)
    status, body, _ = await api.get("Groups?$expand=Members")
    assert status == 200
    validate("GET /Groups", body)
    (default,) = departments_of(body)
    assert (default["Name"], default["IsDefault"]) == (DEFAULT_NAME, True)
    members = [m["Number"] for m in default["Members"]]
    assert members == [e.number for e in sim.tenant.extensions]
    assert {m["Type"] for m in default["Members"]} == {"Extension"}


async def test_the_knob_makes_named_departments_and_users_agree(
    make_sim: SimFactory, api_for
) -> None:
    sim = await make_sim(faults=["departments=Main office:5,Support:3"])
    api = await api_for(sim)
    _, body, _ = await api.get("Groups?$select=Id,Name&$expand=Members($select=Number,Type)")
    validate("GET /Groups", body)
    groups = {g["Name"]: g for g in departments_of(body)}
    numbers = [e.number for e in sim.tenant.extensions]
    assert [m["Number"] for m in groups["Main office"]["Members"]] == numbers[:5]
    assert [m["Number"] for m in groups["Support"]["Members"]] == numbers[5:8]
    assert [m["Number"] for m in groups[DEFAULT_NAME]["Members"]] == numbers[8:]
    # $select keeps the expanded Members (OData), and names only what was asked for.
    assert set(groups["Support"]) == {"Id", "Name", "Members"}
    _, users, _ = await api.get("Users?$expand=Groups")
    placed = {u["Number"]: u["Groups"][0]["Name"] for u in users["value"]}
    assert placed[numbers[0]] == "Main office" and placed[numbers[-1]] == DEFAULT_NAME
    assert {u["PrimaryGroupId"] for u in users["value"]} == {g["Id"] for g in groups.values()}


async def test_live_pbxs_list_favourites_groups_among_departments(
    make_sim: SimFactory, api_for
) -> None:
    sim = await make_sim()
    _, messy, _ = await (await api_for(sim)).get("Groups")
    assert messy["value"][0]["Name"].startswith(FAVORITES_PREFIX)
    clean = await make_sim(wire_quirks=frozenset())
    _, body, _ = await (await api_for(clean)).get("Groups")
    assert [g["Name"] for g in body["value"]] == [DEFAULT_NAME]


async def test_sizes_past_the_staff_leave_default_empty(make_sim: SimFactory, api_for) -> None:
    sim = await make_sim(faults=["departments=Sales:99"])
    _, body, _ = await (await api_for(sim)).get("Groups?$expand=Members")
    groups = {g["Name"]: g for g in departments_of(body)}
    assert len(groups["Sales"]["Members"]) == len(sim.tenant.extensions)
    assert groups[DEFAULT_NAME]["HasMembers"] is False and groups[DEFAULT_NAME]["Members"] == []
