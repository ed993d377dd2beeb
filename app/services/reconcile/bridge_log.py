"""A bridge's log, pasted or as a file, read into the events reconciliation joins to calls.

The log is streamed: a file is read in binary blocks of whole lines (a 1 GB log costs
one block and the events the caller keeps), gzip-compressed rotations are read as they are,
and a line longer than ``MAX_LINE_CHARS`` keeps only its start (``bridge_log_blocks``). Given
the period's ``CallFilter``, a line that cannot name one of its calls is only classified for
the counts, not read in full (``bridge_log_filter``): the events and counts are the same. An
ASCII block (most) is searched for the period's ids in one pass, and its other lines are
classified by shape in one pass too (``bridge_log_bulk``); only the rest are read one by one.
A large plain file (not gzip, not UTF-16) is classified by a worker process meanwhile
(``bridge_log_counting``): this one then only finds and reads the lines about the period's
calls, and the counts are the worker's, the same (or this process's, when it cannot run).
The read holds off the cycle collector (``gc_pause``): its events make no cycles, and a full
collection would walk every event already kept, again and again as they pile up.
A request's event keeps its method and path, not its line: only a narrating line keeps text.
Nothing in the content is fatal: bad UTF-8 is replaced, a line that says nothing readable is
counted and the first few are kept as examples. Only a file that cannot be opened raises ``BridgeLogError``.
Every kept text is shortened and has its secrets removed (``redaction``).
"""

from __future__ import annotations

import gzip
import io
import os
from collections import Counter, deque
from collections.abc import Callable, Generator, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import tzinfo
from itertools import compress
from typing import BinaryIO

from app.domain.reconcile.records import BridgeEvent
from app.services.reconcile.bridge_log_blocks import MAX_LINE_CHARS as MAX_LINE_CHARS
from app.services.reconcile.bridge_log_blocks import Readable, block_chunks, line_text
from app.services.reconcile.bridge_log_bulk import REST, SETTLED, outcomes
from app.services.reconcile.bridge_log_counting import CountingWorker, worth_a_worker
from app.services.reconcile.bridge_log_filter import CallFilter as CallFilter
from app.services.reconcile.bridge_log_lines import LineFacts, LogFormat, line_kind, read_line
from app.services.reconcile.gc_pause import collection_paused
from app.services.reconcile.redaction import redact, shown
from app.services.reconcile.stopping import check_stop
from app.services.reconcile.streams import ClosingStream

TEXT_CHARS = 300  # an event's text, as the timeline shows it
MAX_PATH_CHARS = 500
EXAMPLES_KEPT = 5
EXAMPLE_CHARS = 160
PASTED = "pasted log"
_GZIP = b"\x1f\x8b"
_UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")
_SHARED_STRINGS = 200_000  # a recording's path repeats on each retry and in each rotation
_PROGRESS_LINES = 4096  # how often the bytes read are brought up to date (UTF-16 files)

BridgeLogSource = str | os.PathLike[str] | Iterable[str]
_KEEPS_NOTHING = CallFilter((), ())  # a counting read: every line classified, none kept


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
    that matter are held, or read ``iter_bridge_events`` directly. A ``CallFilter`` as ``keep``
    also spares the full reading of lines that cannot name one of its calls (the counts are
    the same: each such line is still classified).
    """
    if isinstance(keep, CallFilter) and isinstance(source, str | os.PathLike):
        file, name = _open(source)
        with file:
            counts = BridgeLogCounts(name, size=_size(file))
            counter = _counting_worker(file, counts, zone)
            # With a worker, both read the bytes the file held now (a live log grows meanwhile).
            raw = _raw_blocks(file, counts, limit=None if counter is None else counts.size)
            if raw is not None:
                try:
                    with collection_paused():  # a large log's events: no cycles to look for
                        kept = tuple(_filtered(raw, zone, counts, keep, counter))
                finally:
                    if counter is not None:
                        counter.stop()  # ended already, unless the read failed
                return BridgeLogRead(kept, counts)
            # UTF-16: the rare case, read through the text path below.
            file.seek(0)
            events = BridgeEvents(_events(_file_lines(file, counts), zone, counts), counts, file)
            with events:
                return BridgeLogRead(tuple(e for e in events if keep(e)), counts)
    with iter_bridge_events(source, zone=zone) as events:
        kept = tuple(event for event in events if keep is None or keep(event))
        return BridgeLogRead(kept, events.counts)


def _filtered(
    chunks: Iterator[bytes],
    zone: tzinfo,
    counts: BridgeLogCounts,
    keep: CallFilter,
    counter: CountingWorker | None = None,
) -> list[BridgeEvent]:
    """``_events`` with ``keep``, reading in full only the lines ``keep`` may want; with a
    ``counter`` counting the same file, only those lines are read here, and the counts are
    the counter's."""
    own = counts if counter is None else BridgeLogCounts(counts.source)
    read = _FilteredRead(zone, own, keep, count_others=counter is None)
    for chunk in chunks:
        read.chunk(chunk)
        counts.lines = read.number
    if counter is not None:
        _counted_by(counter, counts, zone)
    return read.kept


