"""The automatic path's Department, Role and Extensions to Monitor: chosen, set, or named as
left by hand (with where), never at the cost of the client or its key."""

from __future__ import annotations

from datetime import timedelta

import pytest

from app.domain.clock import utc_now
from app.services.setup.api_user import (
    DEPARTMENT,
    MONITOR,
    ROLE,
    CreatedApiUser,
    choose_department,
    create_api_user,
)
from app.sim import Simulator
from app.threecx.connect import open_client
from app.threecx.tls import TlsOptions
from app.threecx.v20.admin import AdminForbidden, AdminSession, Department, admin_sign_in
from tests.conftest import SimFactory
from tests.threecx.conftest import params_for

KEY_CHECK = "The key check in the next step proves both capabilities."


async def created_on(sim: Simulator, number: str = "910", **kw: bool) -> CreatedApiUser:
    async with await admin_sign_in(
        sim.url, sim.admin_username, sim.admin_password, tls=TlsOptions()
    ) as session:
        return await create_api_user(session, number, **kw)


async def assert_key_works(sim: Simulator, created: CreatedApiUser) -> None:
    client = await open_client(params_for(sim, client_id=created.client_id), created.secret)
    try:
        await client.authenticate()
    finally:
        await client.aclose()


def numbers(sim: Simulator) -> list[str]:
    return [e.number for e in sim.tenant.extensions]


def test_the_department_is_the_only_one_else_the_biggest_else_first_by_name() -> None:
    small, big = Department(1, "Support", ("101",)), Department(2, "Sales", ("102", "103"))
    empty = Department(3, "Main office", ())
    assert choose_department([]) is None
    assert choose_department([empty]) == empty  # the only one, even without extensions
    assert choose_department([small, big, empty]) == big
    tied = Department(4, "accounts", ("104", "105"))
    assert choose_department([big, tied]) == tied  # a tie: the first by name, any case


async def test_one_department_finishes_the_job(make_sim: SimFactory) -> None:
    sim = await make_sim()
    created = await created_on(sim)
    count = len(numbers(sim))
    assert created.follow_up == (
        f"Done: client 910 in department DEFAULT, role System Owner, monitoring {count} "
        f"extensions. {KEY_CHECK}"
    )
    assert (created.department, created.role) == ("DEFAULT", "System Owner")
    assert (created.monitored, created.unmonitored, created.left) == (count, 0, ())
    stored = sim.principal_by_number("910")
    assert stored is not None
    assert stored["_groups"] == [(28, "system_owners")]
    assert stored["_peers"] == numbers(sim)


async def test_the_bigger_department_is_monitored_and_the_other_is_named(
    make_sim: SimFactory,
) -> None:
    # Support takes everyone after the first 12: never more than Main office (ties: by name).
    sim = await make_sim(faults=["departments=Main office:12,Support:99"])
    created = await created_on(sim)
    rest = len(numbers(sim)) - 12
    assert created.follow_up == (
        "Done: client 910 in department Main office, role System Owner, monitoring 12 "
        f"extensions. {rest} extensions in the department Support are not monitored: to "
        "include them, edit client 910 under Integrations > API and add them to Extensions to "
        f"Monitor. {KEY_CHECK}"
    )
    assert (created.department, created.monitored, created.unmonitored) == ("Main office", 12, rest)
    stored = sim.principal_by_number("910")
    assert stored is not None and stored["_peers"] == numbers(sim)[:12]


async def test_several_other_departments_are_counted_each(make_sim: SimFactory) -> None:
    sim = await make_sim(faults=["departments=Main office:11,Support:1"])
    created = await created_on(sim)
    default = len(numbers(sim)) - 12
    assert (
        f"{default + 1} extensions in other departments ({default} in DEFAULT and 1 in "
        "Support) are not monitored: to include them, edit client 910 under Integrations > API "
        "and add them to Extensions to Monitor."
    ) in created.follow_up
    assert created.unmonitored == default + 1


