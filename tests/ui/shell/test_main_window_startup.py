"""Start-up paints the window's frame first and builds the panes after that first paint."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from PySide6.QtCore import QEvent, QObject
from PySide6.QtWidgets import QApplication, QTabWidget

from app import main as app_main
from app.services.connections.store import ConnectionStore
from app.services.logs.buffer import LogBuffer
from app.ui.context import UiContext
from app.ui.shell.main_window import MainWindow
from tests.support.waiting import until


class _FirstPaint(QObject):
    """Notes the first paint of any widget in the main window, as build/bench_startup.py."""

    def __init__(self) -> None:
        super().__init__()
        self.painted = False

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if (
            event.type() == QEvent.Type.Paint
            and watched.isWidgetType()
            and watched.window().objectName() == "mainWindow"  # type: ignore[attr-defined]
        ):
            self.painted = True
        return False


async def _close(window: MainWindow) -> None:
    window.close()
    await until(lambda: not window.isVisible(), "the window to close")


async def test_the_frame_paints_with_no_pane_built_and_populate_builds_them(
    ui: UiContext,
) -> None:
    window = MainWindow()
    painted: list[bool] = []
    window.firstPainted.connect(lambda: painted.append(window.populated))
    window.show()
    try:
        await until(lambda: painted, "the frame's first paint")
        assert painted == [False]
        assert window.findChild(QTabWidget) is None and window.panes == []
        assert not window.setup_action.isEnabled() and not window.doctor_action.isEnabled()

        window.populate(ui, await ConnectionStore.open(), LogBuffer())
        assert window.populated and len(window.panes) == 6
        assert window.central.currentWidget() is window.work_page
        assert window.tabs.currentWidget() is window.feed
        assert window.setup_action.isEnabled() and window.doctor_action.isEnabled()
    finally:
        await _close(window)


async def test_a_frame_closed_before_its_panes_are_built_closes_cleanly() -> None:
    window = MainWindow()
    closed = asyncio.Event()
    window.closed.connect(closed.set)
    window.show()
    window.close()
    await asyncio.wait_for(closed.wait(), 10)
    assert not window.isVisible() and not window.populated


def test_the_window_takes_its_context_store_and_log_together_or_not_at_all(
    ui: UiContext,
) -> None:
    with pytest.raises(TypeError):
        MainWindow(ui)


async def test_start_up_builds_the_panes_on_a_painted_frame(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    app = QApplication.instance()
    assert isinstance(app, QApplication)
    watcher = _FirstPaint()
    painted_before_populate: list[bool] = []
    populate = MainWindow.populate

    def recording_populate(window: MainWindow, *args: object, **kwargs: object) -> None:
        painted_before_populate.append(watcher.painted)
        populate(window, *args, **kwargs)  # type: ignore[arg-type]
        window.close()  # start-up is all this test is about

    monkeypatch.setattr(MainWindow, "populate", recording_populate)
    app.installEventFilter(watcher)
    window = MainWindow()
    try:
        window.show()
        await until(lambda: watcher.painted, "the frame's first paint")
        code = await app_main._run(app, window, LogBuffer(), app_main.GuiOptions())
    finally:
        app.removeEventFilter(watcher)
    assert code == 0
    assert painted_before_populate == [True] and window.populated


# A child process starts the app as ``pbx-companion`` does and, at the main window's first
# paint, says which of the heavy modules were already loaded (start-up defers them all).
_CHILD = r"""
import json, os, sys
from PySide6.QtCore import QEvent, QObject
from PySide6.QtWidgets import QApplication

app = QApplication(sys.argv[:1])
HEAVY = ("asyncio", "qasync", "httpx", "keyring", "phonenumbers", "platformdirs",
         "app.services.connections.store", "app.ui.feed.pane", "app.ui.doctor.pane")

class FirstPaint(QObject):
    def eventFilter(self, obj, event):
        if (event.type() == QEvent.Type.Paint and obj.isWidgetType()
                and obj.window().objectName() == "mainWindow"):
            print(json.dumps({name: name in sys.modules for name in HEAVY}), flush=True)
            os._exit(0)
        return False

watcher = FirstPaint()
app.installEventFilter(watcher)
from app.cli.entry import main
main(["--demo-seconds", "5"])
"""


def test_the_first_paint_comes_before_asyncio_the_services_and_the_panes_load(
    tmp_path: Path,
) -> None:
    env = {**os.environ, "PBX_COMPANION_HOME": str(tmp_path)}
    env.setdefault("QT_QPA_PLATFORM", "offscreen")
    done = subprocess.run(
        [sys.executable, "-c", _CHILD], capture_output=True, text=True, env=env, timeout=60
    )
    assert done.returncode == 0, done.stderr
    loaded = json.loads(done.stdout.strip().splitlines()[-1])
    assert loaded == dict.fromkeys(loaded, False)
    assert len(loaded) == 9