def count_lines(path: str, *, zone: tzinfo, limit: int | None = None) -> BridgeLogCounts:
    """The counts of the file ``path`` (what ``read_bridge_log`` gives with any filter), without
    its events: a counting worker's job (``bridge_log_counting``). ``limit``: only the first
    bytes of a plain file are read, as many as its reader saw."""
    file, name = _open(path)
    with file, collection_paused():
        counts = BridgeLogCounts(name, size=_size(file))
        raw = _raw_blocks(file, counts, limit=limit)
        if raw is not None:
            _filtered(raw, zone, counts, _KEEPS_NOTHING)
        else:  # UTF-16: read as text, each event dropped as it comes
            deque(_events(_file_lines(file, counts), zone, counts), maxlen=0)
    return counts


def _counting_worker(
    file: BinaryIO, counts: BridgeLogCounts, zone: tzinfo
) -> CountingWorker | None:
    """A worker counting the file's lines, started, for a large plain file; else None."""
    if not worth_a_worker(counts.size):
        return None
    head = file.read(2)
    file.seek(0)
    if head == _GZIP or head in _UTF16_BOMS:
        return None
    counter = CountingWorker()
    return counter if counter.start((counts.source, zone, counts.size)) else None


def _counted_by(counter: CountingWorker, counts: BridgeLogCounts, zone: tzinfo) -> None:
    """``counts`` completed with the worker's, or counted here when it gave none."""
    taken = counter.result()
    if not isinstance(taken, BridgeLogCounts) or taken.lines != counts.lines:
        taken = count_lines(counts.source, zone=zone, limit=counts.size)
    counts.events, counts.other, counts.unreadable = taken.events, taken.other, taken.unreadable
    counts.examples, counts.formats = taken.examples, taken.formats


def _ascii_lines(chunk: bytes) -> tuple[str, list[str]] | None:
    """A chunk's text and its lines, when all are ASCII and none is cut (most chunks)."""
    if not chunk.isascii():
        return None
    text = chunk.decode("ascii")
    lines = text.split("\n")
    if len(text) > MAX_LINE_CHARS and max(map(len, lines)) > MAX_LINE_CHARS:
        return None
    return text, lines


