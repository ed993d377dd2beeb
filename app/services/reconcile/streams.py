"""An iterator over what a streamed file gives, that closes the file when done or told to."""

from __future__ import annotations

from collections.abc import Callable, Generator, Iterator
from types import TracebackType
from typing import Generic, Self, TypeVar

T = TypeVar("T")


class ClosingStream(Iterator[T], Generic[T]):
    """Items read on demand; closes its file at the end, on ``close()`` or leaving a ``with``.

    The file is opened before the first item is asked for (so opening fails where the reader
    is made), which a generator alone cannot promise to close if it is never started.
    """

    def __init__(self, items: Generator[T], close: Callable[[], None]) -> None:
        self._items = items
        self._close = close

    def __next__(self) -> T:
        return next(self._items)

    def close(self) -> None:
        self._items.close()
        self._close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.close()
