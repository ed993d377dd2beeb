"""Python's cycle collector held off while a large input is read into many small objects.

A 1 GB bridge log keeps hundreds of thousands of events, and each collection of the oldest
generation walks every object still held: the collector runs again and again as the events
pile up, for cycles these readers never make (events, strings, dates and tuples only). Paused
for the read, it runs once after, as usual; reference counting still frees everything else.
"""

from __future__ import annotations

import functools
import gc
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import ParamSpec, TypeVar

_P = ParamSpec("_P")
_R = TypeVar("_R")


@contextmanager
def collection_paused() -> Iterator[None]:
    """No cycle collection inside the block (restored after, even on error).

    Another thread's pause may overlap: the collector comes back on only if it was on when
    this one began, so the last pause to end leaves it as it found it.
    """
    was_on = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_on:
            gc.enable()


def with_collection_paused(function: Callable[_P, _R]) -> Callable[_P, _R]:
    """``function``, called with the collector paused (same arguments, same result)."""

    @functools.wraps(function)
    def paused(*args: _P.args, **kwargs: _P.kwargs) -> _R:
        with collection_paused():
            return function(*args, **kwargs)

    return paused
