"""The Live calls pane against the simulator: calls appear, filter, journey, presenter mode."""

from __future__ import annotations

import asyncio
import contextlib
import random
from datetime import timedelta
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QVBoxLayout, QWidget
from pytestqt.qtbot import QtBot

from app.domain.bridge import Bridge
from app.domain.calls import CallDirection
from app.domain.clock import utc_now
from app.domain.live import LiveState
from app.domain.triggers import SettledCall
from app.services.feed.live_feed import FeedCall
from app.services.recordings.watcher import JourneyState, PollAttempt, RecordingJourney
from app.services.session import PbxSession
from app.sim import SimConfig, Simulator
from app.ui.context import UiContext
from app.ui.feed.journey_timeline import EMPTY_TEXT, JourneyTimeline
from app.ui.feed.model import CALL_ID_ROLE, Column, StateFilter
from app.ui.feed.pane import NO_SESSION_TEXT, WAITING_TEXT, FeedPane
from tests.conftest import SimFactory
from tests.services.feed.test_gap import HeldSleep, restartable
from tests.services.feed.test_live_feed import (
    ORPHAN_NUMBER,
    known_contact,
    recording_extension,
    until,
)
from tests.services.test_session_contacts import (
    E164,
    LAST_9,
    NORMALISING,
    THREECX,
    doctors_reason,
    stored_locally,
)
from tests.support.screenshots import distinct_colours, render_scene
from tests.support.xvfb import XvfbDisplay
from tests.threecx.v20.test_callcontrol_pipeline import calls_until_hung_up
from tests.ui.conftest import profile_for
from tests.ui.widgets.test_presenter_fields import shows_nothing_typed, type_while_presenting


async def open_pane(ui: UiContext, session: PbxSession, sim: Simulator) -> FeedPane:
    pane = FeedPane(ui)
    pane.resize(1100, 700)
    pane.set_session(session)
    await asyncio.wait_for(sim.wait_for_call_control_client(), 10)
    feed = pane.feed
    assert feed is not None
    await until(lambda: not feed.status.contacts_loading, "contacts")
    return pane


async def shown_state(pane: FeedPane, call_id: object, state: LiveState) -> FeedCall:
    """Until the call's row is in the table (not only in the feed) in that state."""

    def on_screen() -> bool:
        row = pane.model.row_of(str(call_id))
        return row is not None and pane.model.call_at(row).state is state

    await until(on_screen, f"call {call_id} shown as {state}")
    row = pane.model.row_of(str(call_id))
    assert row is not None
    return pane.model.call_at(row)


def table_texts(pane: FeedPane) -> list[str]:
    proxy = pane.proxy
    texts = []
    for row in range(proxy.rowCount()):
        for column in Column:
            index = proxy.index(row, column)
            for role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.ToolTipRole):
                value = proxy.data(index, role)
                if value:
                    texts.append(str(value))
    return texts


def on_screen_texts(pane: FeedPane) -> list[str]:
    texts = table_texts(pane) + pane.timeline.visible_text()
    texts += [pane.status_label.text(), pane.error_label.text(), pane.message.text()]
    return texts


async def test_calls_appear_as_they_ring_and_end(
    ui: UiContext, session: PbxSession, sim: Simulator
) -> None:
    pane = await open_pane(ui, session, sim)
    try:
        assert pane.stack.currentWidget() is pane.message
        assert pane.message.text() == WAITING_TEXT
        number, name = known_contact(sim)
        answered = await sim.place_call("inbound", number=number)
        missed = await sim.place_call("missed", number=ORPHAN_NUMBER)
        await shown_state(pane, answered.call_id, LiveState.ENDED)
        await shown_state(pane, missed.call_id, LiveState.MISSED)
        assert pane.stack.currentWidget() is pane.table
        assert pane.proxy.rowCount() == 2
        top = pane.proxy.index(0, Column.STATE)
        assert pane.proxy.data(top, CALL_ID_ROLE) == str(missed.call_id)  # newest on top
        texts = table_texts(pane)
        assert name in texts and number in texts and "New contact would be created" in texts
        status = pane.status_label.text()
        assert "Source: Call Control websocket" in status and "2 calls" in status
        assert pane.error_label.isHidden()
    finally:
        await pane.aclose()


