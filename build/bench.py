"""`make bench`: measured figures, each beside the naive approach run in the same process.

Figures are printed, never asserted. Run from the repository root with the project venv.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import statistics
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from app.services.doctor import Doctor
from app.services.facts.options import DoctorOptions
from app.threecx.connect import ConnectionParams
from app.threecx.tls import TlsOptions


@dataclass(frozen=True)
class Figure:
    """One measured figure: the words printed, and the numbers `build/bench.json` keeps."""

    name: str
    ours: str
    naive: str
    ratio: str
    note: str = ""
    value: float | None = None  # ours, in ``unit``
    unit: str = ""
    baseline: float | None = None  # the naive approach (or the target), same run, same unit
    baseline_is: str = "naive"  # "naive" (measured in the same run) or "target"

    def as_json(self) -> dict[str, object]:
        ratio = (
            round(self.baseline / self.value, 3)
            if self.value and self.baseline is not None
            else None
        )
        return {
            "name": self.name,
            "value": self.value,
            "unit": self.unit,
            "baseline": self.baseline,
            "baseline_is": self.baseline_is if self.baseline is not None else None,
            "baseline_over_value": ratio,
            "ours": self.ours,
            "naive": self.naive,
            "ratio": self.ratio,
            "note": self.note,
        }


BENCH_JSON = Path(__file__).resolve().parent / "bench.json"


async def _median_s(
    run: Callable[[], Awaitable[object]], repeats: int
) -> tuple[float, list[float]]:
    times = []
    for _ in range(repeats):
        began = time.perf_counter()
        await run()
        times.append(time.perf_counter() - began)
    return statistics.median(times), times


@contextlib.contextmanager
def sim_process(*extra: str) -> Iterator[dict[str, str]]:
    """``pbx-companion sim`` in its own process: a real PBX does not share our CPU either."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "app.cli", "sim", "--tls", "--calls-per-minute", "0", *extra],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        yield json.loads(proc.stdout.readline())
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        if proc.stdout is not None:
            proc.stdout.close()


async def bench_doctor(latency_ms: int, repeats: int) -> Figure:
    with sim_process("--latency-ms", str(latency_ms)) as sim:
        params = ConnectionParams(
            url=sim["url"], client_id=sim["client_id"], tls=TlsOptions(ca_file=sim["ca_file"])
        )

        def doctor(concurrent: bool) -> Callable[[], Awaitable[object]]:
            options = DoctorOptions(concurrent=concurrent)
            return lambda: Doctor(params, sim["client_secret"], options).run()

        await doctor(True)()  # warm up: imports, first token, the simulator's caches
        ours, _ = await _median_s(doctor(True), repeats)
        naive, _ = await _median_s(doctor(False), repeats)
    return Figure(
        f"doctor, 7 checks at {latency_ms} ms RTT",
        f"{ours * 1000:.0f} ms",
        f"{naive * 1000:.0f} ms one after another",
        f"{naive / ours:.1f}x faster",
        f"median of {repeats}; {ours * 1000 / latency_ms:.1f} round trips of {latency_ms} ms "
        f"(target: 7 or fewer, and >= 3x)",
        value=round(ours * 1000, 1),
        unit="ms",
        baseline=round(naive * 1000, 1),
    )


def print_table(figures: list[Figure]) -> None:
    rows = [("figure", "ours", "naive (same run)", "ratio", "note")]
    rows += [(f.name, f.ours, f.naive, f.ratio, f.note) for f in figures]
    widths = [max(len(row[i]) for row in rows) for i in range(5)]
    for n, row in enumerate(rows):
        print("  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row)).rstrip())
        if n == 0:
            print("  ".join("-" * w for w in widths))


def bench_startup(repeats: int) -> Figure:
    from bench_startup import measure_startup, screen_name

    ours, bare = measure_startup(repeats)
    return Figure(
        "startup to the first painted main window",
        f"{ours * 1000:.0f} ms",
        f"{bare * 1000:.0f} ms for a bare PySide6 window",
        f"{ours / bare:.1f}x the bare window",
        f"fresh process each, median of {repeats}, on {screen_name()}; includes Python and "
        "all imports",
        value=round(ours * 1000, 1),
        unit="ms",
        baseline=round(bare * 1000, 1),
    )


async def main_async(args: argparse.Namespace) -> None:
    figures = [bench_startup(args.repeats)]
    figures.append(await bench_doctor(args.latency_ms, args.repeats))
    # Qt, the pane and the report renderer: loaded only for their own figures.
    from bench_bundle import bench_bundle
    from bench_contacts import bench_contacts
    from bench_feed import bench_feed
    from bench_fleet import bench_fleet
    from bench_hostile import bench_hostile
    from bench_reconcile import bench_reconcile
    from bench_report import bench_report

    figures += await bench_feed()
    figures += await asyncio.to_thread(bench_contacts)
    figures += await asyncio.to_thread(bench_hostile)
    figures += await asyncio.to_thread(bench_reconcile)
    figures += await asyncio.to_thread(bench_fleet)
    figures += await bench_report(args.repeats)
    figures.append(bench_bundle())
    print_table(figures)
    document = {"schema": "pbx-companion/bench/1", "figures": [f.as_json() for f in figures]}
    BENCH_JSON.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
    print(
        f"\nWrote {BENCH_JSON.relative_to(Path.cwd()) if BENCH_JSON.is_relative_to(Path.cwd()) else BENCH_JSON}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--latency-ms", type=int, default=50)
    parser.add_argument("--repeats", type=int, default=5)
    asyncio.run(main_async(parser.parse_args()))


if __name__ == "__main__":
    main()
