"""v18 as live v18 PBXs answer (API-NOTES §7, §9.9): old bodies and an unconfirmed download.

Each shape is read on the clean wire of the documents and on the simulator's default, the
shapes live PBXs send; the recording download is tried on each known form in turn.
"""

from __future__ import annotations

import asyncio
import re
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
import pytest

from app.domain.calls import CallDirection
from app.domain.live import CallEvent, LiveState
from app.domain.wire_shapes import WireSeen, WireShape
from app.sim import Simulator
from app.threecx.errors import DownloadUnconfirmed, Forbidden, RecordingFileMissing
from app.threecx.v18 import mapping
from app.threecx.v18.client import RECORDING_DOWNLOAD_PATHS, V18Client
from tests.threecx.conftest import ClientFactory, SimFactory

V18 = "18.0.11.200"
# The clean wire of the documents, and the default: every shape live PBXs send.
WIRES: dict[str, frozenset[str] | None] = {"clean-wire": frozenset(), "live-pbx-shapes": None}
SEVEN_DIGITS_AND_OFFSET = re.compile(r"T\d\d:\d\d:\d\d\.\d{7}[+-]\d\d:\d\d$")


async def v18_client(
    make_sim: SimFactory, connect: ClientFactory, **config: Any
) -> tuple[Simulator, V18Client]:
    sim = await make_sim(pbx_version=V18, **config)
    client = await connect(sim)
    assert isinstance(client, V18Client)
    await client.authenticate()
    return sim, client


async def raw_get(sim: Simulator, path: str) -> Any:
    """The body as the simulator sends it, read beside the client (a cookie session)."""
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
        login = {"Username": sim.client_id, "Password": sim.client_secret}
        async with http.post(f"{sim.url}/api/login", json=login) as r:
            assert r.status == 200
        async with http.get(f"{sim.url}{path}") as r:
            assert r.status == 200
            return await r.json()


async def connected(client: V18Client) -> CallEvent:
    """The one active call, once it is talking (the simulator signals nothing: poll)."""
    async with asyncio.timeout(10):
        while True:
            live = await client.active_calls()
            if live and live[0].state is LiveState.CONNECTED:
                (event,) = live
                return event
            await asyncio.sleep(0.05)


def a_recording_id(sim: Simulator) -> int:
    return max(i for i, r in sim.tenant.recordings.items() if not r.archived)


# ---- SystemStatus -------------------------------------------------------------------------------
@pytest.mark.parametrize("wire", WIRES)
async def test_system_status_reads_on_both_wires(
    make_sim: SimFactory, connect: ClientFactory, wire: str
) -> None:
    sim, client = await v18_client(make_sim, connect, wire_quirks=WIRES[wire])
    body = await raw_get(sim, "/api/SystemStatus")
    old = wire == "live-pbx-shapes"
    assert ("LicenseActive" in body) is not old
    assert (body["ExpirationDate"] is None) is old
    assert bool(SEVEN_DIGITS_AND_OFFSET.search(body["MaintenanceExpiresAt"])) is old

    status = await client.system_status()
    licence = await client.licence()
    assert status.version == V18 and status.activated is True
    # An activated licence with no expiry date is active: unknown only when nothing says so.
    assert status.licence_active is True and licence.active is True
    assert (licence.expires_at is None) is old
    assert licence.maintenance_expires_at is not None
    assert licence.maintenance_expires_at.tzinfo is not None
    assert (WireShape.FRACTIONAL_TIMES in client.wire_seen) is old


async def test_old_body_of_an_expired_licence_is_unknown_not_active(
    make_sim: SimFactory, connect: ClientFactory
) -> None:
    """No LicenseActive and an expiry date: the client has no clock to judge it by, so it
    leaves "active" unknown and the licence rule compares the date (tests/services)."""
    sim, client = await v18_client(make_sim, connect, faults=["licence-expired"])
    body = await raw_get(sim, "/api/SystemStatus")
    assert "LicenseActive" not in body and body["ExpirationDate"] is not None
    licence = await client.licence()
    assert licence.active is None
    assert licence.expires_at is not None and licence.expires_at < sim.tenant.clock()


@pytest.mark.parametrize(
    ("row", "active"),
    [
        ({"Activated": True, "ExpirationDate": None}, True),
        ({"Activated": False, "ExpirationDate": None}, False),
        ({"Activated": True, "ExpirationDate": "2027-09-01T00:00:00.0000000+10:30"}, None),
        ({"ExpirationDate": None}, None),
        ({"Activated": True, "LicenseActive": False}, False),
    ],
)
def test_licence_active_without_the_licence_active_field(
    row: dict[str, Any], active: bool | None
) -> None:
    assert mapping.licence_from_status(row).active is active
    assert mapping.system_status_from_row(row).licence_active is active


# ---- activeCalls --------------------------------------------------------------------------------
@pytest.mark.parametrize("wire", WIRES)
async def test_active_calls_read_on_both_wires(
    make_sim: SimFactory, connect: ClientFactory, wire: str
) -> None:
    sim, client = await v18_client(make_sim, connect, wire_quirks=WIRES[wire])
    old = wire == "live-pbx-shapes"
    assert await client.active_calls() == []
    assert ("Now" in await raw_get(sim, "/api/activeCalls")) is old
    assert (WireShape.V18_ACTIVE_CALLS_LIST in client.wire_seen) is old

    extension = sim.tenant.external_staff()[0].number
    call = asyncio.create_task(
        sim.place_call("inbound", number="+61412345678", extension=extension, talk_s=30)
    )
    try:
        event = await connected(client)
        assert event.source == "active-calls"
        assert event.direction is CallDirection.INBOUND
        assert event.external_number == "+61412345678"
        assert event.extension == extension
        assert abs(event.at - sim.tenant.clock()) < timedelta(seconds=5)
    finally:
        call.cancel()
        await asyncio.gather(call, return_exceptions=True)