@pytest.mark.parametrize(
    ("bridge", "knobs", "attaches"),
    [(E164, [], False), (NORMALISING, [], True), (THREECX, [LAST_9], True)],
    ids=["e164", "normalised", "3cx-last-9-digits"],
)
async def test_the_contact_column_says_what_the_customers_bridge_does(
    ui: UiContext, make_sim: SimFactory, bridge: Bridge, knobs: list[str], attaches: bool
) -> None:
    sim = await make_sim(tls=True, faults=["unnormalised-contacts", *knobs])
    number, name, stored = stored_locally(sim)
    session = PbxSession(profile_for(sim, bridge=bridge), sim.client_secret, poll_interval_s=0.5)
    pane = await open_pane(ui, session, sim)
    try:
        # It rings until the pane shows it ringing: a leg that comes and goes before the
        # client's first snapshot is never seen live (see calls_until_hung_up).
        (ringing,) = await calls_until_hung_up(sim, ["missed"], ring_s=60, numbers=[number])
        await shown_state(pane, ringing.record.call_id, LiveState.RINGING)
        ringing.hangup_evt.set()
        call = await shown_state(pane, ringing.record.call_id, LiveState.MISSED)
        row = pane.model.row_of(call.call_id)
        assert row is not None
        index = pane.model.index(row, Column.CONTACT)
        shown = pane.model.data(index)
        whole = f"New contact would be created (stored as {stored}, not E.164)"
        assert shown == (name if attaches else "New contact · normalised")
        # Its tooltip is the doctor's reason (cause 5) for the same call, word for word, after
        # the badge and the whole sentence it stands for.
        reason = await doctors_reason(session, number)
        tooltip = pane.model.data(index, Qt.ItemDataRole.ToolTipRole)
        assert tooltip == (reason if attaches else f"{shown}\n{whole}\n{reason}")
    finally:
        await pane.aclose()
        await session.aclose()


async def test_missed_calls_are_handed_on_once(
    ui: UiContext, session: PbxSession, sim: Simulator
) -> None:
    pane = await open_pane(ui, session, sim)
    settled: list[SettledCall] = []
    pane.callsSettled.connect(settled.extend)
    try:
        missed = await sim.place_call("queue", answered=False)
        voicemail = await sim.place_call("voicemail")
        await shown_state(pane, voicemail.call_id, LiveState.VOICEMAIL)
        await until(lambda: len(settled) == 2, "two settled calls")
        await asyncio.sleep(0.5)
        assert [(s.call_id, s.voicemail_left) for s in settled] == [
            (str(missed.call_id), False),
            (str(voicemail.call_id), True),
        ]
        assert all(s.e164 and s.number and not s.internal for s in settled)
    finally:
        await pane.aclose()


async def test_the_filter_finds_masked_calls_by_their_real_number(
    ui: UiContext, session: PbxSession, sim: Simulator, qtbot: QtBot
) -> None:
    ui.presenter.set_enabled(True)
    pane = await open_pane(ui, session, sim)
    pane.show()
    try:
        number, name = known_contact(sim)
        wanted = await sim.place_call("inbound", number=number)
        other = await sim.place_call("inbound", number=ORPHAN_NUMBER)
        await shown_state(pane, wanted.call_id, LiveState.ENDED)
        await shown_state(pane, other.call_id, LiveState.ENDED)
        national = "0" + number.removeprefix("+61")  # as the customer reads it out
        for typed in (national[:4] + " " + national[4:], name):
            # Typed on the shared screen: the field hides it, the filter still reads it.
            type_while_presenting(qtbot, pane.filter_edit, typed)
            assert shows_nothing_typed(pane.filter_edit, typed)
            await until(lambda: pane.proxy.text == typed, "the filter")  # noqa: B023 (awaited here)
            assert pane.proxy.rowCount() == 1
            index = pane.proxy.index(0, Column.CALLER)
            assert pane.proxy.data(index, CALL_ID_ROLE) == str(wanted.call_id)
            shown = pane.proxy.data(index)
            assert shown.endswith(number[-3:]) and number[-6:-3] not in shown  # still masked
        ui.presenter.set_enabled(False)
        assert pane.filter_edit.displayText() == name and pane.proxy.rowCount() == 1
        pane.filter_edit.setText("no such caller")
        await until(lambda: pane.stack.currentWidget() is pane.message, "the empty state")
        assert pane.message.text() == "No call matches the filter."
        pane.filter_edit.clear()
        pane.state_filter.setCurrentIndex(pane.state_filter.findData(StateFilter.MISSED))
        await until(lambda: pane.proxy.rowCount() == 0, "the state filter")
    finally:
        await pane.aclose()