class _FilteredRead:
    """One filtered read's state: lines go through ``line`` one by one, or a block at a
    time through ``block``, which settles most of them without a per-line reading."""

    def __init__(
        self, zone: tzinfo, counts: BridgeLogCounts, keep: CallFilter, *, count_others: bool
    ) -> None:
        self.zone, self.counts, self.keep = zone, counts, keep
        self.count_others = count_others  # False: only the lines keep may want are read
        self.kept: list[BridgeEvent] = []
        self.shared: dict[str, str] = {}  # paths and methods repeat: one string each
        self.number = 0

    def chunk(self, chunk: bytes) -> None:
        """A chunk of whole lines joined by "\\n" (``block_chunks``)."""
        ascii_lines = _ascii_lines(chunk)
        if ascii_lines is None:
            for raw in chunk.split(b"\n"):
                self.line(line_text(raw))
        else:
            self.block(*ascii_lines)

    def block(self, text: str, texts: list[str]) -> None:
        """ASCII lines ``texts``, joined by "\\n" in ``text``: the lines ``keep`` may want are
        read in full, those of a shape ``outcomes`` settles are only counted, the rest
        classified."""
        size = len(texts)
        hits = self.keep.lines_it_could_keep(text, texts)
        if not self.count_others:
            first = self.number
            for index in sorted(hits):
                self.number = first + index + 1
                self.hit(texts[index])
            self.number = first + size
            return
        # Only the lines not read in full are settled by shape.
        unread = bytearray(b"\x01") * size
        for index in hits:
            unread[index] = 0
        others: range | list[int] = range(size)
        if hits:
            others = list(compress(others, unread))
            text = "\n".join(compress(texts, unread))
        shapes = outcomes(text) if others else []
        tally = Counter(shapes)
        counts, formats = self.counts, self.counts.formats
        for shape, lines in tally.items():
            if shape != REST and lines:
                kind, _, about = SETTLED[shape]  # every settled shape is readable
                formats[kind] = formats.get(kind, 0) + lines
                if about:
                    counts.events += lines
                else:
                    counts.other += lines
        first = self.number
        rest = compress(others, map(REST.__eq__, shapes))
        for index in sorted(hits.union(rest)):
            self.number = first + index + 1
            if index in hits:
                self.hit(texts[index])
            else:
                self.line(texts[index], full=False, counted=False)
        self.number = first + size

    def hit(self, text: str) -> None:
        """``line`` for a line ``keep`` may want (read in full), numbered already: the path
        of every kept event, so it does only what such a line needs."""
        if not text or text.isspace():
            return
        kind, facts = read_line(text, self.zone)
        counts = self.counts
        if facts.about_a_call:
            counts.formats[kind] = counts.formats.get(kind, 0) + 1
            counts.events += 1
            keep = self.keep
            if keep.wants(facts.call_id, facts.recording_id):
                facts.call_id = keep.shared(facts.call_id)
                facts.recording_id = keep.shared_recording(facts.recording_id)
                self.kept.append(_event(self.number, text, facts, self.shared))
        elif facts.at is not None:  # readable: a time, and nothing about a call
            counts.formats[kind] = counts.formats.get(kind, 0) + 1
            counts.other += 1
        else:
            _count_unreadable(counts, self.number, text)

    def line(self, text: str, *, full: bool | None = None, counted: bool = True) -> None:
        """One line, read in full when ``full`` (None: when ``keep`` could want it)."""
        if counted:
            self.number += 1
        if not text or text.isspace():  # as "not text.strip()", without the copy
            return
        if full if full is not None else self.keep.could_keep(text):
            self.hit(text)
            return
        if not self.count_others:
            return
        counts = self.counts
        kind, readable, about = line_kind(text, self.zone)
        if readable:
            counts.formats[kind] = counts.formats.get(kind, 0) + 1
        if about:
            counts.events += 1
        elif readable:
            counts.other += 1
        else:
            _count_unreadable(counts, self.number, text)


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
            _count_unreadable(counts, number, text)


def _count_unreadable(counts: BridgeLogCounts, number: int, text: str) -> None:
    counts.unreadable += 1
    if len(counts.examples) < EXAMPLES_KEPT:
        counts.examples.append(UnreadableLine(number, shown(text, EXAMPLE_CHARS)))


def _event(
    number: int, text: str, facts: LineFacts, shared: dict[str, str] | None = None
) -> BridgeEvent:
    path, method = facts.path, facts.method
    if path is not None:
        path = path[:MAX_PATH_CHARS]
        # A path carries a secret only in its parameters (?key=, ;jsessionid=).
        path = redact(path) if "?" in path or ";" in path else path
    if shared is not None:
        path = _shared(shared, path)
        method = _shared(shared, method)
    return BridgeEvent(
        line=number,
        at=facts.at,
        call_id=facts.call_id,
        recording_id=facts.recording_id,
        method=method,
        path=path,
        status=facts.status,
        attempt=facts.attempt,
        # The timeline shows a request by its method and path; the line itself only when
        # it narrates, so a request's text is not held (a large log keeps a million events).
        text=shown(text, TEXT_CHARS) if method is None and path is None else "",
    )


