"""The tasks one pane has started: a strong reference to each until it is done, a hook when
one finishes, and one call to cancel them all."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

from app.ui.tasks import TaskKeeper

T = TypeVar("T")


class PaneTasks:
    def __init__(
        self, keeper: TaskKeeper, on_finished: Callable[[asyncio.Task[Any]], None]
    ) -> None:
        self._keeper = keeper
        self._on_finished = on_finished
        self._tasks: set[asyncio.Task[Any]] = set()

    def start(self, coro: Coroutine[Any, Any, T], name: str) -> asyncio.Task[T]:
        task = self._keeper.start(coro, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._finished)
        return task

    def _finished(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        self._on_finished(task)

    def cancel_all(self) -> list[asyncio.Task[Any]]:
        """Cancel every task still running; the caller may await them."""
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        return tasks

    def __len__(self) -> int:
        return len(self._tasks)
