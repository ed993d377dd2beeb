"""The live feed against the simulator: real Call Control over loopback TLS, real call log."""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import replace
from datetime import timedelta

import pytest

from app.domain.bridge import Bridge
from app.domain.calls import CallDirection
from app.domain.clock import utc_now
from app.domain.connection import ConnectionProfile
from app.domain.contact_match import MatchKind
from app.domain.live import CallEvent, LiveState
from app.domain.reconnect import ReconnectPolicy
from app.domain.triggers import DidSources, SettledCall
from app.services.feed.live_feed import FeedCall, FeedStatus, LiveFeed, webhook_call_id
from app.services.recordings.watcher import JourneyState
from app.services.session import PbxSession
from app.sim import Simulator
from tests.conftest import SimFactory
from tests.services.test_session_contacts import (
    E164,
    LAST_9,
    NORMALISING,
    THREECX,
    doctors_reason,
    stored_locally,
)
from tests.support.waiting import until
from tests.threecx.v20.test_callcontrol_pipeline import calls_until_hung_up

# No contact has this number: the sim's numbers end in a contact index or 7000-7999.
ORPHAN_NUMBER = "+61882999999"


def profile_of(sim: Simulator) -> ConnectionProfile:
    return ConnectionProfile(
        id="sim", name="Simulated PBX", url=sim.url, client_id=sim.client_id, ca_file=sim.ca_file
    )


def recording_extension(sim: Simulator) -> str:
    return next(
        e.number
        for e in sim.tenant.external_staff()
        if e.record_calls and not e.record_external_only
    )


def known_contact(sim: Simulator) -> tuple[str, str]:
    """A phonebook contact stored in E.164: (number, name)."""
    contact = next(c for c in sim.tenant.contacts if c.phone == c.e164)
    return contact.e164, f"{contact.first_name} {contact.last_name}"


class Watched:
    """A started feed and what it told its subscribers."""

    def __init__(self, feed: LiveFeed) -> None:
        self.feed = feed
        self.states: dict[str, list[LiveState]] = {}
        self.settled: list[SettledCall] = []
        self.statuses: list[FeedStatus] = []
        feed.subscribe(self._rows)
        feed.subscribe_settled(self.settled.append)
        feed.subscribe_status(self.statuses.append)

    def _rows(self, rows: list[FeedCall]) -> None:
        for row in rows:
            seen = self.states.setdefault(row.call_id, [])
            if not seen or seen[-1] is not row.state:
                seen.append(row.state)

    def call(self, call_id: object) -> FeedCall:
        found = self.feed.get(str(call_id))
        assert found is not None, f"call {call_id} is not in the feed"
        return found

    async def state(self, call_id: object, state: LiveState, seconds: float = 10.0) -> FeedCall:
        def reached() -> bool:
            found = self.feed.get(str(call_id))
            return found is not None and found.state is state

        await until(reached, f"call {call_id} to be {state}", seconds)
        return self.call(call_id)

    async def journey(
        self, call_id: object, state: JourneyState, seconds: float = 15.0
    ) -> FeedCall:
        def reached() -> bool:
            found = self.feed.get(str(call_id))
            return found is not None and found.journey is not None and found.journey.state is state

        await until(reached, f"call {call_id}'s recording to be {state}", seconds)
        return self.call(call_id)


Start = Callable[..., Awaitable[tuple[Simulator, "Watched"]]]


@pytest.fixture
async def watch(make_sim: SimFactory) -> AsyncIterator[Start]:
    """``await watch(sim_kwargs..., feed_kwargs...)``: a started feed on a fresh simulator."""
    opened: list[tuple[PbxSession, LiveFeed]] = []

    async def start(
        *, faults: list[str] | None = None, live: bool = True, **feed_options: object
    ) -> tuple[Simulator, Watched]:
        sim = await make_sim(tls=True, faults=faults or [])
        session = PbxSession(profile_of(sim), sim.client_secret, poll_interval_s=0.3)
        feed = LiveFeed(session, **feed_options)  # type: ignore[arg-type]
        watched = Watched(feed)
        opened.append((session, feed))
        feed.start()
        if live:
            await asyncio.wait_for(sim.wait_for_call_control_client(), 10)
            await until(lambda: feed.status.source == "Call Control websocket", "the source")
        return sim, watched

    yield start
    for session, feed in opened:
        await feed.stop()
        await session.aclose()


