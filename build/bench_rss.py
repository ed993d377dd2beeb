"""Peak resident memory of a child process, for the bench figures (the harness is shared with
the memory tests: ``tests/support/child_memory.py``, which says why a launcher is needed).

    from bench_rss import peak_rss_mb
    run = peak_rss_mb([sys.executable, "-c", "x = bytearray(50 << 20)"], None, 60)
    run.returncode, run.peak_rss_mb, run.stdout, run.stderr, run.elapsed_s, run.killed
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.support.child_memory import ChildRun, run_measured

# A bench child may use a lot on purpose (the naive baselines), never the whole machine.
BENCH_RSS_LIMIT_MB = 3072.0

__all__ = ["ChildRun", "peak_rss_mb"]


def peak_rss_mb(
    argv: Sequence[str],
    env: Mapping[str, str] | None = None,
    timeout_s: float = 600.0,
    *,
    cwd: str | os.PathLike[str] | None = None,
    stdin: str | None = None,
) -> ChildRun:
    """Run ``argv`` to its end (killed after ``timeout_s``) and report its own peak RSS."""
    return run_measured(
        argv,
        env=env,
        kill_after_s=timeout_s,
        rss_limit_mb=BENCH_RSS_LIMIT_MB,
        cwd=cwd,
        stdin=stdin,
    )


def main() -> None:
    """``python build/bench_rss.py CMD ARGS...``: run it, then print its peak RSS and time."""
    run = peak_rss_mb(sys.argv[1:])
    sys.stdout.write(run.stdout)
    sys.stderr.write(run.stderr)
    print(
        f"exit {run.returncode}; peak RSS {run.peak_rss_mb:.1f} MB; {run.elapsed_s:.2f} s",
        file=sys.stderr,
    )


if __name__ == "__main__":
    main()
