"""`make bench`: the whole fleet swept from one laptop (issue 22): 500 simulated PBXs at 50 ms
round-trip time, checked by ``fleet sweep``'s service at 20 at a time.

The figures:
- the sweep's wall time, beside the same doctors run one after another (concurrency 1), timed on
  the first ``SAMPLE`` PBXs and extrapolated to all of them;
- the sweep against the 60 s target;
- the sweeping process's peak RSS against 1 GB;
- the most sockets it held open at once (the /proc/PID/fd entries that are sockets, of the
  sweeping process and its worker processes, sampled every 20 ms), beside what the concurrency
  allows: each PBX's connection pool and its reachability probe's connection, times the
  concurrency (printed beside it, as every figure is: a bench asserts nothing);
- the TLS handshakes a doctor run costs (the connections the simulator accepted, counted in its
  process), beside the same in the one-after-another run.

The sweep runs in as many processes as ``fleet sweep`` picks for this machine (one per 50 PBXs,
at most 4, one fewer than the CPUs), or ``--processes N``; its RSS is then the sum over the
processes at the largest sample.

The PBXs: one simulator process serves all of them, each an in-process simulated PBX on its own
port with its own CA and TLS certificate; every response is held 50 ms by the simulator
(``--latency-ms``: the handshakes themselves are loopback-fast). One PBX in 50 has a key the PBX
refuses and one in 50 a retention fault, so the sweep meets failures too. Keys are handed to the
sweep directly (no keyring: the bench measures the sweep, not the Secret Service); the run
history goes to a temporary PBX_COMPANION_HOME, deleted after.

The sweeping runs in its own process (and its workers), so its peak RSS and sockets are its own. Run alone with
``nice -n 5 .venv/bin/python build/bench_fleet.py [--pbxs N] [--concurrency N] [--processes N]
[--write]``
(``--write`` adds the figures to build/bench.json, replacing earlier fleet figures).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING, Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

if TYPE_CHECKING:
    from bench import Figure

PBXS = 500
LATENCY_MS = 50
CONCURRENCY = 20
SAMPLE = 20  # PBXs doctored one after another, extrapolated to all
TARGET_S = 60.0
TARGET_RSS_MB = 1024.0
SAMPLE_EVERY_S = 0.02
WORKER_TIMEOUT_S = 1800


def _faults(index: int) -> list[str]:
    if index % 50 == 7:
        return ["bad-key"]
    if index % 50 == 13:
        return ["retention-deleted"]
    return []


# ---- the simulator process -------------------------------------------------------------------
def _count_tls_sessions() -> list[int]:
    """Count every TLS session the simulated PBXs accept (each is one connection and one
    handshake): asyncio wraps each accepted connection with ``SSLContext.wrap_bio``."""
    import ssl

    accepted = [0]
    wrap = ssl.SSLContext.wrap_bio

    def counted(self: ssl.SSLContext, *args: Any, **kwargs: Any) -> ssl.SSLObject:
        if kwargs.get("server_side"):
            accepted[0] += 1
        return wrap(self, *args, **kwargs)

    ssl.SSLContext.wrap_bio = counted  # type: ignore[method-assign]
    return accepted


async def _serve(count: int, latency_ms: int) -> None:
    """Start ``count`` PBXs, print one JSON line each and "ready", then serve: each line read
    from stdin is answered with the TLS sessions accepted and the CPU spent serving so far;
    stdin closing ends it."""
    from app.sim import SimConfig, Simulator

    accepted = _count_tls_sessions()
    sims = []
    try:
        for index in range(count):
            sim = Simulator(
                SimConfig(
                    tls=True,
                    latency_ms=latency_ms,
                    calls_per_minute=0,
                    seed=index + 1,
                    faults=_faults(index),
                )
            )
            await sim.start()
            sims.append(sim)
            line = {
                "url": sim.url,
                "client_id": sim.client_id,
                "client_secret": sim.client_secret,
                "ca_file": sim.ca_file,
            }
            print(json.dumps(line), flush=True)
        ready_cpu = _cpu_s(resource.RUSAGE_SELF)
        accepted[0] = 0
        print("ready", flush=True)
        while await asyncio.to_thread(sys.stdin.readline):  # until the bench closes our stdin
            serving = _cpu_s(resource.RUSAGE_SELF) - ready_cpu
            print(json.dumps({"tls_sessions": accepted[0], "serving_cpu_s": serving}), flush=True)
        # What serving the sweeps cost, without building the PBXs.
        print(json.dumps({"serving_cpu_s": _cpu_s(resource.RUSAGE_SELF) - ready_cpu}), flush=True)
    finally:
        for sim in sims:
            await sim.stop()


# ---- the sweeping process --------------------------------------------------------------------
def _children(pid: int) -> list[int]:
    """This process's children (the sweep's worker processes), from /proc."""
    found = []
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat", encoding="ascii") as stat:
                parent = int(stat.read().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        if parent == pid:
            found.append(int(entry.name))
    return found


def _sockets(pids: list[int]) -> int:
    count = 0
    for pid in pids:
        try:
            entries = list(os.scandir(f"/proc/{pid}/fd"))
        except OSError:
            continue  # ended while we looked
        for entry in entries:
            try:
                if os.readlink(entry.path).startswith("socket:"):
                    count += 1
            except OSError:
                continue  # closed while we looked
    return count


def _rss_mb(pids: list[int]) -> float:
    total = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/status", encoding="ascii") as status:
                for line in status:
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1])
        except (OSError, ValueError):
            continue
    return total / 1024


async def _sweep(pbxs: list[dict[str, str]], concurrency: int, processes: int) -> dict[str, Any]:
    from app.domain.connection import ConnectionProfile
    from app.services.fleet.history import FleetHistory
    from app.services.fleet.shards import sweep_in_processes
    from app.services.fleet.sweep import SweepSettings
    from app.services.fleet.targets import FleetTarget
    from app.services.known_certificates import KnownCertificates

    targets = [
        FleetTarget(
            ConnectionProfile(
                id=f"pbx-{n}",
                name=f"PBX {n:03d}",
                url=p["url"],
                client_id=p["client_id"],
                ca_file=p["ca_file"],
            ),
            p["client_secret"],
        )
        for n, p in enumerate(pbxs)
    ]
    me = os.getpid()
    peak_sockets, peak_rss = 0, 0.0
    running = True

    async def sample() -> None:
        nonlocal peak_sockets, peak_rss
        while running:
            tree = [me, *_children(me)]
            peak_sockets = max(peak_sockets, _sockets(tree))
            peak_rss = max(peak_rss, _rss_mb(tree))
            await asyncio.sleep(SAMPLE_EVERY_S)

    baseline_sockets = _sockets([me])
    sampler = asyncio.create_task(sample())
    history = FleetHistory.open()
    began = time.perf_counter()
    try:
        result = await sweep_in_processes(
            targets,
            SweepSettings(concurrency=concurrency),
            processes=processes,
            history=history,
            known_certificates=KnownCertificates(),
        )
    finally:
        wall = time.perf_counter() - began
        running = False
        await sampler
        history.close()
    first = Counter(
        str(row.diagnosis.first_failure) if row.diagnosis else "not checked" for row in result.rows
    )
    return {
        "pbxs": len(result.rows),
        "processes": processes,
        "wall_s": wall,
        # The sum of the tree's resident sets at its largest sample, and this process's peak.
        "rss_mb": max(peak_rss, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
        "max_sockets": peak_sockets - baseline_sockets,
        "outcomes": dict(Counter(str(row.outcome) for row in result.rows)),
        "first_failures": dict(first),
        "slowest_s": max((row.duration_s for row in result.rows), default=0.0),
        "cpu_s": _cpu_s(resource.RUSAGE_SELF) + _cpu_s(resource.RUSAGE_CHILDREN),
    }


def _cpu_s(who: int) -> float:
    usage = resource.getrusage(who)
    return usage.ru_utime + usage.ru_stime


def worker(concurrency: int, processes: int) -> dict[str, Any]:
    pbxs: list[dict[str, str]] = json.loads(sys.stdin.read())
    return asyncio.run(_sweep(pbxs, concurrency, processes))


# ---- the bench -------------------------------------------------------------------------------
def _run_worker(
    pbxs: list[dict[str, str]], concurrency: int, processes: int, home: Path
) -> dict[str, Any]:
    shutil.rmtree(home, ignore_errors=True)
    home.mkdir(parents=True)
    done = subprocess.run(
        [sys.executable, __file__, "worker", str(concurrency), str(processes)],
        input=json.dumps(pbxs),
        capture_output=True,
        text=True,
        timeout=WORKER_TIMEOUT_S,
        check=True,
        env={**os.environ, "PBX_COMPANION_HOME": str(home)},
    )
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def measure(pbxs: int, latency_ms: int, concurrency: int, processes: int) -> dict[str, Any]:
    folder = Path(tempfile.mkdtemp(prefix="pbx-fleet-bench-"))
    sims = subprocess.Popen(
        [sys.executable, __file__, "sims", str(pbxs), str(latency_ms)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert sims.stdout is not None and sims.stdin is not None
        started = time.perf_counter()
        served: list[dict[str, str]] = []
        for line in sims.stdout:
            if line.strip() == "ready":
                break
            served.append(json.loads(line))
        start_s = time.perf_counter() - started

        def counts() -> dict[str, Any]:
            assert sims.stdin is not None and sims.stdout is not None
            sims.stdin.write("count\n")
            sims.stdin.flush()
            counted: dict[str, Any] = json.loads(sims.stdout.readline())
            return counted

        together = _run_worker(served, concurrency, processes, folder / "together")
        after_sweep = counts()
        together["tls_sessions"] = int(after_sweep["tls_sessions"])
        # Read between the runs: the sweep's own serving, not a share of both runs' (the
        # simulator keeps some answers' parts, so the second run costs it less per PBX).
        serving_cpu_s = float(after_sweep["serving_cpu_s"])
        alone = _run_worker(served[:SAMPLE], 1, 1, folder / "alone")
        alone["tls_sessions"] = int(counts()["tls_sessions"]) - together["tls_sessions"]
        sims.stdin.close()
        sims.stdout.readline()  # the closing line: serving both runs
    finally:
        if sims.stdin is not None and not sims.stdin.closed:
            sims.stdin.close()
        try:
            sims.wait(timeout=60)
        except subprocess.TimeoutExpired:
            sims.kill()
            sims.wait(timeout=10)
        if sims.stdout is not None:
            sims.stdout.close()
        shutil.rmtree(folder, ignore_errors=True)
    return {
        "together": together,
        "alone": alone,
        "sims_start_s": start_s,
        "serving_cpu_s": serving_cpu_s,
    }


def bench_fleet(
    pbxs: int = PBXS,
    latency_ms: int = LATENCY_MS,
    concurrency: int = CONCURRENCY,
    processes: int | None = None,
) -> list[Figure]:
    from bench import Figure

    from app.services.fleet.shards import processes_for
    from app.services.fleet.sweep import DEFAULT_CONNECTIONS_PER_PBX

    processes = processes or processes_for(pbxs, os.cpu_count())
    m = measure(pbxs, latency_ms, concurrency, processes)
    t, a = m["together"], m["alone"]
    sample = a["pbxs"]
    one_after_another = a["wall_s"] * pbxs / sample
    # By design: each PBX's pool, and the reachability probe's own connection beside it; each
    # worker process adds 3 sockets of its own.
    per_pbx = DEFAULT_CONNECTIONS_PER_PBX + 1
    allowed = per_pbx * concurrency + (3 * processes if processes > 1 else 0)
    handshakes, handshakes_alone = t["tls_sessions"] / t["pbxs"], a["tls_sessions"] / sample
    where = f"{pbxs} PBXs at {latency_ms} ms RTT"
    serving = m["serving_cpu_s"]  # serving the sweep, read before the one-after-another run
    tally = ", ".join(f"{n} {what}" for what, n in sorted(t["outcomes"].items()))
    return [
        Figure(
            f"fleet sweep: {where}, {concurrency} at a time in {processes} "
            f"process{'es' if processes > 1 else ''}",
            f"{t['wall_s']:.1f} s",
            f"{one_after_another:.0f} s one after another (extrapolated from {sample} PBXs: "
            f"{a['wall_s']:.1f} s)",
            f"{one_after_another / t['wall_s']:.1f}x faster",
            f"{tally}; slowest PBX {t['slowest_s']:.1f} s; CPU: sweep {t['cpu_s']:.0f} s "
            f"({t['cpu_s'] / t['pbxs'] * 1000:.0f} ms a PBX), simulator {serving:.0f} s, "
            f"on {os.cpu_count()} CPUs",
            value=round(t["wall_s"], 1),
            unit="s",
            baseline=round(one_after_another, 1),
        ),
        Figure(
            f"fleet sweep: {where} against the target",
            f"{t['wall_s']:.1f} s",
            f"{TARGET_S:.0f} s target",
            f"{t['wall_s'] / TARGET_S:.2f}x the target",
            "the run history written too (one SQLite row per PBX)",
            value=round(t["wall_s"], 1),
            unit="s",
            baseline=TARGET_S,
            baseline_is="target",
        ),
        Figure(
            f"fleet sweep: peak RSS, {where}",
            f"{t['rss_mb']:.0f} MB",
            f"{TARGET_RSS_MB:.0f} MB target",
            f"{t['rss_mb'] / TARGET_RSS_MB:.2f}x the target",
            f"one after another: {a['rss_mb']:.0f} MB",
            value=round(t["rss_mb"], 0),
            unit="MB",
            baseline=TARGET_RSS_MB,
            baseline_is="target",
        ),
        Figure(
            f"fleet sweep: most sockets open at once, {concurrency} at a time",
            f"{t['max_sockets']}",
            f"{allowed} allowed ({per_pbx} a PBX x {concurrency}; one doctor alone held "
            f"{a['max_sockets']})",
            f"{t['max_sockets'] / allowed:.2f}x the allowance" if allowed else "",
            f"sampled every {SAMPLE_EVERY_S * 1000:.0f} ms from /proc/PID/fd, workers included "
            "(each worker adds 3 of its own: its event loop's and its stdin's)",
            value=float(t["max_sockets"]),
            unit="sockets",
            baseline=float(allowed),
            baseline_is="target",
        ),
        Figure(
            "fleet sweep: TLS handshakes a doctor run",
            f"{handshakes:.1f}",
            f"{handshakes_alone:.1f} one after another",
            "",
            f"the connections the simulated PBXs accepted ({t['tls_sessions']} for {t['pbxs']} "
            f"PBXs), the monitored-list probe after each doctor included; at most "
            f"{per_pbx} a run: the probe's, and the PBX's pool",
            value=round(handshakes, 1),
            unit="handshakes",
            baseline=round(handshakes_alone, 1),
        ),
    ]


def _write(figures: list[Figure]) -> None:
    from bench import BENCH_JSON

    document = json.loads(BENCH_JSON.read_text(encoding="utf-8"))
    kept = [f for f in document["figures"] if not str(f["name"]).startswith("fleet sweep:")]
    document["figures"] = kept + [f.as_json() for f in figures]
    BENCH_JSON.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")


def main() -> None:
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from bench import print_table

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--pbxs", type=int, default=PBXS)
    parser.add_argument("--latency-ms", type=int, default=LATENCY_MS)
    parser.add_argument("--concurrency", type=int, default=CONCURRENCY)
    parser.add_argument("--processes", type=int, default=None, help="default: as the CLI picks")
    parser.add_argument("--write", action="store_true", help="add the figures to bench.json")
    args = parser.parse_args()
    figures = bench_fleet(args.pbxs, args.latency_ms, args.concurrency, args.processes)
    print_table(figures)
    if args.write:
        _write(figures)


if __name__ == "__main__":
    if sys.argv[1:2] == ["sims"]:
        asyncio.run(_serve(int(sys.argv[2]), int(sys.argv[3])))
    elif sys.argv[1:2] == ["worker"]:
        print(json.dumps(worker(int(sys.argv[2]), int(sys.argv[3]))))
    else:
        main()
