"""A v18 PBX through the same interface: cookie session, older names, honest gaps."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta

import pytest

from app.domain.clock import utc_now
from app.domain.extensions import RecordingMode
from app.domain.live import LiveState
from app.domain.version import PbxVersion
from app.threecx.errors import AuthRejected, RecordingFileMissing, Unsupported
from app.threecx.v18.client import V18Client
from tests.threecx.conftest import ClientFactory, SimFactory
from tests.threecx.test_live import watching


def now() -> datetime:
    return utc_now()


async def test_v18_detected_and_read_over_tls(make_sim: SimFactory, connect: ClientFactory) -> None:
    sim = await make_sim(tls=True, pbx_version="18.0.11.200")
    client = await connect(sim)
    assert isinstance(client, V18Client) and client.generation == "v18"
    identity = await client.authenticate()
    assert identity.version == PbxVersion(18, 0, 11, 200)
    assert identity.version is not None and identity.version.meets_floor

    extensions = await client.extensions()
    assert {e.number for e in extensions} == {e.number for e in sim.tenant.extensions}
    assert all(e.recording is RecordingMode.UNKNOWN for e in extensions)  # v18 cannot say

    calls = await client.call_history(now() - timedelta(days=30), now(), limit=100)
    assert calls and all(c.started_at for c in calls)
    recordings = await client.recordings(limit=5)
    assert len(recordings) == 5
    audio = await client.download_recording(recordings[0].id)
    assert audio.startswith(b"RIFF")

    licence = await client.licence()
    assert licence.active is True


async def test_v18_says_what_it_cannot_answer(make_sim: SimFactory, connect: ClientFactory) -> None:
    client = await connect(await make_sim(pbx_version="18.0.11.200"))
    await client.authenticate()
    for call in (client.retention, client.numbering_plan, client.contacts, client.queues):
        with pytest.raises(Unsupported):
            await call()


async def test_v18_old_version_is_below_the_floor(
    make_sim: SimFactory, connect: ClientFactory
) -> None:
    client = await connect(await make_sim(pbx_version="18.0.11.200", faults=["old-version"]))
    identity = await client.authenticate()
    assert identity.version is not None and not identity.version.meets_floor


async def test_v18_wrong_password(make_sim: SimFactory, connect: ClientFactory) -> None:
    client = await connect(await make_sim(pbx_version="18.0.11.200"), secret="wrong-password")
    with pytest.raises(AuthRejected):
        await client.authenticate()


async def test_v18_session_expiry_logs_in_again(
    make_sim: SimFactory, connect: ClientFactory
) -> None:
    sim = await make_sim(pbx_version="18.0.11.200")
    client = await connect(sim)
    assert isinstance(client, V18Client)
    await client.authenticate()
    client._transport.cookies.clear()  # the PBX forgot the session
    assert await client.extensions()


async def test_v18_deleted_recording(make_sim: SimFactory, connect: ClientFactory) -> None:
    sim = await make_sim(pbx_version="18.0.11.200", faults=["retention-deleted=30"])
    client = await connect(sim)
    await client.authenticate()
    gone = max(sim.tenant.recordings) + 1000
    with pytest.raises(RecordingFileMissing):
        await client.download_recording(gone)


async def test_v18_live_events_by_polling(make_sim: SimFactory, connect: ClientFactory) -> None:
    sim = await make_sim(pbx_version="18.0.11.200")
    client = await connect(sim)
    await client.authenticate()
    rec = await watching(client)
    try:
        await sim.place_call("missed")
        for _ in range(100):
            if any(e.state is LiveState.MISSED for e in rec.events):
                break
            await asyncio.sleep(0.05)
        missed = [e for e in rec.events if e.state is LiveState.MISSED]
        assert len(missed) == 1 and missed[0].source == "call-log"
        assert missed[0].external_number  # v18 rows carry no call id; the number identifies it
    finally:
        await rec.stop()


async def test_v18_queue_miss_is_one_call(make_sim: SimFactory, connect: ClientFactory) -> None:
    """v18 rows carry no call id: the legs of a ring-all miss still fold into one call."""
    sim = await make_sim(pbx_version="18.0.11.200")
    client = await connect(sim)
    await client.authenticate()
    before = await client.call_history(now() - timedelta(minutes=5), now() + timedelta(minutes=1))
    await sim.place_call("queue", answered=False)
    after = await client.call_history(now() - timedelta(minutes=5), now() + timedelta(minutes=1))
    new = [c for c in after if c.call_id not in {b.call_id for b in before}]
    assert len(new) == 1
    assert new[0].answered is False
