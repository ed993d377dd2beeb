"""Step 5's reading of the customer's clock: the PBX's office hours, else the region's zone."""

from __future__ import annotations

from app.domain.business_hours import HoursSource
from app.services.setup.office_hours import read_customer_clock
from tests.conftest import SimFactory
from tests.threecx.conftest import ClientFactory


async def test_v20_hours_are_read_from_the_pbx(
    make_sim: SimFactory, connect: ClientFactory
) -> None:
    sim = await make_sim(time_zone="Pacific/Auckland")
    client = await connect(sim)
    await client.authenticate()
    clock = await read_customer_clock(client, "AU")
    assert clock.hours.timezone == "Pacific/Auckland"  # the PBX, not the region's usual zone
    assert clock.hours.source is HoursSource.PBX and clock.problem is None
    assert not clock.needs_confirming


async def test_v18_gives_the_regions_zone_to_confirm(
    make_sim: SimFactory, connect: ClientFactory
) -> None:
    sim = await make_sim(pbx_version="18.0.11.200")
    client = await connect(sim)
    await client.authenticate()
    clock = await read_customer_clock(client, "NZ")
    assert clock.hours.timezone == "Pacific/Auckland"
    assert clock.hours.source is HoursSource.REGION and clock.needs_confirming
    assert clock.problem is not None and "3CX v18" in clock.problem
    unknown = await read_customer_clock(client, None)
    assert unknown.hours.source is HoursSource.UNSET and unknown.needs_confirming


async def test_a_refused_read_says_why(make_sim: SimFactory, connect: ClientFactory) -> None:
    sim = await make_sim(time_zone="Pacific/Auckland")
    client = await connect(sim, secret="not-the-key")
    clock = await read_customer_clock(client, "NZ")
    assert clock.hours.source is HoursSource.REGION
    assert clock.problem
