"""A bridge's log, pasted or as a file, read into the events reconciliation joins to calls.

The log is streamed: a file is read one line at a time (a 1 GB log costs one line and the
events the caller keeps), gzip-compressed rotations are read as they are, and a line longer
than ``MAX_LINE_CHARS`` is read in pieces of which only the first is kept. Nothing in the
content is fatal: bad UTF-8 is replaced, a line that says nothing readable is counted and the
first few are kept as examples. Only a file that cannot be opened raises ``BridgeLogError``.
Every kept text is shortened and has its secrets removed (``redaction``).
"""

from __future__ import annotations

import gzip
import io
import os
from collections.abc import Callable, Generator, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import tzinfo
from typing import BinaryIO

from app.domain.reconcile.records import BridgeEvent
from app.services.reconcile.bridge_log_lines import LineFacts, LogFormat, read_line
from app.services.reconcile.redaction import redact, shown
from app.services.reconcile.streams import ClosingStream

MAX_LINE_CHARS = 64 * 1024  # longer lines are a dump, not a log line: only this much is read
TEXT_CHARS = 300  # an event's text, as the timeline shows it
MAX_PATH_CHARS = 500
EXAMPLES_KEPT = 5
EXAMPLE_CHARS = 160
PASTED = "pasted log"
_GZIP = b"\x1f\x8b"
_UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")
_PROGRESS_LINES = 4096  # how often the bytes read are brought up to date

BridgeLogSource = str | os.PathLike[str] | Iterable[str]


class BridgeLogError(Exception):
    """The log file cannot be opened; the message names it and says why."""


@dataclass(frozen=True)
class UnreadableLine:
    line: int  # 1-based
    text: str  # shortened, secrets removed


@dataclass
class BridgeLogCounts:
    """What a read of one log has found so far: updated while its events are read."""

    source: str  # the file's name, or PASTED
    size: int | None = None  # the file's bytes (compressed, for a .gz), for progress
    bytes_read: int = 0
    lines: int = 0  # every line, blank ones included
    events: int = 0  # lines about a call, a recording or an HTTP exchange
    other: int = 0  # readable lines about none of those ("bridge started")
    unreadable: int = 0
    examples: list[UnreadableLine] = field(default_factory=list)  # the first EXAMPLES_KEPT
    formats: dict[LogFormat, int] = field(default_factory=dict)  # readable lines per format

    def unreadable_summary(self) -> str | None:
        """One sentence for the engineer, or None when every line could be read."""
        if not self.unreadable:
            return None
        where = ", ".join(str(example.line) for example in self.examples)
        more = " and more" if self.unreadable > len(self.examples) else ""
        noun = "line" if self.unreadable == 1 else "lines"
        return (
            f"{self.unreadable:,} {noun} of {self.source} could not be read (no time, call id or "
            f"HTTP status found): line {where}{more}."
        )


@dataclass(frozen=True)
class BridgeLogRead:
    events: tuple[BridgeEvent, ...]
    counts: BridgeLogCounts


class BridgeEvents(ClosingStream[BridgeEvent]):
    """The log's events, one at a time, with ``counts`` up to date as they are read."""

    def __init__(
        self, events: Generator[BridgeEvent], counts: BridgeLogCounts, file: BinaryIO | None
    ) -> None:
        super().__init__(events, file.close if file is not None else _nothing)
        self.counts = counts


def iter_bridge_events(source: BridgeLogSource, *, zone: tzinfo) -> BridgeEvents:
    """The events of a log file (a path) or of pasted text (an iterable of lines).

    ``zone`` is the bridge host's: times written without a zone are read in it. Opening a file
    happens now, so a missing file raises ``BridgeLogError`` here, not on the first event.
    """
    if isinstance(source, str | os.PathLike):
        file, name = _open(source)
        counts = BridgeLogCounts(name, size=_size(file))
        return BridgeEvents(_events(_file_lines(file, counts), zone, counts), counts, file)
    counts = BridgeLogCounts(PASTED)
    return BridgeEvents(_events(_pasted_lines(source), zone, counts), counts, None)