async def test_a_call_rings_connects_and_ends_on_its_contact(watch: Start) -> None:
    sim, watched = await watch()
    number, name = known_contact(sim)
    placed = await sim.place_call("inbound", number=number, extension=recording_extension(sim))
    call = await watched.state(placed.call_id, LiveState.ENDED)
    assert watched.states[call.call_id][:3] == [
        LiveState.RINGING,
        LiveState.CONNECTED,
        LiveState.ENDED,
    ]
    assert call.direction is CallDirection.INBOUND
    assert call.e164 == number
    await until(lambda: call.match is not None, "the contacts to load")
    assert call.match is not None and call.match.kind is MatchKind.EXACT
    assert call.contact_name == name
    assert call.extension == recording_extension(sim)
    assert call.duration is not None and call.duration > timedelta()
    assert call.sources == ("call-control",)
    assert watched.settled == []  # answered: nothing for the missed-call triggers


async def test_a_missed_call_is_settled_once(watch: Start) -> None:
    sim, watched = await watch()
    placed = await sim.place_call("missed")
    call = await watched.state(placed.call_id, LiveState.MISSED)
    await asyncio.sleep(1.0)  # the client's confirmations are over; nothing more may follow
    assert [s.call_id for s in watched.settled] == [call.call_id]
    assert watched.settled[0].voicemail_left is False and watched.settled[0].internal is False
    assert watched.settled[0].e164 == call.e164 and call.e164
    assert call.rang_for is not None and call.journey is None


async def test_a_ring_all_queue_miss_is_one_missed_row(watch: Start) -> None:
    sim, watched = await watch()
    placed = await sim.place_call("queue", answered=False)
    assert len(placed.agent_dns) > 1  # several phones rang
    await watched.state(placed.call_id, LiveState.MISSED)
    await asyncio.sleep(0.5)
    assert len(watched.feed) == 1
    assert [s.call_id for s in watched.settled] == [str(placed.call_id)]


async def test_a_call_that_reached_voicemail_is_not_missed(watch: Start) -> None:
    sim, watched = await watch()
    placed = await sim.place_call("voicemail")
    call = await watched.state(placed.call_id, LiveState.VOICEMAIL)
    await asyncio.sleep(0.5)
    assert LiveState.MISSED not in watched.states[call.call_id]
    assert call.voicemail and call.state is LiveState.VOICEMAIL
    assert len(watched.settled) == 1 and watched.settled[0].voicemail_left is True


async def test_a_burst_of_calls_reaches_every_row_in_order(watch: Start) -> None:
    """Forty calls at once: the client's GETs run side by side, yet each row rings, connects
    and ends in that order, and nothing is missed or reported twice."""
    sim, watched = await watch()
    calls = await calls_until_hung_up(
        sim, ["inbound", "queue", "internal", "outbound"] * 10, ring_s=0.1
    )
    for call in calls:
        await watched.state(call.record.call_id, LiveState.CONNECTED)
    for call in calls:
        call.hangup_evt.set()
    for call in calls:
        await watched.state(call.record.call_id, LiveState.ENDED)
        assert watched.states[str(call.record.call_id)] == [
            LiveState.RINGING,
            LiveState.CONNECTED,
            LiveState.ENDED,
        ], call.record.kind
    assert len(watched.feed) == len(calls)
    assert watched.settled == []


async def test_a_burst_of_misses_is_settled_once_each_from_the_call_log(watch: Start) -> None:
    """Misses that end together are confirmed together; each is settled once, and the ones
    that reached voicemail are never shown missed."""
    sim, watched = await watch()
    kinds = ["missed", "voicemail"] * 6
    numbers = [f"+6188866{n:04d}" for n in range(len(kinds))]  # told apart in the call log
    calls = await calls_until_hung_up(sim, kinds, ring_s=60, numbers=numbers)
    for call in calls:
        await watched.state(call.record.call_id, LiveState.RINGING)
    for call in calls:
        call.hangup_evt.set()
    for call in calls:
        voicemail = call.record.kind == "voicemail"
        settled = LiveState.VOICEMAIL if voicemail else LiveState.MISSED
        row = await watched.state(call.record.call_id, settled)
        assert row.sources == ("call-control", "call-control+call-log")  # the log's word
        if voicemail:
            assert LiveState.MISSED not in watched.states[row.call_id]
    await until(lambda: len(watched.settled) == len(calls), "every miss to be settled")
    assert sorted(s.call_id for s in watched.settled) == sorted(
        str(c.record.call_id) for c in calls
    )


