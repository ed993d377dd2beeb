"""The admin session's departments, and a new client's department, role and Extensions to
Monitor, against the simulator."""

from __future__ import annotations

import pytest

from app.threecx.connect import open_client
from app.threecx.errors import BadRequest
from app.threecx.v20.admin import (
    SYSTEM_OWNER,
    AdminForbidden,
    Department,
    department_from_row,
)
from tests.conftest import SimFactory
from tests.threecx.conftest import params_for
from tests.threecx.v20.test_admin import sign_in


def test_a_department_row_keeps_only_its_user_extensions() -> None:
    row = {
        "Id": 31,
        "Name": "Support",
        "Members": [
            {"Number": "105", "Type": "Extension"},
            {"Number": "99", "Type": "Extension"},
            {"Number": "800", "Type": "Queue"},
            {"Number": "106"},  # no Type: read as a user, the spec's field may be missing
            {"Number": None, "Type": "Extension"},
            "junk",
        ],
    }
    assert department_from_row(row) == Department(31, "Support", ("99", "105", "106"))
    assert department_from_row({"Id": 32, "Name": "Empty"}) == Department(32, "Empty", ())
    assert department_from_row({"Id": 2002, "Name": "___FAVORITES___101"}) is None
    assert department_from_row({"Name": "No id"}) is None


async def test_one_department_holds_every_extension(make_sim: SimFactory) -> None:
    sim = await make_sim()  # live-PBX wire: a favourites group is listed too, and skipped
    async with await sign_in(sim) as session:
        departments = await session.departments()
    assert departments == [
        Department(28, "DEFAULT", tuple(e.number for e in sim.tenant.extensions))
    ]


async def test_several_departments_are_read_across_pages(make_sim: SimFactory) -> None:
    sim = await make_sim(faults=["departments=Main office:5,Support:3", "server-paging=1"])
    numbers = [e.number for e in sim.tenant.extensions]
    async with await sign_in(sim) as session:
        departments = {d.name: d.extensions for d in await session.departments()}
    assert departments == {
        "DEFAULT": tuple(numbers[8:]),
        "Main office": tuple(numbers[:5]),
        "Support": tuple(numbers[5:8]),
    }


async def test_a_new_client_gets_its_department_role_and_extensions_to_monitor(
    make_sim: SimFactory,
) -> None:
    # The built-in client lacks the recording capability here; one made System Owner has it.
    sim = await make_sim(faults=["departments=Main office:5", "missing-recording-role"])
    async with await sign_in(sim) as session:
        office = next(d for d in await session.departments() if d.name == "Main office")
        principal = await session.create_service_principal("920")
        await session.set_department(principal.id, office.id, SYSTEM_OWNER)
        await session.set_monitored(principal.id, office.extensions)
        key = await session.generate_app_token(principal.id)
    stored = sim.principal_by_id(principal.id)
    assert stored is not None
    assert stored["_groups"] == [(office.id, SYSTEM_OWNER)]
    assert stored["_peers"] == list(office.extensions)
    client = await open_client(params_for(sim, client_id="920"), key)
    try:
        await client.authenticate()
        assert await client.recordings(limit=1)
    finally:
        await client.aclose()


@pytest.mark.parametrize(
    ("refused", "error"),
    [("groups", AdminForbidden), ("role", AdminForbidden), ("peers", BadRequest)],
)
async def test_a_refused_setting_is_typed(
    make_sim: SimFactory, refused: str, error: type[Exception]
) -> None:
    sim = await make_sim(faults=[f"api-client-settings-refused={refused}"])
    async with await sign_in(sim) as session:
        principal = await session.create_service_principal("921")
        with pytest.raises(error):
            if refused == "peers":
                await session.set_monitored(principal.id, ["101"])
            else:
                await session.set_department(principal.id, 28, SYSTEM_OWNER)
        if refused == "role":
            await session.set_department(principal.id, 28, None)  # the department alone
    stored = sim.principal_by_id(principal.id)
    assert stored is not None
    assert stored["_peers"] == []
    assert stored["_groups"] == ([(28, "users")] if refused == "role" else [])
