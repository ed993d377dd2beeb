"""Waiting for something to become true in a test, with a deadline instead of a fixed sleep."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

POLL_S = 0.02

T = TypeVar("T")


async def until(
    condition: Callable[[], object],
    what: str | Callable[[], str] = "the condition",
    seconds: float = 10.0,
) -> None:
    """Return once ``condition()`` is truthy; fail naming ``what`` after ``seconds``.

    ``what`` may be a callable, read only on failure, to report the state reached by then.
    """
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    while not condition():
        if loop.time() > deadline:
            text = what() if callable(what) else what
            raise AssertionError(f"timed out after {seconds:g} s waiting for {text}")
        await asyncio.sleep(POLL_S)


async def within(awaitable: Awaitable[T], what: str, seconds: float = 10.0) -> T:
    """Await ``awaitable`` (e.g. an event the simulator sets); fail naming ``what`` if it
    takes longer than ``seconds``."""
    deadline = asyncio.timeout(seconds)
    try:
        async with deadline:
            return await awaitable
    except TimeoutError:
        if not deadline.expired():
            raise  # the awaitable's own timeout, not ours
        raise AssertionError(f"timed out after {seconds:g} s waiting for {what}") from None