async def test_an_unknown_caller_would_become_a_new_contact(
    watch: Start,
) -> None:
    sim, watched = await watch()
    placed = await sim.place_call("inbound", number=ORPHAN_NUMBER)
    call = await watched.state(placed.call_id, LiveState.ENDED)
    await until(lambda: call.match is not None, "the contacts to load")
    assert call.match is not None and call.match.kind is MatchKind.ORPHAN
    assert "create a new contact" in call.match.reason
    assert call.contact_name is None


async def test_the_recording_journey_reaches_ready(watch: Start) -> None:
    sim, watched = await watch(bridge_window_s=5.0)
    placed = await sim.place_call("inbound", extension=recording_extension(sim))
    call = await watched.journey(placed.call_id, JourneyState.READY)
    journey = call.journey
    assert journey is not None and journey.ready_after_s is not None
    assert journey.attempts[-1].found and journey.recording_id is not None
    assert call.journey_note is None
    assert watched.feed.watching == 0  # the watcher let go once the file was there


async def test_a_recording_later_than_the_window_is_missing_after_it(
    watch: Start,
) -> None:
    sim, watched = await watch(faults=["late-recording=3"], bridge_window_s=1.0)
    placed = await sim.place_call("inbound", extension=recording_extension(sim))
    call = await watched.journey(placed.call_id, JourneyState.MISSING)
    journey = call.journey
    assert journey is not None and not any(a.found for a in journey.attempts)
    assert journey.missed_at_or_after(1.0)  # a look at the window itself still found nothing


async def test_only_so_many_recordings_are_followed_at_once(
    watch: Start,
) -> None:
    sim, watched = await watch(
        faults=["late-recording=never"], bridge_window_s=30.0, max_watchers=1
    )
    extension = recording_extension(sim)
    first = await sim.place_call("inbound", extension=extension)
    second = await sim.place_call("inbound", extension=extension)
    await watched.state(second.call_id, LiveState.ENDED)
    followed, skipped = watched.call(first.call_id), watched.call(second.call_id)
    assert followed.journey is not None and followed.journey_note is None
    assert skipped.journey is None
    assert skipped.journey_note == "not followed: 1 recording already being followed"
    assert watched.feed.watching == 1


async def test_a_call_seen_by_polling_is_followed_from_the_call_log(
    watch: Start,
) -> None:
    sim, watched = await watch(faults=["no-call-control"], live=False, bridge_window_s=5.0)
    await until(lambda: watched.feed.status.source.startswith("polling every 0.3 s"), "polling")
    assert "Call Control is not enabled" in watched.feed.status.source
    await asyncio.sleep(0.5)  # the poller's first look has passed: later calls are live
    placed = await sim.place_call("inbound", extension=recording_extension(sim))
    call = await watched.journey(placed.history_id, JourneyState.READY)  # the log's id
    assert call.sources == ("call-log",)
    assert call.duration is not None  # from the call log: the feed never saw the connect


@pytest.mark.expect_log(
    "app.services.feed.live_feed", r"^Live feed: contacts not loaded: No contacts to match against"
)
async def test_a_rejected_key_is_reported_and_retried(watch: Start) -> None:
    policy = ReconnectPolicy(first_s=0.2, cap_s=0.4)
    sim, watched = await watch(
        faults=["bad-key"], live=False, reconnect=policy, random=random.Random(7).random
    )
    await until(lambda: watched.feed.status.error is not None, "the error")
    error = watched.feed.status.error
    first = policy.delay_s(1, random.Random(7).random())
    assert error is not None
    assert error.startswith(f"Live feed reconnecting (attempt 1, next in {first:g} s): The PBX")
    assert watched.feed.status.stream.needs_action  # a rejected key: waiting will not fix it
    # The contacts are read with the rejected key too (the declared warning): wait for them.
    await until(lambda: not watched.feed.status.contacts_loading, "the contacts")
    assert watched.feed.status.contacts.startswith("contacts not loaded: No contacts")
    sim.faults.disable("bad-key")
    await until(lambda: watched.feed.status.error is None, "the retry to succeed")
    assert watched.feed.status.source == "Call Control websocket"
    placed = await sim.place_call("inbound")
    await watched.state(placed.call_id, LiveState.ENDED)


