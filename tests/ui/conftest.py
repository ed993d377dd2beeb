"""UI tests run offscreen on the qasync loop, so awaiting in a test also runs Qt's events.

Every async test under tests/ui gets a ``qasync.QEventLoop`` (pytest-asyncio's loop-factory
hook), like the real app. ``ui`` is a fresh presenter and task keeper; ``session`` is a
``PbxSession`` on a TLS simulator with no background traffic.

Qt's own messages reach ``logging`` through the app's handler (the "qt" logger), so a Qt warning
fails the test like any other (tests/support/unexpected_logs.py). A test that leaves a QTimer
or a QThread running, or the global QThreadPool busy, fails at teardown
(tests/support/qt_leaks.py); Python threads are checked for every test in tests/conftest.py.
"""

from __future__ import annotations

import gc
import os
from collections.abc import AsyncIterator, Iterator

import pytest
import qasync
from PySide6.QtCore import QEvent
from PySide6.QtWidgets import QApplication

from app.domain.connection import ConnectionProfile
from app.services.session import PbxSession
from app.sim import Simulator
from app.ui.context import UiContext
from app.ui.presenter import Presenter
from app.ui.qt_logging import install_qt_message_handler, uninstall_qt_message_handler
from app.ui.tasks import TaskKeeper
from tests.conftest import SimFactory
from tests.support.qt_leaks import QtMade, running_qt_work, tracking_qt_objects, visible_timers

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


def _qt_loop() -> qasync.QEventLoop:
    app = QApplication.instance() or QApplication(["pytest"])
    assert isinstance(app, QApplication)
    return qasync.QEventLoop(app, already_running=False)


def pytest_asyncio_loop_factories(config: pytest.Config, item: pytest.Item) -> dict[str, object]:
    return {"qt": _qt_loop}


# Threads get this long to finish after the test before they count as left running.
_THREAD_GRACE_MS = 2000


@pytest.fixture(scope="session", autouse=True)
def _qt_made() -> Iterator[QtMade]:
    with tracking_qt_objects() as made:
        yield made


@pytest.fixture(autouse=True)
def _qt_messages_into_logging() -> Iterator[None]:
    """The app's route for Qt's messages, installed over pytest-qt's capture for the test (a
    fixture, so it nests inside pytest-qt's own install and uninstall around each test)."""
    install_qt_message_handler()
    yield
    uninstall_qt_message_handler()


@pytest.fixture(autouse=True)
def _delete_windows_then_collect_garbage(_qt_made: QtMade) -> Iterator[None]:
    """Windows a test leaves open are deleted by Qt, in Qt's order (deleteLater), and only
    then are Python's cycles collected, here on the GUI thread. Left to the collector, a
    window's wrapper can be freed at any later moment (even in an asyncio.to_thread worker),
    deleting widgets out of order or off-thread: a crash.

    Then whatever Qt work still runs fails the test: once the test's windows are gone, a timer
    still active is held by something that outlives the test and fires in the next one."""
    app = QApplication.instance()
    before = visible_timers(app) if isinstance(app, QApplication) else set()
    _qt_made.forget()
    yield
    app = QApplication.instance()
    if app is not None:
        for window in app.topLevelWidgets():
            window.close()
            window.deleteLater()
        # Only deferred deletes: running all events here would run qasync callbacks outside
        # the loop.
        app.sendPostedEvents(None, QEvent.Type.DeferredDelete)
    gc.collect()
    problems = (
        running_qt_work(app, _qt_made, before, _THREAD_GRACE_MS)
        if isinstance(app, QApplication)
        else []
    )
    _qt_made.forget()
    # What survived is the session's long-lived state: freezing it keeps the next full collection
    # to this test's objects (without it, each one walked the whole heap: ~2 s late in a run).
    gc.freeze()
    if problems:
        pytest.fail("test left Qt work running:\n  " + "\n  ".join(problems), pytrace=False)


@pytest.fixture
async def ui() -> AsyncIterator[UiContext]:
    context = UiContext(Presenter(), TaskKeeper())
    yield context
    await context.tasks.aclose()


def profile_for(
    sim: Simulator, name: str = "Simulated PBX", **changes: object
) -> ConnectionProfile:
    fields: dict[str, object] = {
        "id": "sim-" + sim.url.rsplit(":", 1)[-1],
        "name": name,
        "customer": "Harbour Dental (simulated)",
        "url": sim.url,
        "client_id": sim.client_id,
        "ca_file": sim.ca_file,
        "version": sim.version,
    }
    fields.update(changes)
    return ConnectionProfile(**fields)  # type: ignore[arg-type]


@pytest.fixture
async def sim(make_sim: SimFactory) -> Simulator:
    return await make_sim(tls=True)


@pytest.fixture
async def session(sim: Simulator) -> AsyncIterator[PbxSession]:
    opened = PbxSession(profile_for(sim), sim.client_secret, poll_interval_s=0.5)
    yield opened
    await opened.aclose()
