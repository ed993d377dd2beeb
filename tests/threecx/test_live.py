"""Live call events: Call Control websocket, reconnects, gaps, and polling where it is off."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

from app.domain.calls import CallDirection
from app.domain.live import CallEvent, LiveState
from app.threecx.client import PbxClient
from app.threecx.v20.callcontrol import CallControlWatcher, parse_entity
from app.threecx.v20.client import V20Client

from .conftest import ClientFactory, SimFactory


class Recorder:
    """Collects a client's live events in the background until stopped."""

    def __init__(self, stream: AsyncIterator[CallEvent]) -> None:
        self.events: list[CallEvent] = []
        self._stream = stream
        self._task = asyncio.create_task(self._run())

    async def _run(self) -> None:
        async for event in self._stream:
            self.events.append(event)

    def states(self, call_id: object) -> list[LiveState]:
        return [e.state for e in self.events if e.call_id == str(call_id)]

    async def wait_for(self, call_id: object, state: LiveState, seconds: float = 8.0) -> None:
        for _ in range(int(seconds / 0.05)):
            if state in self.states(call_id):
                return
            if self._task.done():
                self._task.result()
            await asyncio.sleep(0.05)
        raise AssertionError(f"no {state} for call {call_id}: {self.states(call_id)}")

    async def stop(self) -> None:
        self._task.cancel()
        await asyncio.gather(self._task, return_exceptions=True)


async def watching(client: PbxClient) -> Recorder:
    recorder = Recorder(client.watch_calls())
    await asyncio.sleep(0.3)  # subscribed and resynced
    return recorder


async def test_call_control_reports_each_state_once(
    make_sim: SimFactory, connect: ClientFactory
) -> None:
    sim = await make_sim(tls=True)
    client = await connect(sim)
    await client.authenticate()
    rec = await watching(client)
    try:
        inbound = await sim.place_call("inbound")
        outbound = await sim.place_call("outbound")
        await rec.wait_for(inbound.call_id, LiveState.ENDED)
        await rec.wait_for(outbound.call_id, LiveState.ENDED)
        assert rec.states(inbound.call_id) == [
            LiveState.RINGING,
            LiveState.CONNECTED,
            LiveState.ENDED,
        ]
        first = next(e for e in rec.events if e.call_id == str(inbound.call_id))
        assert first.direction is CallDirection.INBOUND and first.external_number
        out = next(e for e in rec.events if e.call_id == str(outbound.call_id))
        assert out.direction is CallDirection.OUTBOUND
    finally:
        await rec.stop()


async def test_missed_calls_are_settled(make_sim: SimFactory, connect: ClientFactory) -> None:
    sim = await make_sim()
    client = await connect(sim)
    await client.authenticate()
    rec = await watching(client)
    try:
        queue_miss = await sim.place_call("queue", answered=False)
        voicemail = await sim.place_call("voicemail")
        answered_in_queue = await sim.place_call("queue")
        await rec.wait_for(queue_miss.call_id, LiveState.MISSED)
        await rec.wait_for(voicemail.call_id, LiveState.VOICEMAIL)
        await rec.wait_for(answered_in_queue.call_id, LiveState.ENDED)
        # Several agent legs rang: still exactly one missed call.
        assert rec.states(queue_miss.call_id) == [LiveState.RINGING, LiveState.MISSED]
        # It looked missed when the extension stopped ringing; the call log says voicemail.
        assert LiveState.MISSED not in rec.states(voicemail.call_id)
        assert LiveState.MISSED not in rec.states(answered_in_queue.call_id)
    finally:
        await rec.stop()


async def test_websocket_drops_are_survived(make_sim: SimFactory, connect: ClientFactory) -> None:
    sim = await make_sim(faults=["ws-drop=0.5"])
    client = await connect(sim)
    assert isinstance(client, V20Client)
    await client.authenticate()
    watcher = CallControlWatcher(client, client._transport, reconnect_delays=(0.05,))
    rec = Recorder(watcher.events())
    try:
        await asyncio.sleep(1.2)  # at least one drop
        placed = await sim.place_call("inbound")
        await rec.wait_for(placed.call_id, LiveState.ENDED)
        assert watcher.reconnects >= 1
    finally:
        await rec.stop()


async def test_sequence_gap_triggers_a_resync(make_sim: SimFactory, connect: ClientFactory) -> None:
    """A frame lost in transit: the leg it announced is picked up from a fresh snapshot."""
    sim = await make_sim()
    client = await connect(sim)
    assert isinstance(client, V20Client)
    await client.authenticate()
    watcher = CallControlWatcher(client, client._transport)
    rec = Recorder(watcher.events())
    try:
        warm_up = await sim.place_call("inbound")  # frames flowing: sequence numbers known
        await rec.wait_for(warm_up.call_id, LiveState.ENDED)
        sim.faults.enable("ws-skip-sequence")
        placed = await sim.place_call("inbound", talk_s=1.0)
        await rec.wait_for(placed.call_id, LiveState.ENDED)
        assert watcher.gaps >= 1
        assert rec.states(placed.call_id)[0] is LiveState.RINGING
    finally:
        await rec.stop()


async def test_polling_when_call_control_is_off(
    make_sim: SimFactory, connect: ClientFactory
) -> None:
    sim = await make_sim(faults=["no-call-control"])
    client = await connect(sim)
    await client.authenticate()
    rec = await watching(client)
    try:
        answered = await sim.place_call("inbound")
        missed = await sim.place_call("missed")
        await rec.wait_for(answered.call_id, LiveState.ENDED)
        await rec.wait_for(missed.call_id, LiveState.MISSED)
        assert {e.source for e in rec.events} == {"call-log"}
        assert rec.states(answered.call_id) == [LiveState.ENDED]  # each call reported once
    finally:
        await rec.stop()


def test_entity_paths() -> None:
    assert parse_entity("/callcontrol/150/participants/8106") == ("150", 8106)
    assert parse_entity("/callcontrol/150") is None
    assert parse_entity("/callcontrol/150/participants/x") is None


async def test_only_monitored_extensions_are_visible(
    make_sim: SimFactory, connect: ClientFactory
) -> None:
    """Call Control shows only the "Extensions to Monitor"; with none, it is silent."""
    silent = await make_sim(faults=["monitored=none"])
    client = await connect(silent)
    assert isinstance(client, V20Client)
    await client.authenticate()
    assert await client.call_control_snapshot() == []
    rec = await watching(client)
    try:
        placed = await silent.place_call("inbound")
        await asyncio.sleep(0.5)
        assert rec.states(placed.call_id) == []
    finally:
        await rec.stop()

    one = await make_sim(faults=["monitored=101"])
    client = await connect(one)
    assert isinstance(client, V20Client)
    assert [row["dn"] for row in await client.call_control_snapshot()] == ["101"]
    rec = await watching(client)
    try:
        seen = await one.place_call("inbound", extension="101")
        unseen = await one.place_call("inbound", extension="102")
        await rec.wait_for(seen.call_id, LiveState.ENDED)
        assert rec.states(unseen.call_id) == []
    finally:
        await rec.stop()
