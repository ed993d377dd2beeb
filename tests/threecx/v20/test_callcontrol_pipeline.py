"""Call Control at the rate of a busy PBX: participant GETs side by side and shared, misses
confirmed by one call-log read each batch. Requests are counted, never timed."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from app.domain.calls import CallRecord
from app.domain.live import LiveState
from app.sim import Simulator
from app.sim.engine import Event, LiveCall
from app.threecx.v20.callcontrol import ONE_AT_A_TIME, CallControlWatcher, FetchPolicy
from app.threecx.v20.client import V20Client
from tests.support.waiting import until, within
from tests.threecx.conftest import ClientFactory, SimFactory
from tests.threecx.test_live import Recorder

IN_FLIGHT = 4
KINDS = ("inbound", "queue", "internal", "outbound")  # one leg, ring-all legs, two legs


class HeldGets:
    """The real client, whose participant GETs wait until released: frames pile up behind
    them as they do behind a slow PBX."""

    def __init__(self, client: V20Client) -> None:
        self._client = client
        self.released = asyncio.Event()
        self.wire_seen = client.wire_seen

    async def call_control_entity(self, entity: str) -> Mapping[str, Any] | None:
        await self.released.wait()
        return await self._client.call_control_entity(entity)

    async def call_control_snapshot(self) -> list[Mapping[str, Any]]:
        return await self._client.call_control_snapshot()

    async def call_history(
        self, since: datetime, until: datetime, *, limit: int = 1000
    ) -> list[CallRecord]:
        return await self._client.call_history(since, until, limit=limit)

    async def bearer(self) -> str:
        return await self._client.bearer()

    def drop_bearer(self, token: str) -> None:
        self._client.drop_bearer(token)


class Frames:
    """Every frame the simulator sends to Call Control clients, as it sends it."""

    def __init__(self, sim: Simulator) -> None:
        self.sent: list[Event] = []
        sim.engine.subscribers.add(self.sent.append)

    def upserts(self) -> list[str]:
        return [f["entity"] for f in self.sent if f["event_type"] == 0]


async def v20_client(sim: Simulator, connect: ClientFactory) -> V20Client:
    client = await connect(sim)
    assert isinstance(client, V20Client)
    await client.authenticate()
    return client


async def start(recorder: Recorder, sim: Simulator) -> None:
    await within(
        recorder.alongside(sim.wait_for_call_control_client()),
        "the watcher's Call Control websocket to open on the simulator",
    )


async def calls_until_hung_up(
    sim: Simulator, kinds: list[str], *, ring_s: float, numbers: list[str] | None = None
) -> list[LiveCall]:
    """Calls placed at once that stay up (ringing, or talking once answered) until their
    ``hangup_evt`` is set: a leg shorter than the client's backlog is never seen, by design."""
    before = set(sim.engine.live)
    for kind, number in zip(kinds, numbers or [None] * len(kinds), strict=True):
        sim.engine.spawn(sim.engine.run_call(kind, ring_s=ring_s, talk_s=None, number=number))
    await until(lambda: len(set(sim.engine.live) - before) == len(kinds), "the calls to start")
    return [sim.engine.live[call_id] for call_id in sorted(set(sim.engine.live) - before)]


def hang_up(calls: list[LiveCall]) -> None:
    for call in calls:
        call.hangup_evt.set()