@pytest.mark.parametrize(
    "body",
    [
        [{"Id": 7, "Caller": "10000 Flowroute - Example Co (15555550123)", "Callee": "101 Bob"}],
        {"list": [{"Id": 7, "Caller": "15555550123", "Callee": "101 Bob Smith"}]},
        {"Now": "2026-11-18T11:00:00.1234567+10:30", "list": [{"Id": 7, "Caller": "15555550123"}]},
    ],
    ids=["bare-list", "list", "now-and-list"],
)
def test_every_active_calls_shape_gives_the_same_call(body: Any) -> None:
    rows = body if isinstance(body, list) else body["list"]
    for row in rows:
        row.setdefault("Callee", "101 Bob")
        row.setdefault("Status", "Routing")
        row.setdefault("EstablishedAt", "2026-11-18T00:29:00Z")
    seen = WireSeen()
    (event,) = mapping.active_calls_from_body(body, seen)
    assert (event.call_id, event.state, event.extension) == ("7", LiveState.RINGING, "101")
    assert event.external_number == "15555550123"
    assert event.at == datetime(2026, 11, 18, 0, 29, tzinfo=UTC)
    assert (WireShape.V18_ACTIVE_CALLS_LIST in seen) is ("Now" in body)


def test_an_active_call_without_its_own_time_takes_the_pbxs_now() -> None:
    body = {"Now": "2026-11-18T11:00:00.1234567+10:30", "list": [{"Id": 3, "Status": "Talking"}]}
    seen = WireSeen()
    (event,) = mapping.active_calls_from_body(body, seen)
    assert event.state is LiveState.CONNECTED
    assert event.at == datetime(2026, 11, 18, 0, 30, 0, 123456, tzinfo=UTC)
    assert WireShape.FRACTIONAL_TIMES in seen
    assert mapping.active_calls_from_body({"list": [{"Id": 3}]}, WireSeen()) == []


# ---- recording download -------------------------------------------------------------------------
@pytest.mark.parametrize("form", [1, 2])
async def test_download_works_on_each_known_form_and_is_remembered(
    make_sim: SimFactory, connect: ClientFactory, form: int
) -> None:
    sim, client = await v18_client(make_sim, connect, faults=[f"v18-download-path={form}"])
    rec_id = a_recording_id(sim)
    assert client.download_path is None
    assert (await client.download_recording(rec_id)).startswith(b"RIFF")
    assert client.download_path == RECORDING_DOWNLOAD_PATHS[form - 1]
    assert WireShape.V18_DOWNLOAD_UNCONFIRMED not in client.wire_seen

    # A file gone from the PBX is still "file missing" on the form that answers.
    with pytest.raises(RecordingFileMissing):
        await client.download_recording(max(sim.tenant.recordings) + 1000)
    # Once a form has served audio, its 404 is about the file: the path is known good.
    sim.faults.enable("v18-download-path=none")
    with pytest.raises(RecordingFileMissing):
        await client.download_recording(rec_id)
    assert client.download_path == RECORDING_DOWNLOAD_PATHS[form - 1]


async def test_the_first_form_is_tried_first(make_sim: SimFactory, connect: ClientFactory) -> None:
    sim, client = await v18_client(make_sim, connect)  # both forms answer
    assert (await client.download_recording(a_recording_id(sim))).startswith(b"RIFF")
    assert client.download_path == RECORDING_DOWNLOAD_PATHS[0]


async def test_no_form_answering_is_download_unconfirmed(
    make_sim: SimFactory, connect: ClientFactory
) -> None:
    sim, client = await v18_client(make_sim, connect, faults=["v18-download-path=none"])
    rec_id = a_recording_id(sim)
    with pytest.raises(DownloadUnconfirmed) as raised:
        await client.download_recording(rec_id)
    assert not isinstance(raised.value, RecordingFileMissing)
    assert "could not confirm the recording download on this 3CX build (v18)" in str(raised.value)
    assert all(path in raised.value.detail for path in RECORDING_DOWNLOAD_PATHS)
    assert "not a fault of the PBX" in raised.value.next_step
    assert client.download_path is None
    assert WireShape.V18_DOWNLOAD_UNCONFIRMED in client.wire_seen

    # A form that answers later (the first files asked for were not written yet) confirms it.
    sim.faults.disable("v18-download-path")
    assert (await client.download_recording(rec_id)).startswith(b"RIFF")
    assert WireShape.V18_DOWNLOAD_UNCONFIRMED not in client.wire_seen


async def test_a_refused_download_is_the_role_not_an_unconfirmed_path(
    make_sim: SimFactory, connect: ClientFactory
) -> None:
    sim, client = await v18_client(make_sim, connect, faults=["missing-recording-role"])
    with pytest.raises(Forbidden):
        await client.download_recording(a_recording_id(sim))
    assert WireShape.V18_DOWNLOAD_UNCONFIRMED not in client.wire_seen
