"""Waiting for something to become true in a test, with a deadline instead of a fixed sleep."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

POLL_S = 0.02


async def until(
    condition: Callable[[], object], what: str = "the condition", seconds: float = 10.0
) -> None:
    """Return once ``condition()`` is truthy; fail naming ``what`` after ``seconds``."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    while not condition():
        if loop.time() > deadline:
            raise AssertionError(f"timed out after {seconds:g} s waiting for {what}")
        await asyncio.sleep(POLL_S)
