"""The whole window: demo mode, connection switching, presenter mode everywhere, shutdown."""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest
from PySide6.QtCore import QSize
from PySide6.QtWidgets import QApplication, QLineEdit, QWidget
from pytestqt.qtbot import QtBot

from app.services.connections.store import ConnectionStore
from app.services.demo import DemoPbx, start_demo
from app.services.logs.buffer import LogBuffer, configure_app_logging
from app.sim import Simulator
from app.ui.connections.dialog import ConnectionDialog
from app.ui.connections.model import NAME
from app.ui.context import UiContext
from app.ui.setup.wizard import SetupWizard
from app.ui.shell.main_window import MainWindow
from tests.conftest import SimFactory
from tests.support.screenshots import distinct_colours, png_size, render_fitting, render_scene
from tests.support.waiting import until
from tests.support.widget_text import SeenText, digit_runs, visible_texts
from tests.support.xvfb import XvfbDisplay
from tests.ui.conftest import profile_for
from tests.ui.widgets.test_presenter_fields import shows_nothing_typed, type_while_presenting


@dataclass
class Opened:
    window: MainWindow
    demo: DemoPbx
    store: ConnectionStore
    buffer: LogBuffer
    initial_size: QSize  # as the window chose it, before the tests' fixed size


async def open_window(
    stack: contextlib.AsyncExitStack, ui: UiContext, *, calls_per_minute: float = 0.0
) -> Opened:
    """The app as ``pbx-companion --demo`` builds it, on a private home."""
    buffer = configure_app_logging()
    store = await ConnectionStore.open()
    window = MainWindow(ui, store, buffer)
    initial_size = window.size()
    demo = await start_demo(calls_per_minute=calls_per_minute, first_call=False)
    stack.push_async_callback(demo.stop)
    stack.push_async_callback(_close, window)
    window.add_demo(demo.profile, demo.secret)
    demo.sim.set_webhook_target(await window.start_webhook_receiver())
    window.resize(1280, 800)
    window.show()
    await until(lambda: window.session is not None, "the demo connection to open")
    await until(lambda: window.feed.feed is not None, "the live feed to start")
    # Closing during the websocket handshake can leave its socket to the garbage collector
    # (noted on the issue); the tests close an established feed.
    await asyncio.wait_for(demo.sim.wait_for_call_control_client(), 15)
    return Opened(window, demo, store, buffer, initial_size)


async def _close(window: MainWindow) -> None:
    if window.isVisible():
        window.close()
        await until(lambda: not window.isVisible(), "the window to close", 15)


@contextlib.asynccontextmanager
async def demo_window(ui: UiContext) -> AsyncIterator[Opened]:
    """Opened and closed inside the test: pytest-qt processes Qt events before fixture
    teardown, outside the running loop, which would run qasync callbacks loop-less."""
    async with contextlib.AsyncExitStack() as stack:
        yield await open_window(stack, ui)


async def _place_calls(opened: Opened) -> None:
    """One call of each kind the panes show: answered, missed, voicemail, a first-time caller."""
    sim = opened.demo.sim
    await sim.wait_for_call_control_client()
    known = sim.tenant.contacts[0].e164
    await sim.place_call("inbound", number=known, ring_s=0.2, talk_s=0.3)
    await sim.place_call("missed", number=sim.tenant.contacts[1].e164, ring_s=0.2)
    await sim.place_call("voicemail", ring_s=0.2)
    await sim.place_call("inbound", number="+61255501234", ring_s=0.2, talk_s=0.3)
    feed = opened.window.feed
    await until(lambda: feed.model.rowCount() >= 4, "four calls in the live feed", 20)


async def test_demo_opens_on_the_live_feed_with_calls_arriving(ui: UiContext) -> None:
    async with demo_window(ui) as opened:
        await _check_demo_feed(opened)


async def _check_demo_feed(opened: Opened) -> None:
    window = opened.window
    assert window.connections.selected_id() == "demo"
    assert window.session is not None and window.session.profile.demo
    await _place_calls(opened)
    assert window.tabs.currentWidget() is window.feed or window.tabs.currentIndex() == 0
    status = window.findChild(QWidget, "connectionStatus")
    assert status is not None and "demo PBX on this computer" in status.text()
    # Opened no larger than the screen (the offscreen one is smaller than 1440 x 900).
    screen = QApplication.primaryScreen().availableGeometry().size()
    assert opened.initial_size.boundedTo(screen) == opened.initial_size


