"""A session asks for the customer's clock once, and every pane gets the same answer."""

from __future__ import annotations

from datetime import time

from app.domain.business_hours import BusinessHours, HoursSource
from app.domain.connection import ConnectionProfile
from app.services.session import PbxSession
from app.sim import Simulator
from tests.conftest import SimFactory

SILENT_SYDNEY = BusinessHours(timezone="Australia/Sydney", source=HoursSource.UNSET)


def session_on(sim: Simulator, hours: BusinessHours, *, region: str | None = None) -> PbxSession:
    profile = ConnectionProfile(
        id="clock",
        name="Clock",
        url=sim.url,
        client_id=sim.client_id,
        ca_file=sim.ca_file,
        region=region,
        business_hours=hours,
    )
    return PbxSession(profile, sim.client_secret)


async def test_the_pbxs_own_office_hours_win_over_a_silent_default(
    make_sim: SimFactory,
) -> None:
    sim = await make_sim(tls=True, time_zone="Pacific/Auckland")
    session = session_on(sim, SILENT_SYDNEY)
    try:
        hours = await session.customer_hours()
        assert hours.timezone == "Pacific/Auckland" and hours.source is HoursSource.PBX
        assert len(hours.holidays) == 3 and hours.breaks
        assert await session.customer_hours() is hours  # asked once
    finally:
        await session.aclose()


async def test_hours_the_engineer_set_win_over_the_pbxs_own(
    make_sim: SimFactory,
) -> None:
    sim = await make_sim(tls=True, time_zone="Pacific/Auckland")
    mine = BusinessHours(
        timezone="Pacific/Chatham", opens=time(9), closes=time(16), source=HoursSource.ENGINEER
    )
    session = session_on(sim, mine)
    try:
        assert await session.customer_hours() == mine
    finally:
        await session.aclose()


async def test_a_v18_pbx_gets_the_saved_hours_else_the_regions_guess(
    make_sim: SimFactory,
) -> None:
    sim = await make_sim(tls=True, pbx_version="18.0.11.200")
    saved = BusinessHours(timezone="Europe/Dublin", source=HoursSource.PBX)  # read earlier
    guessed = session_on(sim, SILENT_SYDNEY, region="NZ")
    kept = session_on(sim, saved, region="NZ")
    try:
        guess = await guessed.customer_hours()
        assert guess.timezone == "Pacific/Auckland" and guess.source is HoursSource.REGION
        assert await kept.customer_hours() == saved
    finally:
        await guessed.aclose()
        await kept.aclose()


async def test_an_unreachable_pbx_leaves_the_saved_hours(make_sim: SimFactory) -> None:
    sim = await make_sim(tls=True)
    saved = BusinessHours(timezone="Europe/London", source=HoursSource.PBX)
    session = session_on(sim, saved)
    await sim.stop()
    try:
        assert await session.customer_hours() == saved
    finally:
        await session.aclose()
