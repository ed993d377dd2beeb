"""Call history and live calls shaped the way live PBXs send them (API-NOTES §9).

The simulator speaks every live-PBX quirk by default and the clean wire on request; each quirk
can be switched alone. Whatever the shape, the client must see each call once, on the extension
that answered, with the same id on every read, newest first; and the doctor must reach the same
verdicts and say which shapes it met.
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import httpx
import pytest

from app.domain.calls import CallRecord
from app.domain.clock import utc_now
from app.domain.live import LiveState
from app.domain.wire_shapes import WireShape
from app.services.doctor import Doctor
from app.services.doctor.text import render_text
from app.sim import Simulator
from app.sim.records import DN_QUEUE, DN_VOICEMAIL
from app.sim.wire_quirks import WireQuirk, main_history_id
from app.threecx.v20.client import V20Client, call_log_path
from tests.conftest import SimFactory
from tests.support.timeouts import ROOMY

from .conftest import ClientFactory, params_for
from .test_live import watching

CLEAN: frozenset[str] = frozenset()
WIRES = {"live-pbx": None, "clean": CLEAN}
DAYS = 30


def window() -> tuple[Any, Any]:
    now = utc_now()
    return now - timedelta(days=DAYS), now + timedelta(minutes=1)


def expected_calls(sim: Simulator) -> dict[str, list[Any]]:
    """The simulator's own calls in the window: history id → legs."""
    since, until = window()
    calls: dict[str, list[Any]] = {}
    for seg in sim.tenant.segments:
        if since <= seg.start <= until:
            calls.setdefault(main_history_id(seg.call_id), []).append(seg)
    return calls


def summary(calls: list[CallRecord]) -> list[tuple[object, ...]]:
    return [
        (
            c.call_id,
            c.started_at,
            c.direction,
            c.extension,
            c.answered,
            c.outcome,
            c.caller,
            c.recording_ids,
        )
        for c in calls
    ]


@pytest.mark.parametrize("wire", list(WIRES), ids=list(WIRES))
async def test_each_call_once_on_the_answering_extension_stable_ids_newest_first(
    make_sim: SimFactory, connect: ClientFactory, wire: str
) -> None:
    sim = await make_sim(wire_quirks=WIRES[wire])
    client = await connect(sim)
    await client.authenticate()
    calls = await client.call_history(*window(), limit=10_000)
    truth = expected_calls(sim)
    assert len(calls) == len(truth) and {c.call_id for c in calls} == set(truth)
    queue_calls = 0
    for call in calls:
        legs = truth[call.call_id]
        # A voicemail box that picked up did not answer the call (a person did not).
        answered = [leg for leg in legs if leg.answered and leg.dst.dn_type != DN_VOICEMAIL]
        if any(leg.dst.dn_type == DN_QUEUE for leg in legs):
            queue_calls += 1
            # A queue call is one call: on the agent who answered, else on the queue.
            queue = next(leg.dst.dn for leg in legs if leg.dst.dn_type == DN_QUEUE)
            assert call.extension == (answered[-1].dst.dn if answered else queue), call
        assert call.answered == bool(answered)
    assert queue_calls > 5  # the history has queue calls with several legs each
    again = await client.call_history(*window(), limit=10_000)
    assert summary(again) == summary(calls)  # same ids, same calls, on every read
    started = [c.started_at for c in calls]
    assert started == sorted(started, reverse=True)  # newest first, whatever the server did
    for limit in (1, 5, 40):  # a limit gives the newest calls, not the oldest
        newest = await client.call_history(*window(), limit=limit)
        assert summary(newest) == summary(calls[:limit])


