"""The demo window at 1366 x 768, normal and larger type: Live calls, the trigger preview,
the recordings and the connections beside them, with every table's columns fitted.

The scenes return a child of the window so the renderer keeps the window's own size.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
from collections.abc import Iterator

import pytest
from PySide6.QtWidgets import QApplication, QTableView, QWidget

from app.domain.diagnosis import CheckId
from app.ui.connections.model import NAME
from app.ui.context import UiContext
from app.ui.doctor.model import CheckTableModel
from app.ui.feed.model import Column
from app.ui.recordings.model import RecordingResultsModel
from app.ui.theme import apply_theme
from app.ui.triggers.pane import COL_ACTIONS
from tests.support.screenshots import distinct_colours, png_size, render_fitting
from tests.support.waiting import until
from tests.support.xvfb import Xvfb, XvfbDisplay
from tests.ui.feed.fit_checks import cut_cells
from tests.ui.shell.test_main_window import Opened, _place_calls, open_window

SMALL_SCREEN = (1366, 768)


@pytest.fixture(scope="module")
def wide_display() -> Iterator[XvfbDisplay]:
    """A screen wider than the window (the shared display is 1280 px wide)."""
    with Xvfb(1440, 900) as display:
        yield display


async def _window(stack: contextlib.AsyncExitStack, ui: UiContext, *, large: bool) -> Opened:
    opened = await open_window(stack, ui)
    app = QApplication.instance()
    assert isinstance(app, QApplication)
    ui.presenter.set_large_type(large)
    apply_theme(app, large_type=large)  # as app.main does on the presenter's change
    opened.window.resize(*SMALL_SCREEN)
    await _place_calls(opened)
    triggers = opened.window.triggers
    await until(lambda: triggers.model.rowCount() >= 2, "missed-call previews", 20)
    return opened


def _sideways(table: QTableView) -> list[str]:
    bar = table.horizontalScrollBar()
    return [f"{table.objectName()} scrolls sideways"] if bar.maximum() > 0 else []


async def _show_tab(opened: Opened, pane: QWidget, table: QTableView, free: int) -> QWidget:
    opened.window.tabs.setCurrentWidget(pane)
    await asyncio.sleep(0.5)
    problems = cut_cells(table, free=free) + _sideways(table)
    connections = opened.window.connections
    if connections.isVisible():  # Larger type on a laptop screen hides the list
        problems += cut_cells(connections.view, free=NAME) + _sideways(connections.view)
    assert not problems, problems
    return pane


async def _feed(stack: contextlib.AsyncExitStack, ui: UiContext, large: bool) -> QWidget:
    opened = await _window(stack, ui, large=large)
    feed = opened.window.feed
    feed.select_call(feed.model.call_at(0).call_id)
    return await _show_tab(opened, feed, feed.table, Column.CONTACT)


async def _triggers(stack: contextlib.AsyncExitStack, ui: UiContext, large: bool) -> QWidget:
    opened = await _window(stack, ui, large=large)
    triggers = opened.window.triggers
    return await _show_tab(opened, triggers, triggers.table, COL_ACTIONS)


async def _recordings(stack: contextlib.AsyncExitStack, ui: UiContext, large: bool) -> QWidget:
    opened = await _window(stack, ui, large=large)
    recordings = opened.window.recordings
    opened.window.tabs.setCurrentWidget(recordings)
    task = recordings.search()
    assert task is not None
    await task
    await until(lambda: recordings.model.rowCount() > 0, "recordings found", 20)
    return await _show_tab(
        opened, recordings, recordings.results.table, RecordingResultsModel.CONTACT
    )


async def _doctor(stack: contextlib.AsyncExitStack, ui: UiContext, large: bool) -> QWidget:
    opened = await _window(stack, ui, large=large)
    doctor = opened.window.doctor
    opened.window.tabs.setCurrentWidget(doctor)
    task = doctor.run()
    assert task is not None
    await task
    doctor.table.select(CheckId.EXTENSION_RECORDING)
    return await _show_tab(opened, doctor, doctor.table, CheckTableModel.FINDING)


# The scenes the renderer runs, by name: each pane at both type sizes.
feed_scene = functools.partial(_feed, large=False)
feed_large_scene = functools.partial(_feed, large=True)
triggers_scene = functools.partial(_triggers, large=False)
triggers_large_scene = functools.partial(_triggers, large=True)
recordings_scene = functools.partial(_recordings, large=False)
recordings_large_scene = functools.partial(_recordings, large=True)
doctor_scene = functools.partial(_doctor, large=False)
doctor_large_scene = functools.partial(_doctor, large=True)


@pytest.mark.display
@pytest.mark.parametrize(
    "scene",
    [
        "feed_scene",
        "feed_large_scene",
        "triggers_scene",
        "triggers_large_scene",
        "recordings_scene",
        "recordings_large_scene",
        "doctor_scene",
        "doctor_large_scene",
    ],
)
def test_the_window_fits_its_text_at_1366_by_768(wide_display: XvfbDisplay, scene: str) -> None:
    png = render_fitting(wide_display, f"{__name__}:{scene}", f"fit-1366-{scene}", size="native")
    assert png_size(png) == SMALL_SCREEN  # nothing on screen widens the window
    assert distinct_colours(png) > 20
