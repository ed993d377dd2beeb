"""The missed-call trigger preview pane: model, branches, presenter masking, screenshots."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import html
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, time
from zoneinfo import ZoneInfo

import pytest
from PySide6.QtCore import QAbstractItemModel, QModelIndex, Qt
from PySide6.QtWidgets import QLabel, QWidget

from app.domain.bridge import Bridge
from app.domain.business_hours import BusinessHours, HoursSource
from app.domain.triggers import NEW_CONTACT, SettledCall, TriggerBranch, TriggerPlanner
from app.services.feed.live_feed import LiveFeed
from app.services.feed.webhook_receiver import ReceiverStats, WebhookReceiver
from app.services.session import PbxSession
from app.sim import SimConfig, Simulator
from app.sim.records import CallRecord
from app.ui.context import UiContext
from app.ui.presenter import Presenter
from app.ui.triggers.pane import (
    COL_BRANCH,
    COL_CALLER,
    COL_CONTACT,
    COLUMNS,
    EMPTY_TEXT,
    NO_SESSION_TEXT,
    READING_HOURS_TEXT,
    PreviewRole,
    TriggerPreviewModel,
    TriggersPane,
    details_html,
)
from tests.conftest import SimFactory
from tests.services.test_session_contacts import (
    E164,
    LAST_9,
    NORMALISING,
    THREECX,
    doctors_reason,
    stored_locally,
)
from tests.support.screenshots import distinct_colours, render_scene
from tests.support.waiting import until
from tests.support.xvfb import XvfbDisplay
from tests.threecx.v20.test_callcontrol_pipeline import calls_until_hung_up
from tests.ui.conftest import profile_for

Opener = Callable[[Simulator], PbxSession]
SYDNEY = ZoneInfo("Australia/Sydney")
# Set by the engineer, so they win over the simulated PBX's own office hours.
HOURS = BusinessHours(
    "Australia/Sydney", (0, 1, 2, 3, 4), time(8, 30), time(17, 30), source=HoursSource.ENGINEER
)


def sydney(day: int, hour: int, minute: int = 0, second: int = 0) -> datetime:
    """Day 0 is Monday 16 November 2026, in Sydney."""
    return datetime(2026, 11, 16 + day, hour, minute, second, tzinfo=SYDNEY)


def open_session(sim: Simulator, **changes: object) -> PbxSession:
    dids = sim.tenant.dids
    profile = profile_for(
        sim,
        name="Harbour Dental",
        business_hours=HOURS,
        did_sources={dids[0]: "Sales enquiries", dids[2]: "Direct line"},
        **changes,
    )
    return PbxSession(profile, sim.client_secret)


@pytest.fixture
async def opened() -> AsyncIterator[Callable[[Simulator], PbxSession]]:
    """Opens sessions for a test (reading the customer's hours signs in) and closes them."""
    sessions: list[PbxSession] = []

    def open_(sim: Simulator) -> PbxSession:
        sessions.append(open_session(sim))
        return sessions[-1]

    yield open_
    for session in sessions:
        await session.aclose()


def settled(record: CallRecord, sim: Simulator, **changes: object) -> SettledCall:
    """A simulated call as the live feed settles it (times and flags set by the test)."""
    outside = record.dst if record.kind == "outbound" else record.src
    call = SettledCall(
        call_id=str(record.call_id),
        at=record.start,
        number=outside.caller_id,
        e164=outside.caller_id if outside.external else None,
        did=outside.did or None,
        voicemail_left=record.kind == "voicemail",
        internal=record.kind == "internal",
        answered=record.answered,
        contact_name=sim.tenant.crm_name(outside),
        outbound=record.kind == "outbound",
    )
    return dataclasses.replace(call, **changes)  # type: ignore[arg-type]


async def branch_calls(sim: Simulator) -> list[SettledCall]:
    """One call per branch, from real simulated calls, at fixed times in Sydney."""
    contact = next(c for c in sim.tenant.contacts if c.e164.startswith("+614"))
    stranger = "+61883337001"
    direct = sim.tenant.external_staff()[0].number  # its DID is mapped to "Direct line"
    missed, again, third = [
        await sim.place_call("missed", number=contact.e164, extension=direct, ring_s=0.01)
        for _ in range(3)
    ]
    night = await sim.place_call("queue", answered=False, number=stranger, ring_s=0.01)
    voicemail = await sim.place_call("voicemail", ring_s=0.01, talk_s=0.01)
    answered = await sim.place_call("inbound", ring_s=0.01, talk_s=0.01)
    internal = await sim.place_call("internal", ring_s=0.01, talk_s=0.01)
    return [
        settled(missed, sim, at=sydney(2, 10, 14, 5)),
        settled(again, sim, at=sydney(2, 10, 14, 40)),
        settled(third, sim, at=sydney(2, 10, 14, 58)),
        settled(night, sim, at=sydney(2, 21, 3, 12)),
        settled(voicemail, sim, at=sydney(2, 11, 30, 0)),
        settled(answered, sim, at=sydney(2, 11, 45, 0)),
        settled(internal, sim, at=sydney(2, 12, 5, 0)),
    ]


async def next_insert(model: TriggerPreviewModel) -> None:
    """Until the model's flush timer (on the Qt loop) inserts rows."""
    inserted = asyncio.get_running_loop().create_future()

    def done(*_: object) -> None:
        if not inserted.done():
            inserted.set_result(None)

    model.rowsInserted.connect(done)
    try:
        await asyncio.wait_for(inserted, 5)
    finally:
        model.rowsInserted.disconnect(done)


def cells(model: QAbstractItemModel, role: Qt.ItemDataRole) -> list[str]:
    out = []
    for row in range(model.rowCount()):
        for column in range(model.columnCount()):
            value = model.data(model.index(row, column), role)
            out.append("" if value is None else str(value))
    return out


async def filled_pane(ui: UiContext, sim: Simulator, session: PbxSession) -> TriggersPane:
    pane = TriggersPane(ui)
    pane.set_session(session)
    assert await pane.hours_ready() == HOURS
    for call in await branch_calls(sim):
        assert pane.add_call(call) is not None
    pane.model.flush()
    return pane


async def test_model_is_a_well_behaved_qt_model(
    make_sim: SimFactory, ui: UiContext, qtmodeltester: object, opened: Opener
) -> None:
    sim = await make_sim()
    pane = await filled_pane(ui, sim, opened(sim))
    qtmodeltester.check(pane.model)  # type: ignore[attr-defined]
    qtmodeltester.check(pane.proxy)  # type: ignore[attr-defined]
    headers = [pane.model.headerData(c, Qt.Orientation.Horizontal) for c in range(7)]
    assert headers == ["Time (AEDT)", *COLUMNS[1:]]


async def test_each_branch_is_shown_with_what_fires_and_why(
    make_sim: SimFactory, ui: UiContext, opened: Opener
) -> None:
    sim = await make_sim()
    pane = await filled_pane(ui, sim, opened(sim))
    model = pane.model
    branches = [model.preview_at(r).branch for r in range(model.rowCount())]
    assert branches == [  # newest first
        TriggerBranch.NO_TRIGGER,
        TriggerBranch.NO_TRIGGER,
        TriggerBranch.VOICEMAIL,
        TriggerBranch.AFTER_HOURS,
        TriggerBranch.RATE_LIMITED,
        TriggerBranch.ESCALATED,
        TriggerBranch.IN_HOURS,
    ]
    first = model.rowCount() - 1
    text = {c: model.data(model.index(first, c)) for c in range(len(COLUMNS))}
    assert text[COL_BRANCH] == "in-hours"
    assert "SMS within 60 s" in text[5] and "Owner task" in text[5]
    assert text[3].endswith("→ Direct line")
    assert text[0] == "Wed 10:14:05"
    tooltip = model.data(model.index(first, 6), Qt.ItemDataRole.ToolTipRole)
    assert "Wed 10:14 in Australia/Sydney is inside business hours (Mon–Fri 08:30–17:30)" in (
        tooltip
    )
    assert model.data(model.index(3, COL_CONTACT)) == "new contact would be created"
    assert "unmapped" not in model.data(model.index(3, 3)), "the queue's DID is mapped"
    assert model.data(model.index(3, COL_BRANCH), Qt.ItemDataRole.BackgroundRole) is not None
    # Calls that fire nothing are counted but hidden until asked for.
    assert pane.proxy.rowCount() == 5
    assert pane.show_quiet.text() == "Show calls that fire nothing (2)"
    pane.show_quiet.setChecked(True)
    assert pane.proxy.rowCount() == 7
    assert model.data(model.index(0, 5)) == "nothing"
    assert pane.stack.currentWidget() is pane.splitter


async def test_presenter_mode_masks_numbers_and_names_everywhere(
    make_sim: SimFactory, ui: UiContext, opened: Opener
) -> None:
    sim = await make_sim()
    pane = await filled_pane(ui, sim, opened(sim))
    pane.show_quiet.setChecked(True)
    model = pane.model
    previews = [model.preview_at(r) for r in range(model.rowCount())]
    numbers = {p.call.e164 for p in previews if p.call.e164} | {
        p.call.did for p in previews if p.call.did
    }
    names = {p.call.contact_name for p in previews if p.call.contact_name}
    assert numbers and names
    plain = " ".join(cells(model, Qt.ItemDataRole.DisplayRole))
    assert any(n in plain for n in numbers) and any(n in plain for n in names)

    changes: list[int] = []
    model.dataChanged.connect(lambda *_: changes.append(1))
    ui.presenter.set_enabled(True)
    assert changes, "the model refreshes on the presenter toggle"
    pane.set_receiver_status("Webhook from +61 8 8123 4567 refused")
    shown = " ".join(
        cells(model, Qt.ItemDataRole.DisplayRole) + cells(model, Qt.ItemDataRole.ToolTipRole)
    )
    shown += " ".join(label.text() for label in pane.findChildren(QLabel))
    for number in numbers:
        assert number not in shown
        assert number[-3:] in shown, "the last 3 digits stay visible"
    for name in names:
        assert name not in shown
    caller = model.data(model.index(model.rowCount() - 1, COL_CALLER))
    assert caller.startswith("+••") and caller[-3:].isdigit()
    assert "4567" not in pane.receiver_label.text()
    ui.presenter.set_enabled(False)
    assert "+61 8 8123 4567" in pane.receiver_label.text()


async def test_empty_states_and_session_switch(
    make_sim: SimFactory, ui: UiContext, opened: Opener
) -> None:
    sim = await make_sim()
    pane = TriggersPane(ui)
    assert pane.stack.currentWidget() is pane.empty_label
    assert pane.empty_label.text() == NO_SESSION_TEXT
    assert pane.add_call(settled(await sim.place_call("missed", ring_s=0.01), sim)) is None
    pane.set_session(opened(sim))
    assert pane.empty_label.text() == READING_HOURS_TEXT
    await pane.hours_ready()
    assert pane.empty_label.text() == EMPTY_TEXT
    assert "Harbour Dental: Mon–Fri 08:30–17:30 (Australia/Sydney), set by the engineer" in (
        pane.hours_label.text()
    )
    assert "2 DIDs mapped; any other DID goes to “general”" in pane.hours_label.text()
    answered = settled(await sim.place_call("inbound", ring_s=0.01, talk_s=0.01), sim)
    pane.add_call(answered)
    pane.model.flush()
    assert pane.stack.currentWidget() is pane.empty_label, "only a quiet call so far"
    pane.add_call(settled(await sim.place_call("missed", ring_s=0.01), sim))
    await next_insert(pane.model)
    assert pane.model.rowCount() == 2
    assert pane.stack.currentWidget() is pane.splitter
    pane.set_session(None)
    assert pane.model.rowCount() == 0 and pane.empty_label.text() == NO_SESSION_TEXT
    await pane.aclose()


async def test_bursts_are_coalesced_and_history_is_bounded(
    make_sim: SimFactory, ui: UiContext
) -> None:
    sim = await make_sim()
    model = TriggerPreviewModel(ui.presenter, max_rows=5)
    inserts: list[tuple[int, int]] = []
    model.rowsInserted.connect(lambda _p, first, last: inserts.append((first, last)))
    record = await sim.place_call("missed", ring_s=0.01)
    planner = TriggerPlanner(HOURS)
    previews = [
        planner.preview(
            settled(record, sim, call_id=f"burst-{i}", number=f"+6141234{i:04d}", e164=None)
        )
        for i in range(8)
    ]
    for preview in previews:
        model.add(preview)
    assert model.rowCount() == 0, "nothing is shown before the tick"
    await next_insert(model)
    assert inserts == [(0, 7)], "one insert for the whole burst"
    assert model.rowCount() == 5
    assert model.preview_at(0).call.call_id == "burst-7"
    assert model.row_of("burst-0") is None and model.row_of("burst-3") == 4
    model.add(dataclasses.replace(previews[5], reasons=("changed",)))
    model.flush()
    assert model.data(model.index(model.row_of("burst-5") or 0, 6)) == "changed"
    assert model.data(model.index(0, 0), PreviewRole) is previews[7]
    assert model.data(QModelIndex()) is None


def test_times_are_shown_in_the_customers_zone() -> None:
    model = TriggerPreviewModel(Presenter())
    planner = TriggerPlanner(HOURS)
    utc_sunday_night = datetime(2026, 11, 15, 22, 45, tzinfo=UTC)  # Monday 09:45 in Sydney
    call = SettledCall("z", utc_sunday_night, "+61412345678", "+61412345678", None)
    model.add(planner.preview(call))
    model.flush()
    assert model.data(model.index(0, 0)) == "Mon 09:45:00"
    assert model.data(model.index(0, COL_BRANCH)) == "in-hours"


@pytest.mark.parametrize(
    ("bridge", "knobs", "attaches"),
    [(E164, [], False), (NORMALISING, [], True), (THREECX, [LAST_9], True)],
    ids=["e164", "normalised", "3cx-last-9-digits"],
)
async def test_a_new_contact_is_created_only_when_the_customers_bridge_misses(
    make_sim: SimFactory,
    ui: UiContext,
    bridge: Bridge,
    knobs: list[str],
    attaches: bool,
) -> None:
    """The live feed's settled call, previewed: the contact is the bridge's, as the doctor says."""
    sim = await make_sim(faults=["unnormalised-contacts", *knobs])
    number, name, stored = stored_locally(sim)
    session = open_session(sim, bridge=bridge)
    feed = LiveFeed(session)
    pane = TriggersPane(ui)
    pane.set_session(session)
    await pane.hours_ready()

    def hand_on(call: SettledCall) -> None:  # as the main window hands settled calls on
        pane.add_call(call)

    feed.subscribe_settled(hand_on)
    feed.start()
    try:
        await asyncio.wait_for(sim.wait_for_call_control_client(), 10)
        # It rings until the feed has seen it ring: a leg that comes and goes before the
        # client's first snapshot is never seen live (see calls_until_hung_up).
        (ringing,) = await calls_until_hung_up(sim, ["missed"], ring_s=60, numbers=[number])
        call_id = str(ringing.record.call_id)
        await until(lambda: feed.get(call_id) is not None, "the feed to see the call ring")
        ringing.hangup_evt.set()
        await next_insert(pane.model)
        row = pane.model.row_of(call_id)
        assert row is not None
        preview = pane.model.preview_at(row)
        contact = pane.model.data(pane.model.index(row, COL_CONTACT))
        reason = await doctors_reason(session, number)
        assert preview.call.caller_match is not None
        assert preview.call.caller_match.reason == reason
        if attaches:
            assert contact == name and not preview.new_contact
            assert "Runs against the existing CRM contact for this number." in preview.reasons
        else:
            assert contact == "new contact · normalised"
            tooltip = pane.model.data(
                pane.model.index(row, COL_CONTACT), Qt.ItemDataRole.ToolTipRole
            )
            whole = f"new contact would be created (stored as {stored}, not E.164)"
            assert tooltip == f"{whole}\n{reason}"
            assert preview.new_contact
            # The doctor's reason (cause 5), then what the CRM's workflow does about it.
            assert f"{reason} In the CRM: {NEW_CONTACT}." in preview.reasons
            assert html.escape(reason) in details_html(preview, ui.presenter)
            ui.presenter.set_enabled(True)
            masked = details_html(preview, ui.presenter)
            assert name not in masked and stored not in masked
            masked_tip = pane.model.data(
                pane.model.index(row, COL_CONTACT), Qt.ItemDataRole.ToolTipRole
            )
            assert masked_tip.startswith("new contact would be created (stored as ")
            assert stored not in masked_tip
    finally:
        await feed.stop()
        await pane.aclose()
        await session.aclose()


# ---- screenshots ------------------------------------------------------------------------
async def triggers_scene(stack: contextlib.AsyncExitStack, ui: UiContext) -> QWidget:
    sim = Simulator(SimConfig(calls_per_minute=0, recording_delay_s=0.05))
    await sim.start()
    stack.push_async_callback(sim.stop)
    links_expected: list[int] = []
    all_links_in = asyncio.Event()

    def stats_seen(stats: ReceiverStats) -> None:
        if links_expected and stats.recordings >= links_expected[0]:
            all_links_in.set()

    receiver = WebhookReceiver(
        on_event=lambda _e: None, on_recording=lambda _c, _u: None, on_stats=stats_seen
    )
    await receiver.start()
    stack.push_async_callback(receiver.stop)
    sim.set_webhook_target(receiver.url)
    session = open_session(sim)
    stack.push_async_callback(session.aclose)
    pane = TriggersPane(ui)
    pane.set_session(session)
    await pane.hours_ready()
    for call in await branch_calls(sim):
        pane.add_call(call)
    pane.model.flush()
    pane.show_quiet.setChecked(True)
    pane.table.selectRow(3)  # the after-hours call: its details show below the table
    # The renderer pumps Qt events itself: nothing may still be in flight when it does.
    # (The add-on reports external calls only.)
    links_expected.append(
        sum(1 for call in sim.tenant.calls if call.recorded and call.kind != "internal")
    )
    stats_seen(receiver.stats)
    await asyncio.wait_for(all_links_in.wait(), 20)
    await asyncio.wait_for(sim.webhooks.sender.idle.wait(), 20)
    pane.set_receiver_status(receiver.status_text())
    return pane


async def empty_scene(stack: contextlib.AsyncExitStack, ui: UiContext) -> QWidget:
    sim = Simulator(SimConfig(calls_per_minute=0))
    await sim.start()
    stack.push_async_callback(sim.stop)
    session = open_session(sim)
    stack.push_async_callback(session.aclose)
    pane = TriggersPane(ui)
    pane.set_session(session)
    await pane.hours_ready()
    return pane


@pytest.mark.display
def test_screenshots(xvfb_display: XvfbDisplay) -> None:
    plain = render_scene(xvfb_display, "tests.ui.triggers.test_pane:triggers_scene", "triggers")
    masked = render_scene(
        xvfb_display,
        "tests.ui.triggers.test_pane:triggers_scene",
        "triggers-presenter",
        presenter=True,
    )
    empty = render_scene(xvfb_display, "tests.ui.triggers.test_pane:empty_scene", "triggers-empty")
    assert distinct_colours(plain) > 20
    assert distinct_colours(empty) > 2
    assert plain.read_bytes() != masked.read_bytes()
