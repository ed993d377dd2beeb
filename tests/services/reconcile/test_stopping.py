"""Cancel stops the reading too: a cancelled reconciliation's threads give up at their next
block of lines or rows, instead of reading a large log to its end."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from app.services.reconcile.bridge_log import CallFilter, read_bridge_log
from app.services.reconcile.bridge_log_blocks import BLOCK_BYTES
from app.services.reconcile.crm_activities import read_crm_activities
from app.services.reconcile.stopping import ReadStopped, check_stop, in_thread, stopping_when
from tests.services.reconcile.exports import write_csv
from tests.services.reconcile.test_bridge_log import write_large_log
from tests.support.waiting import until

ADELAIDE = ZoneInfo("Australia/Adelaide")


async def test_cancelling_the_awaiting_task_stops_the_thread_at_its_next_check() -> None:
    started, resume, outcome = threading.Event(), threading.Event(), []

    def reader() -> None:
        started.set()
        try:
            check_stop()  # running: not stopped yet
            # The next block, once the test has cancelled. No timed wait: under a shifted
            # clock (make test-clocks) a thread's timed wait may never time out.
            resume.wait()
            check_stop()
        except ReadStopped:
            outcome.append("stopped")
            return
        outcome.append("read on")

    task = asyncio.create_task(in_thread(reader))
    try:
        await until(started.is_set, "the reading thread to start", 30)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
    finally:
        resume.set()  # never leave the thread waiting: the loop's executor waits for it
    await until(lambda: bool(outcome), "the reading thread to end", 30)
    assert outcome == ["stopped"]


async def test_an_uncancelled_reader_returns_its_result_and_leaves_no_flag_behind() -> None:
    assert await in_thread(lambda: check_stop() or "read") == "read"
    check_stop()  # no flag outside the run: nothing raised


@pytest.mark.parametrize("keep", [None, CallFilter(["00000000-01dc-0000-0000-000000000003"], [])])
def test_a_stopped_bridge_log_read_ends_after_one_block(tmp_path: Path, keep: object) -> None:
    log = tmp_path / "bridge.log"
    write_large_log(log)
    assert log.stat().st_size > 20 * BLOCK_BYTES
    # Not stopped: the whole log.
    assert read_bridge_log(log, zone=ADELAIDE, keep=keep).counts.lines == 200_000  # type: ignore[arg-type]
    stop = threading.Event()
    stop.set()
    with stopping_when(stop), pytest.raises(ReadStopped):
        read_bridge_log(log, zone=ADELAIDE, keep=keep)  # type: ignore[arg-type]


def test_a_stopped_crm_export_read_ends_within_a_block_of_rows(tmp_path: Path) -> None:
    rows = [["Activity date", "Phone number"]]
    rows += [[f"2026-11-18 11:{n % 60:02d}", f"0412 345 {n % 1000:03d}"] for n in range(3000)]
    export = write_csv(tmp_path / "calls.csv", rows)
    assert len(read_crm_activities(export, zone=ADELAIDE, region="AU").activities) == 3000
    stop = threading.Event()
    stop.set()
    with stopping_when(stop), pytest.raises(ReadStopped):
        read_crm_activities(export, zone=ADELAIDE, region="AU")
