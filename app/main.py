"""The composition root: builds the services and the window, then runs the qasync loop.

``pbx-companion`` with no command (or ``--demo``) lands here: ``app.cli.entry`` imports it when
it opens the window, and nothing else may (an import-linter contract). One thread: Qt and
asyncio share the qasync loop; blocking work goes through ``asyncio.to_thread``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sys
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from PySide6.QtWidgets import QApplication

    from app.services.demo import DemoPbx
    from app.services.logs.buffer import LogBuffer
    from app.ui.shell.main_window import MainWindow

log = logging.getLogger(__name__)

# How long start-up waits for the frame's first paint before it builds the panes anyway.
FIRST_PAINT_WAIT_S = 1.0


@dataclass(frozen=True)
class GuiOptions:
    demo: bool = False
    quit_after_s: float | None = None  # close the window after S seconds (smoke tests, demos)
    verbose: bool = False


def run_gui(options: GuiOptions) -> int:
    """Open the main window and run until it closes; returns the process exit code."""
    import qasync  # type: ignore[import-untyped]
    from PySide6.QtWidgets import QApplication

    from app.services.logs.buffer import configure_app_logging
    from app.ui.qt_logging import install_qt_message_handler
    from app.ui.shell.gui_gc import collect_on_gui_thread
    from app.ui.theme import app_icon

    app = QApplication.instance() or QApplication(sys.argv[:1])
    assert isinstance(app, QApplication)
    app.setApplicationName("PBX Companion")
    app.setOrganizationName("PBX Companion")
    app.setQuitOnLastWindowClosed(False)
    app.setWindowIcon(app_icon())
    buffer = configure_app_logging(logging.DEBUG if options.verbose else logging.INFO)
    install_qt_message_handler()
    collect_on_gui_thread(app)
    loop = qasync.QEventLoop(app)
    asyncio.set_event_loop(loop)
    try:
        with loop:
            code: int = loop.run_until_complete(_run(app, buffer, options))
            return code
    finally:
        asyncio.set_event_loop(None)


async def _run(app: object, buffer: object, options: GuiOptions) -> int:
    from PySide6.QtWidgets import QApplication

    from app.services.logs.buffer import LogBuffer
    from app.ui.shell.main_window import MainWindow
    from app.ui.theme import apply_theme

    assert isinstance(app, QApplication) and isinstance(buffer, LogBuffer)
    apply_theme(app)  # normal type until the settings say otherwise, after the first paint
    window = MainWindow()  # the frame alone: Qt only, so it paints at once
    closed = asyncio.Event()
    window.closed.connect(closed.set)
    await _show_and_paint(window)
    # Everything else (the services, the keyring, the settings, the panes) loads from here.
    if not await _populate(app, window, buffer) or closed.is_set():
        return 0
    demo = await _start_work(window, options)
    log.info("PBX Companion started%s", " in demo mode" if demo else "")
    if options.quit_after_s is not None:
        asyncio.get_running_loop().call_later(options.quit_after_s, window.close)
    await closed.wait()  # the window stops the demo PBX as it closes
    return 0


async def _show_and_paint(window: MainWindow) -> None:
    """Show the window and wait for its first paint (or FIRST_PAINT_WAIT_S, when the platform
    paints nothing, e.g. a minimised start): the panes are built on the turn after it."""
    painted = asyncio.Event()
    window.firstPainted.connect(painted.set)
    window.show()
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(painted.wait(), FIRST_PAINT_WAIT_S)


async def _populate(app: QApplication, window: MainWindow, buffer: LogBuffer) -> bool:
    """Open the store (settings file, keyring) and build the panes; False if the window was
    closed meanwhile."""
    from app.services.connections.store import ConnectionStore
    from app.ui.context import UiContext
    from app.ui.presenter import Presenter
    from app.ui.tasks import TaskKeeper
    from app.ui.theme import apply_theme

    store = await ConnectionStore.open()
    if not window.isVisible():
        return False
    settings = store.settings
    presenter = Presenter(enabled=settings.presenter_mode, large_type=settings.large_type)
    if presenter.large_type:
        apply_theme(app, large_type=True)
    presenter.changed.connect(lambda: apply_theme(app, large_type=presenter.large_type))
    ui = UiContext(presenter, TaskKeeper())
    window.populate(ui, store, buffer, feed_history_limit=settings.feed_history_limit)
    return True


async def _start_work(window: MainWindow, options: GuiOptions) -> DemoPbx | None:
    """The demo PBX, or the webhook receiver and the last connection; the demo if started."""
    from app.services.settings.file import parse_listen_address

    settings = window.store.settings
    demo = await window.start_demo() if options.demo else None
    if settings.webhook_listen and not options.demo:
        host, port = parse_listen_address(settings.webhook_listen)
        try:
            await window.start_webhook_receiver(host, port)
        except OSError as error:
            log.warning("Webhook receiver not started on %s: %s", settings.webhook_listen, error)
    elif settings.last_connection_id:
        window.connections.select(settings.last_connection_id)
    return demo
