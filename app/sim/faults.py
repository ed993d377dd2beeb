"""Field faults the simulator can inject, one switch each, combinable at runtime."""

from __future__ import annotations

from collections.abc import Iterable

# name -> default value (None = plain switch). Knobs are listed here too: they shape the tenant
# or the wire without being a field fault.
FAULTS: dict[str, str | None] = {
    "licence-expired": None,
    "old-version": None,
    "missing-recording-role": None,
    "missing-history-role": None,
    "extension-not-recording": None,
    "late-recording": "60",
    "unnormalised-contacts": None,
    "retention-deleted": "30",
    "bad-key": None,
    "over-privileged": None,
    "no-call-control": None,
    "recording-stopped": None,
    "flaky-5xx": "3",
    "garbage-body": None,
    "drop-connection": None,
    "ws-drop": "5",
    # Lose the next websocket frame in transit (a sequence gap the client must resync from).
    "ws-skip-sequence": None,
    "hang": None,
    "tls-expired": None,
    "tls-wrong-host": None,
}

KNOBS: dict[str, str | None] = {
    # Token lifetime in seconds (the wire value still follows the version's unit).
    "token-lifetime": "3600",
    # A new token revokes the previous one for the same client ("one active token").
    "single-token": None,
    # Tenant country: AU, US or GB.
    "country": "AU",
}

# Fault-free presets. Every fault is also a preset of the same name.
PRESETS: dict[str, list[str]] = {
    "healthy": [],
    "au": ["country=AU"],
    "us": ["country=US"],
    "gb": ["country=GB"],
    "demo-broken-roles": ["missing-recording-role", "late-recording=10"],
}

# Faults that only make sense before start (they change the tenant or the version).
STARTUP_ONLY = {"old-version", "country", "unnormalised-contacts", "extension-not-recording"}


class UnknownFault(ValueError):
    pass


def parse_spec(spec: str) -> tuple[str, str | None]:
    name, sep, value = spec.strip().partition("=")
    name = name.strip().lower()
    if name not in FAULTS and name not in KNOBS:
        raise UnknownFault(f"unknown fault or knob {name!r}")
    if sep:
        return name, value.strip()
    return name, FAULTS.get(name, KNOBS.get(name))


def expand_scenarios(names: Iterable[str]) -> list[str]:
    specs: list[str] = []
    for raw in names:
        name = raw.strip().lower()
        if name in PRESETS:
            specs.extend(PRESETS[name])
        else:
            parse_spec(name)
            specs.append(name)
    return specs


class FaultSet:
    """The active faults and knobs; safe to change while the simulator runs."""

    def __init__(self, specs: Iterable[str] = ()) -> None:
        self._active: dict[str, str | None] = {}
        self._flaky_left = 0
        for spec in specs:
            self.enable(spec)

    def enable(self, spec: str) -> None:
        name, value = parse_spec(spec)
        self._active[name] = value
        if name == "flaky-5xx":
            self._flaky_left = self.int_value(name, 3)

    def set(self, name: str, value: str) -> None:
        self.enable(f"{name}={value}")

    def disable(self, name: str) -> None:
        self._active.pop(name.strip().lower(), None)

    def clear(self) -> None:
        self._active.clear()

    def __contains__(self, name: object) -> bool:
        return name in self._active

    def active(self, name: str) -> bool:
        return name in self._active

    def value(self, name: str) -> str | None:
        return self._active.get(name)

    def int_value(self, name: str, default: int) -> int:
        raw = self._active.get(name)
        try:
            return int(float(raw)) if raw is not None else default
        except ValueError:
            return default

    def float_value(self, name: str, default: float) -> float:
        raw = self._active.get(name)
        try:
            return float(raw) if raw is not None else default
        except ValueError:
            return default

    def take_flaky(self) -> bool:
        """True while the current 503 burst lasts; the burst then ends by itself."""
        if "flaky-5xx" not in self._active or self._flaky_left <= 0:
            return False
        self._flaky_left -= 1
        return True

    def as_list(self) -> list[str]:
        return [n if v is None else f"{n}={v}" for n, v in sorted(self._active.items())]
