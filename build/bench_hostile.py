"""Peak memory against a gzip bomb: `doctor --json` beside a naive unbounded reader.

Both run as child processes against the same hostile front (tests/support/hostile_pbx.py) in
front of one simulator; peak RSS comes from ``os.wait4`` (ru_maxrss). The naive reader is httpx
inflating the whole body in memory, stopped by the harness at NAIVE_CAP_MB so the machine is
safe: its figure is a floor ("at least"), the real cost of reading 6 GB being larger still.

Run alone: ``.venv/bin/python build/bench_hostile.py``.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from tempfile import TemporaryDirectory

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench import Figure  # noqa: E402

from tests.support.child_memory import ChildRun, run_measured  # noqa: E402
from tests.support.hostile_pbx import hostile_servers  # noqa: E402
from tests.support.sim_process import COMMAND, sim_process  # noqa: E402

NAIVE_CAP_MB = 1024.0  # the harness stops the naive reader here (well under 1.5 GB)
KILL_AFTER_S = 90.0

# The naive approach: ask with the token, let httpx inflate the whole answer, then parse it.
NAIVE = """
import json, sys, httpx
url, ca, client_id, secret = sys.argv[1:5]
with httpx.Client(verify=ca, timeout=60) as http:
    token = http.post(url + "/connect/token", data={"grant_type": "client_credentials",
        "client_id": client_id, "client_secret": secret}).json()["access_token"]
    answer = http.get(url + "/xapi/v1/Users", headers={"Authorization": "Bearer " + token})
    json.loads(answer.content)
"""


def _doctor(url: str, sim: dict[str, str], ca_file: str, env: dict[str, str]) -> ChildRun:
    argv = [
        *COMMAND,
        "doctor",
        "--json",
        "--url",
        url,
        "--client-id",
        sim["client_id"],
        "--secret-env",
        "PBX_KEY",
        "--ca-file",
        ca_file,
        "--timeout",
        "5",
        "--deadline",
        "30",
    ]
    return run_measured(argv, env=env, kill_after_s=KILL_AFTER_S, rss_limit_mb=NAIVE_CAP_MB)


def _naive(url: str, sim: dict[str, str], ca_file: str, env: dict[str, str]) -> ChildRun:
    argv = [sys.executable, "-c", NAIVE, url, ca_file, sim["client_id"], sim["client_secret"]]
    return run_measured(argv, env=env, kill_after_s=KILL_AFTER_S, rss_limit_mb=NAIVE_CAP_MB)


def bench_hostile() -> list[Figure]:
    """One figure: the doctor's peak RSS against the gzip bomb, beside the naive reader's."""
    with (
        TemporaryDirectory(prefix="bench-hostile-") as work,
        sim_process() as sim,
        hostile_servers(sim, ["gzip-bomb"], Path(work)) as (_, servers),
    ):
        bomb = servers["gzip-bomb"]
        env = dict(os.environ, PBX_KEY=sim["client_secret"], PBX_COMPANION_HOME=work)
        ours = _doctor(bomb.url, sim, bomb.ca_file, env)
        naive = _naive(bomb.url, sim, bomb.ca_file, env)
    capped = naive.killed == "memory"
    naive_mb = max(naive.peak_rss_mb, NAIVE_CAP_MB if capped else 0.0)
    ours_note = (
        ""
        if ours.killed is None and ours.returncode in (0, 1)
        else (
            f"; the doctor did not finish cleanly (exit {ours.returncode}, killed: {ours.killed})"
        )
    )
    return [
        Figure(
            "peak RSS, doctor --json against a 6 GB gzip bomb",
            f"{ours.peak_rss_mb:.0f} MB",
            f"{'≥ ' if capped else ''}{naive_mb:.0f} MB httpx reading the whole body",
            f"{'≥ ' if capped else ''}{naive_mb / max(ours.peak_rss_mb, 1.0):.1f}x less",
            "child processes, ru_maxrss; target < 400 MB"
            + (f"; the naive reader was stopped at {NAIVE_CAP_MB:.0f} MB" if capped else "")
            + ours_note,
            value=round(ours.peak_rss_mb, 1),
            unit="MB",
            baseline=round(naive_mb, 1),
        )
    ]


if __name__ == "__main__":
    from bench import print_table

    print_table(bench_hostile())
