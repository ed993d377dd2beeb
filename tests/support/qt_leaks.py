"""Qt timers and threads a UI test leaves running, like napari's dangling-timer fixtures.

Qt has no list of every QObject, so the check looks where it can look reliably:

- every QTimer and QThread *made from Python* during the test (their constructors are wrapped
  for the session, so a timer parented to a model or presenter outside any widget tree is seen
  too); each is held weakly, never keeping alive one the test has dropped;
- every QTimer among the children of the QApplication and of widgets still alive, minus those
  that were there before the test;
- the global QThreadPool's active threads.

Not seen: ``QTimer.singleShot`` (Qt gives no handle to a pending one) and timers started from
C++ by Qt itself (its internal ones are QBasicTimers and die with their widgets).
"""

from __future__ import annotations

import sys
import time
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import shiboken6
from PySide6.QtCore import QThread, QThreadPool, QTimer
from PySide6.QtWidgets import QApplication


def _caller() -> str:
    # Two frames up: past the wrapper, to the line that made the object.
    frame = sys._getframe(2)
    return f"{frame.f_code.co_filename}:{frame.f_lineno}"


def _describe(obj: QTimer | QThread) -> str:
    name = type(obj).__name__
    if obj.objectName():
        name += f" {obj.objectName()!r}"
    parent = obj.parent()
    return f"{name} (parent: {type(parent).__name__ if parent is not None else 'none'})"


@dataclass
class QtMade:
    """The QTimers and QThreads made since the last ``forget()``, with where they were made."""

    timers: list[tuple[weakref.ref[QTimer], str]] = field(default_factory=list)
    threads: list[tuple[weakref.ref[QThread], str]] = field(default_factory=list)

    def forget(self) -> None:
        self.timers.clear()
        self.threads.clear()


@contextmanager
def tracking_qt_objects() -> Iterator[QtMade]:
    """Wrap the constructors of QTimer and QThread (subclasses' too, through super()).

    The constructor, not ``start``: a signal connected to ``timer.start`` passes its arguments
    on only as far as the slot's signature takes them, which a wrapper would change.
    """
    made = QtMade()
    timer_init = QTimer.__init__
    thread_init = QThread.__init__

    def init_timer(self: QTimer, *args: Any, **kwargs: Any) -> None:
        timer_init(self, *args, **kwargs)
        made.timers.append((weakref.ref(self), _caller()))

    def init_thread(self: QThread, *args: Any, **kwargs: Any) -> None:
        thread_init(self, *args, **kwargs)
        made.threads.append((weakref.ref(self), _caller()))

    QTimer.__init__ = init_timer  # type: ignore[method-assign]
    QThread.__init__ = init_thread  # type: ignore[method-assign]
    try:
        yield made
    finally:
        QTimer.__init__ = timer_init  # type: ignore[method-assign]
        QThread.__init__ = thread_init  # type: ignore[method-assign]


def visible_timers(app: QApplication) -> set[QTimer]:
    """Active QTimers among the children of the application and of every live widget."""
    found = set(app.findChildren(QTimer))
    for widget in app.allWidgets():
        found.update(widget.findChildren(QTimer))
    return {timer for timer in found if timer.isActive()}


def running_qt_work(
    app: QApplication, made: QtMade, before: set[QTimer], grace_ms: int
) -> list[str]:
    """What still runs; each running timer found is stopped so it cannot fire into the next test.

    Threads get ``grace_ms`` to finish first (one bound shared by all of them).
    """
    problems: list[str] = []
    timers: dict[QTimer, str] = {}
    for ref, where in made.timers:
        timer = ref()
        if timer is not None and shiboken6.isValid(timer) and timer.isActive():
            timers.setdefault(timer, f"made at {where}")
    for timer in visible_timers(app) - before:
        timers.setdefault(timer, "made before the test or by Qt")
    for timer, where in timers.items():
        problems.append(
            f"QTimer still active: {_describe(timer)}, every {timer.interval()} ms, {where}"
        )
        timer.stop()

    deadline = time.monotonic() + grace_ms / 1000
    for thread_ref, where in made.threads:
        thread = thread_ref()
        if thread is None or not shiboken6.isValid(thread) or not thread.isRunning():
            continue
        thread.wait(max(0, int((deadline - time.monotonic()) * 1000)))
        if thread.isRunning():
            problems.append(f"QThread still running: {_describe(thread)}, made at {where}")

    pool = QThreadPool.globalInstance()
    if pool.activeThreadCount() and not pool.waitForDone(grace_ms):
        problems.append(
            f"QThreadPool.globalInstance() still has {pool.activeThreadCount()} active threads"
        )
    return problems