async def test_a_burst_of_calls_arrives_whole_and_in_order_with_gets_shared(
    make_sim: SimFactory, connect: ClientFactory
) -> None:
    sim = await make_sim(tls=True)
    client = await v20_client(sim, connect)
    held = HeldGets(client)
    watcher = CallControlWatcher(
        held, client._transport, policy=FetchPolicy(participant_gets=IN_FLIGHT)
    )
    frames = Frames(sim)
    rec = Recorder(watcher.events())
    try:
        await start(rec, sim)
        kinds = list(itertools.islice(itertools.cycle(KINDS), 40))
        calls = await calls_until_hung_up(sim, kinds, ring_s=0.05)
        await until(lambda: all(call.established for call in calls), "every call to be answered")
        # Every leg rang and connected while the first GETs were held: all those frames are in.
        await until(lambda: watcher.frames >= len(frames.sent), "the watcher to read every frame")
        upserts = frames.upserts()
        held.released.set()
        await until(
            lambda: all(LiveState.CONNECTED in rec.states(c.record.call_id) for c in calls),
            "every call to be seen connected",
        )
        hang_up(calls)
        for call in calls:
            await rec.wait_for(call.record.call_id, LiveState.ENDED)
        for call in calls:
            assert rec.states(call.record.call_id) == [
                LiveState.RINGING,
                LiveState.CONNECTED,
                LiveState.ENDED,
            ], call.record.kind
        # A GET not sent yet answers for every frame of its participant behind it; only the
        # few already sent when the connects arrived are asked again.
        assert watcher.participant_gets <= len(set(upserts)) + IN_FLIGHT
        assert watcher.participant_gets < len(upserts) * 2 / 3
        assert watcher.upserts == len(upserts)
    finally:
        await rec.stop()


async def test_one_at_a_time_asks_once_per_upsert_frame(
    make_sim: SimFactory, connect: ClientFactory
) -> None:
    """Today's way, kept as the benchmark's baseline: a GET for every upsert frame."""
    sim = await make_sim(tls=True)
    client = await v20_client(sim, connect)
    watcher = CallControlWatcher(client, client._transport, policy=ONE_AT_A_TIME)
    frames = Frames(sim)
    rec = Recorder(watcher.events())
    try:
        await start(rec, sim)
        placed = await asyncio.gather(*(sim.place_call(kind) for kind in KINDS))
        for call in placed:
            await rec.wait_for(call.call_id, LiveState.ENDED)
            assert rec.states(call.call_id) == [
                LiveState.RINGING,
                LiveState.CONNECTED,
                LiveState.ENDED,
            ]
        assert watcher.participant_gets == watcher.upserts == len(frames.upserts())
    finally:
        await rec.stop()


async def misses_confirmed(
    sim: Simulator, connect: ClientFactory, policy: FetchPolicy
) -> tuple[CallControlWatcher, Recorder, list[LiveCall]]:
    """Ten unanswered calls (half reach voicemail) ring, then all hang up at once."""
    client = await v20_client(sim, connect)
    watcher = CallControlWatcher(
        client, client._transport, policy=policy, confirm_delays=(0.5, 1.0, 2.0, 4.0)
    )
    rec = Recorder(watcher.events())
    await start(rec, sim)
    # Distinct callers: the call log is matched to the live call by number and time.
    numbers = [f"+6188855{n:04d}" for n in range(10)]
    calls = await calls_until_hung_up(sim, ["missed", "voicemail"] * 5, ring_s=60, numbers=numbers)
    for call in calls:
        await rec.wait_for(call.record.call_id, LiveState.RINGING)
    hang_up(calls)
    for call in calls:
        settled = LiveState.VOICEMAIL if call.record.kind == "voicemail" else LiveState.MISSED
        await rec.wait_for(call.record.call_id, settled)
    return watcher, rec, calls


async def test_misses_pending_together_are_confirmed_by_one_call_log_read(
    make_sim: SimFactory, connect: ClientFactory
) -> None:
    sim = await make_sim(tls=True)
    watcher, rec, calls = await misses_confirmed(sim, connect, FetchPolicy())
    try:
        for call in calls:
            last = [e for e in rec.events if e.call_id == str(call.record.call_id)][-1]
            assert last.source == "call-control+call-log"  # the log's word, not a guess
            # Reached voicemail: never reported missed, not even for a moment.
            if call.record.kind == "voicemail":
                assert LiveState.MISSED not in rec.states(call.record.call_id)
        assert watcher.call_log_reads == 1
    finally:
        await rec.stop()


async def test_one_at_a_time_reads_the_call_log_once_per_miss(
    make_sim: SimFactory, connect: ClientFactory
) -> None:
    sim = await make_sim(tls=True)
    watcher, rec, calls = await misses_confirmed(sim, connect, ONE_AT_A_TIME)
    try:
        assert watcher.call_log_reads == len(calls)
    finally:
        await rec.stop()
