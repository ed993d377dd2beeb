"""Demo mode: a simulated customer PBX in this process, with a few field faults to find.

A new user sees calls arrive within seconds and can run the doctor at once, with nothing to
set up and no real PBX. The demo's key is the simulator's and is never stored anywhere.
"""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from app.domain.business_hours import BusinessHours
from app.domain.connection import ConnectionProfile
from app.sim import SimConfig, Simulator

DEMO_CONNECTION_ID = "demo"
# Two causes the doctor should find on the demo customer: an extension that does not record
# (cause 3) and CRM contacts saved in local format (cause 5).
DEMO_FAULTS = ("extension-not-recording", "unnormalised-contacts")
DEMO_CALLS_PER_MINUTE = 12.0
_ZONES = {"AU": "Australia/Sydney", "US": "America/New_York", "GB": "Europe/London"}


@dataclass
class DemoPbx:
    sim: Simulator
    profile: ConnectionProfile
    secret: str = field(repr=False)
    _folder: Path = field(repr=False)
    _first_call: asyncio.Task[object] | None = field(default=None, repr=False)

    async def stop(self) -> None:
        if self._first_call is not None:
            self._first_call.cancel()
            await asyncio.gather(self._first_call, return_exceptions=True)
        await self.sim.stop()
        await asyncio.to_thread(shutil.rmtree, self._folder, True)


async def start_demo(
    *,
    calls_per_minute: float = DEMO_CALLS_PER_MINUTE,
    faults: tuple[str, ...] = DEMO_FAULTS,
    first_call: bool = True,
) -> DemoPbx:
    """Start the simulated PBX (TLS on loopback) and describe it as a connection."""
    sim = Simulator(
        SimConfig(
            tls=True,
            faults=list(faults),
            calls_per_minute=calls_per_minute,
            recording_delay_s=2.0,
        )
    )
    await sim.start()
    try:
        folder = Path(await asyncio.to_thread(tempfile.mkdtemp, prefix="pbx-companion-demo-"))
        contacts = folder / "crm-contacts.csv"
        await asyncio.to_thread(contacts.write_text, sim.crm_export_csv("hubspot"), "utf-8")
        country = sim.tenant.country.code
        profile = ConnectionProfile(
            id=DEMO_CONNECTION_ID,
            name=f"Demo: {sim.tenant.company}",
            customer=f"{sim.tenant.company} (simulated)",
            url=sim.url,
            client_id=sim.client_id,
            version=sim.version,
            hosting="self-hosted",
            region=country,
            ca_file=sim.ca_file,
            business_hours=BusinessHours(timezone=_ZONES.get(country, "UTC")),
            did_sources=_did_sources(sim),
            contacts_csv=str(contacts),
            demo=True,
        )
    except BaseException:
        await sim.stop()
        raise
    demo = DemoPbx(sim, profile, sim.client_secret, folder)
    if first_call:
        # One call straight away, so the feed moves within seconds of opening.
        demo._first_call = asyncio.get_running_loop().create_task(_first_call(sim))
    return demo


async def _first_call(sim: Simulator) -> object:
    with contextlib.suppress(asyncio.TimeoutError):
        await asyncio.wait_for(sim.wait_for_call_control_client(), 30)
    return await sim.place_call("inbound", ring_s=3.0, talk_s=6.0)


def _did_sources(sim: Simulator) -> dict[str, str]:
    """The demo business's DIDs mapped to CRM source lists, as seed 003 step 3 suggests."""
    lists = ("Sales line", "Support line", "Main number")
    return {did: lists[i % len(lists)] for i, did in enumerate(sim.tenant.dids)}
