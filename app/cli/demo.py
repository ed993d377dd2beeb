"""``pbx-companion --demo --headless``: a simulated PBX, its summary and live calls, no window."""

from __future__ import annotations

import asyncio

from app.cli.args import ConnectionArgs
from app.cli.pbx import connected
from app.cli.watch import watch
from app.services.logs.setup import REDACTOR
from app.services.pbx_summary import summarise
from app.sim import SimConfig, Simulator
from app.threecx.connect import ConnectionParams
from app.threecx.tls import TlsOptions


async def run_demo(seconds: float | None) -> int:
    """The terminal demo (``--demo --headless``): the simulator, a live feed and a summary."""
    config = SimConfig(
        tls=True,
        faults=["extension-not-recording", "late-recording=8"],
        calls_per_minute=20.0,
        recording_delay_s=2.0,
    )
    async with Simulator(config) as sim:
        print(f"Demo PBX running at {sim.url} (3CX {sim.version}, simulated).")
        params = ConnectionParams(
            url=sim.url,
            client_id=sim.client_id,
            tls=TlsOptions(ca_file=sim.ca_file),
            poll_interval_s=2.0,
        )
        REDACTOR.register(sim.client_secret)
        client = await connected(ConnectionArgs(params, sim.client_secret))
        first_call: asyncio.Task[object] | None = None
        try:
            print("\nSummary")
            for line in (await summarise(client)).lines():
                print(f"  {line}")
            print("\nLive calls (Ctrl-C to stop)", flush=True)
            # A call straight away, so a new user sees the feed move within seconds.
            first_call = asyncio.create_task(sim.place_call("inbound", ring_s=2.0, talk_s=4.0))
            return await watch(client, seconds)
        finally:
            if first_call is not None:
                first_call.cancel()
                await asyncio.gather(first_call, return_exceptions=True)
            await client.aclose()
