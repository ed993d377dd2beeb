"""The app's own log, kept in memory for the in-app view and written to a rotating file.

Records can arrive from any thread (``asyncio.to_thread`` workers log too), so the buffer is
guarded by a lock and its subscribers are told only that lines arrived: the view fetches them
on its own timer, on its own thread. Every line is redacted before it is stored.
"""

from __future__ import annotations

import collections
import itertools
import logging
import logging.handlers
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from app.services import paths
from app.services.logs.setup import LINE_FORMAT, REDACTOR, RedactingFormatter

DEFAULT_CAPACITY = 5_000
LOG_FILE_NAME = "pbx-companion.log"
LOG_FILE_MAX_BYTES = 1_000_000
LOG_FILE_BACKUPS = 5
VIEW_FORMAT = "%(asctime)s.%(msecs)03d %(levelname)-7s %(name)s: %(message)s"
VIEW_DATE_FORMAT = "%H:%M:%S"
# Libraries that log every request or frame at INFO/DEBUG: only their warnings are kept.
_CHATTY = ("httpx", "httpcore", "websockets", "hpack", "asyncio", "qasync")


@dataclass(frozen=True, slots=True)
class LogLine:
    seq: int  # increases by one per record, so a reader can ask for what it has not seen
    level: int
    logger: str
    text: str  # formatted and redacted; a traceback makes it several lines


Subscriber = Callable[[], None]


class LogBuffer(logging.Handler):
    """The last ``capacity`` records as redacted lines; subscribers hear that lines arrived."""

    def __init__(self, capacity: int = DEFAULT_CAPACITY, level: int = logging.NOTSET) -> None:
        super().__init__(level)
        if capacity < 1:
            raise ValueError("a log buffer holds at least one line")
        self.capacity = capacity
        self._lines: collections.deque[LogLine] = collections.deque(maxlen=capacity)
        self._seq = 0
        self._guard = threading.Lock()
        self._subscribers: list[Subscriber] = []
        # emit() redacts the formatted line whatever formatter is set.
        self.setFormatter(logging.Formatter(VIEW_FORMAT, VIEW_DATE_FORMAT))
        self.addFilter(REDACTOR)

    def emit(self, record: logging.LogRecord) -> None:
        try:
            text = REDACTOR.redact(self.format(record))
        except Exception:
            self.handleError(record)
            return
        with self._guard:
            self._seq += 1
            self._lines.append(LogLine(self._seq, record.levelno, record.name, text))
            subscribers = tuple(self._subscribers)
        # Outside the lock: a subscriber may read the buffer straight away.
        for notify in subscribers:
            try:
                notify()
            except Exception:  # a broken view must not break logging
                self.handleError(record)

    def subscribe(self, notify: Subscriber) -> Callable[[], None]:
        """Call ``notify()`` (on the logging thread) after each new line; returns unsubscribe."""
        with self._guard:
            self._subscribers.append(notify)

        def unsubscribe() -> None:
            with self._guard:
                if notify in self._subscribers:
                    self._subscribers.remove(notify)

        return unsubscribe

    def lines(self) -> list[LogLine]:
        with self._guard:
            return list(self._lines)

    def since(self, seq: int) -> list[LogLine]:
        """The lines after ``seq`` that are still held (older ones may have been dropped)."""
        with self._guard:
            if not self._lines or self._lines[-1].seq <= seq:
                return []
            first = self._lines[0].seq
            start = max(0, seq + 1 - first)
            return list(itertools.islice(self._lines, start, None))

    @property
    def last_seq(self) -> int:
        with self._guard:
            return self._seq

    def clear(self) -> None:
        with self._guard:
            self._lines.clear()


def log_file_path(folder: Path | None = None) -> Path:
    return (folder or paths.log_dir()) / LOG_FILE_NAME


def configure_app_logging(
    level: int = logging.INFO,
    *,
    folder: Path | None = None,
    capacity: int = DEFAULT_CAPACITY,
    max_bytes: int = LOG_FILE_MAX_BYTES,
    backups: int = LOG_FILE_BACKUPS,
) -> LogBuffer:
    """The desktop app's logging: warnings to stderr, everything at ``level`` to a rotating
    file under the log folder and to the in-memory buffer returned. Replaces root's handlers
    (closing any file this function opened before); every handler redacts."""
    path = log_file_path(folder)
    path.parent.mkdir(parents=True, exist_ok=True)
    root = logging.getLogger()
    for old in _installed:
        old.close()

    stderr = logging.StreamHandler(sys.stderr)
    stderr.setLevel(logging.WARNING)
    stderr.setFormatter(RedactingFormatter(LINE_FORMAT))
    rotating = logging.handlers.RotatingFileHandler(
        path, maxBytes=max_bytes, backupCount=backups, encoding="utf-8"
    )
    rotating.setFormatter(RedactingFormatter(LINE_FORMAT))
    buffer = LogBuffer(capacity)
    for handler in (stderr, rotating, buffer):
        if REDACTOR not in handler.filters:
            handler.addFilter(REDACTOR)
    _installed[:] = [stderr, rotating, buffer]
    root.handlers[:] = _installed
    root.setLevel(level)
    for name in _CHATTY:
        logging.getLogger(name).setLevel(max(level, logging.WARNING))
    return buffer


# The handlers the last configure_app_logging() installed, to close on reconfiguring.
_installed: list[logging.Handler] = []
