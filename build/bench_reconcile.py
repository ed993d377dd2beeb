"""`make bench`: a month of a busy PBX reconciled (issue 21): 150,000 calls against a
150,000-row CRM activity export and a 1 GB bridge log, read with the app's own readers and
decided by the domain's rules.

The figures:
- the join and verdict of 150,000 calls against 150,000 activities, beside the naive nested join
  (every activity against every call), timed on a sample and extrapolated (the full nested join
  is 2.25e10 comparisons);
- the CRM export read (streamed, columns detected), rows per second;
- the bridge log read (streamed, the period's ``CallFilter`` as the reconcile run passes it), MB
  per second, beside the same reader reading every line in full (no prefilter) on the first
  ``NAIVE_LOG_MB`` of the same log;
- the whole run (CRM + bridge log + join) for 150,000 / 150,000 / 1 GB against the 30 s target,
  and its peak RSS against 500 MB.

The generated log holds ``MONTHS`` months of a bridge (as a 1 GB log does: the app keeps only
the period's lines): per call a webhook line (text), a contact lookup (logfmt), the recording
fetch and the activity post (JSON lines), two lines about no call (a health check, a token
refresh) and, now and then, a stack-trace line nobody can read. One call in ``MONTHS`` is one of
the period's. The log is written to a temporary folder and deleted after.

Why seven months: a call costs the log about 965 bytes (6.2 lines), so this PBX's 150,000 calls
a month are ~145 MB of log a month, and 1 GB is ~6.9 of its months. With seven, each of the
period's calls is in the log once (~148,000 of the 150,000; the last ~1% not at all, as calls a
bridge never saw), so ~590,000 lines are kept: 4 per call. With three months,
1 GB held 345,000 calls a "month" and wrote each of the period's calls 2.3 times (1.38 M kept
lines for 150,000 calls), which no bridge's log does: ``--months 3`` still writes that log.

Each measuring runs in its own process so its peak RSS is its own. A log of 64 MB or more is
counted by a worker process while the reader finds the period's lines (``bridge_log_counting``),
so the RSS figure adds the workers' peaks: each one's own high-water mark (``VmHWM``, sampled
from /proc while it runs), summed, on top of the measuring process's peak. ``RUSAGE_CHILDREN``
cannot say it: Linux carries a child's pre-``exec`` memory over into its ``ru_maxrss``, so the
worker would count the measuring process's hundreds of MB again. The sum is an upper bound (the
measuring process peaks in the join, after the worker has ended). The log figure's note gives
the read's CPU seconds, here and in the worker: on a machine whose other core is busy, the two
share what is left, and the read takes longer. Run alone with
``.venv/bin/python build/bench_reconcile.py [--log-mb N] [--months N]``.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import json
import os
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


from app.domain.calls import CallDirection  # noqa: E402
from app.domain.reconcile.records import (  # noqa: E402
    BridgeEvent,
    CrmActivity,
    PbxCall,
    PbxRecording,
)
from app.services.reconcile.bridge_log import CallFilter, read_bridge_log  # noqa: E402
from app.services.reconcile.crm_activities import read_crm_activities  # noqa: E402
from app.services.reconcile.decide import decide_ledger  # noqa: E402

if TYPE_CHECKING:
    from bench import Figure

CALLS = 150_000
LOG_MB = 1000
NAIVE_LOG_MB = 100
MONTHS = 7  # see the module's doc: 1 GB is ~7 months of this PBX's calls
NAIVE_SAMPLE = 300
TARGET_S = 30.0
TARGET_RSS_MB = 500.0
START = datetime(2026, 10, 19, tzinfo=UTC)
ZONE = UTC
WORKER_TIMEOUT_S = 1800
RSS_SAMPLE_S = 0.02


def _calls(rng: random.Random) -> list[PbxCall]:
    calls = []
    for n in range(CALLS):
        start = START + timedelta(seconds=n * 17 + rng.randint(0, 9))
        calls.append(
            PbxCall(
                call_id=f"00000000-01dc-0000-0000-{n:012x}",
                started_at=start,
                ended_at=start + timedelta(seconds=rng.randint(20, 600)),
                direction=CallDirection.INBOUND if n % 3 else CallDirection.OUTBOUND,
                external_number=f"+6188{rng.randint(1000000, 9999999)}",
                answered=n % 11 != 0,
                extension=str(100 + n % 40),
                recording=PbxRecording.PRESENT,
                recording_ids=(n + 1,),
            )
        )
    return calls


def _write_crm(path: Path, calls: list[PbxCall], rng: random.Random) -> None:
    with path.open("w", encoding="utf-8", newline="") as file:
        out = csv.writer(file)
        out.writerow(
            [
                "Activity date",
                "Call direction",
                "Phone number",
                "Associated Contact",
                "Call recording URL",
                "Call notes",
                "Activity type",
            ]
        )
        for n, call in enumerate(calls):
            # Half carry the 3CX call id; the rest are tied by number and time.
            notes = f"3CX call id: {call.call_id}" if n % 2 else "Called back"
            at = call.started_at + timedelta(seconds=rng.randint(0, 90))
            out.writerow(
                [
                    at.strftime("%Y-%m-%dT%H:%M:%SZ"),
                    "INBOUND",
                    call.external_number,
                    f"Contact {n}",
                    f"https://crm.example/rec/{n}",
                    notes,
                    "Call",
                ]
            )


def _write_log(path: Path, calls: list[PbxCall], megabytes: float, months: int = MONTHS) -> int:
    """The bridge's log (see the module's doc); gives the lines about the period's calls."""
    target = int(megabytes * 1_000_000)
    written = ours_lines = 0
    group = 0
    before = START - timedelta(days=30 * (months - 1))
    with path.open("w", encoding="utf-8", newline="\n") as file:
        while written < target:
            if group % months == 0:
                call = calls[(group // months) % len(calls)]
                cid, rec, at = call.call_id, call.recording_ids[0], call.hung_up_at
                ours_lines += 4
            else:  # a call of another month: not in the PBX's list for the period
                cid = f"00000000-01db-0000-0000-{group:012x}"
                rec, at = 10_000_000 + group, before + timedelta(seconds=group * 7)
            day, clock = at.strftime("%Y-%m-%d"), at.strftime("%H:%M:%S")
            stamp = f"{day}T{clock}"
            lines = [
                f"{day} {clock},014 INFO webhook received: call {cid} ended (answered)\n",
                f'ts={stamp}.102Z level=info call_id={cid} msg="contact lookup" method=GET '
                "path=/crm/v3/objects/contacts/search status=200 duration_ms=84\n",
                f'{{"ts": "{stamp}.530Z", "level": "info", "msg": "fetch recording", '
                f'"call_id": "{cid}", "recording_id": {rec}, "method": "GET", "path": '
                f'"/xapi/v1/Recordings/Pbx.DownloadRecording(recId={rec})", "status": 200, '
                '"attempt": 1}\n',
                f'{{"ts": "{stamp}.911Z", "level": "info", "msg": "activity created", '
                f'"call_id": "{cid}", "method": "POST", "path": "/crm/v3/objects/calls", '
                f'"status": 201, "activity_id": "{group + 40_000_000}"}}\n',
                f'{{"ts": "{stamp}.950Z", "level": "debug", "msg": "health check ok", '
                f'"uptime_s": {group * 7}, "queue": 0}}\n',
                f'ts={stamp}.990Z level=info msg="token refreshed" expires_in=3600\n',
            ]
            if group % 50 == 49:
                lines.append("    at process.processTicksAndRejections (node:internal)\n")
            chunk = "".join(lines)
            file.write(chunk)
            written += len(chunk)
            group += 1
    return ours_lines


def _naive(calls: list[PbxCall], activities: list[CrmActivity]) -> float:
    """Seconds per activity for the nested join: every call looked at for every activity."""
    sample = activities[:NAIVE_SAMPLE]
    started = time.perf_counter()
    for activity in sample:
        best = None
        for call in calls:
            if activity.call_id and activity.call_id == call.call_id:
                best = call
                break
            if activity.at and call.external_number == activity.phone_e164:
                apart = abs((call.started_at - activity.at).total_seconds())
                if apart < 300 and (best is None or apart < 300):
                    best = call
    return (time.perf_counter() - started) / len(sample)


class _ChildPeaks:
    """Each child process's own peak RSS (``VmHWM``, kB), sampled from /proc while it runs."""

    def __init__(self) -> None:
        self.peaks_kb: dict[int, int] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def __enter__(self) -> _ChildPeaks:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _sample(self) -> None:
        while not self._stop.wait(RSS_SAMPLE_S):
            for pid in _children():
                with contextlib.suppress(OSError, ValueError):
                    status = Path(f"/proc/{pid}/status").read_text()
                    kb = int(status.split("VmHWM:")[1].split()[0])
                    self.peaks_kb[pid] = max(kb, self.peaks_kb.get(pid, 0))

    @property
    def total_mb(self) -> float:
        return sum(self.peaks_kb.values()) / 1024


def _children() -> list[int]:
    pids: list[int] = []
    with contextlib.suppress(OSError):
        for task in Path("/proc/self/task").iterdir():
            with contextlib.suppress(OSError):
                pids += [int(pid) for pid in (task / "children").read_text().split()]
    return pids


def worker(log_mb: float, months: int = MONTHS) -> dict[str, Any]:
    """The whole run, timed part by part: CRM export, bridge log (filtered), join and verdict."""
    rng = random.Random(21)
    calls = _calls(rng)
    with tempfile.TemporaryDirectory(prefix="pbx-bench-reconcile-") as folder:
        crm_path, log_path = Path(folder) / "crm.csv", Path(folder) / "bridge.log"
        _write_crm(crm_path, calls, rng)
        ours_lines = _write_log(log_path, calls, log_mb, months)
        size_mb = log_path.stat().st_size / 1_000_000
        started = time.perf_counter()
        crm = read_crm_activities(crm_path, zone=ZONE, region="AU")
        crm_s = time.perf_counter() - started
        started, cpu_before = time.perf_counter(), os.times()
        # As the reconcile run builds it (run._about_these_calls).
        keep = CallFilter(
            (i for c in calls for i in c.ids), (r for c in calls for r in c.recording_ids)
        )
        with _ChildPeaks() as workers:
            log = read_bridge_log(log_path, zone=ZONE, keep=keep)
        log_s, cpu_after = time.perf_counter() - started, os.times()
        events: tuple[BridgeEvent, ...] = log.events
        started = time.perf_counter()
        # As the reconcile run decides it (the domain's reconcile, the collector paused).
        ledger = decide_ledger(
            calls, crm.activities, events, period=(START, START + timedelta(days=31))
        )
        join_s = time.perf_counter() - started
        rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kB on Linux
        naive_per = _naive(calls, list(crm.activities))
    return {
        "calls": len(calls),
        "activities": len(crm.activities),
        "crm_s": crm_s,
        "log_mb": size_mb,
        "log_lines": log.counts.lines,
        "log_events": log.counts.events,
        "log_kept": len(events),
        "log_kept_expected": ours_lines,
        "log_s": log_s,
        "log_cpu_s": cpu_after.user - cpu_before.user + cpu_after.system - cpu_before.system,
        "log_workers_cpu_s": cpu_after.children_user
        - cpu_before.children_user
        + cpu_after.children_system
        - cpu_before.children_system,
        "log_workers": len(workers.peaks_kb),
        "log_workers_rss_mb": workers.total_mb,
        "join_s": join_s,
        "naive_s": naive_per * len(crm.activities),
        "matched": ledger.summary.matched,
        "rss_mb": rss_mb,
    }


def naive_log_worker(log_mb: float, months: int = MONTHS) -> dict[str, Any]:
    """The same log's start read with every line parsed in full (a plain keep function)."""
    calls = _calls(random.Random(21))
    ids = {i for c in calls for i in c.ids}
    recordings = {r for c in calls for r in c.recording_ids}
    with tempfile.TemporaryDirectory(prefix="pbx-bench-reconcile-") as folder:
        log_path = Path(folder) / "bridge.log"
        _write_log(log_path, calls, log_mb, months)
        started = time.perf_counter()
        log = read_bridge_log(
            log_path,
            zone=ZONE,
            keep=lambda e: e.call_id in ids or e.recording_id in recordings,
        )
        log_s = time.perf_counter() - started
        size_mb = log_path.stat().st_size / 1_000_000
    return {"log_mb": size_mb, "log_s": log_s, "log_kept": len(log.events)}


def _run(kind: str, log_mb: float, months: int) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, __file__, kind, str(log_mb), str(months)],
        capture_output=True,
        text=True,
        timeout=WORKER_TIMEOUT_S,
        check=True,
    )
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def _free_disk_ok(log_mb: float) -> bool:
    free_mb = shutil.disk_usage(tempfile.gettempdir()).free / 1_000_000
    return free_mb > 3 * log_mb + 1000


