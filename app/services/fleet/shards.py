"""A sweep spread over several processes.

The doctor's client work (TLS handshakes, reading JSON, the call log's rows) is CPU-bound, and
one asyncio loop uses one core: measured (build/bench_fleet.py), about 100 ms of CPU per PBX, so
one process sweeps at most some 600 PBXs a minute however fast the PBXs answer.
``sweep_in_processes`` splits the targets over ``processes`` child processes (``shard_worker``),
each with its share of the concurrency, and keeps the history, the connections' last checks and
the progress here, in the caller's loop, exactly as ``sweep`` does. Cancelling it ends the
children.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import sys
import time
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from app.domain.clock import Clock, utc_now
from app.domain.connection import CheckStatusSummary
from app.domain.diagnosis import Diagnosis, DiagnosisFormatError
from app.services.connections.store import ConnectionStore
from app.services.fleet.history import FleetHistory
from app.services.fleet.shard_worker import settings_json
from app.services.fleet.sweep import (
    FleetRow,
    FleetSweep,
    SweepProgress,
    SweepSettings,
    remember,
    sweep,
)
from app.services.fleet.targets import FleetTarget
from app.services.known_certificates import KnownCertificates
from app.services.settings.file import encode_connection
from app.services.worker_processes import quiet_start

PBXS_PER_PROCESS = 50  # fewer than this per process: starting one costs more than it saves
# One line is one doctor result: a PBX's contact-match details can run to a few hundred KB.
LINE_LIMIT = 64 * 1024 * 1024
WORKER = (sys.executable, "-m", "app.services.fleet.shard_worker")


def workers_can_start() -> bool:
    """A worker is ``python -m …``: the frozen app (PyInstaller) has no ``-m``, so it sweeps in
    its own process, as on a two-CPU laptop."""
    return not getattr(sys, "frozen", False)


def processes_for(targets: int, cpus: int | None, *, most: int = 4) -> int:
    """The processes worth starting: one per ``PBXS_PER_PROCESS`` targets, at most one per CPU
    (leaving one for the rest of the machine) and ``most``."""
    spare = max(1, (cpus or 1) - 1)
    return max(1, min(most, spare, targets // PBXS_PER_PROCESS))


async def sweep_in_processes(
    targets: Sequence[FleetTarget],
    settings: SweepSettings | None = None,
    *,
    processes: int,
    history: FleetHistory | None = None,
    store: ConnectionStore | None = None,
    known_certificates: KnownCertificates | None = None,
    on_progress: Callable[[SweepProgress], None] | None = None,
    clock: Clock = utc_now,
) -> FleetSweep:
    """As ``sweep``, with the doctors in ``processes`` child processes (1: in this one)."""
    settings = settings or SweepSettings()
    if processes <= 1 or len(targets) < 2 or not workers_can_start():
        return await sweep(
            targets,
            settings,
            history=history,
            store=store,
            known_certificates=known_certificates,
            on_progress=on_progress,
            clock=clock,
        )
    processes = min(processes, len(targets))
    started, begun = clock(), time.perf_counter()
    share = max(1, settings.concurrency // processes)
    rows: list[FleetRow | None] = [None] * len(targets)
    problems: list[str] = []
    done = 0

    async def finished(index: int, row: FleetRow) -> None:
        nonlocal done
        row = await remember(row, targets[index], settings, history, store, clock, problems)
        rows[index] = row
        done += 1
        if on_progress is not None:
            on_progress(SweepProgress(done, len(targets), row))

    async def shard(indexes: list[int]) -> None:
        document = {
            "settings": settings_json(settings, share),
            "targets": [
                {
                    "index": i,
                    "profile": encode_connection(targets[i].profile),
                    "secret": targets[i].secret,
                    "key_problem": targets[i].key_problem,
                }
                for i in indexes
            ],
        }
        proc = await asyncio.create_subprocess_exec(
            *WORKER,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            limit=LINE_LIMIT,
            **quiet_start(),  # no console window flashing up on Windows
        )
        assert proc.stdin is not None and proc.stdout is not None
        heard: set[int] = set()
        try:
            proc.stdin.write(json.dumps(document).encode())
            await proc.stdin.drain()
            proc.stdin.close()
            async for line in proc.stdout:
                index, row = _row(targets, json.loads(line))
                heard.add(index)
                await finished(index, row)
            code = await proc.wait()
        except BaseException:
            with contextlib.suppress(ProcessLookupError):
                proc.kill()
            await proc.wait()
            raise
        for index in indexes:
            if index not in heard:
                await finished(index, _lost(targets[index], code, clock()))

    async with asyncio.TaskGroup() as group:
        for n in range(processes):
            group.create_task(shard(list(range(n, len(targets), processes))))
    return FleetSweep(
        tuple(row for row in rows if row is not None),
        started,
        time.perf_counter() - begun,
        problems[0] if problems else None,
    )


def _row(targets: Sequence[FleetTarget], data: dict[str, Any]) -> tuple[int, FleetRow]:
    index = int(data["index"])
    profile = targets[index].profile
    try:
        diagnosis = Diagnosis.from_json(data["diagnosis"]) if data["diagnosis"] else None
    except DiagnosisFormatError:
        diagnosis = None
    checked = data.get("checked_at")
    monitored = data.get("monitored")
    return index, FleetRow(
        profile.id,
        profile.name,
        profile.customer,
        profile.url,
        CheckStatusSummary(data["outcome"]),
        str(data["finding"]),
        diagnosis,
        notes=tuple(data.get("notes") or ()),
        checked_at=datetime.fromisoformat(checked) if checked else None,
        duration_s=float(data.get("duration_s") or 0.0),
        monitored=None if monitored is None else tuple(monitored),
        tags=profile.tags,
    )


def _lost(target: FleetTarget, code: int, now: datetime) -> FleetRow:
    profile = target.profile
    return FleetRow(
        profile.id,
        profile.name,
        profile.customer,
        profile.url,
        CheckStatusSummary.NEVER,
        f"Not checked: the sweep's worker process ended early (exit code {code}). Run the "
        "sweep again; if it repeats, send the app's log to support.",
        None,
        checked_at=now,
        tags=profile.tags,
    )
