"""``pbx-companion pbx watch`` as a technician runs it: events, reconnects and hostile frames.

``main()`` runs in the test's thread while the simulator (and, for the hostile cases, a small
aiohttp server in front of it) answers on an event loop of its own. The watch's backoff is the
real one here, so the tests assert what was said and how often, never how long it took.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import json
import ssl
import threading
from collections.abc import Coroutine, Iterator
from dataclasses import dataclass
from typing import Any, TypeVar

import aiohttp
import pytest
from aiohttp import WSMsgType, web

from app.cli.entry import main
from app.domain.reconnect import DEFAULT_POLICY
from app.sim import SimConfig, Simulator

T = TypeVar("T")

NUMBER = "+61299990101"
DEEP = "[" * 100_000 + "]" * 100_000
HOSTILE_FRAMES: list[str | bytes] = [
    DEEP,
    '{"event": ' * 40 + "1" + "}" * 40,
    "not json",
    "[1, 2]",
    json.dumps({"sequence": True, "event": {"event_type": 9}}),
    '{"sequence": 1' + "0" * 400 + "}",
    b"\x00\x01binary",
]
HOP = {
    "host",
    "content-length",
    "content-encoding",
    "transfer-encoding",
    "connection",
    "accept-encoding",
    "keep-alive",
    "upgrade",
}


class Background:
    """An event loop in a thread: servers answer there while ``main()`` blocks this thread."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, name="watch-servers")
        self._thread.start()

    def run(self, coro: Coroutine[Any, Any, T], timeout: float = 30.0) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def spawn(self, coro: Coroutine[Any, Any, T]) -> concurrent.futures.Future[T]:
        return asyncio.run_coroutine_threadsafe(coro, self.loop)

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(timeout=30)
        self.loop.close()


@dataclass
class Front:
    """An aiohttp server before the simulator: HTTP forwarded, the websocket misbehaving."""

    upstream: Simulator
    mode: str  # "close": closes each websocket at once; "garbage": hostile frames, then relays
    url: str = ""
    ws_connects: int = 0
    _runner: web.AppRunner | None = None
    _session: aiohttp.ClientSession | None = None

    async def start(self) -> None:
        trust = ssl.create_default_context(cafile=self.upstream.ca_file)
        self._session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(ssl=trust), auto_decompress=True
        )
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.5)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.url = f"http://127.0.0.1:{port}"

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
        if self._session is not None:
            await self._session.close()

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        if request.path == "/callcontrol/ws":
            return await self._websocket(request)
        assert self._session is not None
        async with self._session.request(
            request.method,
            self.upstream.url + request.path_qs,
            headers={k: v for k, v in request.headers.items() if k.lower() not in HOP},
            data=await request.read(),
            allow_redirects=False,
        ) as answer:
            body = await answer.read()
            headers = {k: v for k, v in answer.headers.items() if k.lower() not in HOP}
            return web.Response(status=answer.status, body=body, headers=headers)

    async def _websocket(self, request: web.Request) -> web.StreamResponse:
        self.ws_connects += 1
        ws = web.WebSocketResponse(heartbeat=None)
        await ws.prepare(request)
        if self.mode == "close":
            await ws.close(code=1011)
            return ws
        assert self._session is not None
        upstream = await self._session.ws_connect(
            self.upstream.url.replace("https://", "wss://") + "/callcontrol/ws",
            headers={"Authorization": request.headers.get("Authorization", "")},
            heartbeat=None,
        )
        for frame in HOSTILE_FRAMES:
            if isinstance(frame, bytes):
                await ws.send_bytes(frame)
            else:
                await ws.send_str(frame)
        relay = asyncio.create_task(_relay(upstream, ws))
        try:
            async for message in ws:
                if message.type is WSMsgType.CLOSE:
                    break
        finally:
            relay.cancel()
            await asyncio.gather(relay, return_exceptions=True)
            await upstream.close()
        return ws


async def _relay(upstream: aiohttp.ClientWebSocketResponse, ws: web.WebSocketResponse) -> None:
    async for message in upstream:
        if message.type is WSMsgType.TEXT:
            await ws.send_str(message.data)
    await ws.close()


@pytest.fixture
def servers() -> Iterator[Background]:
    background = Background()
    try:
        yield background
    finally:
        background.close()


