"""Screenshots of the customer's clock on a 1366 x 768 laptop screen in another zone.

A simulated PBX in Auckland, the laptop in Los Angeles: the guided setup's step 5 (read from
the PBX, and a v18 PBX's guess to confirm), the contact preview, live calls, the trigger
preview and the recordings lookup.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
from collections.abc import Iterator
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from PySide6.QtWidgets import QApplication, QVBoxLayout, QWidget

from app.domain.business_hours import BusinessHours, HoursSource
from app.domain.live import LiveState
from app.domain.triggers import SettledCall
from app.services.connections.store import ConnectionStore
from app.services.session import PbxSession
from app.sim import SimConfig, Simulator
from app.ui.context import UiContext
from app.ui.feed.pane import FeedPane
from app.ui.recordings.pane import RecordingsPane
from app.ui.setup.wizard import SetupWizard
from app.ui.theme import apply_theme
from app.ui.triggers.pane import TriggersPane
from tests.services.feed.test_live_feed import ORPHAN_NUMBER
from tests.services.recordings.test_lookup import MOBILE, recorded_call
from tests.support.screenshots import distinct_colours, png_size, render_scene
from tests.support.system_tools import require_programs
from tests.support.waiting import until
from tests.support.xvfb import Xvfb, XvfbDisplay
from tests.ui.conftest import profile_for
from tests.ui.feed.test_pane import shown_state
from tests.ui.setup.test_wizard_driver import (
    QUICK,
    enter_address,
    paste_key,
    press_next,
    settled,
    to_verified,
)

LAPTOP_SCREEN = (1366, 768)
AUCKLAND = ZoneInfo("Pacific/Auckland")
SILENT_SYDNEY = BusinessHours(timezone="Australia/Sydney", source=HoursSource.UNSET)


_WINDOWS: list[QWidget] = []  # held until the scene's process ends


def on_laptop_screen(widget: QWidget) -> QWidget:
    """``widget`` filling a 1366 x 768 window (the renderer sizes only parentless ones)."""
    window = QWidget()
    _WINDOWS.append(window)
    window.setWindowTitle("PBX Companion")
    layout = QVBoxLayout(window)
    layout.setContentsMargins(0, 0, 0, 0)
    layout.addWidget(widget)
    window.resize(*LAPTOP_SCREEN)
    window.show()
    return widget


async def auckland_sim(stack: contextlib.AsyncExitStack, **changes: object) -> Simulator:
    config = SimConfig(
        tls=True, calls_per_minute=0, recording_delay_s=0.2, time_zone="Pacific/Auckland"
    )
    sim = Simulator(dataclasses.replace(config, **changes))  # type: ignore[arg-type]
    await sim.start()
    stack.push_async_callback(sim.stop)
    return sim


async def session_on(stack: contextlib.AsyncExitStack, sim: Simulator) -> PbxSession:
    session = PbxSession(
        profile_for(sim, name="Kiwi Dental", business_hours=SILENT_SYDNEY),
        sim.client_secret,
        poll_interval_s=0.5,
    )
    stack.push_async_callback(session.aclose)
    return session


async def wizard_for(stack: contextlib.AsyncExitStack, ui: UiContext) -> SetupWizard:
    app = QApplication.instance()
    assert isinstance(app, QApplication)
    apply_theme(app, large_type=ui.presenter.large_type)
    store = await ConnectionStore.open()
    store.use_session_only()
    wizard = SetupWizard(ui, store, timeouts=QUICK)
    on_laptop_screen(wizard)
    return wizard


async def verify_pbx_clock_scene(stack: contextlib.AsyncExitStack, ui: UiContext) -> QWidget:
    sim = await auckland_sim(stack)
    wizard = await wizard_for(stack, ui)
    await to_verified(wizard, sim)
    return wizard


async def verify_region_guess_scene(stack: contextlib.AsyncExitStack, ui: UiContext) -> QWidget:
    sim = await auckland_sim(stack, pbx_version="18.0.11.200")
    wizard = await wizard_for(stack, ui)
    await enter_address(wizard, sim)
    detection = wizard.ctx.detection
    assert detection is not None
    wizard.ctx.refine_detection(dataclasses.replace(detection, region="NZ"))
    await press_next(wizard, wizard.api_user)
    await press_next(wizard, wizard.key)
    await paste_key(wizard, sim.client_id, sim.client_secret)
    await press_next(wizard, wizard.verify)
    await settled(wizard.verify)
    return wizard


async def contacts_scene(stack: contextlib.AsyncExitStack, ui: UiContext) -> QWidget:
    sim = await auckland_sim(stack)
    for _ in range(3):
        await sim.place_call("inbound", ring_s=0.01, talk_s=0.01)
    await sim.place_call("missed", number=ORPHAN_NUMBER, ring_s=0.01)
    wizard = await wizard_for(stack, ui)
    await to_verified(wizard, sim)
    for step in (wizard.reachability, wizard.recording_audit, wizard.contacts):
        await press_next(wizard, step)
        await settled(step)
    return wizard


async def feed_scene(stack: contextlib.AsyncExitStack, ui: UiContext) -> QWidget:
    sim = await auckland_sim(stack)
    session = await session_on(stack, sim)
    pane = FeedPane(ui)
    on_laptop_screen(pane)
    pane.set_session(session)
    stack.push_async_callback(pane.aclose)
    await asyncio.wait_for(sim.wait_for_call_control_client(), 10)
    await until(lambda: pane.model.hours.timezone == "Pacific/Auckland", "the customer's clock")
    answered = await sim.place_call("inbound", number=MOBILE)
    missed = await sim.place_call("missed", number=ORPHAN_NUMBER)
    await shown_state(pane, answered.call_id, LiveState.ENDED)
    await shown_state(pane, missed.call_id, LiveState.MISSED)
    pane.select_call(str(answered.call_id))
    return pane


async def triggers_scene(stack: contextlib.AsyncExitStack, ui: UiContext) -> QWidget:
    sim = await auckland_sim(stack)
    session = await session_on(stack, sim)
    pane = TriggersPane(ui)
    on_laptop_screen(pane)
    pane.set_session(session)
    await pane.hours_ready()
    did = sim.tenant.dids[0]
    for call_id, hour, minute in (("morning", 10, 0), ("lunch", 12, 45), ("evening", 19, 5)):
        at = datetime(2026, 11, 18, hour, minute, tzinfo=AUCKLAND)
        number = ORPHAN_NUMBER[:-2] + f"{hour:02d}"
        pane.add_call(SettledCall(call_id, at, number, number, did))
    pane.model.flush()
    pane.table.selectRow(1)  # the lunch-break call: its reasons below
    return pane


async def recordings_scene(stack: contextlib.AsyncExitStack, ui: UiContext) -> QWidget:
    sim = await auckland_sim(stack)
    await recorded_call(sim, "inbound", number=MOBILE)
    await sim.place_call("missed", number=MOBILE, ring_s=0.01)
    session = await session_on(stack, sim)
    pane = RecordingsPane(ui)
    on_laptop_screen(pane)
    pane.set_session(session)
    pane.number_edit.setText(MOBILE)
    task = pane.search()
    assert task is not None
    await asyncio.wait_for(task, 30)
    return pane


SCENES = (
    ("clock-setup-5-read-from-pbx", "verify_pbx_clock_scene"),
    ("clock-setup-5-v18-region-guess", "verify_region_guess_scene"),
    ("clock-setup-8-contacts", "contacts_scene"),
    ("clock-live-calls", "feed_scene"),
    ("clock-triggers", "triggers_scene"),
    ("clock-recordings", "recordings_scene"),
)


@pytest.fixture(scope="module")
def laptop_display() -> Iterator[XvfbDisplay]:
    """A private Xvfb the size of a common laptop screen, the engineer's clock in LA."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("TZ", "America/Los_Angeles")  # the scenes run in a child process
        require_programs("Xvfb", packages="xvfb", purpose="Screenshot tests")
        with Xvfb(*LAPTOP_SCREEN) as display:
            yield display


@pytest.mark.display
@pytest.mark.parametrize(("name", "scene"), SCENES)
def test_customer_clock_screenshots(laptop_display: XvfbDisplay, name: str, scene: str) -> None:
    png = render_scene(laptop_display, f"{__name__}:{scene}", name)
    assert distinct_colours(png) > 20
    assert png_size(png) == LAPTOP_SCREEN
