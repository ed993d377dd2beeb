"""The Reconcile inputs at 1366 x 768, normal and Larger type: the form with a pasted log and a
chosen clock, and the CRM columns and paste dialogs over it, none of them cutting its text.

The scenes return a child of the window (or the dialog) so the renderer keeps their own size.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import tempfile
from pathlib import Path

import pytest
from PySide6.QtWidgets import QApplication, QWidget

from app.ui.context import UiContext
from app.ui.reconcile.pane import ReconcilePane
from app.ui.theme import apply_theme
from tests.support.screenshots import distinct_colours, png_size, render_fitting
from tests.support.xvfb import XvfbDisplay
from tests.ui.feed.test_fit_screens import SMALL_SCREEN, wide_display  # noqa: F401 (a fixture)
from tests.ui.reconcile.bridge_played import relabelled
from tests.ui.shell.test_main_window import open_window


async def _inputs(stack: contextlib.AsyncExitStack, ui: UiContext, large: bool) -> ReconcilePane:
    opened = await open_window(stack, ui)
    app = QApplication.instance()
    assert isinstance(app, QApplication)
    ui.presenter.set_large_type(large)
    apply_theme(app, large_type=large)
    opened.window.resize(*SMALL_SCREEN)
    folder = Path(stack.enter_context(tempfile.TemporaryDirectory()))
    opened.demo.sim.bridge_playback(("demo",), days=7).write(folder)
    pane = opened.window.reconcile
    opened.window.tabs.setCurrentWidget(pane)
    form = pane.form
    form.set_crm_path(relabelled(folder / "crm-activities.csv", folder / "other-crm.csv"))
    form.add_bridge_log(folder / "bridge.log")
    lines = (folder / "bridge.log").read_text(encoding="utf-8").splitlines()[:6]
    form.add_pasted_log("\n".join([*lines, "a line the terminal wrapped"]))
    form.crm_zone.setEditText("UTC")
    assert form.columns_task is not None
    await asyncio.wait_for(form.columns_task, 30)
    await asyncio.wait_for(form.count_tasks[-1], 30)
    return pane


async def _form_scene(stack: contextlib.AsyncExitStack, ui: UiContext, large: bool) -> QWidget:
    return await _inputs(stack, ui, large)


async def _columns_scene(stack: contextlib.AsyncExitStack, ui: UiContext, large: bool) -> QWidget:
    form = (await _inputs(stack, ui, large)).form
    form.open_columns()
    assert form.columns_task is not None
    await asyncio.wait_for(form.columns_task, 30)
    dialog = form.open_dialog
    assert dialog is not None
    # The engineer corrects the number and leaves nothing to match by for a moment: the
    # message shows too, so its room is checked.
    dialog.editor.select(dialog.editor.combos["phone"], None)  # type: ignore[union-attr]
    return dialog


async def _paste_scene(stack: contextlib.AsyncExitStack, ui: UiContext, large: bool) -> QWidget:
    form = (await _inputs(stack, ui, large)).form
    form.open_paste()
    dialog = form.open_dialog
    assert dialog is not None
    dialog.set_text(form.pasted_logs[0])  # type: ignore[union-attr]
    return dialog


form_scene = functools.partial(_form_scene, large=False)
form_large_scene = functools.partial(_form_scene, large=True)
columns_scene = functools.partial(_columns_scene, large=False)
columns_large_scene = functools.partial(_columns_scene, large=True)
paste_scene = functools.partial(_paste_scene, large=False)


@pytest.mark.display
@pytest.mark.parametrize(
    "scene",
    ["form_scene", "form_large_scene", "columns_scene", "columns_large_scene", "paste_scene"],
)
def test_the_reconcile_inputs_fit_their_text_at_1366_by_768(
    wide_display: XvfbDisplay,  # noqa: F811 (the fixture)
    scene: str,
) -> None:
    png = render_fitting(wide_display, f"{__name__}:{scene}", f"reconcile-inputs-{scene}")
    width, height = png_size(png)
    if scene.startswith("form"):
        assert (width, height) == SMALL_SCREEN  # nothing in the form widens the window
    else:
        assert width <= SMALL_SCREEN[0] and height <= SMALL_SCREEN[1]
    assert distinct_colours(png) > 20
