"""What every check is handed: the PBX's client and shared facts, the run's options and clock."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from app.domain.pbx import PbxIdentity
from app.services.facts.gatherer import Facts
from app.services.facts.options import DoctorOptions
from app.services.recordings.watcher import RecordingJourney
from app.threecx.client import PbxClient


@dataclass(frozen=True)
class CheckContext:
    client: PbxClient
    facts: Facts
    options: DoctorOptions
    identity: PbxIdentity
    now: datetime
    on_journey: Callable[[RecordingJourney], None] | None = None

    @property
    def is_v20(self) -> bool:
        return self.client.generation == "v20"


def day(value: datetime | None) -> str:
    return value.date().isoformat() if value else "unknown"


def blocked_by(check_title: str, order: int) -> str:
    return f"Not checked: blocked by check {order} ({check_title})."
