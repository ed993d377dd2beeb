"""The simulator plays the 3CX "Webhook generator" add-on (seed 002) over real loopback HTTP.

A small capture server stands in for the CRM side, so these tests see the exact wire requests:
their order, fields and ids.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import re
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass

import aiohttp
import pytest
from aiohttp import web

from app.sim import Simulator
from app.sim import cli as sim_cli
from app.sim.engine import LiveCall
from app.sim.records import CallRecord, Recording
from app.sim.webhooks import WebhookSender, WebhookTargetError
from tests.conftest import SimFactory

ID_FORMAT = re.compile(r"^(\d{12}_\d+)-(\d+)$")


@dataclass
class Hook:
    method: str
    fields: dict[str, str]
    links: list[str]

    @property
    def event(self) -> str:
        return self.fields.get("event", "recording" if self.links else "?")

    @property
    def base(self) -> str:
        match = ID_FORMAT.match(self.fields["id"])
        assert match, f"id {self.fields['id']!r} is not [yymmddHHMMSS]_[n]-[link]"
        return match.group(1)

    @property
    def link(self) -> int:
        return int(self.fields["id"].rsplit("-", 1)[1])


class Capture:
    """A webhook target on loopback that keeps every request it gets, in arrival order."""

    def __init__(self, status: int = 200, hang: bool = False) -> None:
        self.hooks: list[Hook] = []
        self.status = status
        self.hang = hang
        self.url = ""
        self._arrived = asyncio.Event()
        self._runner: web.AppRunner | None = None
        self._release = asyncio.Event()

    async def _handle(self, request: web.Request) -> web.Response:
        fields = dict(request.query)
        links: list[str] = []
        if request.method == "POST":
            form = await request.post()
            for key, value in form.items():
                if key == "link":
                    links.append(str(value))
                else:
                    fields[key] = str(value)
        self.hooks.append(Hook(request.method, fields, links))
        self._arrived.set()
        if self.hang:
            await self._release.wait()
        return web.Response(status=self.status, text="ok")

    async def __aenter__(self) -> Capture:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.2)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = self._runner.addresses[0][1]
        self.url = f"http://127.0.0.1:{port}/crm/hook"
        return self

    async def __aexit__(self, *exc: object) -> None:
        self._release.set()
        assert self._runner is not None
        await self._runner.cleanup()

    async def wait_for(self, count: int) -> list[Hook]:
        async with asyncio.timeout(10):
            while len(self.hooks) < count:
                self._arrived.clear()
                await self._arrived.wait()
        return self.hooks


@pytest.fixture
async def capture() -> AsyncIterator[Capture]:
    async with Capture() as target:
        yield target


async def settled(sim: Simulator) -> None:
    """Until every queued and delayed webhook was delivered (or failed)."""
    await asyncio.wait_for(sim.webhooks.sender.idle.wait(), 10)


def recording_ext(sim: Simulator) -> str:
    return sim.tenant.external_staff()[0].number


async def test_answered_inbound_call_sends_ringing_start_end_and_recording_link(
    make_sim: SimFactory, capture: Capture
) -> None:
    sim = await make_sim(webhook_url=capture.url, recording_delay_s=0.1)
    ext = recording_ext(sim)
    call = await sim.place_call("inbound", extension=ext, ring_s=0.05, talk_s=0.05)
    assert call.recorded
    hooks = await capture.wait_for(4)
    await settled(sim)
    assert [h.event for h in hooks] == ["ringing", "hangupincoming", "incoming", "recording"]
    assert [h.method for h in hooks] == ["GET", "GET", "GET", "POST"]
    assert len({h.base for h in hooks}) == 1, "one call, one id"
    assert hooks[0].base.endswith(f"_{call.call_id}")
    assert [h.link for h in hooks] == [0, 1, 1, 1], "link 0 while ringing, 1 once answered"
    ringing, start, end, recording = hooks
    assert ringing.fields == {
        "event": "ringing",
        "callerid": call.src.caller_id,
        "did": call.src.did,
        "user": ext,
        "usertype": "ext",
        "id": ringing.fields["id"],
    }
    assert start.fields["trtype"] == "NotDef" and start.fields["user"] == ext
    assert start.fields["did"] == call.src.did
    assert (end.fields["finishtype"], end.fields["transfer"]) == ("Ok", "false")
    rule = next(r.name for r in sim.tenant.inbound_rules if r.did == call.src.did)
    assert f"DID rule '{rule}'" in end.fields["title"]
    assert re.search(r"duration \d\d:\d\d:\d\d$", end.fields["title"])
    assert len(recording.links) == 1
    link = recording.links[0]
    assert link.startswith(f"{sim.url}/webhooks/records/") and link.endswith(".mp3")
    async with aiohttp.ClientSession() as http, http.get(link) as response:
        assert response.status == 200
        assert (await response.read())[:4] == b"RIFF", "the WAV tone, served as the MP3 file"


async def test_ring_all_queue_miss_rings_every_agent_with_one_id_and_ends_once(
    make_sim: SimFactory, capture: Capture
) -> None:
    sim = await make_sim(webhook_url=capture.url)
    call = await sim.place_call("queue", answered=False, ring_s=0.05)
    await settled(sim)
    hooks = capture.hooks
    agents = call.agent_dns
    assert len(agents) >= 2
    ringing = [h for h in hooks if h.event == "ringing"]
    assert [(h.fields["user"], h.fields["usertype"]) for h in ringing] == [
        ("800", "queue"),
        *[(dn, "ext") for dn in agents],
    ]
    assert len({h.fields["id"] for h in ringing}) == 1, "queue legs share one id"
    ends = [h for h in hooks if h.event in ("incoming", "outgoing")]
    assert len(ends) == 1, "a ring-all queue's unanswered legs are one missed call"
    assert ends[0].fields["finishtype"] == "Missed"
    assert ends[0].fields["user"] == "800", "a miss at queue level names the queue"
    assert "queue 800 Sales, callback not ordered" in ends[0].fields["title"]
    assert ends[0].fields["id"] == ringing[0].fields["id"]
    assert not [h for h in hooks if h.event.startswith("hangup") or h.links]


async def test_answered_queue_call_starts_at_the_agent_who_took_it(
    make_sim: SimFactory, capture: Capture
) -> None:
    sim = await make_sim(webhook_url=capture.url)
    call = await sim.place_call("queue", answered=True, ring_s=0.05, talk_s=0.05)
    await settled(sim)
    starts = [h for h in capture.hooks if h.event == "hangupincoming"]
    assert [h.fields["user"] for h in starts] == [call.dst.dn]
    ends = [h for h in capture.hooks if h.event == "incoming"]
    assert [(h.fields["user"], h.fields["finishtype"]) for h in ends] == [(call.dst.dn, "Ok")]


async def test_outbound_calls(make_sim: SimFactory, capture: Capture) -> None:
    sim = await make_sim(webhook_url=capture.url, recording_delay_s=0.05)
    ext = recording_ext(sim)
    answered = await sim.place_call("outbound", extension=ext, ring_s=0.05, talk_s=0.05)
    unanswered = await sim.place_call("outbound", extension=ext, answered=False, ring_s=0.05)
    await settled(sim)
    by_call: dict[str, list[Hook]] = {}
    for hook in capture.hooks:
        by_call.setdefault(hook.base, []).append(hook)
    first = by_call.pop(next(b for b in by_call if b.endswith(f"_{answered.call_id}")))
    assert [h.event for h in first] == ["hangupoutgoing", "outgoing", "recording"]
    assert first[0].fields["callerid"] == answered.dst.caller_id
    assert first[0].fields["user"] == ext
    assert "did" not in first[0].fields, "an outgoing call has no DID"
    assert first[1].fields["finishtype"] == "Ok"
    (second,) = by_call.values()
    assert [(h.event, h.fields["finishtype"]) for h in second] == [("outgoing", "Missed")]
    assert second[0].base.endswith(f"_{unanswered.call_id}")


async def test_voicemail_and_internal_calls(make_sim: SimFactory, capture: Capture) -> None:
    sim = await make_sim(webhook_url=capture.url)
    await sim.place_call("internal", ring_s=0.05, talk_s=0.05)
    await sim.place_call("voicemail", ring_s=0.05, talk_s=0.05)
    await settled(sim)
    assert [h.event for h in capture.hooks] == ["ringing", "incoming"], (
        "internal calls send nothing"
    )
    end = capture.hooks[1]
    assert end.fields["finishtype"] == "Missed" and "voicemail" in end.fields["title"]


async def test_a_blind_transfer_ends_one_link_and_starts_the_next(
    make_sim: SimFactory, capture: Capture
) -> None:
    sim = await make_sim(webhook_url=capture.url, recording_delay_s=0.05)
    staff = sim.tenant.external_staff()
    first, second = staff[0].number, staff[1].number
    running = sim.engine.spawn(
        sim.engine.run_call("inbound", extension=first, ring_s=0.05, talk_s=None)
    )
    await capture.wait_for(2)  # ringing, call start
    (leg,) = sim.engine.participants[first].values()
    moved = sim.engine.act(leg, "transferto", second)
    sim.engine.act(moved, "drop", None)
    await asyncio.wait_for(running, 10)
    await settled(sim)
    summary = [
        (h.event, h.fields.get("user"), h.fields.get("transfer"), h.fields.get("trtype"), h.link)
        for h in capture.hooks
        if not h.links
    ]
    assert summary == [
        ("ringing", first, None, None, 0),
        ("hangupincoming", first, None, "NotDef", 1),
        ("incoming", first, "true", None, 1),
        ("hangupincoming", second, None, "Blind", 2),
        ("incoming", second, "false", None, 2),
    ]


@pytest.mark.expect_log("app.sim.webhooks", r"/nobody-listens failed: ClientConnectorError")
@pytest.mark.expect_log("app.sim.webhooks", r"/crm/hook answered HTTP 500$")
@pytest.mark.expect_log("app.sim.webhooks", r"/crm/hook failed: TimeoutError")
async def test_sender_failures_never_break_the_engine(
    make_sim: SimFactory, caplog: pytest.LogCaptureFixture
) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    sim = await make_sim(webhook_url=f"http://127.0.0.1:{closed_port}/nobody-listens")
    # Calls that leave no recording, so no late recording link reaches the next targets.
    calls = [
        await sim.place_call(kind, answered=False, ring_s=0.02)
        for kind in ("missed", "queue", "outbound")
    ]
    assert all(c.ended is not None for c in calls)
    await settled(sim)
    sender = sim.webhooks.sender
    assert sender.stats.failed == 2 + (1 + len(calls[1].agent_dns) + 1) + 1
    assert sender.stats.sent == 0

    async with Capture(status=500) as refusing:
        sim.set_webhook_target(refusing.url)
        await sim.place_call("missed", ring_s=0.02)
        await settled(sim)
        assert len(refusing.hooks) == 2
        assert sim.webhooks.sender.stats.last_error == "HTTP 500"

    async with Capture(hang=True) as hanging:
        sim.set_webhook_target(hanging.url)
        sim.webhooks.sender.timeout_s = 0.2
        placed = await asyncio.wait_for(sim.place_call("missed", ring_s=0.02), 5)
        assert placed.kind == "missed"
        await settled(sim)
        assert "Timeout" in (sim.webhooks.sender.stats.last_error or "")


@pytest.mark.expect_log("app.sim.engine", r"^call observer failed$", level="ERROR")
async def test_a_failing_observer_is_logged_and_the_call_goes_on(
    make_sim: SimFactory, caplog: pytest.LogCaptureFixture
) -> None:
    class Broken:
        def ringing(self, live: LiveCall) -> None:
            raise RuntimeError("observer bug")

        answered = ended = ringing

        def transferred(self, live: LiveCall, from_dn: str, to_dn: str) -> None:
            raise RuntimeError("observer bug")

        def recorded(self, call: CallRecord, recording: Recording) -> None:
            raise RuntimeError("observer bug")

    sim = await make_sim()
    sim.engine.observer = Broken()
    with caplog.at_level(logging.ERROR, logger="app.sim.engine"):
        call = await sim.place_call("missed", ring_s=0.02)
    assert call.ended is not None and call in sim.tenant.calls
    assert sum("call observer failed" in r.message for r in caplog.records) == 2


@pytest.mark.expect_log(
    "app.sim.webhooks", r"^webhook queue full: dropped the oldest pending webhook$"
)
async def test_the_queue_of_pending_webhooks_is_bounded(make_sim: SimFactory) -> None:
    async with Capture(hang=True) as hanging:
        sim = await make_sim()
        sender = WebhookSender(timeout_s=30, max_pending=3)
        sender.set_target(hanging.url)
        sim.webhooks.sender = sender
        for _ in range(4):
            await sim.place_call("missed", ring_s=0.01)
        await hanging.wait_for(1)
        assert sender.stats.dropped == 4, "8 webhooks: 1 in flight, 3 pending, 4 dropped"


async def test_no_target_sends_nothing_and_bad_targets_are_refused(
    make_sim: SimFactory, capture: Capture
) -> None:
    sim = await make_sim()
    await sim.place_call("missed", ring_s=0.02)
    assert sim.webhooks.sender.stats.sent == 0
    with pytest.raises(WebhookTargetError, match="not an http"):
        sim.set_webhook_target("ftp://127.0.0.1/hook")
    sim.set_webhook_target(capture.url)
    await sim.place_call("missed", ring_s=0.02)
    await settled(sim)
    assert [h.event for h in capture.hooks] == ["ringing", "incoming"]
    sim.set_webhook_target(None)
    await sim.place_call("missed", ring_s=0.02)
    await settled(sim)
    assert len(capture.hooks) == 2


def test_cli_refuses_a_bad_webhook_url(capsys: pytest.CaptureFixture[str]) -> None:
    parser = argparse.ArgumentParser()
    sim_cli.add_arguments(parser)
    args = parser.parse_args(["--webhook-url", "not a url"])
    assert sim_cli.run(args) == 2
    assert "--webhook-url" in capsys.readouterr().err
    assert sim_cli.config_from_args(
        parser.parse_args(["--webhook-url", "http://127.0.0.1:9/h"])
    ).webhook_url == ("http://127.0.0.1:9/h")
