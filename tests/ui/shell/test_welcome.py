"""The first thing an engineer sees: with no connection open, one obvious next step."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

import pytest
from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from app.services.connections.store import ConnectionStore
from app.services.logs.buffer import LogBuffer
from app.ui.context import UiContext
from app.ui.shell.main_window import MainWindow
from tests.support.screenshots import distinct_colours, render_scene
from tests.support.waiting import until
from tests.support.xvfb import XvfbDisplay
from tests.ui.fleet.fleet_setup import save


@contextlib.asynccontextmanager
async def first_launch(
    ui: UiContext, store: ConnectionStore | None = None
) -> AsyncIterator[tuple[MainWindow, ConnectionStore]]:
    """A window on a fresh home (no connection saved, no name given), or on ``store``."""
    if store is None:
        store = await ConnectionStore.open()
        store.use_session_only()
    window = MainWindow(ui, store, LogBuffer())
    window.resize(1366, 768)
    window.show()
    try:
        yield window, store
    finally:
        window.close()
        await until(lambda: not window.isVisible(), "the window to close", 15)


async def test_first_launch_offers_setup_or_the_demo_and_asks_the_name_once(
    ui: UiContext, qtbot: QtBot
) -> None:
    async with first_launch(ui) as (window, store):
        welcome = window.welcome
        assert window.right.currentWidget() is welcome
        assert welcome.setup_button.isVisible() and welcome.demo_button.isVisible()
        assert not welcome.fleet_button.isVisible()  # nothing saved to check yet
        assert welcome.prompt.text() == "Start here:"
        assert welcome.name_edit.isVisible()

        qtbot.keyClicks(welcome.name_edit, "  Sam   Engineer ")
        qtbot.mouseClick(welcome.name_button, Qt.MouseButton.LeftButton)
        await until(lambda: store.settings.engineer_name == "Sam Engineer", "the name saved")
        await until(lambda: not welcome.name_edit.isVisible(), "the name box to go")

        qtbot.mouseClick(welcome.setup_button, Qt.MouseButton.LeftButton)
        assert window.wizard is not None and window.wizard.isVisible()


async def test_the_demo_from_the_welcome_page_opens_on_live_calls(
    ui: UiContext, qtbot: QtBot
) -> None:
    async with first_launch(ui) as (window, _store):
        qtbot.mouseClick(window.welcome.demo_button, Qt.MouseButton.LeftButton)
        await until(lambda: window.session is not None, "the demo connection to open", 20)
        assert window.session is not None and window.session.profile.demo
        assert window.right.currentWidget() is window.tabs
        assert window.tabs.currentWidget() is window.feed
        # The demo PBX keeps running: the live feed connects to it and stays connected.
        await until(
            lambda: (
                window.feed.feed is not None
                and window.feed.feed.status.source == "Call Control websocket"
            ),
            "the live feed to reach the demo PBX",
            20,
        )
        assert not window.connections.keyring_banner.isVisible()

        window.connections.select(None)
        await until(lambda: window.right.currentWidget() is window.welcome, "the welcome page")
        assert window.welcome.prompt.text() == "Select a connection on the left, or start here:"
        assert not window.welcome.fleet_button.isVisible()  # the demo is never swept


async def test_with_a_pbx_saved_the_fleet_is_one_click_from_the_welcome_page(
    ui: UiContext, qtbot: QtBot
) -> None:
    store = await ConnectionStore.open()
    store.use_session_only()
    await save(store, "Harbour Main", "https://harbour.invalid", "k" * 32)
    async with first_launch(ui, store) as (window, _store):
        assert window.right.currentWidget() is window.welcome
        assert window.welcome.fleet_button.isVisible()
        # The fleet needs no connection open.
        qtbot.mouseClick(window.welcome.fleet_button, Qt.MouseButton.LeftButton)
        assert window.right.currentWidget() is window.tabs
        assert window.tabs.currentWidget() is window.fleet and window.session is None
        await until(lambda: window.fleet.model.rowCount() == 1, "the saved PBX's row")


async def welcome_scene(stack: contextlib.AsyncExitStack, ui: UiContext) -> MainWindow:
    store = await ConnectionStore.open()
    store.use_session_only()
    window = MainWindow(ui, store, LogBuffer())
    stack.push_async_callback(_closed, window)
    window.resize(1366, 768)
    return window


async def _closed(window: MainWindow) -> None:
    if window.isVisible():
        window.close()
        await until(lambda: not window.isVisible(), "the window to close", 15)


@pytest.mark.display
def test_welcome_screenshot(xvfb_display: XvfbDisplay) -> None:
    png = render_scene(xvfb_display, "tests.ui.shell.test_welcome:welcome_scene", "welcome")
    assert distinct_colours(png) > 20