def _shared(strings: dict[str, str], text: str | None) -> str | None:
    """One string for each repeated path or method (an endpoint is asked thousands of times);
    past ``_SHARED_STRINGS`` only those already held are shared, so the table stays small."""
    if text is None:
        return None
    if len(strings) >= _SHARED_STRINGS:
        return strings.get(text, text)
    return strings.setdefault(text, text)


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


def _raw_blocks(
    file: BinaryIO, counts: BridgeLogCounts, *, limit: int | None = None
) -> Iterator[bytes] | None:
    """The file's raw lines block by block, each block's lines joined by "\\n" (gzip read
    through, as rotated logs are), with ``counts.bytes_read`` kept up to date; None for a
    UTF-16 file, which is read as text. ``limit``: a plain file's first bytes only."""
    compressed = file.read(2) == _GZIP
    file.seek(0)
    raw: BinaryIO | gzip.GzipFile = gzip.GzipFile(fileobj=file) if compressed else file
    if raw.read(2) in _UTF16_BOMS:
        return None
    raw.seek(0)

    def progress() -> None:
        counts.bytes_read = file.tell()
        check_stop()  # a cancelled run stops here, a block at a time

    stream: Readable = raw if limit is None or compressed else _FirstBytes(file, limit)
    return _ending(block_chunks(stream, after_block=progress), file, counts)


class _FirstBytes:
    """A file's first ``limit`` bytes (read from its start), then its end."""

    def __init__(self, file: BinaryIO, limit: int) -> None:
        self._file, self._left = file, limit

    def read(self, size: int = -1, /) -> bytes:
        size = self._left if size < 0 else min(size, self._left)
        data = self._file.read(size) if size > 0 else b""
        self._left -= len(data)
        return data


def _ending(blocks: Iterator[bytes], file: BinaryIO, counts: BridgeLogCounts) -> Iterator[bytes]:
    yield from blocks
    counts.bytes_read = counts.size or file.tell()


def _file_lines(file: BinaryIO, counts: BridgeLogCounts) -> Generator[str]:
    """The file's lines, decoded, each cut to MAX_LINE_CHARS, with ``counts.bytes_read`` kept
    up to date."""
    with file:
        blocks = _raw_blocks(file, counts)
        if blocks is None:
            yield from _utf16_lines(file, counts)
            return
        for chunk in blocks:
            for raw in chunk.split(b"\n"):
                yield line_text(raw)


def _utf16_lines(file: BinaryIO, counts: BridgeLogCounts) -> Iterator[str]:
    """A UTF-16 file's lines (PowerShell's ">"), through a text wrapper: rare, and small."""
    file.seek(0)
    compressed = file.read(2) == _GZIP
    file.seek(0)
    binary: BinaryIO | gzip.GzipFile = gzip.GzipFile(fileobj=file) if compressed else file
    # Universal newlines: a log written on Windows, or with bare "\r", splits the same.
    text = io.TextIOWrapper(binary, encoding="utf-16", errors="replace")
    try:
        for number, line in enumerate(iter(lambda: text.readline(MAX_LINE_CHARS), ""), 1):
            if len(line) == MAX_LINE_CHARS and not line.endswith("\n"):
                _skip_rest_of_line(text)
            if number % _PROGRESS_LINES == 0:
                counts.bytes_read = file.tell()
                check_stop()
            yield line.rstrip("\r\n")
        counts.bytes_read = counts.size or file.tell()
    finally:
        text.detach()  # the file is the caller's to close


def _skip_rest_of_line(text: io.TextIOWrapper) -> None:
    """Read past the rest of an over-long line in bounded pieces: it is never held whole."""
    while (more := text.readline(MAX_LINE_CHARS)) and not more.endswith("\n"):
        pass


def _pasted_lines(source: Iterable[str]) -> Iterator[str]:
    """Pasted lines (a text's ``splitlines()`` or an open text file), each cut to the limit."""
    for item in source:
        for line in item.splitlines() or ("",):
            yield line[:MAX_LINE_CHARS]
