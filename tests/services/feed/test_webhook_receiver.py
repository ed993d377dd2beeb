"""The webhook receiver against the simulator's add-on, over real loopback HTTP."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import pytest

from app.domain.calls import CallDirection
from app.domain.live import CallEvent, LiveState
from app.services.feed.webhook_receiver import MAX_BODY_BYTES, WebhookReceiver, call_key
from app.sim import Simulator
from tests.conftest import SimFactory

CALL_ID = "210701165649_698-1"


@dataclass
class Inbox:
    events: list[CallEvent] = field(default_factory=list)
    recordings: list[tuple[str, list[str]]] = field(default_factory=list)
    changed: asyncio.Event = field(default_factory=asyncio.Event)

    def event(self, event: CallEvent) -> None:
        self.events.append(event)
        self.changed.set()

    def recording(self, call_id: str, urls: list[str]) -> None:
        self.recordings.append((call_id, urls))
        self.changed.set()

    async def until(self, done: Callable[[], bool]) -> None:
        async with asyncio.timeout(10):
            while not done():
                self.changed.clear()
                await self.changed.wait()

    def states(self, call_id: str | None = None) -> list[LiveState]:
        return [e.state for e in self.events if call_id is None or e.call_id == call_id]


@dataclass
class Running:
    receiver: WebhookReceiver
    inbox: Inbox
    url: str
    http: aiohttp.ClientSession

    async def send(
        self, method: str = "GET", url: str | None = None, **kw: object
    ) -> tuple[int, str]:
        async with self.http.request(method, url or self.url, **kw) as response:  # type: ignore[arg-type]
            return response.status, await response.text()


@pytest.fixture
async def running() -> AsyncIterator[Running]:
    inbox = Inbox()
    receiver = WebhookReceiver(on_event=inbox.event, on_recording=inbox.recording)
    url = await receiver.start()
    async with aiohttp.ClientSession() as http:
        yield Running(receiver, inbox, url, http)
    await receiver.stop()


async def sim_for(make_sim: SimFactory, running: Running) -> Simulator:
    return await make_sim(webhook_url=running.url, recording_delay_s=0.05)


async def test_answered_call_from_the_sim_becomes_call_events_and_a_recording(
    make_sim: SimFactory, running: Running
) -> None:
    sim = await sim_for(make_sim, running)
    ext = sim.tenant.external_staff()[0].number
    call = await sim.place_call("inbound", extension=ext, ring_s=0.05, talk_s=0.05)
    inbox = running.inbox
    await inbox.until(lambda: bool(inbox.recordings))
    assert inbox.states() == [LiveState.RINGING, LiveState.CONNECTED, LiveState.ENDED]
    (call_id,) = {e.call_id for e in inbox.events}
    assert call_id.endswith(f"_{call.call_id}") and "-" not in call_id, "one id per call"
    assert {e.source for e in inbox.events} == {"webhook"}
    assert {e.direction for e in inbox.events} == {CallDirection.INBOUND}
    assert {e.external_number for e in inbox.events} == {call.src.caller_id}
    assert inbox.events[-1].extension == ext
    ((rec_call, urls),) = inbox.recordings
    assert rec_call == call_id and len(urls) == 1
    async with running.http.get(urls[0]) as response:
        assert response.status == 200
        assert (await response.read())[:4] == b"RIFF"
    stats = running.receiver.stats
    assert (stats.received, stats.accepted, stats.rejected) == (4, 4, 0)
    assert (stats.events, stats.recordings) == (3, 1)


async def test_ring_all_queue_miss_is_one_missed_call_at_the_queue(
    make_sim: SimFactory, running: Running
) -> None:
    sim = await sim_for(make_sim, running)
    call = await sim.place_call("queue", answered=False, ring_s=0.05)
    await asyncio.wait_for(sim.webhooks.sender.idle.wait(), 10)
    inbox = running.inbox
    assert inbox.states() == [LiveState.RINGING, LiveState.MISSED]
    assert inbox.events[-1].extension == "800"
    assert running.receiver.stats.accepted == 2 + len(call.agent_dns)


async def test_voicemail_outbound_and_transfer_calls(
    make_sim: SimFactory, running: Running
) -> None:
    sim = await sim_for(make_sim, running)
    staff = sim.tenant.external_staff()
    voicemail = await sim.place_call("voicemail", ring_s=0.02, talk_s=0.02)
    unanswered = await sim.place_call(
        "outbound", extension=staff[0].number, answered=False, ring_s=0.02
    )
    running_call = sim.engine.spawn(
        sim.engine.run_call("inbound", extension=staff[0].number, ring_s=0.02, talk_s=None)
    )
    inbox = running.inbox
    await inbox.until(lambda: LiveState.CONNECTED in inbox.states())
    (leg,) = sim.engine.participants[staff[0].number].values()
    moved = sim.engine.act(leg, "transferto", staff[1].number)
    sim.engine.act(moved, "drop", None)
    transferred = await asyncio.wait_for(running_call, 10)
    await asyncio.wait_for(sim.webhooks.sender.idle.wait(), 10)

    def of(call_id: int) -> list[CallEvent]:
        return [e for e in inbox.events if e.call_id.endswith(f"_{call_id}")]

    assert [e.state for e in of(voicemail.call_id)] == [LiveState.RINGING, LiveState.VOICEMAIL]
    (ended,) = of(unanswered.call_id)
    assert (ended.state, ended.direction) == (LiveState.ENDED, CallDirection.OUTBOUND), (
        "an outgoing call nobody picked up is not a missed call"
    )
    assert [(e.state, e.extension) for e in of(transferred.call_id)] == [
        (LiveState.RINGING, staff[0].number),
        (LiveState.CONNECTED, staff[0].number),
        (LiveState.CONNECTED, staff[1].number),
        (LiveState.ENDED, staff[1].number),
    ]


async def test_liberal_wire_formats(running: Running) -> None:
    inbox = running.inbox
    form = {"event": "ringing", "callerid": "+61412345678", "did": "+61881234500"}
    assert (await running.send("POST", data={**form, "user": "101", "id": "1"}))[0] == 200
    body = {"Event": "hangupincoming", "CallerId": "+61412345678", "User": 101, "Id": "1"}
    assert (await running.send("POST", json=body))[0] == 200
    multipart = aiohttp.FormData()
    for key, value in {"event": "incoming", "finishtype": "Ok", "id": "1"}.items():
        multipart.add_field(key, value)
    multipart.add_field("note", b"binary parts are ignored", filename="x.bin")
    assert (await running.send("POST", data=multipart))[0] == 200
    assert inbox.states("1") == [LiveState.RINGING, LiveState.CONNECTED, LiveState.ENDED]
    assert inbox.events[0].direction is CallDirection.INBOUND
    assert inbox.events[1].extension == "101"

    links = ["https://pbx.example/records/a.mp3", "https://pbx.example/records/b.mp3"]
    assert (await running.send("POST", json={"callid": CALL_ID, "links": links}))[0] == 200
    assert (await running.send("POST", data={"id": CALL_ID, "link": "\n".join(links)}))[0] == 200
    query = {"id": CALL_ID, "link1": links[0], "link2": links[1]}
    assert (await running.send("GET", params=query))[0] == 200
    text_body = f"id={CALL_ID}&record_url={links[0]}"
    status, said = await running.send("POST", data=text_body.encode())
    assert status == 200 and "1 recording link" in said
    assert inbox.recordings == [("210701165649_698", links)] * 3 + [("210701165649_698", links[:1])]


async def test_duplicates_and_transfers_do_not_end_a_call_twice(running: Running) -> None:
    def hook(event: str, link: int, **extra: str) -> dict[str, str]:
        return {"event": event, "id": f"210701165649_700-{link}", "callerid": "0299990000", **extra}

    for params in (
        hook("ringing", 0, user="800", usertype="queue", did="0881234500"),
        hook("ringing", 0, user="101", usertype="ext", did="0881234500"),
        hook("ringing", 0, user="102", usertype="ext", did="0881234500"),
        hook("hangupincoming", 1, user="102", trtype="NotDef"),
        hook("incoming", 1, user="102", finishtype="Ok", transfer="true"),
        hook("hangupincoming", 2, user="103", trtype="Accomp"),
        hook("incoming", 2, user="103", finishtype="Ok", transfer="false"),
        hook("incoming", 2, user="103", finishtype="Ok", transfer="false"),
    ):
        status, _ = await running.send(params=params)
        assert status == 200
    events = running.inbox.events
    assert [(e.state, e.extension) for e in events] == [
        (LiveState.RINGING, "800"),
        (LiveState.CONNECTED, "102"),
        (LiveState.CONNECTED, "103"),
        (LiveState.ENDED, "103"),
    ]
    assert {e.call_id for e in events} == {"210701165649_700"}
    assert running.receiver.did_for("210701165649_700") == "0881234500", "for the live feed"
    assert running.receiver.did_for("210701165649_700-2") == "0881234500"
    assert running.receiver.did_for("unknown") is None
    assert call_key("not-the-usual-shape") == "not-the-usual-shape"


@pytest.mark.parametrize(
    ("request_kw", "message"),
    [
        ({"params": {"event": "ringing"}}, "missing 'id'"),
        ({"params": {"id": CALL_ID}}, "missing 'event'"),
        ({"params": {"id": CALL_ID, "event": "callstarted"}}, "unknown event 'callstarted'"),
        (
            {
                "method": "POST",
                "data": b"{not json",
                "headers": {"Content-Type": "application/json"},
            },
            "not valid JSON",
        ),
        ({"method": "POST", "json": [{"id": CALL_ID}]}, "must be one object"),
        (
            {"method": "POST", "data": {"id": CALL_ID, "link": "ftp://pbx/a.mp3"}},
            "not an http(s) URL",
        ),
        ({"method": "POST", "data": b"x" * (MAX_BODY_BYTES + 1)}, "larger than 64 KB"),
        ({"method": "PUT", "params": {"id": CALL_ID, "event": "ringing"}}, "send GET or POST"),
    ],
)
@pytest.mark.expect_log("app.services.feed.webhook_receiver", r"^Webhook refused \(400\): ")
async def test_bad_requests_get_400_with_a_clear_message_and_are_counted(
    running: Running, request_kw: dict[str, Any], message: str
) -> None:
    method = str(request_kw.pop("method", "GET"))
    status, text = await running.send(method, **request_kw)
    assert status == 400 and message in text
    stats = running.receiver.stats
    assert (stats.received, stats.accepted, stats.rejected) == (1, 0, 1)
    assert stats.last_error is not None and message in stats.last_error
    assert "1 rejected" in running.receiver.status_text()
    assert running.inbox.events == [] and running.inbox.recordings == []
    good = {"event": "ringing", "id": CALL_ID, "user": "101"}
    assert (await running.send(params=good))[0] == 200, "the receiver goes on working"


@pytest.mark.expect_log(
    "app.services.feed.webhook_receiver",
    r"^Webhook refused \(400\): request body is larger than 64 KB$",
)
async def test_a_chunked_body_over_the_limit_is_refused(running: Running) -> None:
    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(20):
            yield b"a=" + b"x" * 8190 + b"&"

    status, text = await running.send("POST", data=chunks())
    assert status == 400 and "larger than 64 KB" in text


@pytest.mark.expect_log(
    "app.services.feed.webhook_receiver", r"^Webhook handling failed$", level="ERROR"
)
async def test_a_failing_callback_answers_500_and_the_receiver_survives(
    caplog: pytest.LogCaptureFixture,
) -> None:
    def explode(event: CallEvent) -> None:
        raise RuntimeError("feed bug")

    receiver = WebhookReceiver(on_event=explode, on_recording=lambda _c, _u: None)
    url = await receiver.start()
    try:
        async with aiohttp.ClientSession() as http:
            for _ in range(2):
                async with http.get(url, params={"event": "ringing", "id": "7"}) as response:
                    assert response.status == 500
                    assert "see the app's log" in await response.text()
        assert receiver.stats.rejected == 2
    finally:
        await receiver.stop()
    assert not receiver.running


@pytest.mark.expect_log(
    "app.services.feed.webhook_receiver", r"^Webhook refused \(403\): missing or wrong token"
)
async def test_token_in_the_url_is_the_only_credential(caplog: pytest.LogCaptureFixture) -> None:
    inbox = Inbox()
    token = "s3cret-webhook-token"
    receiver = WebhookReceiver(on_event=inbox.event, on_recording=inbox.recording, token=token)
    with caplog.at_level(logging.DEBUG):
        url = await receiver.start()
        try:
            assert url.endswith(f"?token={token}")
            bare = url.split("?", 1)[0]
            ringing = {"event": "ringing", "id": CALL_ID, "user": "101"}
            async with aiohttp.ClientSession() as http:
                for target, params in (
                    (bare, ringing),
                    (bare, {**ringing, "token": "wrong"}),
                ):
                    async with http.get(target, params=params) as response:
                        assert response.status == 403
                        assert "missing or wrong token" in await response.text()
                async with http.post(url, json=ringing) as response:
                    assert response.status == 200
            assert inbox.states() == [LiveState.RINGING]
            assert receiver.stats.rejected == 2 and receiver.stats.accepted == 1
            shown = receiver.status_text() + receiver.display_url
            assert token not in shown and "token=••••" in receiver.display_url
        finally:
            await receiver.stop()
    assert token not in caplog.text
    with pytest.raises(ValueError, match="token"):
        WebhookReceiver(on_event=inbox.event, on_recording=inbox.recording, token="  ")


def test_only_loopback_unless_asked() -> None:
    inbox = Inbox()
    with pytest.raises(ValueError, match="allow_remote=True"):
        WebhookReceiver("0.0.0.0", on_event=inbox.event, on_recording=inbox.recording)
    for host in ("127.0.0.1", "::1", "localhost", "127.0.0.2"):
        WebhookReceiver(host, on_event=inbox.event, on_recording=inbox.recording)
    WebhookReceiver(
        "0.0.0.0", on_event=inbox.event, on_recording=inbox.recording, allow_remote=True
    )


@pytest.mark.expect_log(
    "app.services.feed.webhook_receiver", r"^Webhook refused \(400\): missing 'id'"
)
async def test_stats_callback_sees_every_request(running: Running) -> None:
    seen: list[int] = []
    inbox = Inbox()
    receiver = WebhookReceiver(
        on_event=inbox.event,
        on_recording=inbox.recording,
        on_stats=lambda stats: seen.append(stats.received),
    )
    url = await receiver.start()
    try:
        async with running.http.get(url, params={"event": "ringing", "id": "9"}) as response:
            assert response.status == 200
        async with running.http.get(url) as response:
            assert response.status == 400
    finally:
        await receiver.stop()
    assert seen[-1] == 2 and len(seen) >= 4, "every request: received, then its verdict"
    assert receiver.stats.events == 1
