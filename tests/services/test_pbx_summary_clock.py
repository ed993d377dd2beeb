"""The quick summary names the customer's clock and gives its times on it."""

from __future__ import annotations

from app.services.pbx_summary import summarise
from tests.conftest import SimFactory
from tests.threecx.conftest import ClientFactory, connect

__all__ = ["connect"]  # the 3CX client fixture


async def test_the_summary_is_on_the_pbxs_clock(
    make_sim: SimFactory, connect: ClientFactory
) -> None:
    sim = await make_sim(time_zone="Pacific/Auckland")
    await sim.place_call("inbound", extension=sim.tenant.external_staff()[0].number)
    client = await connect(sim)
    await client.authenticate()
    lines = (await summarise(client)).lines()
    assert lines[1] == (
        "Customer's clock: Mon–Fri 08:30–17:30, break 12:30–13:00, 3 holidays "
        "(Pacific/Auckland), read from the PBX"
    )
    recordings = next(line for line in lines if line.startswith("Recordings:"))
    assert recordings.endswith(("NZDT", "none"))