async def test_selecting_a_call_shows_its_recording_journey(
    ui: UiContext, session: PbxSession, sim: Simulator
) -> None:
    pane = await open_pane(ui, session, sim)
    try:
        assert pane.timeline.visible_text() == [EMPTY_TEXT]
        placed = await sim.place_call("inbound", extension=recording_extension(sim))
        await shown_state(pane, placed.call_id, LiveState.ENDED)
        assert pane.select_call(str(placed.call_id))
        assert pane.timeline.call is not None
        assert pane.timeline.call.call_id == str(placed.call_id)

        def ready() -> bool:
            call = pane.timeline.call
            return (
                call is not None
                and call.journey is not None
                and (call.journey.state is JourneyState.READY)
            )

        await until(ready, "the recording to be ready")
        await asyncio.sleep(0.3)  # the next tick repaints the timeline
        lines = pane.timeline.visible_text()
        assert lines[1].startswith("ready at +") and "hang-up" in lines
        assert "bridge window 120 s" in lines
        recording = pane.proxy.data(pane.proxy.index(0, Column.RECORDING))
        assert recording == lines[1]
        newer = await sim.place_call("missed")  # arrives on top of the selected call
        await shown_state(pane, newer.call_id, LiveState.MISSED)
        assert pane.timeline.call is not None
        assert pane.timeline.call.call_id == str(placed.call_id)
        pane.table.clearSelection()
        assert pane.timeline.visible_text() == [EMPTY_TEXT]
    finally:
        await pane.aclose()


async def test_presenter_mode_masks_the_table_timeline_and_status(
    ui: UiContext, session: PbxSession, sim: Simulator
) -> None:
    pane = await open_pane(ui, session, sim)
    try:
        number, name = known_contact(sim)
        placed = await sim.place_call("inbound", number=number, extension=recording_extension(sim))
        await shown_state(pane, placed.call_id, LiveState.ENDED)
        pane.select_call(str(placed.call_id))
        plain = on_screen_texts(pane)
        assert any(number in t for t in plain) and any(name in t for t in plain)
        ui.presenter.set_enabled(True)
        masked = on_screen_texts(pane)
        first, last = name.split()[0], name.split()[-1]
        for secret in (number, number[1:], number[3:], first, last):
            assert not [t for t in masked if secret in t], secret
        assert any(f"{first[0]}. {last[0]}." in t for t in masked)
        title = pane.timeline.visible_text()[0]
        assert "+" + "•" * (len(number) - 4) + number[-3:] in title
        ui.presenter.set_enabled(False)
        assert any(number in t for t in on_screen_texts(pane))
    finally:
        await pane.aclose()


async def test_no_session_stops_the_feed(
    ui: UiContext, session: PbxSession, sim: Simulator
) -> None:
    changes: list[object] = []
    pane = FeedPane(ui)
    pane.feedChanged.connect(changes.append)
    assert pane.message.text() == NO_SESSION_TEXT
    pane.set_session(session)
    feed = pane.feed
    assert feed is not None and changes == [feed]
    await asyncio.wait_for(sim.wait_for_call_control_client(), 10)
    pane.set_session(None)
    assert pane.feed is None and changes == [feed, None]
    await until(lambda: ui.tasks.running == 0, "the old feed to stop")
    assert not [t for t in asyncio.all_tasks() if t.get_name().startswith("live feed")]
    assert pane.message.text() == NO_SESSION_TEXT
    assert pane.status_label.text() == "Not watching: no connection selected."
    await pane.aclose()


