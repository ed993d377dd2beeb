"""`make bench`: a month of a busy PBX reconciled (issue 21): 150,000 calls against a
150,000-row CRM activity export and a bridge log, read with the app's own readers and decided by
the domain's rules.

Three figures:
- the join and verdict of 150,000 calls against 150,000 activities, beside the naive nested join
  (every activity against every call), timed on a sample and extrapolated (the full nested join
  is 2.25e10 comparisons);
- the CRM export read (streamed, columns detected), rows per second;
- the bridge log read (streamed), MB per second, on a generated log of ``LOG_MB``, with the
  projected time for 1 GB; and the whole pipeline's peak RSS.

The measuring runs in its own process so its peak RSS is its own. Run alone with
``.venv/bin/python build/bench_reconcile.py``.
"""

from __future__ import annotations

import csv
import json
import random
import resource
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


from app.domain.calls import CallDirection  # noqa: E402
from app.domain.reconcile.ledger import reconcile  # noqa: E402
from app.domain.reconcile.records import (  # noqa: E402
    BridgeEvent,
    CrmActivity,
    PbxCall,
    PbxRecording,
)
from app.services.reconcile.bridge_log import read_bridge_log  # noqa: E402
from app.services.reconcile.crm_activities import read_crm_activities  # noqa: E402

if TYPE_CHECKING:
    from bench import Figure

CALLS = 150_000
LOG_MB = 100
NAIVE_SAMPLE = 300
START = datetime(2026, 10, 19, tzinfo=UTC)
ZONE = UTC
WORKER_TIMEOUT_S = 900


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


def _write_log(path: Path, calls: list[PbxCall]) -> None:
    target = LOG_MB * 1_000_000
    written = 0
    with path.open("w", encoding="utf-8") as file:
        n = 0
        while written < target:
            call = calls[n % len(calls)]
            at = call.hung_up_at + timedelta(seconds=2)
            line = (
                json.dumps(
                    {
                        "ts": at.strftime("%Y-%m-%dT%H:%M:%S.000Z"),
                        "level": "info",
                        "msg": "fetch recording",
                        "call_id": call.call_id,
                        "recording_id": call.recording_ids[0],
                        "method": "GET",
                        "path": f"/xapi/v1/Recordings/Pbx.DownloadRecording(recId={call.recording_ids[0]})",
                        "status": 200,
                        "attempt": 1,
                    }
                )
                + "\n"
            )
            file.write(line)
            written += len(line)
            n += 1


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


def worker() -> dict[str, Any]:
    rng = random.Random(21)
    calls = _calls(rng)
    with tempfile.TemporaryDirectory(prefix="pbx-bench-reconcile-") as folder:
        crm_path, log_path = Path(folder) / "crm.csv", Path(folder) / "bridge.log"
        _write_crm(crm_path, calls, rng)
        _write_log(log_path, calls)
        started = time.perf_counter()
        crm = read_crm_activities(crm_path, zone=ZONE, region="AU")
        crm_s = time.perf_counter() - started
        ids = {c.call_id for c in calls}
        started = time.perf_counter()
        log = read_bridge_log(log_path, zone=ZONE, keep=lambda e: e.call_id in ids)
        log_s = time.perf_counter() - started
        size_mb = log_path.stat().st_size / 1_000_000
        events: tuple[BridgeEvent, ...] = log.events
        started = time.perf_counter()
        ledger = reconcile(
            calls, crm.activities, events, period=(START, START + timedelta(days=31))
        )
        join_s = time.perf_counter() - started
        naive_per = _naive(calls, list(crm.activities))
    return {
        "calls": len(calls),
        "activities": len(crm.activities),
        "crm_s": crm_s,
        "log_mb": size_mb,
        "log_s": log_s,
        "join_s": join_s,
        "naive_s": naive_per * len(crm.activities),
        "matched": ledger.summary.matched,
        "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,  # kB on Linux
    }


def bench_reconcile() -> list[Figure]:
    from bench import Figure

    done = subprocess.run(
        [sys.executable, __file__, "worker"],
        capture_output=True,
        text=True,
        timeout=WORKER_TIMEOUT_S,
        check=True,
    )
    r = json.loads(done.stdout.strip().splitlines()[-1])
    per_gb = r["log_s"] / r["log_mb"] * 1000
    total = r["crm_s"] + r["join_s"] + per_gb
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
            f"reconcile: bridge log read ({r['log_mb']:.0f} MB, streamed)",
            f"{r['log_mb'] / r['log_s']:.1f} MB/s",
            "30 s target for the whole run with a 1 GB log",
            f"1 GB projected {per_gb:.0f} s; whole run {total:.0f} s",
            f"peak RSS {r['rss_mb']:.0f} MB (target 500 MB)",
            value=round(total, 1),
            unit="s",
            baseline=30.0,
            baseline_is="target",
        ),
    ]


if __name__ == "__main__":
    if sys.argv[1:] == ["worker"]:
        print(json.dumps(worker()))
    else:
        for figure in bench_reconcile():
            print(figure)
