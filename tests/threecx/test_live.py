"""Live call events: Call Control websocket, reconnects, gaps, and polling where it is off."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable

from app.domain.calls import CallDirection
from app.domain.live import CallEvent, LiveState
from app.domain.reconnect import ReconnectPolicy
from app.sim import Simulator
from app.threecx.client import PbxClient
from app.threecx.v20.callcontrol import CallControlWatcher, parse_entity
from app.threecx.v20.client import V20Client
from tests.support.waiting import until, within

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

    async def wait_for(self, call_id: object, state: LiveState, seconds: float = 10.0) -> None:
        def seen() -> bool:
            if self._task.done():
                self._task.result()  # the stream failed: say why instead of timing out
            return state in self.states(call_id)

        await until(seen, lambda: f"{state} for call {call_id}: {self.states(call_id)}", seconds)

    async def alongside(self, awaitable: Awaitable[object]) -> None:
        """Await ``awaitable`` unless the stream fails first (then raise why)."""
        waiting = asyncio.ensure_future(awaitable)
        try:
            await asyncio.wait({waiting, self._task}, return_when=asyncio.FIRST_COMPLETED)
            if not waiting.done():
                self._task.result()
                raise AssertionError("the event stream ended before the simulator's state")
            waiting.result()
        finally:
            waiting.cancel()

    async def stop(self) -> None:
        self._task.cancel()
        await asyncio.gather(self._task, return_exceptions=True)


async def watching(client: PbxClient, sim: Simulator | None = None) -> Recorder:
    """Records ``client``'s live events; returns once a call placed from now on is seen whole.

    Call Control sees a call from its first ring only if the websocket is open by then (the
    client takes its snapshot after subscribing, so nothing falls between), so pass ``sim``
    to wait until the simulator holds it. A polling client needs no wait: its first poll
    looks two minutes back.
    """
    recorder = Recorder(client.watch_calls())
    if sim is not None and sim.is_v20 and not sim.faults.active("no-call-control"):
        await within(
            recorder.alongside(sim.wait_for_call_control_client()),
            "the client's Call Control websocket to open on the simulator",
        )
    return recorder


async def test_call_control_reports_each_state_once(
    make_sim: SimFactory, connect: ClientFactory
) -> None:
    sim = await make_sim(tls=True)
    client = await connect(sim)
    await client.authenticate()
    rec = await watching(client, sim)
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
    rec = await watching(client, sim)
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
    watcher = CallControlWatcher(
        client, client._transport, reconnect=ReconnectPolicy(first_s=0.05, cap_s=0.2)
    )
    rec = Recorder(watcher.events())
    try:
        await until(lambda: watcher.reconnects >= 1, "the client to see its websocket dropped")
        placed = await sim.place_call("inbound")  # across more drops: each reconnect resyncs
        await rec.wait_for(placed.call_id, LiveState.ENDED)
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
    rec = await watching(client, sim)
    try:
        answered = await sim.place_call("inbound")
        missed = await sim.place_call("missed")
        queued = await sim.place_call("queue", answered=True)
        # The call log's ids: MainCallHistoryId, which all of a call's legs share (§9.1).
        await rec.wait_for(answered.history_id, LiveState.ENDED)
        await rec.wait_for(missed.history_id, LiveState.MISSED)
        await rec.wait_for(queued.history_id, LiveState.ENDED)
        await asyncio.sleep(1.0)  # several more polls (every 0.2 s) re-read the same calls
        assert {e.source for e in rec.events} == {"call-log"}
        ids = [e.call_id for e in rec.events]
        mine = [answered.history_id, missed.history_id, queued.history_id]
        # Each call reported exactly once, the queue call's legs as one call on the agent.
        assert sorted(i for i in ids if i in mine) == sorted(mine)
        assert len(ids) == len(set(ids))
        queue_event = next(e for e in rec.events if e.call_id == queued.history_id)
        assert queue_event.extension == queued.dst.dn and queued.dst.dn in queued.agent_dns
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
    rec = await watching(client, silent)
    try:
        placed = await silent.place_call("inbound")
        # Frames arrive in order on the one websocket: once a later call is seen, any frame
        # of the first would have arrived already.
        silent.faults.enable("monitored=all")
        marker = await silent.place_call("inbound")
        await rec.wait_for(marker.call_id, LiveState.ENDED)
        assert rec.states(placed.call_id) == []
    finally:
        await rec.stop()

    one = await make_sim(faults=["monitored=101"])
    client = await connect(one)
    assert isinstance(client, V20Client)
    assert [row["dn"] for row in await client.call_control_snapshot()] == ["101"]
    rec = await watching(client, one)
    try:
        unseen = await one.place_call("inbound", extension="102")
        seen = await one.place_call("inbound", extension="101")  # after: see the note above
        await rec.wait_for(seen.call_id, LiveState.ENDED)
        assert rec.states(unseen.call_id) == []
    finally:
        await rec.stop()