# ---- screenshots -------------------------------------------------------------------------


async def feed_scene(stack: contextlib.AsyncExitStack, ui: UiContext) -> QWidget:
    """Several calls in different states, the answered one selected with its journey."""
    sim = Simulator(SimConfig(tls=True, calls_per_minute=0, recording_delay_s=2.0))
    await sim.start()
    stack.push_async_callback(sim.stop)
    session = PbxSession(profile_for(sim), sim.client_secret, poll_interval_s=0.5)
    stack.push_async_callback(session.aclose)
    pane = FeedPane(ui)
    stack.push_async_callback(pane.aclose)
    pane.set_session(session)
    await asyncio.wait_for(sim.wait_for_call_control_client(), 20)
    number, _ = known_contact(sim)
    extension = recording_extension(sim)
    recorded = await sim.place_call("inbound", number=number, extension=extension, talk_s=1.5)
    await sim.place_call("missed", number=ORPHAN_NUMBER)
    await sim.place_call("voicemail")
    await sim.place_call("queue", answered=False)
    sim.faults.enable("late-recording=never")
    await sim.place_call("outbound", extension=extension, talk_s=0.8)
    sim.faults.disable("late-recording")
    await sim.place_call("internal")
    talking = asyncio.create_task(sim.place_call("inbound", ring_s=0.3, talk_s=120))
    stack.callback(talking.cancel)
    pane.select_call(str(recorded.call_id))
    feed = pane.feed
    assert feed is not None

    def settled() -> bool:
        call = feed.get(str(recorded.call_id))
        return (
            call is not None
            and call.journey is not None
            and call.journey.state is (JourneyState.READY)
        )

    await until(settled, "the recording", 30)
    await until(lambda: len(feed) == 7, "the talking call", 10)
    await asyncio.sleep(0.5)
    return pane


async def timelines_scene(stack: contextlib.AsyncExitStack, ui: UiContext) -> QWidget:
    """A recording that never came, one still being looked for, and a call with none."""
    hung_up = utc_now() - timedelta(seconds=20)
    looks = [0.5, 1.5, 3.5, 7.5, 15.5, 30.0, 60.0, 90.0, 120.0]
    missing = FeedCall(
        "4411",
        hung_up,
        LiveState.ENDED,
        CallDirection.INBOUND,
        "0412 345 678",
        "+61412345678",
        None,
        "104",
    )
    missing.journey = RecordingJourney(
        "4411",
        hung_up,
        "104",
        "0412 345 678",
        state=JourneyState.MISSING,
        attempts=tuple(
            PollAttempt(n + 1, at, False, "no recording referenced yet")
            for n, at in enumerate(looks)
        ),
    )
    polling = FeedCall(
        "4412",
        hung_up,
        LiveState.ENDED,
        CallDirection.OUTBOUND,
        "+61882999999",
        "+61882999999",
        None,
        "101",
    )
    polling.journey = RecordingJourney(
        "4412",
        hung_up,
        "101",
        "+61882999999",
        state=JourneyState.POLLING,
        attempts=tuple(PollAttempt(n + 1, at, False) for n, at in enumerate(looks[:5])),
    )
    missed = FeedCall(
        "4413",
        hung_up,
        LiveState.MISSED,
        CallDirection.INBOUND,
        "+61882999999",
        "+61882999999",
        None,
        "101",
    )
    box = QWidget()
    layout = QVBoxLayout(box)
    for call in (missing, polling, missed, None):
        timeline = JourneyTimeline(ui.presenter, parent=box)
        timeline.set_call(call)
        layout.addWidget(timeline)
    box.resize(1000, 680)
    return box


