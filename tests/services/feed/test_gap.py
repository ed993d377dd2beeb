"""The PBX goes away and comes back: the feed says so, and the calls of the gap are not lost.

The simulator is stopped and started again on the same port, as a PBX restart looks from the
outside. Sleeps are injected: the backoff's waits are recorded, and the last one is held
while the test places calls on the PBX that came back, so those calls ended during the gap.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from app.domain.live import CallEvent, LiveState
from app.domain.reconnect import ReconnectPolicy, StreamState, StreamStatus
from app.services.feed.stream import FeedStream
from app.sim import SimConfig, Simulator
from app.threecx.client import PbxClient
from app.threecx.connect import open_client
from app.threecx.tls import TlsOptions, certificate_fingerprint, fetch_peer_certificate
from tests.support.waiting import until
from tests.threecx.conftest import params_for

POLICY = ReconnectPolicy(first_s=1.0, cap_s=60.0)
DOWN_ATTEMPTS = 3  # waits while the PBX is down; the last is held until it is back


@dataclass
class HeldSleep:
    """Records each wait; returns at once until ``hold_at`` waits, then waits for ``gate``."""

    hold_at: int
    slept: list[float] = field(default_factory=list)
    gate: asyncio.Event = field(default_factory=asyncio.Event)

    async def __call__(self, delay: float) -> None:
        self.slept.append(delay)
        if len(self.slept) >= self.hold_at:
            await self.gate.wait()
        await asyncio.sleep(0)


@dataclass
class Restartable:
    """One simulated PBX on a fixed port, stopped and started again as a new process would be."""

    config: SimConfig
    sim: Simulator
    port: int

    async def stop(self) -> None:
        await self.sim.stop()

    async def start_again(self, **changes: Any) -> Simulator:
        values = {**self.config.__dict__, "port": self.port, **changes}
        self.sim = Simulator(SimConfig(**values))
        await self.sim.start()
        return self.sim


async def restartable(state_dir: Path, **kwargs: Any) -> Restartable:
    """A simulated PBX whose port stays the same across restarts (its state in ``state_dir``)."""
    config = SimConfig(
        calls_per_minute=0, recording_delay_s=0.2, state_dir=str(state_dir), **kwargs
    )
    sim = Simulator(config)
    await sim.start()
    return Restartable(config, sim, int(sim.url.rsplit(":", 1)[1]))


@pytest.fixture
async def pbx(tmp_path: Path) -> AsyncIterator[Callable[..., Awaitable[Restartable]]]:
    started: list[Restartable] = []

    async def factory(**kwargs: Any) -> Restartable:
        running = await restartable(tmp_path, **kwargs)
        started.append(running)
        return running

    yield factory
    for running in started:
        with contextlib.suppress(Exception):
            await running.sim.stop()


@dataclass
class Watched:
    stream: FeedStream
    events: list[CallEvent]
    statuses: list[StreamStatus]
    task: asyncio.Task[None]

    def numbers(self, number: str) -> list[CallEvent]:
        return [e for e in self.events if e.external_number == number]

    def retries(self) -> list[StreamStatus]:
        return [s for s in self.statuses if s.state is StreamState.RECONNECTING]


@contextlib.asynccontextmanager
async def watching(client: PbxClient, sleep: HeldSleep) -> AsyncIterator[Watched]:
    statuses: list[StreamStatus] = []
    events: list[CallEvent] = []

    async def source() -> PbxClient:
        return client

    stream = FeedStream(
        source,
        on_status=statuses.append,
        policy=POLICY,
        random=random.Random(5).random,
        sleep=sleep,
    )

    async def read() -> None:
        async with contextlib.aclosing(stream.events()) as feed:
            async for event in feed:
                events.append(event)

    task = asyncio.create_task(read())
    try:
        yield Watched(stream, events, statuses, task)
    finally:
        sleep.gate.set()
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await client.aclose()


def ended(events: list[CallEvent]) -> list[CallEvent]:
    return [e for e in events if e.state is LiveState.ENDED]


async def test_a_restart_says_reconnecting_and_fills_the_gap_once(
    pbx: Callable[..., Awaitable[Restartable]],
) -> None:
    running = await pbx()
    client = await open_client(params_for(running.sim), running.sim.client_secret)
    sleep = HeldSleep(hold_at=DOWN_ATTEMPTS)
    async with watching(client, sleep) as watched:
        await running.sim.wait_for_call_control_client()
        before = await running.sim.place_call("inbound", number="+61299990001")
        await until(lambda: ended(watched.numbers("+61299990001")), "the live call's end")

        await running.stop()
        await until(lambda: len(sleep.slept) >= DOWN_ATTEMPTS, lambda: f"waits {sleep.slept}")
        # Back on the same port while the feed still waits: these calls end in the gap.
        sim = await running.start_again()
        gap_calls = ["+61299990002", "+61299990003"]
        for number in gap_calls:
            await sim.place_call("inbound", number=number)
        sleep.gate.set()
        await until(
            lambda: all(ended(watched.numbers(n)) for n in gap_calls),
            lambda: (
                f"the gap's calls; events {[(e.external_number, e.state) for e in watched.events]}"
            ),
        )
        # A later live call arrives live again, not from the call log.
        await sim.wait_for_call_control_client()
        after = await sim.place_call("inbound", number="+61299990004")
        await until(lambda: ended(watched.numbers("+61299990004")), "the call after the gap")

    draws = random.Random(5)
    assert sleep.slept[:DOWN_ATTEMPTS] == [
        POLICY.delay_s(n, draws.random()) for n in range(1, DOWN_ATTEMPTS + 1)
    ]
    retries = watched.retries()
    assert [s.attempt for s in retries[:DOWN_ATTEMPTS]] == [1, 2, 3]
    assert retries[0].text.startswith(f"reconnecting (attempt 1, next in {sleep.slept[0]:g} s)")
    assert retries[1].text.startswith(f"reconnecting (attempt 2, next in {sleep.slept[1]:g} s)")
    assert not any(s.needs_action for s in retries)  # a restart: waiting does fix it
    assert watched.statuses[-1].state is StreamState.CONNECTED

    for number in gap_calls:
        told = ended(watched.numbers(number))
        assert len(told) == 1, told  # once, not again by a later resync or fill
        assert told[0].filled is not None
        assert told[0].filled.start <= told[0].at <= told[0].filled.end
    for call, number in ((before, "+61299990001"), (after, "+61299990004")):
        told = ended(watched.numbers(number))
        assert len(told) == 1 and told[0].filled is None, (call.call_id, told)
    assert watched.stream.filled >= len(gap_calls)
    keys = [(e.call_id, e.state) for e in watched.events]
    assert len(keys) == len(set(keys))


async def _certificate_problem(
    running: Restartable, client: PbxClient, sleep: HeldSleep
) -> list[StreamStatus]:
    async with watching(client, sleep) as watched:
        await running.sim.wait_for_call_control_client()
        await running.stop()
        await running.start_again()  # a new process: a new CA and certificate
        sleep.gate.set()
        await until(
            lambda: any(s.needs_action for s in watched.retries()),
            lambda: f"a certificate status; got {[s.text for s in watched.statuses]}",
        )
        assert not watched.task.done()  # still trying, not ended
    return [s for s in watched.retries() if s.needs_action]


async def test_back_with_a_new_ca_is_named_untrusted(
    pbx: Callable[..., Awaitable[Restartable]],
) -> None:
    running = await pbx(tls=True)
    # The CA file is read once, when the connection opens: the old CA stays the trusted one.
    client = await open_client(params_for(running.sim), running.sim.client_secret)
    problems = await _certificate_problem(running, client, HeldSleep(hold_at=10_000))
    assert "certificate is untrusted" in problems[0].text
    assert problems[0].text.startswith("reconnecting (attempt ")


async def test_back_with_a_new_certificate_is_named_changed_when_pinned(
    pbx: Callable[..., Awaitable[Restartable]],
) -> None:
    running = await pbx(tls=True)
    host, port = running.sim.url.removeprefix("https://").rsplit(":", 1)
    pin = certificate_fingerprint(await fetch_peer_certificate(host, int(port), 5.0))
    params = params_for(running.sim, tls=TlsOptions(pin_sha256=pin))
    client = await open_client(params, running.sim.client_secret)
    problems = await _certificate_problem(running, client, HeldSleep(hold_at=10_000))
    assert "certificate changed (not the one pinned)" in problems[0].text
    assert "re-pin" in problems[0].text