async def test_stop_cancels_every_task(watch: Start) -> None:
    sim, watched = await watch(faults=["late-recording=never"], bridge_window_s=30.0)
    placed = await sim.place_call("inbound", extension=recording_extension(sim))
    await watched.state(placed.call_id, LiveState.ENDED)
    assert watched.feed.watching == 1
    await watched.feed.stop()
    names = [t.get_name() for t in asyncio.all_tasks() if not t.done()]
    assert not [n for n in names if n.startswith(("live feed", "recording of call"))], names
    assert watched.feed.watching == 0


# ---- events from elsewhere: the webhook receiver's ---------------------------------------


def hook(call_id: str, state: LiveState, *, number: str | None = "+61881234567") -> CallEvent:
    return CallEvent(
        call_id=call_id,
        state=state,
        at=utc_now(),
        direction=CallDirection.INBOUND,
        external_number=number,
        extension="101",
        source="webhook",
    )


@pytest.fixture
async def offline(make_sim: SimFactory) -> AsyncIterator[Callable[..., LiveFeed]]:
    """Feeds that are never started: only ``ingest`` and ``recording_link`` drive them."""
    sim = await make_sim(tls=True)
    session = PbxSession(profile_of(sim), sim.client_secret)
    feeds: list[LiveFeed] = []

    def make(**options: object) -> LiveFeed:
        feeds.append(LiveFeed(session, **options))  # type: ignore[arg-type]
        return feeds[-1]

    yield make
    for feed in feeds:
        await feed.stop()
    await session.aclose()


def test_webhook_call_ids_drop_the_link_number() -> None:
    assert webhook_call_id("210701165649_698-2") == "210701165649_698"
    assert webhook_call_id("210701165649_698-0") == "210701165649_698"
    assert webhook_call_id("210701165649_698") == "210701165649_698"
    assert webhook_call_id("abc-def") == "abc-def"


async def test_webhook_events_fold_into_one_call_across_links(
    offline: Callable[..., LiveFeed],
) -> None:
    feed = offline(bridge_window_s=5.0)
    rows: list[str] = []
    feed.subscribe(lambda changed: rows.extend(r.call_id for r in changed))
    feed.ingest(hook("210701165649_698-0", LiveState.RINGING), did="+61290000001")
    feed.ingest(hook("210701165649_698-0", LiveState.RINGING))  # a second agent's phone
    feed.ingest(hook("210701165649_698-1", LiveState.CONNECTED))
    call = feed.ingest(hook("210701165649_698-1", LiveState.ENDED))
    assert call is not None and len(feed) == 1
    assert rows == ["210701165649_698"] * 4
    assert call.state is LiveState.ENDED and call.did == "+61290000001"
    assert call.sources == ("webhook",) and feed.status.webhook
    assert call.journey is not None and call.journey.state is JourneyState.PENDING
    await asyncio.sleep(0.05)
    linked = feed.recording_link("210701165649_698-1", ["https://hooks.example/rec/698.mp3"])
    assert linked is call and linked.journey is not None
    assert linked.journey.state is JourneyState.READY
    assert linked.journey.ready_after_s is not None and linked.journey.ready_after_s >= 0.05
    assert "webhook add-on" in linked.journey.attempts[-1].note


async def test_no_recording_link_from_the_add_on_is_missing_after_the_window(
    offline: Callable[..., LiveFeed],
) -> None:
    feed = offline(bridge_window_s=0.2)
    feed.ingest(hook("210701170000_700-1", LiveState.CONNECTED))
    call = feed.ingest(hook("210701170000_700-1", LiveState.ENDED))
    assert call is not None
    await until(
        lambda: call.journey is not None and call.journey.state is JourneyState.MISSING,
        "the add-on's window to pass",
    )


async def test_a_webhook_miss_is_settled_once_with_its_did(
    offline: Callable[..., LiveFeed],
) -> None:
    feed = offline()
    settled: list[SettledCall] = []
    feed.subscribe_settled(settled.append)
    feed.ingest(hook("210701170100_701-0", LiveState.RINGING), did="+61290000002")
    feed.ingest(hook("210701170100_701-0", LiveState.MISSED))
    feed.ingest(hook("210701170100_701-0", LiveState.MISSED))  # a duplicate post
    feed.ingest(hook("210701170100_701-0", LiveState.RINGING))  # and a late one
    assert [(s.call_id, s.did, s.voicemail_left) for s in settled] == [
        ("210701170100_701", "+61290000002", False)
    ]
    call = feed.get("210701170100_701")
    assert call is not None and call.state is LiveState.MISSED


