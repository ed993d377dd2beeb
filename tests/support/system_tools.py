"""Skip locally, fail in CI: what a fixture does when a system program it needs is missing."""

from __future__ import annotations

import os
import select
import shutil
import signal
import subprocess
import time
from contextlib import ExitStack, suppress
from types import TracebackType
from typing import Generic, NoReturn, TypeVar

import pytest

_FALSE_WORDS = frozenset({"", "0", "false", "no", "off"})


def in_ci() -> bool:
    """True when running under CI (env CI set to anything but an explicit false)."""
    return os.environ.get("CI", "").strip().lower() not in _FALSE_WORDS


def unavailable(reason: str) -> NoReturn:
    """Skip the test on a developer machine; fail it loudly in CI, where .ci/run installs it all."""
    if in_ci():
        pytest.fail(f"{reason} (CI must provide this: see .ci/run)", pytrace=False)
    pytest.skip(reason)


def require_programs(*programs: str, packages: str, purpose: str) -> None:
    """Skip (or fail in CI) unless every program is on PATH."""
    missing = [name for name in programs if shutil.which(name) is None]
    if missing:
        unavailable(f"{purpose} need {', '.join(missing)}: install the Debian packages {packages}")


def stop_process_group(process: subprocess.Popen[bytes], timeout: float = 5.0) -> None:
    """Terminate a daemon started with start_new_session=True, with its children; then reap it."""
    if process.poll() is None:
        with suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            with suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait()
    for stream in (process.stdin, process.stdout, process.stderr):
        if stream is not None:
            stream.close()


Started = TypeVar("Started")


class BackgroundDaemons(Generic[Started]):
    """A context manager for helper daemons: ``_start`` registers their cleanup on the stack.

    If starting fails half-way, whatever did start is stopped before the error propagates.
    """

    def __init__(self) -> None:
        self._stack = ExitStack()

    def _start(self) -> Started:
        raise NotImplementedError

    def __enter__(self) -> Started:
        try:
            return self._start()
        except BaseException:
            self._stack.close()
            raise

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._stack.close()


def read_line(fd: int, deadline: float) -> bytes:
    """One line from a pipe, giving up at the deadline (select, so it never hangs)."""
    data = b""
    while not data.endswith(b"\n"):
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            break
        ready, _, _ = select.select([fd], [], [], remaining)
        if not ready:
            break
        chunk = os.read(fd, 4096)
        if not chunk:
            break
        data += chunk
    return data.strip()