@pytest.fixture
def sim(servers: Background, monkeypatch: pytest.MonkeyPatch) -> Iterator[Simulator]:
    async def start() -> Simulator:
        started = Simulator(SimConfig(tls=True, calls_per_minute=0, recording_delay_s=0.2))
        await started.start()
        return started

    simulator = servers.run(start())
    monkeypatch.setenv("PBX_KEY", simulator.client_secret)
    try:
        yield simulator
    finally:
        servers.run(simulator.stop())


def front(servers: Background, sim: Simulator, mode: str) -> Front:
    server = Front(sim, mode)
    servers.run(server.start())
    return server


def watch(url: str, sim: Simulator, seconds: float, *extra: str) -> int:
    args = ["pbx", "watch", "--seconds", f"{seconds:g}", "--url", url]
    args += ["--client-id", sim.client_id, "--secret-env", "PBX_KEY", *extra]
    if url.startswith("https://") and sim.ca_file:
        args += ["--ca-file", sim.ca_file]
    return main(args)


async def call_once_watched(sim: Simulator) -> None:
    """A call the watch sees live: placed once its Call Control websocket is open."""
    await sim.wait_for_call_control_client()
    await sim.place_call("inbound", number=NUMBER, ring_s=0.3, talk_s=0.3)


def test_watch_shows_the_calls_it_sees(
    servers: Background, sim: Simulator, capsys: pytest.CaptureFixture[str]
) -> None:
    placed = servers.spawn(call_once_watched(sim))
    code = watch(sim.url, sim, 6)
    placed.result(timeout=30)
    out, err = capsys.readouterr()
    lines = [line for line in out.splitlines() if "call " in line and NUMBER in line]
    assert any(" ended " in line for line in lines), out
    assert not any("[from the call log" in line for line in lines)  # seen live, not filled
    assert "watch: connected" in err
    assert "reconnecting" not in err
    assert code == 0


def test_a_websocket_that_closes_at_once_is_said_and_backed_off(
    servers: Background, sim: Simulator, capsys: pytest.CaptureFixture[str]
) -> None:
    server = front(servers, sim, "close")
    try:
        code = watch(server.url, sim, 5)
    finally:
        servers.run(server.stop())
    err = capsys.readouterr().err
    retries = [line for line in err.splitlines() if line.startswith("watch: reconnecting")]
    assert retries[0].startswith("watch: reconnecting (attempt 1, next in ")
    assert retries[1].startswith("watch: reconnecting (attempt 2, next in ")
    assert "the PBX closed the websocket" in retries[0] or "close code 1011" in retries[0]
    # Each wait is at least half its step: 0.5 + 1 + 2 s before attempt 4, 7.5 s before 5.
    first_waits = sum(DEFAULT_POLICY.step_s(n) / 2 for n in range(1, 5))
    assert first_waits > 5
    assert len(retries) <= 4 and server.ws_connects <= 5, err
    assert "watch: watch ended: reconnecting (attempt" in err
    assert code == 1  # a PBX that would not stay connected is never a silent 0


def test_a_websocket_that_closes_at_once_in_json_lines(
    servers: Background, sim: Simulator, capsys: pytest.CaptureFixture[str]
) -> None:
    server = front(servers, sim, "close")
    try:
        code = watch(server.url, sim, 2, "--json")
    finally:
        servers.run(server.stop())
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line]
    retries = [r for r in rows if r.get("status") == "reconnecting" and not r.get("ended")]
    assert retries[0]["attempt"] == 1 and retries[0]["next_in_s"] > 0
    assert retries[0]["text"].startswith("reconnecting (attempt 1, next in ")
    assert rows[-1]["ended"] is True and rows[-1]["status"] == "reconnecting"
    assert code == 1


def test_deep_and_garbage_frames_are_skipped_with_a_count_and_calls_still_shown(
    servers: Background, sim: Simulator, capsys: pytest.CaptureFixture[str]
) -> None:
    server = front(servers, sim, "garbage")
    placed = servers.spawn(call_once_watched(sim))
    try:
        code = watch(server.url, sim, 6)
        placed.result(timeout=30)
    finally:
        servers.run(server.stop())
    out, err = capsys.readouterr()
    assert any(" ended " in line and NUMBER in line for line in out.splitlines()), out
    skipped = f"{len(HOSTILE_FRAMES)} frames skipped"
    assert f"watch: watch ended: connected; {skipped}" in err, err
    assert "reconnecting" not in err  # no frame broke the stream
    assert "Traceback" not in err
    assert server.ws_connects == 1
    assert code == 0