async def test_the_live_pbx_wire_is_what_a_call_id_keyed_client_got_wrong(
    make_sim: SimFactory, connect: ClientFactory
) -> None:
    """The shapes bite: read raw, CallId changes between reads and splits queue calls."""
    sim = await make_sim()
    client = await connect(sim)
    await client.authenticate()
    assert isinstance(client, V20Client)
    path = call_log_path(*window())
    headers = {"Authorization": f"Bearer {await client.bearer()}"}
    async with httpx.AsyncClient(base_url=sim.url, verify=sim.ca_file or True) as raw:

        async def rows(skip: int) -> list[dict[str, Any]]:
            params = {"$orderby": "StartTime desc", "$top": "200", "$skip": str(skip)}
            answer = await raw.get(path, params=params, headers=headers)
            answer.raise_for_status()
            value: list[dict[str, Any]] = answer.json()["value"]
            return value

        first, shifted = await rows(0), await rows(1)
    by_leg = {r["CdrId"]: r["CallId"] for r in first}
    moved = [r for r in shifted if r["CdrId"] in by_leg and by_leg[r["CdrId"]] != r["CallId"]]
    assert moved  # the same leg, another CallId: CallId identifies nothing
    starts = [r["StartTime"] for r in first]
    assert starts == sorted(starts)  # oldest first although newest first was asked for
    assert len({r["CallId"] for r in first}) > len({r["MainCallHistoryId"] for r in first})


@pytest.mark.parametrize("quirk", [q.value for q in WireQuirk])
async def test_each_quirk_alone_reads_the_same_calls_and_verdicts_as_the_clean_wire(
    make_sim: SimFactory, connect: ClientFactory, quirk: str
) -> None:
    clean = await make_sim(tls=True, wire_quirks=CLEAN)
    shaped = await make_sim(tls=True, wire_quirks=frozenset({quirk}))
    views = []
    for sim in (clean, shaped):
        client = await connect(sim)
        await client.authenticate()
        views.append(summary(await client.call_history(*window(), limit=10_000)))
    assert views[0] == views[1]
    verdicts = []
    for sim in (clean, shaped):
        diagnosis = await Doctor(params_for(sim, timeouts=ROOMY), sim.client_secret).run()
        # The same words, apart from the measured round trip.
        verdicts.append(
            [(r.id, r.status, re.sub(r"in \d+ ms", "in … ms", r.finding)) for r in diagnosis.checks]
        )
    assert verdicts[0] == verdicts[1]


async def test_the_doctor_says_which_shapes_the_pbx_showed(make_sim: SimFactory) -> None:
    shaped = await make_sim(tls=True)
    clean = await make_sim(tls=True, wire_quirks=CLEAN)
    seen = {}
    for name, sim in (("shaped", shaped), ("clean", clean)):
        diagnosis = await Doctor(params_for(sim, timeouts=ROOMY), sim.client_secret).run()
        seen[name] = set(diagnosis.pbx.wire)
        if name == "shaped":
            text = render_text(diagnosis)
            assert "Wire as this PBX sends it: " in text
            assert str(WireShape.OLDEST_FIRST) in text
            assert diagnosis.as_json()["pbx"]["wire"] == list(diagnosis.pbx.wire)
    live_only = {
        WireShape.OLDEST_FIRST,
        WireShape.QUEUE_ROWS,
        WireShape.FRACTIONAL_TIMES,
        WireShape.RECORDING_PATHS,
        WireShape.LAST_FIRST_NAMES,
    }
    both = {WireShape.MAIN_CALL_ID, WireShape.LEGS_FOLDED}
    assert {str(s) for s in live_only | both} <= seen["shaped"]
    assert {str(s) for s in both} <= seen["clean"]
    assert not {str(s) for s in live_only} & seen["clean"]


async def test_a_national_caller_id_reads_as_the_e164_number_it_is(
    make_sim: SimFactory, connect: ClientFactory
) -> None:
    sim = await make_sim(wire_quirks=frozenset({"national-caller-ids", "device-details"}))
    client = await connect(sim)
    await client.authenticate()
    recorder = await watching(client, sim)
    try:
        placed = await sim.place_call("inbound", ring_s=0.2, talk_s=0.2)
        await recorder.wait_for(placed.call_id, LiveState.ENDED)
    finally:
        await recorder.stop()
    events = [e for e in recorder.events if e.call_id == str(placed.call_id)]
    ringing = next(e for e in events if e.state is LiveState.RINGING)
    assert ringing.external_number == placed.src.caller_id
    assert placed.src.caller_id.startswith("+")
    assert isinstance(client, V20Client)
    assert WireShape.NATIONAL_CALLER_IDS in client.wire_seen
    assert WireShape.RINSTANCE_DEVICES in client.wire_seen
