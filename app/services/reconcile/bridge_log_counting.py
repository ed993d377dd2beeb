"""A large plain log's counts taken by a worker process while this one reads its events.

A filtered read of a 1 GB bridge log has two halves of about equal cost: classifying every
line for the counts (millions of lines about other periods' calls, ``bridge_log_bulk``) and
finding and reading in full the lines about the period's calls (``bridge_log_filter``). One
process uses one core; ``CountingWorker`` runs the first half in a worker process (the same
reader, with a filter that keeps nothing, so its counts are the full reading's) while the
caller runs the second, keeping only the events. The worker holds no ids and no events, only
counts, so it is small, and what comes back is a few numbers.

As the fleet sweep's shards do, the worker is a fresh interpreter started with ``python -m``
(never a fork of this process, whose Qt threads may be running); its job arrives on stdin and
its counts leave on stdout. A frozen build has no ``python -m``: there, and wherever the worker
cannot start or does not finish, the caller counts the lines itself (the same counts, slower).
"""

from __future__ import annotations

import contextlib
import logging
import os
import pickle
import subprocess
import sys
from typing import Any

from app.services.worker_processes import quiet_start

log = logging.getLogger(__name__)

PARALLEL_MIN_BYTES = 64 * 1024 * 1024  # smaller files: starting a worker costs more than it saves
WORKER = (sys.executable, "-m", "app.services.reconcile.bridge_log_count_worker")
_WAIT_S = 5.0  # for a worker told to stop


def worth_a_worker(size: int | None) -> bool:
    """Whether a file of ``size`` bytes is counted by a worker: a large one, with a second
    CPU to run it on, outside a frozen build."""
    if size is None or size < PARALLEL_MIN_BYTES or getattr(sys, "frozen", False):
        return False
    try:
        cpus = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cpus = os.cpu_count() or 1
    return cpus >= 2


class CountingWorker:
    """One worker process counting a file (``start``), whose counts ``result`` waits for."""

    def __init__(self) -> None:
        self._proc: subprocess.Popen[bytes] | None = None

    def start(self, job: object) -> bool:
        """Start the worker on ``job`` (pickled to its stdin); False when it cannot start."""
        try:
            data = pickle.dumps(job, protocol=pickle.HIGHEST_PROTOCOL)
        except (pickle.PicklingError, TypeError, AttributeError) as exc:  # a zone of its own
            log.info("Bridge log counted in this process: the job cannot be sent (%s)", exc)
            return False
        try:
            proc = subprocess.Popen(
                WORKER, stdin=subprocess.PIPE, stdout=subprocess.PIPE, **quiet_start()
            )
        except OSError as exc:  # no interpreter to start
            log.info("Bridge log counted in this process: no worker (%s)", exc)
            return False
        self._proc = proc
        assert proc.stdin is not None
        try:
            with proc.stdin:
                proc.stdin.write(data)
        except OSError as exc:  # gone already
            log.info("Bridge log counted in this process: the worker ended (%s)", exc)
            self.stop()
            return False
        return True

    def result(self) -> Any | None:
        """What the worker wrote (waiting for it to end); None when it ended without it."""
        proc = self._proc
        if proc is None or proc.stdout is None:
            return None
        try:
            with proc.stdout:
                answer = pickle.load(proc.stdout)
        except Exception:  # whatever a cut or garbled answer raises: counted here instead
            answer = None
        if proc.wait() != 0:
            answer = None
        if answer is None:
            log.info("Bridge log counted in this process: the worker ended early")
        self._proc = None
        return answer

    def stop(self) -> None:
        """End the worker, if still running (the read failed or was abandoned)."""
        proc, self._proc = self._proc, None
        if proc is None:
            return
        if proc.poll() is None:
            proc.kill()
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=_WAIT_S)
        if proc.stdout is not None:
            proc.stdout.close()
