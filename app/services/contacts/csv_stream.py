"""A CSV file read as a stream of records, each with its line number, bounded in size.

Built for CRM exports (``contacts_import``) but knowing nothing of contacts. Nothing here holds
the whole file: lines are read one at a time, each at most ``MAX_LINE_CHARS``; a record that
runs on (a stray quote) is given back after ``MAX_RECORD_LINES`` lines or ``MAX_RECORD_CHARS``
characters and reading resumes on its second line. A line that cannot be text (a NUL byte,
bytes in no known encoding, absurd length) makes its record broken, with a ``BrokenRow``
saying why; the caller counts it and goes on.
"""

from __future__ import annotations

import codecs
import contextlib
import csv
import io
import os
import re
from collections.abc import Iterator
from typing import NamedTuple, TextIO

DELIMITERS = (",", ";", "\t")
MAX_LINE_CHARS = 1_000_000
MAX_RECORD_LINES = 1_000  # a quoted address or note spans a few lines, not a thousand
MAX_RECORD_CHARS = 2_000_000
_ENCODING_SAMPLE = 64 * 1024
_ESCAPED = re.compile("[\udc80-\udcff]")  # bytes the decoder could not read, escaped


class CsvFileError(Exception):
    """The file cannot be read as CSV text at all; the message says why and what to do."""


@contextlib.contextmanager
def open_csv(path: str | os.PathLike[str]) -> Iterator[CsvLines]:
    """The file's lines, decoded in the encoding its first 64 KB show (blocking)."""
    name = os.fspath(path)
    try:
        file = open(path, "rb")  # noqa: SIM115 - closed below, after the caller's reading
    except OSError as exc:
        raise CsvFileError(f"Cannot read {name}: {exc.strerror or exc}.") from exc
    encoding = "utf-8"
    try:
        with file:
            start = file.read(_ENCODING_SAMPLE)
            not_csv = _binary_kind(start)
            if not_csv:
                raise CsvFileError(
                    f"{name} is {not_csv}, not a CSV file: open it and save it as "
                    "CSV UTF-8 (comma delimited), then import that."
                )
            encoding = encoding_of(start)
            file.seek(0)
            # UTF-16 cannot escape its bad bytes (some are ASCII): those become U+FFFD.
            errors = "replace" if encoding == "utf-16" else "surrogateescape"
            stream = io.TextIOWrapper(file, encoding=encoding, errors=errors, newline="")
            yield CsvLines(stream, encoding)
    except OSError as exc:
        raise CsvFileError(f"Cannot read {name}: {exc.strerror or exc}.") from exc


class BrokenRow(NamedTuple):
    message: str  # for the engineer, naming the cell or the line
    kind: str  # what the count is grouped by: "wrong number of fields", "NUL byte", ...


_QUOTE = BrokenRow('unbalanced quote (") in the row', "unbalanced quote")


class _RecordTooLong(Exception):
    """Raised through csv.reader when one record outgrows any real row (a stray quote)."""


_Line = tuple[int, str, BrokenRow | None]  # 1-based number, text as csv.reader gets it, problem


class CsvLines:
    """The physical lines of an export, numbered and each bounded, for csv.reader to read.

    The lines handed out since ``begin`` are kept, so a record that swallowed the rows after it
    can give them back and reading resumes on its second line. A line that cannot be part of a
    contact (too long, a NUL byte, bytes that are not text) reaches the csv reader blanked or
    cleaned, and is the record's problem.
    """

    def __init__(self, stream: TextIO, encoding: str = "text") -> None:
        self._stream = stream
        self.encoding = encoding  # as read: "utf-8", "cp1252", "utf-16" ("text": given as str)
        self._read_count = 0
        self._pushed: list[_Line] = []  # lines given back, the next one last
        self._record: list[_Line] = []
        self._chars = 0

    def __iter__(self) -> CsvLines:
        return self

    def __next__(self) -> str:
        entry = self._pushed.pop() if self._pushed else self._read()
        self._record.append(entry)
        self._chars += len(entry[1])
        if self._chars > MAX_RECORD_CHARS or len(self._record) > MAX_RECORD_LINES:
            raise _RecordTooLong
        return entry[1]

    def begin(self) -> None:
        """The next line starts a new record."""
        self._record = []
        self._chars = 0

    @property
    def start(self) -> int:
        return self._record[0][0] if self._record else self._read_count

    def problem(self) -> BrokenRow | None:
        return next((p for _, _, p in self._record if p is not None), None)

    def record_text(self) -> list[str]:
        return [text for _, text, _ in self._record]

    def rewind(self, keep: int = 1) -> int:
        """Give back the record's lines after its first ``keep``; returns where it started."""
        start = self.start
        self._pushed.extend(reversed(self._record[keep:]))
        self.begin()
        return start

    def read_all(self) -> str:
        """The rest of the file as one string: holds it all, so for small files only."""
        text = self._stream.read()
        if not self._read_count:
            text = text.removeprefix("\ufeff")
        if self.encoding == "utf-8" and _ESCAPED.search(text):
            # As Excel saves plain "CSV": the Windows code page throughout.
            text = text.encode("utf-8", "surrogateescape").decode("cp1252", "surrogateescape")
        return _ESCAPED.sub("\ufffd", text)

    def excel_separator(self) -> str | None:
        """Excel's "sep=;" first line, consumed: the delimiter it names."""
        self.begin()
        first = next(self, "").rstrip("\r\n")
        if first.lower().startswith("sep=") and len(first) == len("sep=;"):
            self.begin()
            return first[-1]
        self.rewind(0)
        return None

    def peek(self, count: int, chars: int) -> list[str]:
        """Up to ``count`` non-blank lines ahead (``chars`` in all), given back afterwards."""
        self.begin()
        seen: list[str] = []
        with contextlib.suppress(StopIteration, _RecordTooLong):
            while len(seen) < count and self._chars < chars:
                line = next(self)
                if line.strip():
                    seen.append(line)
        self.rewind(0)
        return seen

    def _read(self) -> _Line:
        text = self._stream.readline(MAX_LINE_CHARS)
        if not text:
            raise StopIteration
        if not self._read_count:
            text = text.removeprefix("\ufeff")
        self._read_count += 1
        number = self._read_count
        if len(text) >= MAX_LINE_CHARS and not text.endswith(("\n", "\r")):
            # Skipped in bounded pieces: the line is never held whole.
            while (more := self._stream.readline(MAX_LINE_CHARS)) and not more.endswith("\n"):
                pass
            message = f"the line is over {MAX_LINE_CHARS:,} characters long (not contact data)"
            return number, "\n", BrokenRow(message, "line too long")
        problem = None
        if "\0" in text:
            text = text.replace("\0", "")
            problem = BrokenRow("NUL byte in the row (the file may be damaged)", "NUL byte")
        if self.encoding == "utf-16":
            if "\ufffd" in text:
                problem = problem or BrokenRow("characters that are not valid UTF-16", "encoding")
        elif self.encoding != "text" and _ESCAPED.search(text):
            if self.encoding == "utf-8":
                # A CRM's UTF-8 export with a row pasted in from Excel's Windows code page.
                text = text.encode("utf-8", "surrogateescape").decode("cp1252", "surrogateescape")
            if _ESCAPED.search(text):
                text = _ESCAPED.sub("\ufffd", text)
                problem = problem or BrokenRow(
                    "bytes that are not text (neither UTF-8 nor Windows-1252)", "encoding"
                )
        return number, text, problem


