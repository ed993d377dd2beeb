"""A large plain bridge log's lines counted by a worker process while this one reads the events
(issue 21's scale): the events and counts must be exactly what one process gives, whatever the
lines (every shape, unreadable, not ASCII, cut, any line end); a gzip or UTF-16 file, a small
one, a frozen build and a worker that cannot start, dies or answers wrongly all leave the
counting to this process, with the same result."""

from __future__ import annotations

import gzip
import pickle
import sys
from dataclasses import replace
from datetime import UTC, datetime, timedelta, tzinfo
from pathlib import Path
from typing import Any

import pytest

from app.services.reconcile import bridge_log, bridge_log_blocks, bridge_log_counting
from app.services.reconcile.bridge_log import (
    BridgeLogRead,
    CallFilter,
    count_lines,
    read_bridge_log,
)
from tests.services.reconcile.test_bridge_log_bulk import CALLS, NEAR_MISSES, OURS, SHAPES, STAMP

OURS_LINES = [
    f"2026-10-19 00:00:17,014 INFO webhook received: call {OURS} ended",
    '{"ts": "' + STAMP + '", "call_id": "' + OURS + '", "path": "/x?key=s3cr3t", "status": 404}',
    f"ts={STAMP} recordingId=123 msg=fetched",
    f"\\ {OURS} but no time",  # a backslash: read in full, kept, no time
]
ODD_LINES = [
    "caf\u00e9 \u00fcber nothing readable",  # not ASCII: its block is read line by line
    f"2026-10-19 00:00:17 r\u00e9c call {OURS} ended",
    "bad utf-8 \udcff",
    "\\\\ nothing readable here",
    f"{OURS_LINES[1]} {'x' * (2 * bridge_log_blocks.MAX_LINE_CHARS)}",  # cut
]


def _log(tmp_path: Path, *, newline: str = "\n", repeat: int = 8) -> Path:
    lines = (SHAPES + NEAR_MISSES + OURS_LINES + ODD_LINES) * repeat
    raw = newline.join(lines).encode("utf-8", "surrogateescape") + newline.encode()
    log = tmp_path / "bridge.log"
    log.write_bytes(b"\xef\xbb\xbf" + raw)  # a BOM first, as Notepad writes
    return log


def _one_process(log: Path, monkeypatch: pytest.MonkeyPatch) -> BridgeLogRead:
    with monkeypatch.context() as patch:
        patch.setattr(bridge_log, "worth_a_worker", lambda size: False)
        return read_bridge_log(log, zone=UTC, keep=CALLS)


class _InThisProcess:
    """``CountingWorker`` without a process: the worker's job, its answer through pickle."""

    started: list[object]
    stopped: list[bool]

    def __init__(self) -> None:
        self._job: Any = None

    def start(self, job: object) -> bool:
        self._job = pickle.loads(pickle.dumps(job))
        self.started.append(job)
        return True

    def result(self) -> object:
        path, zone, limit = self._job
        return pickle.loads(pickle.dumps(count_lines(path, zone=zone, limit=limit)))

    def stop(self) -> None:
        self.stopped.append(True)


@pytest.fixture
def in_this_process(monkeypatch: pytest.MonkeyPatch) -> type[_InThisProcess]:
    monkeypatch.setattr(_InThisProcess, "started", [], raising=False)
    monkeypatch.setattr(_InThisProcess, "stopped", [], raising=False)
    monkeypatch.setattr(bridge_log, "worth_a_worker", lambda size: True)
    monkeypatch.setattr(bridge_log, "CountingWorker", _InThisProcess)
    return _InThisProcess


@pytest.mark.parametrize("newline", ["\n", "\r\n", "\r"])
@pytest.mark.parametrize("block", [97, 256 * 1024])
def test_counts_taken_apart_are_the_one_process_reading(
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    in_this_process: type[_InThisProcess],
    newline: str,
    block: int,
) -> None:
    monkeypatch.setattr(bridge_log_blocks, "BLOCK_BYTES", block)
    log = _log(tmp_path, newline=newline)
    whole = _one_process(log, monkeypatch)
    apart = read_bridge_log(log, zone=UTC, keep=CALLS)
    assert in_this_process.started == [(str(log), UTC, log.stat().st_size)]
    assert apart.events == whole.events
    assert apart.counts == whole.counts
    counts = whole.counts
    assert counts.unreadable and counts.other and len(counts.formats) == 3
    assert len(whole.events) >= 4 * 8 and counts.bytes_read == log.stat().st_size


def test_a_log_growing_while_it_is_read_is_read_as_it_was_when_opened(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, in_this_process: type[_InThisProcess]
) -> None:
    then = "\n".join(SHAPES + OURS_LINES + ODD_LINES[:2]) + "\n"
    live, opened = tmp_path / "live" / "bridge.log", tmp_path / "opened" / "bridge.log"
    live.parent.mkdir()
    opened.parent.mkdir()
    live.write_text(then + "\n".join(OURS_LINES * 3) + "\n", encoding="utf-8")
    opened.write_text(then, encoding="utf-8")
    monkeypatch.setattr(bridge_log, "_size", lambda file: len(then.encode()))  # when opened
    apart = read_bridge_log(live, zone=UTC, keep=CALLS)
    whole = _one_process(opened, monkeypatch)
    assert apart.events == whole.events
    assert replace(apart.counts, source=whole.counts.source) == whole.counts
    assert len(in_this_process.started) == 1


def test_the_counting_read_gives_the_full_readings_counts(tmp_path: Path) -> None:
    log = _log(tmp_path)
    full = read_bridge_log(log, zone=UTC, keep=lambda event: CALLS(event))
    assert count_lines(str(log), zone=UTC) == full.counts
    wide = tmp_path / "bridge-utf16.log"
    wide.write_text("\n".join(SHAPES + OURS_LINES) + "\n", encoding="utf-16")
    assert count_lines(str(wide), zone=UTC) == read_bridge_log(wide, zone=UTC).counts


