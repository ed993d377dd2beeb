"""Each simulator fault reaches the client as the right typed error or data."""

from __future__ import annotations

import asyncio
import socket
from datetime import datetime, timedelta

import pytest

from app.domain.clock import utc_now
from app.domain.extensions import RecordingMode
from app.sim import Simulator
from app.threecx.errors import (
    AuthRejected,
    Forbidden,
    MalformedResponse,
    RecordingFileMissing,
    ServerError,
    TlsFailure,
    TlsProblem,
    Unreachable,
    UnreachableKind,
)
from app.threecx.tls import TlsOptions, certificate_fingerprint, fetch_peer_certificate
from app.threecx.transport import RetryPolicy, Timeouts

from .conftest import ClientFactory, SimFactory


def now() -> datetime:
    return utc_now()


async def test_licence_expired(make_sim: SimFactory, connect: ClientFactory) -> None:
    client = await connect(await make_sim(faults=["licence-expired"]))
    licence = await client.licence()
    assert licence.active is False
    assert licence.expired(now())


async def test_recording_stopped(make_sim: SimFactory, connect: ClientFactory) -> None:
    client = await connect(await make_sim(faults=["recording-stopped"]))
    status = await client.system_status()
    assert status.recording_stopped is True


async def test_missing_recording_role_is_partial_success(
    make_sim: SimFactory, connect: ClientFactory
) -> None:
    client = await connect(await make_sim(faults=["missing-recording-role"]))
    await client.authenticate()
    assert await client.call_history(now() - timedelta(days=2), now())  # history still works
    with pytest.raises(Forbidden) as caught:
        await client.recordings(limit=1)
    assert caught.value.endpoint == "/Recordings"
    with pytest.raises(Forbidden):
        await client.download_recording(1)


async def test_missing_history_role(make_sim: SimFactory, connect: ClientFactory) -> None:
    client = await connect(await make_sim(faults=["missing-history-role"]))
    await client.authenticate()
    assert await client.recordings(limit=1)
    with pytest.raises(Forbidden) as caught:
        await client.call_history(now() - timedelta(days=1), now())
    assert "GetCallLogData" in (caught.value.endpoint or "")


async def test_extension_not_recording(make_sim: SimFactory, connect: ClientFactory) -> None:
    sim = await make_sim(faults=["extension-not-recording"])
    client = await connect(sim)
    silent = {
        e.number
        for e in await client.extensions()
        if e.recording in (RecordingMode.DISABLED, RecordingMode.FORBIDDEN, RecordingMode.ON_DEMAND)
    }
    assert silent and set(sim.tenant.not_recording) <= silent


async def test_late_recording_never_appears(make_sim: SimFactory, connect: ClientFactory) -> None:
    sim = await make_sim(faults=["late-recording=never"], recording_delay_s=0.1)
    client = await connect(sim)
    placed = await sim.place_call("inbound")
    await asyncio.sleep(0.5)
    calls = await client.call_history(now() - timedelta(minutes=5), now() + timedelta(minutes=1))
    mine = next(c for c in calls if c.call_id == placed.history_id)
    assert mine.answered and mine.recording_ids == ()


async def test_late_recording_appears_after_the_delay(
    make_sim: SimFactory, connect: ClientFactory
) -> None:
    sim = await make_sim(faults=["late-recording=1"], recording_delay_s=0.1)
    client = await connect(sim)
    placed = await sim.place_call("inbound")
    window = (now() - timedelta(minutes=5), now() + timedelta(minutes=1))
    first = {c.call_id: c for c in await client.call_history(*window)}[placed.history_id]
    assert first.recording_ids == ()
    await asyncio.sleep(1.3)
    later = {c.call_id: c for c in await client.call_history(*window)}[placed.history_id]
    assert later.recording_ids


async def test_unnormalised_contacts(make_sim: SimFactory, connect: ClientFactory) -> None:
    def local_format(numbers: list[str]) -> int:
        return sum(1 for n in numbers if not n.startswith("+"))

    client = await connect(await make_sim(faults=["unnormalised-contacts"]))
    faulty = [p.number for c in await client.contacts() for p in c.phones]
    healthy = await connect(await make_sim())
    normal = [p.number for c in await healthy.contacts() for p in c.phones]
    assert local_format(faulty) > local_format(normal) + 10
    assert any(n.startswith("08 ") for n in faulty)  # an Adelaide landline stored locally


async def test_retention_deleted(make_sim: SimFactory, connect: ClientFactory) -> None:
    client = await connect(await make_sim(faults=["retention-deleted=30"]))
    policy = await client.retention()
    assert policy.auto_delete is True and policy.auto_delete_days == 30
    old = [
        c
        for c in await client.call_history(
            now() - timedelta(days=120), now() - timedelta(days=31), limit=500
        )
        if c.recording_ids
    ]
    assert old, "the call log still references the deleted recordings"
    with pytest.raises(RecordingFileMissing):
        await client.download_recording(old[0].recording_ids[0])
    listed = await client.recordings(since=now() - timedelta(days=120), limit=2000)
    assert all(r.started_at and r.started_at > now() - timedelta(days=31) for r in listed)


async def test_bad_key(make_sim: SimFactory, connect: ClientFactory) -> None:
    client = await connect(await make_sim(faults=["bad-key"]))
    with pytest.raises(AuthRejected) as caught:
        await client.authenticate()
    assert "Integrations > API" in caught.value.next_step


