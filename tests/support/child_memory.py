"""Peak resident memory of a child process: the one harness for memory tests and bench figures.

Linux's ``ru_maxrss`` for a child counts the resident set of the process it was forked from up
to its ``exec`` (the kernel carries the old memory's high-water mark over), so a child started
from a pytest session of 500 MB reports at least 500 MB whatever it does. So the command runs
under a tiny launcher: the launcher is what pytest forks, and the command is forked from the
launcher (a few MB), which reads the command's own peak with ``os.wait4`` and reports it.

A watchdog kills the whole process group past a time or a memory limit, so a runaway child can
neither hang the suite nor take the machine's memory. These are the harness's bounds, never a
product's wall-clock assert.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

_POLL_S = 0.05

# argv: REPORT COMMAND... ; writes "pid N" at once, then "rss KB status S" when it ends.
_LAUNCHER = r"""
import os, sys
report = sys.argv[1]
pid = os.fork()
if pid == 0:
    try:
        os.execvpe(sys.argv[2], sys.argv[2:], os.environ)
    finally:
        os._exit(127)
with open(report, "w") as out:
    out.write(f"pid {pid}\n")
_, status, usage = os.wait4(pid, 0)
with open(report, "a") as out:
    out.write(f"rss {usage.ru_maxrss} status {status}\n")
code = os.waitstatus_to_exitcode(status)
sys.exit(code if code >= 0 else 128 - code)
"""


@dataclass
class ChildRun:
    """A finished child: its output, its own peak resident memory, and whether the harness
    killed it (``killed``: "time" or "memory"), which no well-behaved run should need."""

    argv: list[str]
    returncode: int  # negative: ended by that signal (-9 when the harness killed it)
    stdout: str
    stderr: str
    peak_rss_mb: float
    elapsed_s: float
    killed: str | None = None


def run_measured(
    argv: Sequence[str],
    *,
    env: Mapping[str, str] | None = None,
    kill_after_s: float = 600.0,
    rss_limit_mb: float = 1024.0,
    cwd: str | os.PathLike[str] | None = None,
    stdin: str | None = None,
) -> ChildRun:
    """Run ``argv`` to its end and measure its peak RSS (MiB) as the kernel counted it."""
    with tempfile.TemporaryDirectory(prefix="child-memory-") as scratch:
        report = Path(scratch) / "report"
        out_path, err_path, in_path = (Path(scratch) / n for n in ("out", "err", "in"))
        in_path.write_text(stdin or "", encoding="utf-8")
        began = time.monotonic()
        with out_path.open("wb") as out, err_path.open("wb") as err, in_path.open("rb") as feed:
            proc = subprocess.Popen(
                [sys.executable, "-c", _LAUNCHER, str(report), *argv],
                env=dict(env) if env is not None else None,
                cwd=cwd,
                stdin=feed,
                stdout=out,
                stderr=err,
                start_new_session=True,  # one process group: the watchdog kills both
            )
            killed = _watch(proc, report, began + kill_after_s, rss_limit_mb)
        elapsed = time.monotonic() - began
        peak_kb, status = _read_report(report)
        returncode = os.waitstatus_to_exitcode(status) if status is not None else -9
        stderr = err_path.read_text(encoding="utf-8", errors="replace")
        if killed:
            stderr += f"\n[killed by the harness: {killed}]"
        return ChildRun(
            argv=list(argv),
            returncode=returncode if not killed else -9,
            stdout=out_path.read_text(encoding="utf-8", errors="replace"),
            stderr=stderr,
            peak_rss_mb=_kb_to_mb(peak_kb),
            elapsed_s=elapsed,
            killed=killed,
        )


def _watch(
    proc: subprocess.Popen[bytes], report: Path, deadline: float, rss_limit_mb: float
) -> str | None:
    """Wait for the launcher; kill its group past ``deadline`` or ``rss_limit_mb``."""
    killed: list[str] = []
    done = threading.Event()

    def watchdog() -> None:
        while not done.wait(_POLL_S):
            child = _child_pid(report)
            if time.monotonic() > deadline:
                killed.append("time")
            elif child is not None and _rss_mb(child) > rss_limit_mb:
                killed.append("memory")
            if killed:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
                return

    guard = threading.Thread(target=watchdog, name="child-memory-watchdog", daemon=True)
    guard.start()
    try:
        proc.wait()
    finally:
        done.set()
        guard.join()
    return killed[0] if killed else None


def _child_pid(report: Path) -> int | None:
    try:
        first = report.read_text(encoding="ascii").split("\n", 1)[0]
    except OSError:
        return None
    parts = first.split()
    return int(parts[1]) if len(parts) == 2 and parts[0] == "pid" else None


def _read_report(report: Path) -> tuple[int, int | None]:
    """The command's peak (KB, or bytes on macOS) and wait status; 0 and None if killed."""
    try:
        lines = report.read_text(encoding="ascii").splitlines()
    except OSError:
        return 0, None
    for line in lines:
        parts = line.split()
        if len(parts) == 4 and parts[0] == "rss":
            return int(parts[1]), int(parts[3])
    return 0, None


def _kb_to_mb(maxrss: int) -> float:
    # Linux counts kilobytes, macOS bytes.
    return maxrss / (1 << 20) if sys.platform == "darwin" else maxrss / 1024


def _rss_mb(pid: int) -> float:
    try:
        with open(f"/proc/{pid}/status", encoding="ascii", errors="replace") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0
