"""The composition root: builds the services and the window, then runs the qasync loop.

``pbx-companion`` with no command (or ``--demo``) lands here: ``app.cli.entry`` imports it when
it opens the window, and nothing else may (an import-linter contract). One thread: Qt and
asyncio share the qasync loop; blocking work goes through ``asyncio.to_thread``.
"""

from __future__ import annotations

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
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance() or QApplication(sys.argv[:1])
    assert isinstance(app, QApplication)
    window = open_frame(app)
    # Everything else loads after the first paint: asyncio and qasync, the app's logging,
    # the services, the keyring, the settings and the panes.
    import asyncio

    import qasync  # type: ignore[import-untyped]

    from app.services.logs.buffer import configure_app_logging
    from app.ui.qt_logging import install_qt_message_handler
    from app.ui.shell.gui_gc import collect_on_gui_thread
    from app.ui.theme import app_icon

    app.setWindowIcon(app_icon())
    buffer = configure_app_logging(logging.DEBUG if options.verbose else logging.INFO)
    install_qt_message_handler()
    collect_on_gui_thread(app)
    loop = qasync.QEventLoop(app)
    asyncio.set_event_loop(loop)
    try:
        with loop:
            code: int = loop.run_until_complete(_run(app, window, buffer, options))
            return code
    finally:
        asyncio.set_event_loop(None)


def open_frame(app: QApplication) -> MainWindow:
    """The window's frame, shown and painted before anything else loads (start-up time).

    Qt's own loop runs until the first paint (or FIRST_PAINT_WAIT_S, when the platform paints
    nothing, e.g. a minimised start). No asyncio loop exists yet, so this loop nests in
    nothing; the panes are built once qasync's loop runs."""
    from PySide6.QtCore import QEventLoop, QTimer

    from app.ui.shell.main_window import MainWindow
    from app.ui.theme import apply_theme

    app.setApplicationName("PBX Companion")
    app.setOrganizationName("PBX Companion")
    app.setQuitOnLastWindowClosed(False)
    apply_theme(app)  # normal type until the settings say otherwise, after the first paint
    window = MainWindow()  # the frame alone: Qt only, so it paints at once

    waiting = QEventLoop()
    give_up = QTimer(waiting, singleShot=True, interval=int(FIRST_PAINT_WAIT_S * 1000))
    give_up.timeout.connect(waiting.quit)
    window.firstPainted.connect(waiting.quit)
    give_up.start()
    window.show()
    waiting.exec()
    give_up.stop()
    window.firstPainted.disconnect(waiting.quit)
    return window


async def _run(app: object, window: MainWindow, buffer: object, options: GuiOptions) -> int:
    import asyncio

    from PySide6.QtWidgets import QApplication

    from app.services.logs.buffer import LogBuffer

    assert isinstance(app, QApplication) and isinstance(buffer, LogBuffer)
    closed = asyncio.Event()
    window.closed.connect(closed.set)
    # The services, the keyring, the settings and the panes load from here.
    if not await _populate(app, window, buffer) or closed.is_set():
        return 0
    demo = await _start_work(window, options)
    log.info("PBX Companion started%s", " in demo mode" if demo else "")
    if options.quit_after_s is not None:
        asyncio.get_running_loop().call_later(options.quit_after_s, window.close)
    await closed.wait()  # the window stops the demo PBX as it closes
    return 0


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