def test_a_worker_in_its_own_process_gives_the_one_process_reading(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    log = _log(tmp_path, newline="\r\n")
    whole = _one_process(log, monkeypatch)
    monkeypatch.setattr(bridge_log_counting, "PARALLEL_MIN_BYTES", 1)
    monkeypatch.setattr(bridge_log_counting.os, "sched_getaffinity", lambda pid: {0, 1})
    answers: list[object] = []
    real = bridge_log_counting.CountingWorker.result

    def heard(worker: bridge_log_counting.CountingWorker) -> object:
        answers.append(real(worker))
        return answers[-1]

    monkeypatch.setattr(bridge_log_counting.CountingWorker, "result", heard)
    assert read_bridge_log(log, zone=UTC, keep=CALLS) == whole
    assert answers == [whole.counts]  # counted by the worker, not here


@pytest.mark.parametrize(
    "worker",
    [
        ("/nonexistent/python-for-the-bridge-log",),  # cannot start
        (sys.executable, "-c", "import sys; sys.stdin.buffer.read(); sys.exit(3)"),  # dies
        (sys.executable, "-c", "import sys; sys.stdout.buffer.write(b'not a pickle')"),
        (sys.executable, "-c", "import pickle, sys; pickle.dump(7, sys.stdout.buffer)"),
    ],
)
def test_a_worker_that_cannot_start_or_answer_leaves_the_counting_here(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, worker: tuple[str, ...]
) -> None:
    log = _log(tmp_path)
    whole = _one_process(log, monkeypatch)
    monkeypatch.setattr(bridge_log_counting, "PARALLEL_MIN_BYTES", 1)
    monkeypatch.setattr(bridge_log_counting.os, "sched_getaffinity", lambda pid: {0, 1})
    monkeypatch.setattr(bridge_log_counting, "WORKER", worker)
    assert read_bridge_log(log, zone=UTC, keep=CALLS) == whole


def test_a_zone_that_cannot_be_sent_leaves_the_counting_here(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    class Local(tzinfo):  # defined here: pickle cannot name it
        def utcoffset(self, dt: datetime | None) -> timedelta:
            return timedelta(hours=10, minutes=30)

        def dst(self, dt: datetime | None) -> timedelta:
            return timedelta(0)

    log = _log(tmp_path)
    monkeypatch.setattr(bridge_log, "worth_a_worker", lambda size: False)
    whole = read_bridge_log(log, zone=Local(), keep=CALLS)
    monkeypatch.setattr(bridge_log, "worth_a_worker", lambda size: True)
    monkeypatch.setattr(bridge_log_counting, "WORKER", ("/nonexistent/not-to-be-started",))
    assert read_bridge_log(log, zone=Local(), keep=CALLS) == whole
    offsets = {e.at.utcoffset() for e in whole.events if e.at is not None}
    assert timedelta(hours=10, minutes=30) in offsets  # times without a zone read in its zone


def test_counts_of_another_file_are_not_taken(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, in_this_process: type[_InThisProcess]
) -> None:
    log = _log(tmp_path)
    whole = _one_process(log, monkeypatch)
    other = tmp_path / "other.log"
    other.write_text(SHAPES[0] + "\n", encoding="ascii")

    def wrong(worker: _InThisProcess) -> object:
        return count_lines(str(other), zone=UTC)  # a worker confused: its lines differ

    monkeypatch.setattr(_InThisProcess, "result", wrong)
    assert read_bridge_log(log, zone=UTC, keep=CALLS) == whole


def test_a_gzip_or_utf16_log_is_counted_here(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, in_this_process: type[_InThisProcess]
) -> None:
    text = "\n".join(SHAPES + OURS_LINES) + "\n"
    packed = tmp_path / "bridge.log.gz"
    packed.write_bytes(gzip.compress(text.encode()))
    wide = tmp_path / "bridge-utf16.log"
    wide.write_text(text, encoding="utf-16")
    for log in (packed, wide):
        assert read_bridge_log(log, zone=UTC, keep=CALLS) == _one_process(log, monkeypatch)
    assert in_this_process.started == []


def test_a_failed_read_ends_its_worker(
    tmp_path: Path, in_this_process: type[_InThisProcess]
) -> None:
    class Broken(CallFilter):
        def lines_it_could_keep(self, text: str, lines: list[str] | None = None) -> set[int]:
            raise RuntimeError("broken filter")

        def could_keep(self, text: str) -> bool:
            raise RuntimeError("broken filter")

    with pytest.raises(RuntimeError, match="broken filter"):
        read_bridge_log(_log(tmp_path), zone=UTC, keep=Broken([OURS], []))
    assert in_this_process.stopped == [True]


def test_only_a_large_file_outside_a_frozen_build_with_two_cpus_gets_a_worker(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    big = bridge_log_counting.PARALLEL_MIN_BYTES
    monkeypatch.setattr(bridge_log_counting.os, "sched_getaffinity", lambda pid: {0, 1})
    assert bridge_log_counting.worth_a_worker(big)
    assert not bridge_log_counting.worth_a_worker(big - 1)
    assert not bridge_log_counting.worth_a_worker(None)
    monkeypatch.setattr(bridge_log_counting.sys, "frozen", True, raising=False)
    assert not bridge_log_counting.worth_a_worker(big)
    monkeypatch.delattr(bridge_log_counting.sys, "frozen")
    monkeypatch.setattr(bridge_log_counting.os, "sched_getaffinity", lambda pid: {0})
    assert not bridge_log_counting.worth_a_worker(big)