async def test_settled_missed_calls_reach_the_trigger_preview(ui: UiContext) -> None:
    async with demo_window(ui) as opened:
        await _place_calls(opened)
        triggers = opened.window.triggers
        await until(lambda: triggers.model.rowCount() >= 2, "missed and voicemail previews", 20)


def _leaks(
    seen: list[SeenText], numbers: set[str], names: set[str], secrets: set[str]
) -> list[str]:
    problems = []
    for item in seen:
        for secret in secrets:
            if secret in item.text:
                problems.append(f"{item.where}: the API key")
        for name in names:
            if re.search(rf"\b{re.escape(name)}\b", item.text):
                problems.append(f"{item.where}: name {name!r} in {item.text[:80]!r}")
        for run in digit_runs(item.text):
            if len(run) >= 7 and any(
                run[-7:] in number or number[-7:] in run for number in numbers
            ):
                problems.append(f"{item.where}: number {run} in {item.text[:80]!r}")
    return problems


async def test_presenter_mode_leaves_no_number_name_or_secret_on_screen(
    ui: UiContext, qtbot: QtBot
) -> None:
    async with demo_window(ui) as opened:
        await _walk_in_presenter_mode(opened, qtbot)


async def _walk_in_presenter_mode(opened: Opened, qtbot: QtBot) -> None:
    window, sim = opened.window, opened.demo.sim
    await _place_calls(opened)
    window.tabs.setCurrentWidget(window.doctor)
    run = window.doctor.run()
    assert run is not None
    await run
    window.tabs.setCurrentWidget(window.recordings)
    window.recordings.number_edit.setText(sim.tenant.contacts[0].e164)
    search = window.recordings.search()
    assert search is not None
    await search
    assert window.recordings.model.rowCount() > 0

    numbers = {re.sub(r"\D", "", c.e164) for c in sim.tenant.contacts}
    numbers |= {re.sub(r"\D", "", n) for c in sim.tenant.contacts for n in (c.phone, c.mobile)}
    numbers.add("61255501234")
    numbers = {n for n in numbers if len(n) >= 7}
    names = {f"{c.first_name} {c.last_name}" for c in sim.tenant.contacts}
    secrets = {sim.client_secret}

    window.presenter_action.trigger()  # the toolbar toggle, as an engineer would
    assert window.ui.presenter.enabled
    typed = _type_into_every_field(qtbot, window, opened.demo.sim)
    for index in range(window.tabs.count()):
        window.tabs.setCurrentIndex(index)
        await until(lambda: True, "a paint")
        seen = visible_texts(window)
        problems = _leaks(seen, numbers, names, secrets)
        assert not problems, f"tab {window.tabs.tabText(index)!r} shows:\n" + "\n".join(problems)
    assert [
        edit.objectName() for edit, text in typed.items() if not shows_nothing_typed(edit, text)
    ] == []
    await _add_dialog_shows_no_name(qtbot, window, names, secrets)
    # The check can fail: with presenter mode off, the same walk does find numbers and names.
    window.presenter_action.trigger()
    assert [edit.displayText() for edit in typed] == list(typed.values())
    window.tabs.setCurrentWidget(window.feed)
    assert _leaks(visible_texts(window), numbers, names, secrets)


def _type_into_every_field(
    qtbot: QtBot, window: MainWindow, sim: Simulator
) -> dict[QLineEdit, str]:
    """What an engineer types on a shared screen, in every field outside the guided setup: a
    contact's name, their number, an extension, a call id."""
    contact = sim.tenant.contacts[0]
    name = f"{contact.first_name} {contact.last_name}"
    recordings = window.recordings
    typed = {
        window.feed.filter_edit: name,
        window.connections.filter_edit: name,
        window.log_view.search: contact.e164,
        recordings.number_edit: contact.e164,
        recordings.extension_edit: sim.tenant.extensions[0].number,
        recordings.call_id_edit: "881204",
    }
    for edit, text in typed.items():
        type_while_presenting(qtbot, edit, text)
    return typed


