"""The demo window's Reconcile tab at 1366 x 768, normal and Larger type: the inputs, what
changed since the period's last run, the export buttons and what the last export did, the
summary, the ledger's columns fitted with nothing sideways, and the selected call's timeline.

The scenes return a child of the window so the renderer keeps the window's own size.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import tempfile
from datetime import timedelta
from pathlib import Path

import pytest
from PySide6.QtCore import QDate
from PySide6.QtWidgets import QApplication, QWidget

from app.domain.clock import utc_now
from app.domain.reconcile.records import CallState
from app.ui.connections.model import NAME
from app.ui.context import UiContext
from app.ui.reconcile.model import LedgerModel
from app.ui.theme import apply_theme
from tests.support.screenshots import distinct_colours, png_size, render_fitting
from tests.support.xvfb import XvfbDisplay
from tests.ui.feed.fit_checks import cut_cells
from tests.ui.feed.test_fit_screens import SMALL_SCREEN
from tests.ui.shell.test_main_window import open_window

DAYS = 7


async def _reconcile(stack: contextlib.AsyncExitStack, ui: UiContext, large: bool) -> QWidget:
    opened = await open_window(stack, ui)
    app = QApplication.instance()
    assert isinstance(app, QApplication)
    ui.presenter.set_large_type(large)
    apply_theme(app, large_type=large)  # as app.main does on the presenter's change
    opened.window.resize(*SMALL_SCREEN)
    folder = Path(stack.enter_context(tempfile.TemporaryDirectory()))
    opened.demo.sim.bridge_playback(("demo",), days=DAYS).write(folder)
    pane = opened.window.reconcile
    opened.window.tabs.setCurrentWidget(pane)
    pane.form.set_crm_path(folder / "crm-activities.csv")
    pane.form.add_bridge_log(folder / "bridge.log")
    # Whole past days, run twice: the second run says what changed since the first.
    today = utc_now().astimezone(pane.model.hours.zone).date()
    for edit, days in ((pane.form.from_date, DAYS), (pane.form.to_date, 1)):
        day = today - timedelta(days=days)
        edit.setDate(QDate(day.year, day.month, day.day))
    for _ in range(2):
        task = pane.run()
        assert task is not None, pane.error_label.text()
        await asyncio.wait_for(task, 60)
        assert pane.result is not None, pane.error_label.text()
        if pane.keep_task is not None:
            await asyncio.wait_for(pane.keep_task, 60)
    said = pane.run_actions.changes_label.text()
    assert said.startswith("Since the last run of this period"), said
    written = await pane.write_report_to(folder / "ledger-report.json")  # the outcome line
    assert written is not None, pane.run_actions.outcome_label.text()
    late = next(e for e in pane.model.entries if e.state is CallState.NO_RECORDING)
    pane.select_call(late.call.call_id)
    await asyncio.sleep(0.5)
    table = pane.table
    problems = cut_cells(table, free=LedgerModel.EVIDENCE)
    if table.horizontalScrollBar().maximum() > 0:
        problems.append("the ledger scrolls sideways")
    connections = opened.window.connections
    if connections.isVisible():  # Larger type on a laptop screen hides the list
        problems += cut_cells(connections.view, free=NAME)
    assert not problems, problems
    return pane


reconcile_scene = functools.partial(_reconcile, large=False)
reconcile_large_scene = functools.partial(_reconcile, large=True)


@pytest.mark.display
@pytest.mark.parametrize("scene", ["reconcile_scene", "reconcile_large_scene"])
def test_the_reconcile_tab_fits_its_text_at_1366_by_768(
    wide_display: XvfbDisplay, scene: str
) -> None:
    png = render_fitting(wide_display, f"{__name__}:{scene}", f"fit-1366-{scene}", size="native")
    assert png_size(png) == SMALL_SCREEN  # nothing on screen widens the window
    assert distinct_colours(png) > 20
