"""The customer's clock everywhere: a PBX in Auckland, looked at from a laptop in Los Angeles.

Every pane shows Auckland times with the zone named, and missed calls are judged by the PBX's
own office hours (Mon–Fri 08:30–17:30, lunch 12:30–13:00). The laptop's zone is set for each
test (TZ); the instant is the suite's pinned one, Wed 18 Nov 2026 00:30 UTC, which is
Wed 13:30 in Auckland (NZDT) and still Tue 16:30 in Los Angeles (PST).
"""

from __future__ import annotations

import asyncio
import dataclasses
import re
import time as process_time
from collections.abc import AsyncIterator, Iterator
from datetime import datetime, time
from zoneinfo import ZoneInfo

import pytest
from PySide6.QtCore import Qt

from app.domain.business_hours import BusinessHours, HoursSource
from app.domain.live import LiveState
from app.domain.triggers import SettledCall, TriggerBranch
from app.services.session import PbxSession
from app.sim import Simulator
from app.ui.context import UiContext
from app.ui.feed.model import Column
from app.ui.recordings.model import RecordingResultsModel
from app.ui.recordings.pane import RecordingsPane
from app.ui.triggers.pane import COL_BRANCH, COL_TIME, TriggersPane
from tests.conftest import SimFactory
from tests.services.feed.test_live_feed import ORPHAN_NUMBER, recording_extension
from tests.services.recordings.test_lookup import MOBILE, recorded_call
from tests.support.waiting import until
from tests.ui.conftest import profile_for
from tests.ui.feed.test_pane import open_pane, shown_state
from tests.ui.setup.test_wizard import finish_from_verified, session_store
from tests.ui.setup.test_wizard_driver import (
    enter_address,
    paste_key,
    press_next,
    settled,
    to_verified,
    wizard_on,
)

AUCKLAND = ZoneInfo("Pacific/Auckland")
LAPTOP = "America/Los_Angeles"
# What an older app saved without asking: Sydney, never confirmed.
SILENT_SYDNEY = BusinessHours(timezone="Australia/Sydney", source=HoursSource.UNSET)