async def test_a_refused_role_leaves_only_the_role_and_keeps_the_key(
    make_sim: SimFactory,
) -> None:
    sim = await make_sim(faults=["api-client-settings-refused=role"])
    created = await created_on(sim)
    count = len(numbers(sim))
    assert created.follow_up == (
        f"Done: client 910 in department DEFAULT, monitoring {count} extensions. Left by hand: "
        "Role (refused by the PBX: HTTP 403). To finish, in the admin console open "
        "Integrations > API, edit client 910 and set Role to System Owner (the role that may "
        f"read call history and recordings). {KEY_CHECK}"
    )
    assert (created.department, created.role, created.left) == ("DEFAULT", "", (ROLE,))
    await assert_key_works(sim, created)


async def test_a_refused_department_leaves_department_and_role(make_sim: SimFactory) -> None:
    sim = await make_sim(faults=["departments=Main office:12", "api-client-settings-refused"])
    created = await created_on(sim)
    assert created.follow_up.startswith(
        "Done: client 910 created with its key, monitoring 12 extensions. Left by hand: "
        "Department and Role (refused by the PBX: HTTP 403). To finish, in the admin console "
        "open Integrations > API, edit client 910 and set Department to Main office and set "
        "Role to System Owner (the role that may read call history and recordings)."
    )
    assert (created.department, created.role, created.monitored) == ("", "", 12)
    assert created.left == (DEPARTMENT, ROLE)
    await assert_key_works(sim, created)


async def test_refused_extensions_to_monitor_say_which_to_add(make_sim: SimFactory) -> None:
    sim = await make_sim(faults=["departments=Main office:12", "api-client-settings-refused=peers"])
    created = await created_on(sim)
    assert created.follow_up == (
        "Done: client 910 in department Main office, role System Owner. Left by hand: "
        "Extensions to Monitor (refused by the PBX: HTTP 400). To finish, in the admin console "
        "open Integrations > API, edit client 910 and add the 12 extensions of Main office to "
        f"Extensions to Monitor (with none, no call events arrive). {KEY_CHECK}"
    )
    assert (created.monitored, created.unmonitored, created.left) == (0, 0, (MONITOR,))
    await assert_key_works(sim, created)


async def test_everything_refused_still_returns_the_client_and_key(make_sim: SimFactory) -> None:
    sim = await make_sim(faults=["api-client-settings-refused=groups,peers"])
    created = await created_on(sim)
    assert created.follow_up.startswith(
        "Done: client 910 created with its key. Left by hand: Department and Role (refused by "
        "the PBX: HTTP 403); Extensions to Monitor (refused by the PBX: HTTP 400)."
    )
    assert created.left == (DEPARTMENT, ROLE, MONITOR)
    await assert_key_works(sim, created)
    # Without Call Control there is nothing to monitor, refused or not.
    xapi_only = await created_on(sim, "911", call_control=False)
    assert xapi_only.left == (DEPARTMENT, ROLE) and "Monitor" not in xapi_only.follow_up


async def test_unreadable_departments_leave_all_three_and_say_why(
    make_sim: SimFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    # No simulator knob hides /Groups from an admin; the session's read is made to fail.
    async def refused(self: AdminSession) -> list[Department]:
        raise AdminForbidden(endpoint="/Groups")

    monkeypatch.setattr(AdminSession, "departments", refused)
    sim = await make_sim()
    created = await created_on(sim)
    assert (
        "Left by hand: Department, Role and Extensions to Monitor (the PBX would not list its "
        "departments: HTTP 403). To finish, in the admin console open Integrations > API, edit "
        "client 910 and set Department to the one its extensions belong to (not System Wide), "
        "set Role to System Owner"
    ) in created.follow_up
    await assert_key_works(sim, created)


async def test_the_system_owner_it_creates_has_both_capabilities(make_sim: SimFactory) -> None:
    # The built-in client's role lacks recordings here; the one the setup makes does not.
    sim = await make_sim(faults=["missing-recording-role"])
    await sim.place_call("inbound", ring_s=0.05, talk_s=0.05)  # a call today, whatever the day
    created = await created_on(sim)
    client = await open_client(params_for(sim, client_id="910"), created.secret)
    try:
        await client.authenticate()
        now = utc_now()
        assert await client.call_history(now - timedelta(days=2), now + timedelta(minutes=1))
        assert await client.recordings(limit=1)
    finally:
        await client.aclose()
