"""The bridge log's faster paths (issue 21's scale): a file's lines come in chunks of whole
lines, a line the period's filter may want goes straight to the full reading, a logger's
repeated message is searched once, and the cycle collector is held off while a large log and
its ledger are built. Each must give what the plain reading gives: the same events, the same
counts, unreadable lines counted and named, nothing lost, and a huge file never held whole."""

from __future__ import annotations

import gc
import io
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from app.domain.calls import CallDirection
from app.domain.reconcile.ledger import reconcile
from app.domain.reconcile.records import CrmActivity, PbxCall
from app.services.reconcile import bridge_log_blocks
from app.services.reconcile.bridge_log import read_bridge_log
from app.services.reconcile.bridge_log_blocks import MAX_LINE_CHARS, block_chunks, block_lines
from app.services.reconcile.bridge_log_filter import CallFilter
from app.services.reconcile.bridge_log_lines import read_line
from app.services.reconcile.decide import decide_ledger
from app.services.reconcile.gc_pause import collection_paused

OURS = "00000000-01dc-0000-0000-0000000008c6"
OTHER = "00000000-01db-0000-0000-0000000008c6"
CALLS = CallFilter([OURS], [123])
STAMP = "2026-10-19T00:00:17.530Z"


def _json(**fields: object) -> str:
    return json.dumps({"ts": STAMP, **fields})


def test_unreadable_lines_among_kept_ones_are_counted_and_named(tmp_path: Path) -> None:
    # A backslash makes a line one the filter may want: read in full, found to say nothing.
    lines = [
        _json(call_id=OURS, status=404),
        "\\\\ nothing readable here",
        _json(call_id=OTHER, status=200),
        f"\\ {OURS} but no time",  # names our call: kept, though it has no time
        "    at process.processTicksAndRejections (node:internal)",
        _json(msg="health check ok"),
        "",
    ]
    log = tmp_path / "bridge.log"
    log.write_text("\n".join(lines * 3) + "\n", encoding="ascii")
    fast = read_bridge_log(log, zone=UTC, keep=CALLS)
    full = read_bridge_log(log, zone=UTC, keep=lambda event: CALLS(event))
    assert fast.events == full.events and fast.counts == full.counts
    counts = fast.counts
    assert (counts.lines, counts.unreadable, len(fast.events)) == (21, 6, 6)
    assert [example.line for example in counts.examples] == [2, 5, 9, 12, 16]
    summary = counts.unreadable_summary()
    assert (
        summary is not None and "6 lines" in summary and "line 2, 5, 9, 12, 16 and more" in summary
    )


def test_a_repeated_message_fills_in_only_what_each_line_leaves_out() -> None:
    # The message is searched once and shared: a line's own keys still win over it.
    message = "GET /xapi/v1/Recordings(123) -> 404 attempt 2"
    first = read_line(_json(msg=message, status=200, method="POST", path="/y"), UTC)[1]
    second = read_line(_json(msg=message), UTC)[1]
    third = read_line(_json(msg=message, status=500), UTC)[1]
    assert (first.method, first.path, first.status) == ("POST", "/y", 200)
    assert first.attempt == 2
    assert (second.method, second.path, second.status) == ("GET", "/xapi/v1/Recordings(123)", 404)
    assert (second.recording_id, second.attempt) == (123, 2)
    assert (third.status, third.path) == (500, "/xapi/v1/Recordings(123)")
    # Reading the first again gives the same: nothing of one line was left on the shared facts.
    again = read_line(_json(msg=message, status=200, method="POST", path="/y"), UTC)[1]
    assert again == first


class _Generated(io.RawIOBase):
    """A log made as it is read: ``lines`` lines and one very long one, never in memory whole."""

    def __init__(self, lines: int, long_at: int, long_chars: int) -> None:
        self._lines = iter(self._make(lines, long_at, long_chars))
        self._left = b""

    @staticmethod
    def _make(lines: int, long_at: int, long_chars: int) -> Iterator[bytes]:
        for n in range(lines):
            if n == long_at:
                for _ in range(long_chars // 4096):
                    yield b"x" * 4096
                yield b"\n"
            else:
                yield f"ts={STAMP} level=info msg=ok n={n}\n".encode()

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1, /) -> bytes:
        while len(self._left) < size and (more := next(self._lines, None)) is not None:
            self._left += more
        out, self._left = self._left[:size], self._left[size:]
        return out


def test_a_huge_file_comes_in_chunks_no_larger_than_a_block_and_a_kept_line() -> None:
    # 200,000 lines and a 6 MB line: each chunk holds whole lines and stays bounded.
    biggest = lines = 0
    long_line = ""
    for chunk in block_chunks(_Generated(200_000, 1000, 6 * 1024 * 1024)):
        biggest = max(biggest, len(chunk))
        parts = chunk.split(b"\n")
        lines += len(parts)
        long_line = long_line or next((p.decode() for p in parts if p.startswith(b"x")), "")
    assert lines == 200_000
    assert biggest <= bridge_log_blocks.BLOCK_BYTES + 4 * MAX_LINE_CHARS + 4
    assert len(long_line) == 4 * MAX_LINE_CHARS + 4  # enough bytes for MAX_LINE_CHARS


@pytest.mark.parametrize("block", [7, 64, 4096])
def test_chunks_split_into_the_lines_block_lines_gives(
    monkeypatch: pytest.MonkeyPatch, block: int
) -> None:
    monkeypatch.setattr(bridge_log_blocks, "BLOCK_BYTES", block)
    data = b"\xef\xbb\xbfa\r\nbb\rccc\n\n" + b"d" * 300 + b"\r\n\r\ne"
    chunks = list(block_chunks(io.BytesIO(data)))
    joined = [line for chunk in chunks for line in chunk.split(b"\n")]
    assert joined == [line for lines in block_lines(io.BytesIO(data)) for line in lines]
    assert joined == [b"a", b"bb", b"ccc", b"", b"d" * 300, b"", b"e"]


def test_the_collector_is_paused_inside_and_restored_after_even_on_error() -> None:
    assert gc.isenabled()
    with collection_paused():
        assert not gc.isenabled()
        with collection_paused():  # a pause inside a pause leaves it off until the outer ends
            assert not gc.isenabled()
        assert not gc.isenabled()
    assert gc.isenabled()
    with pytest.raises(ValueError), collection_paused():
        raise ValueError
    assert gc.isenabled()
    gc.disable()
    try:
        with collection_paused():
            pass
        assert not gc.isenabled()  # it was off before: left off
    finally:
        gc.enable()


def test_the_run_decides_the_ledger_the_domain_decides() -> None:
    start = datetime(2026, 10, 19, 9, tzinfo=UTC)
    calls = [
        PbxCall(
            call_id=f"00000000-01dc-0000-0000-{n:012x}",
            started_at=start + timedelta(minutes=n),
            ended_at=start + timedelta(minutes=n, seconds=40),
            direction=CallDirection.INBOUND,
            external_number=f"+6188000000{n}",
            answered=n % 3 != 0,
            extension="101",
        )
        for n in range(6)
    ]
    activities = [
        CrmActivity(
            row=n + 1, at=c.started_at, phone=c.external_number, phone_e164=c.external_number
        )
        for n, c in enumerate(calls[:4])
    ]
    period = (start, start + timedelta(days=1))
    assert decide_ledger(calls, activities, (), period=period) == reconcile(
        calls, activities, (), period=period
    )
