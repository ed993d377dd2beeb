"""The Fleet tab in the window: rows of saved connections, a double-click opens that PBX in the
Doctor tab and checks it; and the tab at 1366 x 768, normal and Larger type, with its columns
fitted and nothing cut (a screenshot kept as an artifact)."""

from __future__ import annotations

import asyncio
import contextlib
import functools

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QWidget
from pytestqt.qtbot import QtBot

from app.domain.diagnosis import CheckId
from app.ui.connections.model import NAME
from app.ui.context import UiContext
from app.ui.fleet.model import FINDING
from app.ui.theme import apply_theme
from tests.conftest import SimFactory
from tests.support.screenshots import distinct_colours, png_size, render_fitting
from tests.support.waiting import until
from tests.support.xvfb import XvfbDisplay
from tests.ui.feed.fit_checks import cut_cells
from tests.ui.feed.test_fit_screens import SMALL_SCREEN, wide_display  # noqa: F401
from tests.ui.fleet.fleet_setup import QUICK, SWEEP_TIMEOUT_S, save, save_sim
from tests.ui.shell.test_main_window import Opened, demo_window, open_window


async def _fleet(opened: Opened, make_sim: SimFactory) -> dict[str, str]:
    """Three saved connections swept twice, the healthy PBX upgraded and its certificate
    renewed in between."""
    store = opened.store
    store.use_session_only()
    healthy = await make_sim(tls=True)
    retention = await make_sim(tls=True, faults=["retention-deleted"])
    ids = {
        "Harbour Main": await save_sim(store, "Harbour Main", healthy, customer="Harbour Dental"),
        "Bayside Vets": await save_sim(store, "Bayside Vets", retention, customer="Bayside Vets"),
        "Old Site": await save(store, "Old Site", "https://pbx.invalid:5001", "k" * 32),
    }
    window = opened.window
    window.connections.reload()
    window.tabs.setCurrentWidget(window.fleet)
    window.fleet.settings = QUICK
    for _ in range(2):
        task = window.fleet.sweep()
        assert task is not None
        await asyncio.wait_for(task, SWEEP_TIMEOUT_S)
        healthy.version = "20.0.11.2001"
        healthy.faults.enable("tls-renewed")
    return ids


async def test_a_row_opens_its_pbx_in_the_doctor_tab(ui: UiContext, make_sim: SimFactory) -> None:
    async with demo_window(ui) as opened:
        window = opened.window
        sim = await make_sim(tls=True)
        opened.store.use_session_only()
        connection_id = await save_sim(opened.store, "Harbour Main", sim)
        window.connections.reload()
        window.tabs.setCurrentWidget(window.fleet)
        await until(lambda: window.fleet.model.rowCount() == 1, "the saved connection's row")
        assert window.tabs.tabText(window.tabs.currentIndex()) == "Fleet"
        window.fleet.select(connection_id)
        window.fleet.open_button.click()
        await until(
            lambda: window.session is not None and window.session.profile.id == connection_id,
            "the connection to open",
        )
        assert window.tabs.currentWidget() is window.doctor
        await until(lambda: window.doctor.diagnosis is not None, "the doctor's run", 30)
        assert window.connections.selected_id() == connection_id


async def test_a_swept_row_opens_its_stored_run_in_the_doctor_tab(
    ui: UiContext, make_sim: SimFactory, qtbot: QtBot
) -> None:
    async with demo_window(ui) as opened:
        window = opened.window
        sim = await make_sim(tls=True, faults=["retention-deleted"])
        opened.store.use_session_only()
        connection_id = await save_sim(opened.store, "Bayside Vets", sim)
        window.connections.reload()
        window.tabs.setCurrentWidget(window.fleet)
        window.fleet.settings = QUICK
        task = window.fleet.sweep()
        assert task is not None
        await asyncio.wait_for(task, SWEEP_TIMEOUT_S)
        stored = window.fleet.stored_run(connection_id)
        assert stored is not None and stored[0].first_failure is CheckId.RETENTION
        sim.faults.disable("retention-deleted")  # a run now would pass: the pane must not run
        window.fleet.select(connection_id)
        table = window.fleet.table  # double-clicked, as the details' hint says
        where = table.visualRect(table.currentIndex()).center()
        # A real double click: the first click's press and release, then the second press.
        qtbot.mouseClick(table.viewport(), Qt.MouseButton.LeftButton, pos=where)
        qtbot.mouseDClick(table.viewport(), Qt.MouseButton.LeftButton, pos=where)
        await until(lambda: window.doctor.diagnosis is not None, "the stored run to show", 30)
        assert window.tabs.currentWidget() is window.doctor
        assert not window.doctor.running
        assert window.doctor.diagnosis is stored[0]
        assert "The last stored run, from " + stored[1] in window.doctor.notice.text()
        assert window.doctor.table.current_check() is CheckId.RETENTION


async def _fleet_scene(stack: contextlib.AsyncExitStack, ui: UiContext, large: bool) -> QWidget:
    from app.sim import SimConfig, Simulator  # the scene process has no pytest fixtures

    async def make_sim(**kwargs: object) -> Simulator:
        kwargs.setdefault("calls_per_minute", 0)
        sim = Simulator(SimConfig(**kwargs))  # type: ignore[arg-type]
        await sim.start()
        stack.push_async_callback(sim.stop)
        return sim

    opened = await open_window(stack, ui)
    app = QApplication.instance()
    assert isinstance(app, QApplication)
    ui.presenter.set_large_type(large)
    apply_theme(app, large_type=large)
    opened.window.resize(*SMALL_SCREEN)
    ids = await _fleet(opened, make_sim)  # type: ignore[arg-type]
    pane = opened.window.fleet
    pane.select(ids["Harbour Main"])
    assert "3CX was upgraded" in pane.details.text()
    await asyncio.sleep(0.5)
    problems = cut_cells(pane.table, free=FINDING)
    if pane.table.horizontalScrollBar().maximum() > 0:
        problems.append("the fleet table scrolls sideways")
    connections = opened.window.connections
    if connections.isVisible():
        problems += cut_cells(connections.view, free=NAME)
    assert not problems, problems
    return pane


fleet_scene = functools.partial(_fleet_scene, large=False)
fleet_large_scene = functools.partial(_fleet_scene, large=True)


@pytest.mark.display
@pytest.mark.parametrize("scene", ["fleet_scene", "fleet_large_scene"])
def test_the_fleet_tab_fits_its_text_at_1366_by_768(
    wide_display: XvfbDisplay,  # noqa: F811
    scene: str,
) -> None:
    png = render_fitting(wide_display, f"{__name__}:{scene}", f"fit-1366-{scene}", size="native")
    assert png_size(png) == SMALL_SCREEN
    assert distinct_colours(png) > 20