def csv_records(
    lines: CsvLines, delimiter: str
) -> Iterator[tuple[int, list[str], BrokenRow | None]]:
    """CSV records with the line each starts on, surviving rows that break the CSV.

    A stray quote makes the csv module read on across following lines (or fail once the field
    passes its size limit): the row is reported as broken and reading resumes on the next
    line, so the rest of the file is kept.
    """
    reader = csv.reader(lines, delimiter=delimiter)
    width: int | None = None
    while True:
        lines.begin()
        try:
            fields = next(reader)
        except StopIteration:
            return
        except _RecordTooLong:
            yield lines.rewind(), [], _QUOTE
            continue
        except csv.Error as exc:
            message = (
                f'a cell over {csv.field_size_limit():,} characters, or an unbalanced quote (")'
                if "field limit" in str(exc)
                else f"not valid CSV ({exc})"
            )
            yield lines.rewind(), [], BrokenRow(message, "not valid CSV")
            continue
        if width is not None and _runaway(lines.record_text(), width, delimiter, fields):
            yield lines.rewind(), [], _QUOTE
            continue
        if width is None and any(fields):
            width = len(fields)
        yield lines.start, fields, lines.problem()


def _runaway(record: list[str], width: int, delimiter: str, fields: list[str]) -> bool:
    """Whether a stray quote swallowed the rows after this one.

    A quoted field may hold line breaks (an address, a note). One that swallowed whole
    rows either leaves the row with the wrong number of fields or, when a second stray
    quote closed it, holds lines with a whole row's worth of delimiters.
    """
    if len(record) == 1:
        return False
    if len(fields) != width:
        return True
    whole_row = max(width - 1, 2)
    return any(line.count(delimiter) >= whole_row for line in record[1:])


def field_count_problem(fields: list[str], width: int) -> BrokenRow | None:
    """Why a row does not fit a header of ``width`` columns (None when it does).

    Empty cells past the header are forgiven: Excel pads rows with trailing delimiters.
    """
    if len(fields) == width or (len(fields) > width and not any(f.strip() for f in fields[width:])):
        return None
    return BrokenRow(
        f"wrong number of fields ({len(fields)}, expected {width})", "wrong number of fields"
    )


def sniff_delimiter(sample: list[str]) -> str:
    """The delimiter that splits the first rows into as many fields as the header."""

    def score(delimiter: str) -> tuple[int, int]:
        rows = [r for r in csv.reader(sample, delimiter=delimiter) if r]
        if not rows or len(rows[0]) < 2:
            return (0, 0)
        width = len(rows[0])
        return (sum(len(r) == width for r in rows), width)

    return max(DELIMITERS, key=score)


def encoding_of(start: bytes) -> str:
    """The export's encoding, told from its first bytes only."""
    if start.startswith((b"\xff\xfe", b"\xfe\xff")):
        return "utf-16"  # Excel's "Unicode Text"
    try:
        # Not final: the sample may end inside a character.
        codecs.getincrementaldecoder("utf-8")().decode(start, final=False)
    except UnicodeDecodeError:
        return "cp1252"  # Excel on Windows saves plain "CSV" in the ANSI code page
    return "utf-8"


def _binary_kind(data: bytes) -> str | None:
    if data.startswith(b"PK\x03\x04"):
        return "an Excel workbook (.xlsx) or another zip file"
    if data.startswith(b"\xd0\xcf\x11\xe0"):
        return "an old Excel workbook (.xls)"
    if data.startswith(b"%PDF"):
        return "a PDF"
    return None
