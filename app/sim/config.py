"""Configuration of one simulated PBX."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime


@dataclass
class SimConfig:
    host: str = "127.0.0.1"
    port: int = 0
    tls: bool = False
    pbx_version: str = "20.0.10.1116"
    scenarios: list[str] = field(default_factory=lambda: ["healthy"])
    faults: list[str] = field(default_factory=list)
    latency_ms: int = 0
    calls_per_minute: float = 6.0
    recording_delay_s: float = 3.0
    seed: int = 1
    state_dir: str | None = None
    # Where to send the 3CX "Webhook generator" add-on's webhooks (None: the add-on is off).
    webhook_url: str | None = None
    # The instant the PBX's clock starts at (None: the real time). Its history is built
    # backwards from there, so a pinned start gives the same weekdays on any day.
    now: datetime | None = None
    # The PBX's OfficeHours time zone (None: the country's usual one).
    time_zone: str | None = None
    # The live-PBX shapes it sends (app/sim/wire_quirks.py); None: all of them, as a live PBX
    # would. An empty set is the clean wire our documents describe.
    wire_quirks: frozenset[str] | None = None