async def _add_dialog_shows_no_name(
    qtbot: QtBot, window: MainWindow, names: set[str], secrets: set[str]
) -> None:
    """The connection dialog's name and customer: another customer's, typed on a shared screen."""
    pane = window.connections
    pane.add_button.click()
    await until(lambda: pane.open_dialog is not None and pane.open_dialog.isVisible(), "dialog")
    dialog = pane.open_dialog
    assert isinstance(dialog, ConnectionDialog)
    name = sorted(names)[0]
    for edit in (dialog.form.name_edit, dialog.form.customer_edit, dialog.form.tags_edit):
        type_while_presenting(qtbot, edit, name)
        assert shows_nothing_typed(edit, name)
    assert not _leaks(visible_texts(dialog), set(), names, secrets)
    dialog.reject()
    await until(lambda: pane.open_dialog is None, "the dialog to close")


async def test_presenter_mode_stays_on_across_restarts(ui: UiContext) -> None:
    async with contextlib.AsyncExitStack() as stack:
        opened = await open_window(stack, ui)
        opened.window.presenter_action.trigger()
        await until(lambda: opened.store.settings.presenter_mode, "the setting to be saved")
    reopened = await ConnectionStore.open()
    assert reopened.settings.presenter_mode
    assert not reopened.settings.connections  # the demo connection is never saved


async def test_closing_cancels_work_and_closes_the_connection(ui: UiContext) -> None:
    async with contextlib.AsyncExitStack() as stack:
        opened = await open_window(stack, ui)
        window = opened.window
        session = window.session
        assert session is not None
        window.close()
        await until(lambda: not window.isVisible(), "the window to close", 15)
        assert ui.tasks.running == 0
        assert window.session is None


async def demo_scene(stack: contextlib.AsyncExitStack, ui: UiContext) -> QWidget:
    opened = await open_window(stack, ui)
    await _place_calls(opened)
    return opened.window


async def presenter_scene(stack: contextlib.AsyncExitStack, ui: UiContext) -> QWidget:
    ui.presenter.set_enabled(True)
    return await demo_scene(stack, ui)


async def readme_scene(stack: contextlib.AsyncExitStack, ui: UiContext) -> QWidget:
    """The README's picture: the demo on a 1366 x 768 laptop, a call's recording followed."""
    opened = await open_window(stack, ui)
    opened.window.resize(1366, 768)
    await _place_calls(opened)
    feed = opened.window.feed
    feed.select_call(feed.model.call_at(0).call_id)
    return opened.window


@pytest.mark.display
def test_main_window_screenshots(xvfb_display: XvfbDisplay) -> None:
    for scene, name in ((demo_scene, "main-window"), (presenter_scene, "main-window-presenter")):
        png = render_scene(xvfb_display, f"{__name__}:{scene.__name__}", name)
        assert distinct_colours(png) > 20


@pytest.mark.display
def test_the_readme_screenshot_fits_a_laptop_screen(xvfb_display: XvfbDisplay) -> None:
    png = render_fitting(
        xvfb_display, f"{__name__}:readme_scene", "main-window-1366", size="native"
    )
    assert png_size(png) == (1366, 768)
    assert distinct_colours(png) > 20


async def test_settings_give_reports_the_engineer_and_reject_a_bad_webhook_address(
    ui: UiContext,
) -> None:
    async with demo_window(ui) as opened:
        window = opened.window
        task = window.edit_preferences()
        dialog = window.preferences_dialog
        assert dialog is not None
        await until(dialog.isVisible, "the settings dialog")
        dialog.engineer.setText("  Sam Lee ")
        dialog.webhook.setText("localhost")
        dialog.buttons.accepted.emit()
        assert "host:port" in dialog.error.text() and dialog.isVisible()  # nothing lost
        assert dialog.engineer.text() == "  Sam Lee "
        dialog.webhook.setText("127.0.0.1:8765")
        dialog.buttons.accepted.emit()
        await task
        assert opened.store.settings.engineer_name == "Sam Lee"
        assert opened.store.settings.webhook_listen == "127.0.0.1:8765"
        assert window.doctor.report_settings().engineer_name == "Sam Lee"


async def preferences_scene(stack: contextlib.AsyncExitStack, ui: UiContext) -> QWidget:
    from app.services.settings.file import Settings
    from app.ui.shell.preferences_dialog import PreferencesDialog

    return PreferencesDialog(None, Settings(engineer_name="Sam Lee"))


