"""Render one UI scene in a real window on an X display and save a PNG of it.

Run as ``python -m tests.support.render_scene MODULE:FUNCTION OUT.png [--presenter] [--large]
[--dark] [--size WxH|native]`` with
``DISPLAY`` set and ``QT_QPA_PLATFORM=xcb``. The scene is ``async def scene(stack, ui) ->
QWidget``: it may start a simulator on ``stack`` (an AsyncExitStack closed afterwards) and
returns the widget to show once it has what it needs on screen.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import importlib
import os
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path

import qasync
from PySide6.QtWidgets import QApplication, QWidget

from app.ui.context import UiContext
from app.ui.presenter import Presenter
from app.ui.tasks import TaskKeeper
from app.ui.theme import SCHEME_ENV, apply_theme
from tests.support.cut_text import cut_text

Scene = Callable[[contextlib.AsyncExitStack, UiContext], Awaitable[QWidget]]
WINDOW_SIZE = (1200, 760)


def _load(target: str) -> Scene:
    module_name, _, function = target.partition(":")
    scene: Scene = getattr(importlib.import_module(module_name), function)
    return scene


async def _render(scene: Scene, out: Path, args: argparse.Namespace) -> None:
    presenter = Presenter(enabled=args.presenter)
    presenter.set_large_type(args.large)
    ui = UiContext(presenter, TaskKeeper())
    app = QApplication.instance()
    assert isinstance(app, QApplication)
    apply_theme(app, large_type=args.large)
    async with contextlib.AsyncExitStack() as stack:
        widget = await asyncio.wait_for(scene(stack, ui), timeout=60)
        if args.size != "native" and widget.parent() is None:
            width, _, height = args.size.partition("x")
            widget.resize(int(width), int(height))
        widget.show()
        widget.raise_()
        # Let layout, fonts and the first paint settle; awaiting runs Qt's events (qasync),
        # while processEvents() here would re-enter the loop under a running task.
        for _ in range(10):
            await asyncio.sleep(0.05)
        window = widget.window()
        if args.check_fit:
            for problem in cut_text(window):
                print(f"CUT: {problem}", file=sys.stderr)
        screen = window.screen()
        frame = window.frameGeometry()
        image = screen.grabWindow(0, frame.x(), frame.y(), frame.width(), frame.height())
        if image.isNull() or not image.save(str(out)):
            raise SystemExit(f"could not save the screenshot to {out}")
        aclose = getattr(widget, "aclose", None)
        if aclose is not None:
            await aclose()
        await ui.tasks.aclose()
        window.close()


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("scene")
    parser.add_argument("out", type=Path)
    parser.add_argument("--presenter", action="store_true")
    parser.add_argument("--large", action="store_true", help="Larger type")
    parser.add_argument("--dark", action="store_true", help="the OS asks for dark mode")
    parser.add_argument("--check-fit", action="store_true", help="report cut-off text")
    parser.add_argument("--size", default="x".join(map(str, WINDOW_SIZE)), help="WxH or native")
    args = parser.parse_args()
    if args.dark:
        os.environ[SCHEME_ENV] = "dark"
    app = QApplication(sys.argv[:1])
    app.setQuitOnLastWindowClosed(False)
    scene = _load(args.scene)
    loop = qasync.QEventLoop(app)
    with loop:
        loop.run_until_complete(_render(scene, args.out, args))
    return 0


if __name__ == "__main__":
    sys.exit(main())
