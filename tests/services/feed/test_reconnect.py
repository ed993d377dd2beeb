"""Reconnects back off by the domain's rule and say so; hostile frames are skipped, counted."""

from __future__ import annotations

import asyncio
import json
import random
from collections.abc import AsyncIterator

import pytest
from aiohttp import WSMsgType, web

from app.domain.limits import MAX_STRING_CHARS
from app.domain.reconnect import Backoff, ReconnectPolicy, StreamState, StreamStatus
from app.threecx.connect import open_client
from app.threecx.transport import Transport
from app.threecx.v20.callcontrol import CallControlWatcher
from app.threecx.v20.callcontrol_frames import decode_frame
from app.threecx.v20.client import V20Client
from tests.conftest import SimFactory
from tests.support.waiting import until
from tests.threecx.conftest import params_for

POLICY = ReconnectPolicy(first_s=1.0, cap_s=60.0)
DEEP = "[" * 100_000 + "]" * 100_000


def test_backoff_doubles_with_jitter_and_resets_only_when_proved() -> None:
    backoff = Backoff(POLICY, random.Random(3).random)
    draws = random.Random(3)
    steps = [backoff.next() for _ in range(8)]
    assert [s.attempt for s in steps] == list(range(1, 9))
    assert [s.delay_s for s in steps] == [POLICY.delay_s(n, draws.random()) for n in range(1, 9)]
    assert all(
        POLICY.step_s(n) / 2 <= s.delay_s <= POLICY.step_s(n) for n, s in enumerate(steps, 1)
    )
    assert steps[-1].delay_s <= 60.0
    backoff.proved_by(up_for_s=1.0, delivered=0)  # up briefly, nothing delivered: no reset
    assert backoff.next().attempt == 9
    backoff.proved_by(up_for_s=1.0, delivered=1)
    assert backoff.next().attempt == 1


def test_status_words() -> None:
    status = StreamStatus(
        StreamState.RECONNECTING,
        attempt=3,
        delay_s=2.5,
        reason="the PBX closed it.",
        skipped_frames=3,
    )
    assert (
        status.text
        == "reconnecting (attempt 3, next in 2.5 s): the PBX closed it; 3 frames skipped"
    )


@pytest.fixture
async def hostile() -> AsyncIterator[tuple[str, list[str]]]:
    """A websocket that sends each mode's frames, then closes (``close``) or stays open."""
    modes: list[str] = []

    async def ws(request: web.Request) -> web.StreamResponse:
        sock = web.WebSocketResponse(heartbeat=None)
        await sock.prepare(request)
        if modes and modes[0] == "frames":
            await sock.send_str(DEEP)
            await sock.send_str("not json")
            await sock.send_str("[1, 2]")
            await sock.send_str(json.dumps({"sequence": True, "event": {"event_type": 9}}))
            await sock.send_bytes(b"\x00\x01binary")
            async for message in sock:
                if message.type is WSMsgType.CLOSE:
                    break
        await sock.close()
        return sock

    app = web.Application()
    app.router.add_get("/callcontrol/ws", ws)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    yield f"http://127.0.0.1:{port}", modes
    await runner.cleanup()


async def test_a_websocket_that_closes_at_once_backs_off(
    make_sim: SimFactory, hostile: tuple[str, list[str]]
) -> None:
    sim = await make_sim()
    client = await open_client(params_for(sim), sim.client_secret)
    assert isinstance(client, V20Client)
    await client.authenticate()
    slept: list[float] = []
    statuses: list[StreamStatus] = []

    async def no_wait(delay: float) -> None:
        slept.append(delay)
        await asyncio.sleep(0)

    transport = Transport(hostile[0])
    watcher = CallControlWatcher(
        client, transport, random=random.Random(11).random, sleep=no_wait, observer=statuses.append
    )
    events = watcher.events()
    task = asyncio.ensure_future(anext(events))
    try:
        await until(lambda: len(slept) >= 6, "six reconnects")
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await events.aclose()
        await transport.aclose()
        await client.aclose()
    draws = random.Random(11)
    assert slept[:6] == [POLICY.delay_s(n, draws.random()) for n in range(1, 7)]
    waits = [s for s in statuses if s.state is StreamState.RECONNECTING][:6]
    assert [s.attempt for s in waits] == [1, 2, 3, 4, 5, 6]
    assert waits[0].text.startswith(f"reconnecting (attempt 1, next in {slept[0]:g} s)")
    assert "the PBX closed the websocket" in waits[0].text


@pytest.mark.expect_log("app.threecx.v20.callcontrol", r"^Skipped a Call Control frame: ")
async def test_frames_of_any_shape_are_skipped_and_counted(
    make_sim: SimFactory, hostile: tuple[str, list[str]]
) -> None:
    hostile[1].append("frames")
    sim = await make_sim()
    client = await open_client(params_for(sim), sim.client_secret)
    assert isinstance(client, V20Client)
    await client.authenticate()
    transport = Transport(hostile[0])
    watcher = CallControlWatcher(client, transport)
    events = watcher.events()
    task = asyncio.ensure_future(anext(events))
    try:
        await until(
            lambda: watcher.skipped_frames >= 5, lambda: f"{watcher.skipped_frames} skipped"
        )
        assert not task.done()  # no crash: the stream is still being read
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await events.aclose()
        await transport.aclose()
        await client.aclose()
    assert watcher.skipped_frames == 5
    assert watcher.status.text.endswith("5 frames skipped")
    assert watcher.reconnects == 0


@pytest.mark.parametrize(
    ("frame", "reason"),
    [
        (DEEP, "nested more than 16 deep"),
        ("not json", "not valid JSON"),
        ("[1, 2]", "a JSON list, not an object"),
        ('{"sequence": 1' + "0" * 400 + "}", "a number 401 digits long"),
        ('{"sequence": NaN}', "NaN, which is not a JSON number"),
        ('{"sequence": 1e999}', "a number too large to hold"),
        (b"\x00\x01", "a binary frame of 2 bytes"),
    ],
)
def test_a_frame_is_read_by_the_bounded_reader_and_its_skip_is_named(
    frame: str | bytes, reason: str
) -> None:
    decoded, why = decode_frame(frame)
    assert decoded is None
    assert reason in why


def test_a_frame_with_an_endless_string_is_kept_with_the_string_cut() -> None:
    decoded, why = decode_frame(json.dumps({"sequence": 3, "note": "x" * 10_000_000}))
    assert why == "" and decoded is not None
    assert decoded["sequence"] == 3
    assert len(decoded["note"]) == MAX_STRING_CHARS and decoded["note"].endswith("…")