def bench_reconcile(log_mb: float = LOG_MB, months: int = MONTHS) -> list[Figure]:
    from bench import Figure

    if not _free_disk_ok(log_mb):
        log_mb = NAIVE_LOG_MB  # said in the figure's name: never a full disk for a bench
    r = _run("worker", log_mb, months)
    naive = _run("naive-log", min(NAIVE_LOG_MB, log_mb), months)
    per_gb = r["log_s"] / r["log_mb"] * 1000
    naive_per_gb = naive["log_s"] / naive["log_mb"] * 1000
    total = r["crm_s"] + r["join_s"] + r["log_s"]
    total_at_gb = r["crm_s"] + r["join_s"] + per_gb
    mb_s, naive_mb_s = r["log_mb"] / r["log_s"], naive["log_mb"] / naive["log_s"]
    rss_mb = r["rss_mb"] + r["log_workers_rss_mb"]
    return [
        Figure(
            "reconcile: join and verdict, 150,000 calls x 150,000 CRM rows",
            f"{r['join_s']:.1f} s",
            f"{r['naive_s']:.0f} s for the nested join (extrapolated from {NAIVE_SAMPLE} rows)",
            f"{r['naive_s'] / r['join_s']:.0f}x faster",
            f"{r['matched']:,} of {r['calls']:,} calls matched",
            value=round(r["join_s"], 2),
            unit="s",
            baseline=round(r["naive_s"], 1),
        ),
        Figure(
            "reconcile: CRM activity export read (150,000 rows, streamed)",
            f"{r['activities'] / r['crm_s']:,.0f} rows/s",
            "",
            "",
            f"{r['crm_s']:.1f} s",
            value=round(r["crm_s"], 2),
            unit="s",
        ),
        Figure(
            f"reconcile: bridge log read ({r['log_mb']:,.0f} MB, {months} months, streamed, "
            "the period's filter)",
            f"{mb_s:.1f} MB/s",
            f"{naive_mb_s:.1f} MB/s every line parsed in full (first {naive['log_mb']:.0f} MB)",
            f"{mb_s / naive_mb_s:.1f}x faster",
            f"{r['log_s']:.1f} s; {r['log_lines']:,} lines, {r['log_events']:,} about calls, "
            f"{r['log_kept']:,} kept (expected {r['log_kept_expected']:,}); CPU "
            f"{r['log_cpu_s']:.1f} s here + {r['log_workers_cpu_s']:.1f} s in "
            f"{r['log_workers']} worker process(es)",
            value=round(per_gb, 1),
            unit="s per GB",
            baseline=round(naive_per_gb, 1),
        ),
        Figure(
            f"reconcile: whole run, 150,000 calls, 150,000 CRM rows, {r['log_mb']:,.0f} MB log",
            f"{total:.1f} s",
            f"{TARGET_S:.0f} s target (with 1 GB)",
            f"{TARGET_S / total_at_gb:.2f}x the target's pace (1 GB: {total_at_gb:.1f} s)",
            f"CRM {r['crm_s']:.1f} s + log {r['log_s']:.1f} s + join {r['join_s']:.1f} s",
            value=round(total_at_gb, 1),
            unit="s",
            baseline=TARGET_S,
            baseline_is="target",
        ),
        Figure(
            "reconcile: peak RSS of the whole run (the log's worker processes included)",
            f"{rss_mb:.0f} MB",
            f"{TARGET_RSS_MB:.0f} MB target",
            f"{rss_mb / TARGET_RSS_MB:.2f}x the target",
            f"{r['rss_mb']:.0f} MB this process + {r['log_workers_rss_mb']:.0f} MB, the sum of "
            f"{r['log_workers']} log worker(s)' own peaks (VmHWM); {r['log_kept']:,} bridge "
            f"events, {r['activities']:,} activities, {r['calls']:,} calls held",
            value=round(rss_mb, 0),
            unit="MB",
            baseline=TARGET_RSS_MB,
            baseline_is="target",
        ),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--log-mb", type=float, default=LOG_MB, help="the bridge log's size")
    parser.add_argument(
        "--months", type=int, default=MONTHS, help="months of calls in the log (one is kept)"
    )
    args = parser.parse_args()
    for figure in bench_reconcile(args.log_mb, args.months):
        print(figure)


if __name__ == "__main__":
    if sys.argv[1:2] == ["worker"]:
        print(json.dumps(worker(float(sys.argv[2]), int(sys.argv[3]))))
    elif sys.argv[1:2] == ["naive-log"]:
        print(json.dumps(naive_log_worker(float(sys.argv[2]), int(sys.argv[3]))))
    else:
        main()