async def test_the_history_is_bounded_and_drops_the_oldest(
    offline: Callable[..., LiveFeed],
) -> None:
    feed = offline(history_limit=3)
    for n in range(5):
        feed.ingest(hook(f"210701170200_{n}-0", LiveState.RINGING, number=None))
    assert [c.call_id for c in feed.calls()] == [f"210701170200_{n}" for n in (2, 3, 4)]
    assert feed.dropped == 2 and feed.get("210701170200_0") is None


async def test_the_webhook_add_on_and_call_control_show_one_call_as_one_row(
    watch: Start,
) -> None:
    """The add-on names calls its own way; its events join the PBX's row for the same call,
    so the row shows both sources agree instead of two rows for one call."""
    from app.services.feed.webhook_receiver import WebhookReceiver

    sim, watched = await watch()
    feed = watched.feed
    receiver = WebhookReceiver(on_event=feed.ingest, on_recording=feed.recording_link)
    sim.set_webhook_target(await receiver.start())
    try:
        number, _name = known_contact(sim)
        record = await sim.place_call(
            "inbound", number=number, extension=recording_extension(sim), talk_s=0.3
        )
        row = await watched.state(record.call_id, LiveState.ENDED)
        await until(lambda: "webhook" in row.sources, "the add-on's events to join the row")
        assert row.sources[0] != "webhook"
        assert len(feed) == 1
        assert feed.get(str(record.call_id)) is row
    finally:
        sim.set_webhook_target(None)
        await receiver.stop()


async def test_an_inbound_call_carries_the_did_it_was_dialled_on(watch: Start) -> None:
    """The DID picks the CRM source list for missed-call triggers (seed 003 step 3)."""
    sim, watched = await watch()
    record = await sim.place_call("missed", ring_s=0.3)
    row = await watched.state(record.call_id, LiveState.MISSED)
    # Live PBXs send DIDs without "+" (API-NOTES §9.4): the same line, matched by its digits.
    assert row.did is not None and row.did.lstrip("+") in {d.lstrip("+") for d in sim.tenant.dids}
    assert DidSources({sim.tenant.dids[2]: "Sales", sim.tenant.dids[3]: "Support"}).source_for(
        row.did
    )[1]
    assert watched.settled[-1].did == row.did


@pytest.mark.parametrize(
    ("bridge", "knobs", "attaches"),
    [(E164, [], False), (NORMALISING, [], True), (THREECX, [LAST_9], True)],
    ids=["e164", "normalised", "3cx-last-9-digits"],
)
async def test_a_contact_stored_locally_is_named_only_when_the_bridge_attaches_the_call(
    make_sim: SimFactory, bridge: Bridge, knobs: list[str], attaches: bool
) -> None:
    sim = await make_sim(tls=True, faults=["unnormalised-contacts", *knobs])
    number, name, stored = stored_locally(sim)
    session = PbxSession(replace(profile_of(sim), bridge=bridge), sim.client_secret)
    feed = LiveFeed(session)
    watched = Watched(feed)
    feed.start()
    try:
        await asyncio.wait_for(sim.wait_for_call_control_client(), 10)
        # It rings until the feed has seen it ring: a leg that comes and goes before the
        # client's snapshot or GET reads it is never seen live (see calls_until_hung_up).
        (ringing,) = await calls_until_hung_up(sim, ["missed"], ring_s=60, numbers=[number])
        await watched.state(ringing.record.call_id, LiveState.RINGING)
        ringing.hangup_evt.set()
        call = await watched.state(ringing.record.call_id, LiveState.MISSED)
        await until(lambda: call.match is not None, "the contacts to load")
        assert call.match is not None
        if attaches:
            assert call.contact_name == name and call.match.summary() == name
        else:
            assert call.contact_name is None and call.match.kind is MatchKind.NORMALISED
            assert call.match.summary() == (
                f"new contact would be created (stored as {stored}, not E.164)"
            )
        assert call.match.reason == await doctors_reason(session, number)
        assert "contacts in the 3CX phonebook" in feed.status.contacts
        # The missed-call triggers are told the same: who, or why a new contact.
        await until(lambda: bool(watched.settled), "the call to settle")
        (settled,) = watched.settled
        assert settled.contact_name == (name if attaches else None)
        assert settled.caller_match == call.match
    finally:
        await feed.stop()
        await session.aclose()