def read_bridge_log(
    source: BridgeLogSource,
    *,
    zone: tzinfo,
    keep: Callable[[BridgeEvent], bool] | None = None,
) -> BridgeLogRead:
    """Every event of the log (or those ``keep`` accepts), and the counts (blocking).

    For a large log pass ``keep`` (the period's call and recording ids) so only the events
    that matter are held, or read ``iter_bridge_events`` directly.
    """
    with iter_bridge_events(source, zone=zone) as events:
        kept = tuple(event for event in events if keep is None or keep(event))
        return BridgeLogRead(kept, events.counts)


def _events(lines: Iterator[str], zone: tzinfo, counts: BridgeLogCounts) -> Generator[BridgeEvent]:
    for number, text in enumerate(lines, 1):
        counts.lines = number
        if not text.strip():
            continue
        kind, facts = read_line(text, zone)
        if facts.readable:
            counts.formats[kind] = counts.formats.get(kind, 0) + 1
        if facts.about_a_call:
            counts.events += 1
            yield _event(number, text, facts)
        elif facts.readable:
            counts.other += 1
        else:
            counts.unreadable += 1
            if len(counts.examples) < EXAMPLES_KEPT:
                counts.examples.append(UnreadableLine(number, shown(text, EXAMPLE_CHARS)))


def _event(number: int, text: str, facts: LineFacts) -> BridgeEvent:
    path = facts.path
    if path is not None:
        path = path[:MAX_PATH_CHARS]
        # A path carries a secret only in its parameters (?key=, ;jsessionid=).
        path = redact(path) if "?" in path or ";" in path else path
    return BridgeEvent(
        line=number,
        at=facts.at,
        call_id=facts.call_id,
        recording_id=facts.recording_id,
        method=facts.method,
        path=path,
        status=facts.status,
        attempt=facts.attempt,
        text=shown(text, TEXT_CHARS),
    )


def _nothing() -> None:
    """Pasted lines have no file to close."""


def _open(path: str | os.PathLike[str]) -> tuple[BinaryIO, str]:
    name = os.fspath(path)
    try:
        return open(path, "rb"), name  # closed by BridgeEvents
    except OSError as exc:
        raise BridgeLogError(
            f"Cannot read the bridge log {name}: {exc.strerror or exc}. Check the path, or "
            "paste the log's lines instead."
        ) from exc


def _size(file: BinaryIO) -> int | None:
    try:
        return os.fstat(file.fileno()).st_size
    except OSError:
        return None


def _file_lines(file: BinaryIO, counts: BridgeLogCounts) -> Generator[str]:
    """The file's lines, decoded, each cut to MAX_LINE_CHARS, with ``counts.bytes_read`` kept
    up to date (gzip-compressed files are read through, as rotated logs are)."""
    with file:
        compressed = file.read(2) == _GZIP
        file.seek(0)
        raw: BinaryIO | gzip.GzipFile = gzip.GzipFile(fileobj=file) if compressed else file
        encoding = "utf-16" if raw.read(2) in _UTF16_BOMS else "utf-8-sig"
        raw.seek(0)
        # Universal newlines: a log written on Windows, or with bare "\r", splits the same.
        text = io.TextIOWrapper(raw, encoding=encoding, errors="replace")
        for number, line in enumerate(iter(lambda: text.readline(MAX_LINE_CHARS), ""), 1):
            if len(line) == MAX_LINE_CHARS and not line.endswith("\n"):
                _skip_rest_of_line(text)
            if number % _PROGRESS_LINES == 0:
                counts.bytes_read = file.tell()
            yield line.rstrip("\r\n")
        counts.bytes_read = counts.size or file.tell()


def _skip_rest_of_line(text: io.TextIOWrapper) -> None:
    """Read past the rest of an over-long line in bounded pieces: it is never held whole."""
    while (more := text.readline(MAX_LINE_CHARS)) and not more.endswith("\n"):
        pass


def _pasted_lines(source: Iterable[str]) -> Iterator[str]:
    """Pasted lines (a text's ``splitlines()`` or an open text file), each cut to the limit."""
    for item in source:
        for line in item.splitlines() or ("",):
            yield line[:MAX_LINE_CHARS]