@pytest.fixture(autouse=True)
def laptop_in_los_angeles() -> Iterator[None]:
    """The engineer's laptop is in another zone than the customer's PBX."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("TZ", LAPTOP)
        process_time.tzset()
        assert datetime(2026, 11, 18, 0, 30).astimezone().tzname() == "PST"
        yield
    process_time.tzset()


@pytest.fixture
async def auckland(make_sim: SimFactory) -> Simulator:
    return await make_sim(tls=True, time_zone="Pacific/Auckland")


@pytest.fixture
async def auckland_session(auckland: Simulator) -> AsyncIterator[PbxSession]:
    profile = profile_for(auckland, business_hours=SILENT_SYDNEY)
    opened = PbxSession(profile, auckland.client_secret, poll_interval_s=0.5)
    yield opened
    await opened.aclose()


def in_auckland(at: datetime, fmt: str) -> str:
    return at.astimezone(AUCKLAND).strftime(fmt)


def auckland_call(sim: Simulator, hour: int, minute: int, call_id: str) -> SettledCall:
    """A missed call from a stranger on Wednesday 18 November 2026 at hour:minute in Auckland."""
    at = datetime(2026, 11, 18, hour, minute, tzinfo=AUCKLAND)
    did = sim.tenant.dids[0]
    return SettledCall(call_id, at, ORPHAN_NUMBER, ORPHAN_NUMBER, did)


async def test_session_resolves_the_pbx_clock_once(auckland_session: PbxSession) -> None:
    assert auckland_session.known_hours is None
    assert auckland_session.saved_hours == SILENT_SYDNEY  # shown, named, until the PBX answers
    hours = await auckland_session.customer_hours()
    assert hours.timezone == "Pacific/Auckland" and hours.source is HoursSource.PBX
    assert hours.breaks and hours.holidays
    assert await auckland_session.customer_hours() is hours
    assert auckland_session.known_hours is hours


async def test_live_calls_show_auckland_times_and_name_the_zone(
    ui: UiContext, auckland_session: PbxSession, auckland: Simulator
) -> None:
    pane = await open_pane(ui, auckland_session, auckland)
    try:
        await until(lambda: pane.model.hours.timezone == "Pacific/Auckland", "the customer's clock")
        extension = recording_extension(auckland)
        call = await auckland.place_call("inbound", number=MOBILE, extension=extension)
        shown = await shown_state(pane, call.call_id, LiveState.ENDED)
        row = pane.model.row_of(str(call.call_id))
        assert row is not None
        cell = pane.model.index(row, Column.TIME)
        assert cell.data() == in_auckland(shown.first_seen, "%H:%M:%S")
        laptop = shown.first_seen.astimezone().strftime("%H:%M:%S")  # 16:30 on Tuesday in LA
        assert cell.data() != laptop, "Auckland's time, never the laptop's"
        header = pane.model.headerData(Column.TIME, Qt.Orientation.Horizontal)
        assert header == "Time (NZDT)"
        tooltip = cell.data(Qt.ItemDataRole.ToolTipRole)
        assert "NZDT (Pacific/Auckland, the customer's time)" in tooltip
        assert "PST (your time)" in tooltip  # the engineer's own, beside it and labelled
        status = pane.status_label.text()
        assert "times in Pacific/Auckland, the customer's clock (read from the PBX)" in status
        assert "NZDT" in status  # the last event's time
        assert pane.select_call(str(call.call_id))
        await until(
            lambda: pane.timeline.call is not None and pane.timeline.call.journey, "a journey"
        )
        journey = pane.timeline.call.journey if pane.timeline.call else None
        assert journey is not None
        hung_up = f"hung up {in_auckland(journey.hung_up_at, '%H:%M:%S')} NZDT"
        assert hung_up in pane.timeline.visible_text()[0]
    finally:
        await pane.aclose()


async def test_recordings_are_found_and_shown_on_the_customers_clock(
    ui: UiContext, auckland_session: PbxSession, auckland: Simulator
) -> None:
    call = await recorded_call(auckland, "inbound", number=MOBILE)
    pane = RecordingsPane(ui)
    pane.resize(1200, 760)
    try:
        pane.set_session(auckland_session)
        summary = "Times in Pacific/Auckland, the customer's time zone (read from the PBX)."
        await until(lambda: pane.summary_label.text() == summary, "the customer's zone named")
        # The customer's "today" (Wednesday), not the laptop's (still Tuesday).
        assert pane.to_date.date().toPython().isoformat() == "2026-11-18"
        pane.number_edit.setText(MOBILE)
        task = pane.search()
        assert task is not None
        await asyncio.wait_for(task, 30)
        at = pane.model.position(call.history_id)
        assert at is not None
        shown = pane.model.data(pane.model.index(at, RecordingResultsModel.TIME))
        assert call.start is not None
        assert shown == in_auckland(call.start, "%Y-%m-%d %H:%M")
        assert shown.startswith("2026-11-18 ")  # already Wednesday there
        header = pane.model.headerData(RecordingResultsModel.TIME, Qt.Orientation.Horizontal)
        assert header == "Time (NZDT)"
        assert "times in Pacific/Auckland (read from the PBX)" in pane.summary_label.text()
    finally:
        await pane.aclose()


async def test_missed_calls_are_judged_by_the_pbxs_office_hours(
    ui: UiContext, auckland_session: PbxSession, auckland: Simulator
) -> None:
    pane = TriggersPane(ui)
    pane.set_session(auckland_session)
    lunch = auckland_call(auckland, 12, 45, "lunch")
    morning = auckland_call(auckland, 10, 0, "morning")
    assert pane.add_call(lunch) is None, "waits for the customer's hours"
    hours = await pane.hours_ready()
    assert hours is not None and hours.timezone == "Pacific/Auckland"
    assert pane.add_call(morning) is not None
    pane.model.flush()
    previews = {pane.model.preview_at(r).call.call_id: r for r in range(pane.model.rowCount())}
    assert set(previews) == {"lunch", "morning"}

    def shown(
        call_id: str, column: int, role: Qt.ItemDataRole = Qt.ItemDataRole.DisplayRole
    ) -> str:
        return str(pane.model.data(pane.model.index(previews[call_id], column), role))

    lunch_preview = pane.model.preview_at(previews["lunch"])
    assert lunch_preview.branch is TriggerBranch.AFTER_HOURS
    assert shown("lunch", COL_BRANCH) == "after-hours"
    assert any("in the office's break" in reason for reason in lunch_preview.reasons)
    assert "Wed 12:45 in Pacific/Auckland" in lunch_preview.reasons[0]
    assert shown("morning", COL_BRANCH) == "in-hours"
    assert shown("morning", COL_TIME) == "Wed 10:00:00"
    assert "(the customer's time)" in shown("morning", COL_TIME, Qt.ItemDataRole.ToolTipRole)
    assert "Tue 13:00:00 PST (your time)" in shown("morning", COL_TIME, Qt.ItemDataRole.ToolTipRole)
    assert pane.model.headerData(COL_TIME, Qt.Orientation.Horizontal) == "Time (NZDT)"
    header = pane.hours_label.text()
    assert "break 12:30–13:00" in header and "(Pacific/Auckland), read from the PBX" in header
    assert "Australia/Sydney" not in header  # the silent default saved before is not used
    await pane.aclose()


async def test_hours_the_engineer_set_win_over_the_pbx(ui: UiContext, auckland: Simulator) -> None:
    mine = BusinessHours(
        timezone="Pacific/Auckland", opens=time(7), closes=time(19), source=HoursSource.ENGINEER
    )
    session = PbxSession(profile_for(auckland, business_hours=mine), auckland.client_secret)
    pane = TriggersPane(ui)
    try:
        pane.set_session(session)
        assert await pane.hours_ready() == mine
        preview = pane.add_call(auckland_call(auckland, 12, 45, "lunch"))
        assert preview is not None and preview.branch is TriggerBranch.IN_HOURS
        assert "set by the engineer" in pane.hours_label.text()
    finally:
        await pane.aclose()
        await session.aclose()


# ---- guided setup ----------------------------------------------------------------------------
async def test_setup_shows_the_pbxs_clock_and_the_connection_keeps_it(
    ui: UiContext, auckland: Simulator
) -> None:
    store = await session_store()
    async with wizard_on(ui, store) as wizard:
        await to_verified(wizard, auckland)
        clock = wizard.verify.clock
        assert clock.isVisibleTo(wizard.verify)
        summary = clock.summary.text()
        assert summary.startswith("Pacific/Auckland, read from the PBX: Mon–Fri 08:30–17:30")
        assert "break 12:30–13:00, 3 holidays" in summary
        # The pinned clock runs on in real time: the minutes depend on when this test runs.
        assert re.search(
            r"It is Wed \d\d:\d\d NZDT there \(your time: Tue \d\d:\d\d PST\)", summary
        )
        assert clock.source_label.text() == "(read from the PBX)"
        assert clock.editor.timezone_combo.currentText() == "Pacific/Auckland"
        assert not clock.confirm_button.isVisibleTo(clock)
        assert "Customer's clock: Mon–Fri 08:30–17:30" in wizard.verify.summary()

        # The contact preview's "When" is the customer's time, zone named.
        await press_next(wizard, wizard.reachability)
        await settled(wizard.reachability)
        await press_next(wizard, wizard.recording_audit)
        await settled(wizard.recording_audit)
        call = await auckland.place_call("inbound", number=MOBILE)
        await press_next(wizard, wizard.contacts)
        await settled(wizard.contacts)
        rows = wizard.contacts.model.rows
        row = next(r for r in rows if r.call_id == call.history_id)
        at = rows.index(row)
        when = wizard.contacts.model.index(at, 0)
        assert when.data() == f"{in_auckland(row.when, '%d %b %H:%M')} NZDT"
        assert when.data().startswith("18 Nov ")  # Wednesday there, Tuesday in LA
        assert "(your time)" in when.data(Qt.ItemDataRole.ToolTipRole)
        assert "Times in Pacific/Auckland, the customer's clock (read from the PBX)" in (
            wizard.contacts.zone_note.text()
        )
        await press_next(wizard, wizard.finish)
        wizard.finish.save_button.click()
        await settled(wizard.finish)
        assert wizard.ctx.saved
        saved = store.get(wizard.ctx.connection_id)
    assert saved is not None
    # As read from the PBX: zone, breaks, holidays and the per-day periods it sent.
    assert saved.business_hours.source is HoursSource.PBX
    assert saved.business_hours.periods
    assert dataclasses.replace(saved.business_hours, periods=()) == auckland.tenant.office_hours


async def test_changing_the_hours_in_setup_makes_them_the_engineers(
    ui: UiContext, auckland: Simulator
) -> None:
    store = await session_store()
    async with wizard_on(ui, store) as wizard:
        await to_verified(wizard, auckland)
        editor = wizard.verify.clock.editor
        editor.closes_edit.setTime(editor.closes_edit.time().addSecs(30 * 60))  # 18:00
        hours = wizard.ctx.customer_hours
        assert hours is not None and hours.source is HoursSource.ENGINEER
        assert hours.closes == time(18) and hours.breaks and hours.holidays
        assert wizard.verify.clock.source_label.text() == "(set by you)"
        # Hours that cannot be used hold Next, with the reason.
        editor.closes_edit.setTime(editor.opens_edit.time())
        assert not wizard.next_button.isEnabled()
        assert "Closing time must be after opening time" in wizard.blocked_label.text()
        editor.closes_edit.setTime(editor.opens_edit.time().addSecs(9 * 3600 + 30 * 60))
        assert wizard.next_button.isEnabled()
        await finish_from_verified(wizard)
        saved = store.get(wizard.ctx.connection_id)
    assert saved is not None
    expected = dataclasses.replace(
        auckland.tenant.office_hours, closes=time(18), source=HoursSource.ENGINEER
    )
    assert saved.business_hours == expected


async def test_v18_offers_the_regions_zone_for_the_engineer_to_confirm(
    ui: UiContext, make_sim: SimFactory
) -> None:
    sim = await make_sim(tls=True, pbx_version="18.0.11.200")
    store = await session_store()
    async with wizard_on(ui, store) as wizard:
        await enter_address(wizard, sim)
        detection = wizard.ctx.detection
        assert detection is not None and detection.region is None  # 127.0.0.1 says nothing
        # As the address of a PBX in New Zealand would say (pbx.example.co.nz).
        wizard.ctx.refine_detection(dataclasses.replace(detection, region="NZ"))
        await press_next(wizard, wizard.api_user)
        await press_next(wizard, wizard.key)
        await paste_key(wizard, sim.client_id, sim.client_secret)
        await press_next(wizard, wizard.verify)
        await settled(wizard.verify)
        clock = wizard.verify.clock
        hours = wizard.ctx.customer_hours
        assert hours is not None and hours.source is HoursSource.REGION
        assert hours.timezone == "Pacific/Auckland"
        assert clock.summary.property("box") == "warn"
        assert "the region's usual zone, not read from the PBX" in clock.summary.text()
        assert "does not offer its office hours" in clock.summary.text()
        assert clock.source_label.text() == "(the region's usual zone — confirm)"
        assert clock.confirm_button.isVisibleTo(clock)
        clock.confirm_button.click()
        confirmed = wizard.ctx.customer_hours
        assert confirmed is not None and confirmed.source is HoursSource.ENGINEER
        assert not clock.confirm_button.isVisibleTo(clock)
        await finish_from_verified(wizard)
        saved = store.get(wizard.ctx.connection_id)
    assert saved is not None and saved.business_hours == confirmed