@pytest.mark.display
@pytest.mark.parametrize("large", [False, True])
def test_preferences_dialog_screenshot(xvfb_display: XvfbDisplay, large: bool) -> None:
    """At its own size, in both type sizes, with no hint or label cut."""
    name = "preferences-dialog" + ("-large" if large else "")
    png = render_fitting(
        xvfb_display, f"{__name__}:preferences_scene", name, large=large, size="640x420"
    )
    assert distinct_colours(png) > 5


# ---- the guided setup inside the window ------------------------------------------------------


def _shown_windows() -> list[QWidget]:
    return [w for w in QApplication.topLevelWidgets() if w.isVisible()]


async def test_set_up_shows_the_wizard_in_place_of_the_tabs_and_cancel_brings_them_back(
    ui: UiContext,
) -> None:
    async with demo_window(ui) as opened:
        window = opened.window
        wizard = window.show_setup()
        assert isinstance(wizard, SetupWizard) and window.wizard is wizard
        await until(wizard.isVisible, "the setup page")
        assert window.central.currentWidget() is wizard
        assert not window.tabs.isVisible() and not window.connections.isVisible()
        assert _shown_windows() == [window]  # a page of the window, not a dialog
        assert not window.doctor_action.isEnabled()
        assert window.show_setup() is wizard  # asking again shows the same setup

        assert await wizard.cancel_setup()
        assert window.wizard is None and window.central.currentWidget() is window.work_page
        assert window.tabs.isVisible() and window.doctor_action.isEnabled()
        put_away = window._wizard_closed
        assert put_away is not None
        await put_away  # its checks stopped and its client closed before it is deleted
        session = window.session
        assert session is not None and session.profile.demo  # the demo kept running

        window.connections.setup_button.click()  # the pane's button opens it too
        assert window.wizard is not None and window.central.currentWidget() is window.wizard


async def test_a_finished_setup_selects_the_new_connection(
    ui: UiContext, make_sim: SimFactory
) -> None:
    sim = await make_sim(tls=True)
    async with demo_window(ui) as opened:
        window, store = opened.window, opened.store
        store.use_session_only()
        window.setup_action.trigger()
        wizard = window.wizard
        assert isinstance(wizard, SetupWizard)
        # What steps 4 and 9 do: the key staged under the setup's id, then the profile saved.
        connection_id = wizard.ctx.connection_id
        await wizard.ctx.stage_key(sim.client_id, sim.client_secret, origin="pasted")
        await store.add(profile_for(sim, "Harbour Dental", id=connection_id), None)
        wizard.finished.emit(connection_id)

        assert window.wizard is None and window.tabs.isVisible()
        assert window.connections.selected_id() == connection_id
        assert "Harbour Dental" in [
            str(window.connections.proxy.index(row, NAME).data())
            for row in range(window.connections.proxy.rowCount())
        ]
        await until(
            lambda: window.session is not None and window.session.profile.id == connection_id,
            "the new connection to open",
        )
        assert await store.secret(connection_id) == sim.client_secret  # kept, not discarded


async def test_closing_the_window_during_setup_leaves_no_staged_key(ui: UiContext) -> None:
    async with contextlib.AsyncExitStack() as stack:
        opened = await open_window(stack, ui)
        window, store = opened.window, opened.store
        store.use_session_only()
        wizard = window.show_setup()
        assert wizard is not None
        connection_id = wizard.ctx.connection_id
        await wizard.ctx.stage_key("900", "Zk3q8wX1vN0tPa9Lr2Qm7Yc4", origin="pasted")
        assert await store.staged_key(connection_id) is not None
        window.close()
        await until(lambda: not window.isVisible(), "the window to close", 15)
        assert await store.staged_key(connection_id) is None
        assert await store.secret(connection_id) is None
        assert ui.tasks.running == 0


async def setup_scene(stack: contextlib.AsyncExitStack, ui: UiContext) -> QWidget:
    opened = await open_window(stack, ui)
    opened.window.show_setup()
    return opened.window


@pytest.mark.display
def test_main_window_with_the_setup_screenshot(xvfb_display: XvfbDisplay) -> None:
    png = render_scene(xvfb_display, f"{__name__}:setup_scene", "main-window-setup")
    assert distinct_colours(png) > 10