@pytest.mark.display
def test_the_pane_looks_calm_with_calls_in_every_state(xvfb_display: XvfbDisplay) -> None:
    plain = render_scene(xvfb_display, "tests.ui.feed.test_pane:feed_scene", "feed-pane")
    masked = render_scene(
        xvfb_display, "tests.ui.feed.test_pane:feed_scene", "feed-pane-presenter", presenter=True
    )
    assert distinct_colours(plain) > 20
    assert distinct_colours(masked) > 20
    assert plain.read_bytes() != masked.read_bytes()
    timelines = render_scene(
        xvfb_display, "tests.ui.feed.test_pane:timelines_scene", "feed-journey-timelines"
    )
    assert distinct_colours(timelines) > 10


def feed_numbers(pane: FeedPane) -> list[tuple[str | None, str, bool]]:
    feed = pane.feed
    calls = feed.calls() if feed is not None else []
    return [(c.number, str(c.state), c.filled is not None) for c in calls]


def rows_with_number(pane: FeedPane, number: str) -> list[FeedCall]:
    calls = [pane.model.call_at(row) for row in range(pane.model.rowCount())]
    return [call for call in calls if call.number == number]


async def test_the_window_says_it_reconnects_and_marks_the_calls_of_the_gap(
    ui: UiContext, tmp_path: Path
) -> None:
    running = await restartable(tmp_path)
    sleep = HeldSleep(hold_at=2)
    session = PbxSession(profile_for(running.sim), running.sim.client_secret, poll_interval_s=0.5)
    pane = FeedPane(ui, random=random.Random(4).random, sleep=sleep)
    try:
        pane.resize(1100, 700)
        pane.set_session(session)
        seen: list[str] = []
        assert pane.feed is not None
        pane.feed.subscribe_status(lambda s: seen.append(s.stream.text))
        await asyncio.wait_for(running.sim.wait_for_call_control_client(), 10)
        # Contacts read before the PBX goes (else they fail, and warn, or not, by timing).
        await until(lambda: pane.feed is not None and not pane.feed.status.contacts_loading)
        await running.stop()
        await until(lambda: len(sleep.slept) >= 2, "two waits")
        await until(
            lambda: "Live feed reconnecting (attempt 2, next in" in pane.error_label.text(),
            lambda: f"the error line; it says {pane.error_label.text()!r}",
        )
        assert not pane.error_label.isHidden()
        sim = await running.start_again()
        gap_number = "+61299990201"
        await sim.place_call("inbound", number=gap_number)
        sleep.gate.set()
        await until(
            lambda: rows_with_number(pane, gap_number),
            lambda: f"the gap call; feed {feed_numbers(pane)}; {seen} {sleep.slept}",
        )
        (row,) = rows_with_number(pane, gap_number)
        assert row.filled is not None and row.state is LiveState.ENDED
        assert any("From the call log (filled after a gap" in t for t in table_texts(pane))
        assert "Ended (call log)" in table_texts(pane)  # in the row itself, not only a tip
        await until(lambda: pane.error_label.isHidden(), "the error line to go once back")
    finally:
        sleep.gate.set()
        await pane.aclose()
        await session.aclose()
        with contextlib.suppress(Exception):
            await running.sim.stop()


async def test_the_window_names_a_new_certificate(ui: UiContext, tmp_path: Path) -> None:
    running = await restartable(tmp_path, tls=True)
    session = PbxSession(profile_for(running.sim), running.sim.client_secret, poll_interval_s=0.5)
    sleep = HeldSleep(hold_at=1_000)
    pane = FeedPane(ui, random=random.Random(4).random, sleep=sleep)
    try:
        pane.set_session(session)
        await asyncio.wait_for(running.sim.wait_for_call_control_client(), 10)
        await running.stop()
        await running.start_again()  # a new CA: the one this connection trusts signed nothing
        await until(
            lambda: "certificate is untrusted" in pane.error_label.text(),
            lambda: f"the certificate named; the error line says {pane.error_label.text()!r}",
        )
        assert pane.feed is not None and pane.feed.status.stream.needs_action
    finally:
        sleep.gate.set()
        await pane.aclose()
        await session.aclose()
        with contextlib.suppress(Exception):
            await running.sim.stop()
