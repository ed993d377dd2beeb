"""One shard of a sweep in its own process (``python -m app.services.fleet.shard_worker``).

Reads its targets (profiles and keys) and settings as one JSON document on stdin, runs the
sweep's doctors, and writes one JSON line per finished PBX on stdout. The parent keeps the
history and the connections' last checks; this process only checks. Keys arrive through the
pipe, never a file or the command line, and are never written back.
"""

from __future__ import annotations

import asyncio
import json
import sys
from typing import Any

from app.services.facts.options import DoctorOptions
from app.services.fleet.sweep import FleetRow, SweepProgress, SweepSettings, sweep
from app.services.fleet.targets import FleetTarget
from app.services.known_certificates import KnownCertificates
from app.services.logs.setup import REDACTOR
from app.services.settings.file import decode_connection
from app.threecx.transport import Timeouts


def settings_json(settings: SweepSettings, concurrency: int) -> dict[str, Any]:
    t = settings.timeouts
    return {
        "concurrency": concurrency,
        "deadline_s": settings.deadline_s,
        "timeouts": [t.connect, t.read, t.total],
        "required_retention_days": settings.options.required_retention_days,
        "key_warning_days": settings.key_warning_days,
        "probe_call_control": settings.probe_call_control,
    }


def _settings(data: dict[str, Any]) -> SweepSettings:
    connect, read, total = data["timeouts"]
    return SweepSettings(
        concurrency=int(data["concurrency"]),
        deadline_s=float(data["deadline_s"]),
        timeouts=Timeouts(connect=connect, read=read, total=total),
        options=DoctorOptions(required_retention_days=int(data["required_retention_days"])),
        key_warning_days=int(data["key_warning_days"]),
        probe_call_control=bool(data["probe_call_control"]),
    )


def row_json(index: int, row: FleetRow) -> dict[str, Any]:
    """What the parent needs to rebuild the row (never the key)."""
    return {
        "index": index,
        "outcome": row.outcome.value,
        "finding": row.finding,
        "diagnosis": row.diagnosis.as_json() if row.diagnosis else None,
        "notes": list(row.notes),
        "checked_at": row.checked_at.isoformat() if row.checked_at else None,
        "duration_s": row.duration_s,
        "monitored": None if row.monitored is None else list(row.monitored),
    }


async def _run(document: dict[str, Any]) -> None:
    settings = _settings(document["settings"])
    targets: list[FleetTarget] = []
    indexes: list[int] = []
    for item in document["targets"]:
        secret = item.get("secret")
        if secret:
            REDACTOR.register(secret)
        targets.append(
            FleetTarget(decode_connection(item["profile"]), secret, item.get("key_problem", ""))
        )
        indexes.append(int(item["index"]))
    position = {target.profile.id: n for n, target in enumerate(targets)}

    def emit(progress: SweepProgress) -> None:
        index = indexes[position[progress.row.connection_id]]
        sys.stdout.write(json.dumps(row_json(index, progress.row)) + "\n")
        sys.stdout.flush()

    await sweep(targets, settings, known_certificates=KnownCertificates(), on_progress=emit)


def main() -> None:
    asyncio.run(_run(json.loads(sys.stdin.read())))


if __name__ == "__main__":
    main()
