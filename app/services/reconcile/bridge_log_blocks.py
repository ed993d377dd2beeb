"""A log file's lines, read in binary blocks of whole lines: much cheaper per line than a text
wrapper's ``readline``, and each line stays bytes until it needs to be text. A block comes as
one bytes (``block_chunks``), so an ASCII one is decoded and split once by its reader, or as
its lines (``block_lines``).

Lines split as universal newlines split them ("\\n", "\\r\\n" and a bare "\\r"), a "\\r\\n"
split across two blocks included. A line longer than ``MAX_LINE_CHARS`` characters keeps only
its start (enough bytes for that many characters, whatever their UTF-8 width); the rest is read
past in blocks and never held, so a 1 GB line costs one block.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Protocol

MAX_LINE_CHARS = 64 * 1024  # longer lines are a dump, not a log line: only this much is read
BLOCK_BYTES = 256 * 1024
# UTF-8 spends at most 4 bytes on a character: this many bytes always hold MAX_LINE_CHARS.
_KEPT_BYTES = 4 * MAX_LINE_CHARS + 4
_BOM = b"\xef\xbb\xbf"


class Readable(Protocol):
    def read(self, size: int = -1, /) -> bytes: ...


def block_chunks(
    stream: Readable, *, after_block: Callable[[], None] | None = None
) -> Iterator[bytes]:
    """The stream's lines, a block's worth at a time, as one bytes of whole lines joined by
    "\\n" (never split here: an ASCII block is decoded and split once, by its reader).

    Each chunk holds at least one line (b"" is one empty line). A UTF-8 BOM at the start is
    dropped; ``after_block`` is called as each block is read (to bring progress up to date).
    """
    pending: list[bytes] = []  # the start of a line not yet ended, at most _KEPT_BYTES
    pending_size = 0
    after_cr = False  # the last block ended with "\r": a "\n" opening the next one is its pair
    first = True
    while block := stream.read(BLOCK_BYTES):
        if first:
            while len(block) < len(_BOM) and (more := stream.read(BLOCK_BYTES)):
                block += more  # the BOM whole, however small the blocks
            block = block.removeprefix(_BOM)
            first = False
        if after_block is not None:
            after_block()
        if after_cr and block.startswith(b"\n"):
            block = block[1:]
        after_cr = block.endswith(b"\r")
        if b"\r" in block:
            block = block.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
        end = block.rfind(b"\n")
        tail = block[end + 1 :]  # the start of the next line (b"" when the block ends one)
        if end >= 0:
            whole = block[:end]
            if pending:  # the first line began in earlier blocks
                cut = whole.find(b"\n")
                cut = len(whole) if cut < 0 else cut
                pending.append(whole[:cut])
                whole = b"".join(pending)[:_KEPT_BYTES] + whole[cut:]
            if BLOCK_BYTES > _KEPT_BYTES:  # only then can a line inside one block be too long
                whole = b"\n".join(part[:_KEPT_BYTES] for part in whole.split(b"\n"))
            pending, pending_size = [], 0
            yield whole
        if tail and pending_size < _KEPT_BYTES:
            tail = tail[: _KEPT_BYTES - pending_size]
            pending.append(tail)
            pending_size += len(tail)
    if pending:
        yield b"".join(pending)


def block_lines(
    stream: Readable, *, after_block: Callable[[], None] | None = None
) -> Iterator[list[bytes]]:
    """``block_chunks`` with each chunk split into its lines (each without its line end)."""
    for chunk in block_chunks(stream, after_block=after_block):
        yield chunk.split(b"\n")


def line_text(raw: bytes) -> str:
    """A line's text: bad UTF-8 replaced, cut to MAX_LINE_CHARS characters."""
    text = raw.decode("utf-8", "replace")
    return text if len(text) <= MAX_LINE_CHARS else text[:MAX_LINE_CHARS]