async def test_wrong_key_never_appears_in_the_error(
    make_sim: SimFactory, connect: ClientFactory
) -> None:
    client = await connect(await make_sim(), secret="not-the-right-key-123")
    with pytest.raises(AuthRejected) as caught:
        await client.authenticate()
    assert "not-the-right-key-123" not in str(caught.value)
    assert "not-the-right-key-123" not in repr(client)


async def test_flaky_5xx_is_retried(make_sim: SimFactory, connect: ClientFactory) -> None:
    sim = await make_sim()
    client = await connect(sim)
    await client.authenticate()
    sim.faults.enable("flaky-5xx=2")
    assert await client.extensions()  # two 503s, then success within the retry budget


async def test_persistent_5xx_is_reported(make_sim: SimFactory, connect: ClientFactory) -> None:
    sim = await make_sim()
    client = await connect(sim, retry=RetryPolicy(attempts=2, first_delay=0.01))
    await client.authenticate()
    sim.faults.enable("flaky-5xx=50")
    with pytest.raises(ServerError) as caught:
        await client.extensions()
    assert caught.value.status == 503


async def test_garbage_body(make_sim: SimFactory, connect: ClientFactory) -> None:
    sim = await make_sim()
    client = await connect(sim)
    await client.authenticate()
    sim.faults.enable("garbage-body")
    with pytest.raises(MalformedResponse):
        await client.extensions()


async def test_connection_dropped_mid_response(
    make_sim: SimFactory, connect: ClientFactory
) -> None:
    sim = await make_sim()
    client = await connect(sim, retry=RetryPolicy(attempts=2, first_delay=0.01))
    await client.authenticate()
    sim.faults.enable("drop-connection")
    with pytest.raises(Unreachable) as caught:
        await client.extensions()
    assert caught.value.kind is UnreachableKind.NETWORK


async def test_port_that_accepts_and_never_answers(
    make_sim: SimFactory, connect: ClientFactory
) -> None:
    sim = await make_sim(faults=["hang"])
    with pytest.raises(Unreachable) as caught:
        client = await connect(
            sim, timeouts=Timeouts(connect=0.5, read=0.5, total=2.0), retry=RetryPolicy(attempts=1)
        )
        await client.authenticate()
    assert caught.value.kind is UnreachableKind.TIMEOUT


async def test_connection_refused(make_sim: SimFactory, connect: ClientFactory) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    sim = await make_sim()
    with pytest.raises(Unreachable) as caught:
        await connect(sim, url=f"http://127.0.0.1:{port}")
    assert caught.value.kind is UnreachableKind.REFUSED


async def test_dns_failure(make_sim: SimFactory, connect: ClientFactory) -> None:
    sim = await make_sim()
    with pytest.raises(Unreachable) as caught:
        await connect(sim, url="https://pbx.does-not-exist.invalid:5001")
    assert caught.value.kind is UnreachableKind.DNS


@pytest.mark.parametrize(
    ("fault", "problem"),
    [("tls-expired", TlsProblem.EXPIRED), ("tls-wrong-host", TlsProblem.HOSTNAME)],
)
async def test_tls_certificate_faults(
    make_sim: SimFactory, connect: ClientFactory, fault: str, problem: TlsProblem
) -> None:
    sim = await make_sim(tls=True, faults=[fault])
    with pytest.raises(TlsFailure) as caught:
        client = await connect(sim)
        await client.authenticate()
    assert caught.value.problem is problem


async def test_untrusted_certificate_without_the_ca(
    make_sim: SimFactory, connect: ClientFactory
) -> None:
    sim = await make_sim(tls=True)
    with pytest.raises(TlsFailure) as caught:
        client = await connect(sim, tls=TlsOptions())  # the OS store does not know the sim's CA
        await client.authenticate()
    assert caught.value.problem is TlsProblem.UNTRUSTED


async def _fingerprint(sim: Simulator) -> str:
    port = int(sim.url.rsplit(":", 1)[1])
    return certificate_fingerprint(await fetch_peer_certificate("127.0.0.1", port, 2.0))


async def test_pinned_certificate(make_sim: SimFactory, connect: ClientFactory) -> None:
    sim = await make_sim(tls=True)
    pin = await _fingerprint(sim)
    client = await connect(sim, tls=TlsOptions(pin_sha256=pin))  # no CA: the pin is the trust
    await client.authenticate()
    assert await client.extensions()

    with pytest.raises(TlsFailure) as caught:
        await connect(sim, tls=TlsOptions(pin_sha256="ab" * 32))
    assert caught.value.problem is TlsProblem.CHANGED
    assert pin in caught.value.message  # shows the certificate it now presents


async def test_certificate_changed_after_pinning(
    make_sim: SimFactory, connect: ClientFactory
) -> None:
    sim = await make_sim(tls=True)
    pin = await _fingerprint(sim)
    sim.faults.enable("tls-wrong-host")  # the PBX now presents another certificate
    with pytest.raises(TlsFailure) as caught:
        client = await connect(sim, tls=TlsOptions(pin_sha256=pin))
        await client.authenticate()
    assert caught.value.problem is TlsProblem.CHANGED


async def test_not_a_pbx(connect: ClientFactory, make_sim: SimFactory) -> None:
    from aiohttp import web

    app = web.Application()
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        with pytest.raises(MalformedResponse, match="is this a 3CX PBX"):
            await connect(await make_sim(), url=f"http://127.0.0.1:{port}")
    finally:
        await runner.cleanup()
