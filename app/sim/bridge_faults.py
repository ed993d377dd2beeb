"""What can go wrong between the PBX and the CRM on the bridge's side, and which calls each
fault hits.

Each fault names its calls deterministically: the first N eligible calls in time order
(``duplicate=2``), or explicit MainCallHistoryIds (``duplicate=00000000-01dc-…``). A call is
eligible when the fault would change what the CRM shows for it, so a test can tell exactly
which calls a fault touched; two faults never share a call.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from app.domain.clock import parse_pinned_instant
from app.domain.contact_match import MatchKind
from app.domain.reconcile.records import PbxRecording
from app.sim.bridge_calls import PlayedCall

LATE_NO_RETRY = "late-no-retry"
RECORDING_403 = "recording-403"
DUPLICATE = "duplicate"
NEW_CONTACT = "new-contact"
NEVER_LOGGED = "never-logged"
MISSED_NO_TRIGGER = "missed-no-trigger"
KEY_REVOKED_AT = "key-revoked-at"

# One line each for `pbx-companion sim --help`; the order is the order calls are handed out.
BRIDGE_FAULTS: dict[str, str] = {
    LATE_NO_RETRY: "=N|ID,..: the file is late; the bridge asks once, gets 404, gives up",
    RECORDING_403: "=N|ID,..: 403 on every recording fetch; logged without the recording",
    DUPLICATE: "=N|ID,..: the call is logged twice",
    NEW_CONTACT: "=N|ID,..: a known contact's call lands on a contact the bridge created",
    NEVER_LOGGED: "=N|ID,..: not in the CRM, and no 'posted' line in the log",
    MISSED_NO_TRIGGER: "=N|ID,..: missed calls for which the workflow fires nothing",
    KEY_REVOKED_AT: "=ISO: every request from then on gets 401; nothing reaches the CRM after",
}

# The "done when" mix, for the demo and `--bridge-fault demo`.
BRIDGE_PRESETS: dict[str, list[str]] = {
    "demo": [
        LATE_NO_RETRY,
        RECORDING_403,
        DUPLICATE,
        NEW_CONTACT,
        NEVER_LOGGED,
        f"{MISSED_NO_TRIGGER}=2",
    ],
}


class BridgeFaultError(ValueError):
    """A bridge fault that cannot be read or applied; the message says which and why."""


@dataclass(frozen=True)
class BridgeFault:
    name: str
    count: int = 0  # the first N eligible calls in time order
    call_ids: tuple[str, ...] = ()  # or these calls
    at: datetime | None = None  # key-revoked-at only


def parse_bridge_faults(specs: Iterable[str]) -> list[BridgeFault]:
    """``NAME``, ``NAME=N``, ``NAME=ID,ID`` or ``key-revoked-at=ISO``; presets expand."""
    faults: list[BridgeFault] = []
    for spec in specs:
        name, sep, value = spec.strip().partition("=")
        name = name.strip().lower()
        if name in BRIDGE_PRESETS and not sep:
            faults.extend(parse_bridge_faults(BRIDGE_PRESETS[name]))
        else:
            faults.append(_parse_one(name, value.strip() if sep else ""))
    return faults


def _parse_one(name: str, value: str) -> BridgeFault:
    if name not in BRIDGE_FAULTS:
        known = ", ".join([*BRIDGE_FAULTS, *BRIDGE_PRESETS])
        raise BridgeFaultError(f"unknown bridge fault {name!r}; known: {known}")
    if name == KEY_REVOKED_AT:
        if not value:
            raise BridgeFaultError(f"{name} needs a time, e.g. {name}=2026-11-17T03:00:00Z")
        try:
            return BridgeFault(name, at=parse_pinned_instant(value))
        except ValueError as error:
            raise BridgeFaultError(f"{name}: {error}") from None
    if not value:
        return BridgeFault(name, count=1)
    if value.isdigit():
        if int(value) < 1:
            raise BridgeFaultError(f"{name}={value}: hit at least one call")
        return BridgeFault(name, count=int(value))
    ids = tuple(part.strip().lower() for part in value.split(",") if part.strip())
    return BridgeFault(name, call_ids=ids)


def key_revoked_at(faults: Iterable[BridgeFault]) -> datetime | None:
    """The earliest revocation asked for, if any."""
    return min((f.at for f in faults if f.at is not None), default=None)


@dataclass(frozen=True)
class Eligibility:
    """Which calls a fault can hit so that the CRM shows the difference."""

    fires: frozenset[str]  # missed calls the workflow fires for, untouched
    # Calls ending at or after this are the key revocation's (None: no revocation).
    revoked_from: datetime | None = None
    # The bridge gets recordings at all: 3CX writes them in time and the role lets it read.
    fetches_recordings: bool = True

    @classmethod
    def around(
        cls,
        fires: Iterable[str],
        revoked_at: datetime | None,
        busy_s: float,
        *,
        fetches_recordings: bool = True,
    ) -> Eligibility:
        """``busy_s``: how long after hang-up the bridge may still work on a call."""
        start = None if revoked_at is None else revoked_at - timedelta(seconds=busy_s)
        return cls(frozenset(fires), start, fetches_recordings)

    def why_not(self, name: str, call: PlayedCall) -> str | None:
        """Why ``name`` cannot hit ``call`` (None: it can)."""
        if self.revoked_from is not None and call.ended_at >= self.revoked_from:
            return "the key revocation already reaches it"
        if name == MISSED_NO_TRIGGER:
            fires = call.missed and call.call_id in self.fires
            return None if fires else "it is not a missed call the workflow fires for"
        if call.missed:
            return "it is a missed call: the bridge logs no call for it"
        if name in (LATE_NO_RETRY, RECORDING_403):
            if call.recording is not PbxRecording.PRESENT:
                return "the PBX holds no recording of it"
            if not self.fetches_recordings:
                return "the bridge gets no recording from this PBX anyway"
            if call.match.kind is MatchKind.NORMALISED:
                return "it lands on a wrong contact already"
        if name == NEW_CONTACT and not (call.answered and call.match.kind is MatchKind.EXACT):
            return "its caller is not one known CRM contact"
        return None


def assign(
    calls: Sequence[PlayedCall], faults: Sequence[BridgeFault], rules: Eligibility
) -> dict[str, str]:
    """Call id -> the fault that hits it: explicit ids first, then each count in turn."""
    hits: dict[str, str] = {}
    known = {call.call_id: call for call in calls}
    for fault in faults:
        for call_id in fault.call_ids:
            _claim(hits, fault.name, known.get(call_id), call_id, rules)
    for fault in faults:
        if not fault.count:
            continue
        free = (c for c in calls if c.call_id not in hits and rules.why_not(fault.name, c) is None)
        picked = list(itertools.islice(free, fault.count))
        if len(picked) < fault.count:
            raise BridgeFaultError(
                f"{fault.name}={fault.count}: only {len(picked)} call(s) in the simulator's "
                "history can take it"
            )
        hits.update((c.call_id, fault.name) for c in picked)
    return hits


def _claim(
    hits: dict[str, str], name: str, call: PlayedCall | None, call_id: str, rules: Eligibility
) -> None:
    if call is None:
        raise BridgeFaultError(f"{name}: no external call {call_id} in the simulator's history")
    why = rules.why_not(name, call)
    if why is not None:
        raise BridgeFaultError(f"{name} cannot hit call {call_id}: {why}")
    if hits.get(call_id, name) != name:
        raise BridgeFaultError(f"{name}: call {call_id} is already hit by {hits[call_id]}")
    hits[call_id] = name
