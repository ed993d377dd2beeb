"""A cancelled reconciliation stops its reading threads too, not only the task that awaited
them.

``asyncio.to_thread`` cannot stop a thread: cancelling the run's task left a 1 GB bridge log
being read (and its counting worker process running) to the end. ``in_thread`` runs a reader
with a stop flag in the thread's context (``to_thread`` copies the caller's contextvars), sets
it when the awaiting task is cancelled, and the readers call ``check_stop()`` once per block of
lines or rows: the thread raises ``ReadStopped`` there, its files close and its worker stops.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Callable, Iterator
from contextvars import ContextVar
from typing import ParamSpec, TypeVar

P = ParamSpec("P")
R = TypeVar("R")

_STOP: ContextVar[threading.Event | None] = ContextVar("reconcile_stop", default=None)


class ReadStopped(Exception):
    """The reconciliation was cancelled: the reader gave up where it was."""


def check_stop() -> None:
    """Raise ``ReadStopped`` if this thread's run was cancelled (cheap: call once a block)."""
    event = _STOP.get()
    if event is not None and event.is_set():
        raise ReadStopped("the reconciliation was cancelled")


@contextlib.contextmanager
def stopping_when(event: threading.Event) -> Iterator[None]:
    """Readers called inside (and threads started by ``to_thread`` inside) stop once
    ``event`` is set."""
    token = _STOP.set(event)
    try:
        yield
    finally:
        _STOP.reset(token)


async def in_thread(function: Callable[P, R], /, *args: P.args, **kwargs: P.kwargs) -> R:
    """``asyncio.to_thread(function, ...)``, stopped at its next ``check_stop()`` when the
    awaiting task is cancelled."""
    event = threading.Event()
    with stopping_when(event):
        try:
            return await asyncio.to_thread(function, *args, **kwargs)
        except asyncio.CancelledError:
            event.set()
            raise
