"""The quick PBX summary: every read concurrently, one failure beside the others."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from app.services.pbx_summary import summarise
from app.sim import SimConfig, Simulator
from app.threecx.connect import ConnectionParams, open_client
from app.threecx.tls import TlsOptions


@pytest.fixture
async def sim_for(request: pytest.FixtureRequest) -> AsyncIterator[Simulator]:
    config: SimConfig = request.param
    async with Simulator(config) as sim:
        yield sim


async def summary_lines(sim: Simulator) -> list[str]:
    client = await open_client(
        ConnectionParams(sim.url, sim.client_id, tls=TlsOptions(ca_file=sim.ca_file)),
        sim.client_secret,
    )
    try:
        await client.authenticate()
        return (await summarise(client)).lines()
    finally:
        await client.aclose()


@pytest.mark.parametrize(
    "sim_for", [SimConfig(calls_per_minute=0, faults=["extension-not-recording"])], indirect=True
)
async def test_names_extensions_that_do_not_record(sim_for: Simulator) -> None:
    lines = await summary_lines(sim_for)
    extensions = next(line for line in lines if line.startswith("Extensions:"))
    for number in sim_for.tenant.not_recording[:6]:
        assert number in extensions
    assert lines[0] == "PBX v20 20.0.10.1116"


@pytest.mark.parametrize(
    "sim_for", [SimConfig(calls_per_minute=0, faults=["missing-recording-role"])], indirect=True
)
async def test_one_failing_read_does_not_hide_the_others(sim_for: Simulator) -> None:
    lines = await summary_lines(sim_for)
    recordings = next(line for line in lines if line.startswith("Recordings:"))
    assert "not allowed" in recordings and "/Recordings" in recordings
    assert any(line.startswith("Calls in the last 7 days:") for line in lines)
    assert any(line.startswith("Licence: Enterprise active") for line in lines)


@pytest.mark.parametrize(
    "sim_for", [SimConfig(calls_per_minute=0, pbx_version="18.0.11.200", tls=True)], indirect=True
)
async def test_v18_says_what_it_cannot_tell(sim_for: Simulator) -> None:
    lines = await summary_lines(sim_for)
    assert lines[0] == "PBX v18 18.0.11.200"
    retention = next(line for line in lines if line.startswith("Retention:"))
    assert "System, Settings, Storage" in retention
