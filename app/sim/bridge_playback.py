"""The simulator plays a customer's bridge and CRM over its own call history (issue 21).

It writes the bridge's log and the CRM's activity export as they would stand after the
bridge handled every external call of the history, with the bridge faults asked for, and
keeps the ground truth: for each call, the state and cause those faults imply. The
reconciler's tests read the two files and compare their verdicts with that truth.

Everything is derived from the seeded history and the PBX's own clock, never the real date.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import replace
from datetime import datetime, timedelta, tzinfo
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from app.domain.bridge import Bridge, BridgeIndex
from app.domain.business_hours import BusinessHours
from app.domain.triggers import SettledCall, TriggerPlanner, TriggerPreview
from app.sim.bridge_calls import PlayedCall, fold_history
from app.sim.bridge_faults import Eligibility, assign, key_revoked_at, parse_bridge_faults
from app.sim.bridge_formats import check_format, crm_csv, render_line
from app.sim.bridge_run import (
    RETRY_WINDOW_S,
    BridgeSettings,
    CallRun,
    ExpectedCall,
    PlayedOut,
    trigger_rows,
)
from app.sim.crm import crm_contacts
from app.sim.faults import FaultSet
from app.sim.tenant import Tenant
from app.sim.timefmt import iso

LOG_FILE = "bridge.log"
CRM_FILE = "crm-activities.csv"
TRUTH_FILE = "truth.json"


class BridgePlayback:
    """The bridge's log, the CRM's export and the truth, for one set of bridge faults."""

    def __init__(
        self,
        played: Sequence[PlayedOut],
        hits: dict[str, str],
        settings: BridgeSettings,
        *,
        fmt: str = "json",
        crm_zone: tzinfo | None = None,
    ) -> None:
        self.settings = settings
        self.fmt = check_format(fmt)
        self.crm_zone = crm_zone
        self.hits = dict(hits)  # call id -> the bridge fault that hit it
        # A log is in time order, calls interleaved; sorting is stable, so one call's lines
        # written at the same millisecond keep their order.
        self._lines = sorted((ln for p in played for ln in p.lines), key=lambda ln: ln.at)
        self._rows = sorted((row for p in played for row in p.rows), key=lambda row: row.at)
        self._truth = {p.expected.call_id: p.expected for p in played if p.expected}

    def log_lines(self, fmt: str | None = None) -> list[str]:
        """The log's lines, in ``fmt`` (default: the playback's own)."""
        chosen = check_format(fmt or self.fmt)
        s = self.settings
        return [render_line(ln, chosen, host=s.host, zone=s.zone) for ln in self._lines]

    def write_log(self, path: str | Path) -> Path:
        target = Path(path)
        target.write_text("".join(f"{ln}\n" for ln in self.log_lines()), encoding="utf-8")
        return target

    def crm_csv(self) -> str:
        return crm_csv(self._rows, self.crm_zone)

    def write_crm(self, path: str | Path) -> Path:
        target = Path(path)
        target.write_text(self.crm_csv(), encoding="utf-8", newline="")
        return target

    def truth(self) -> dict[str, ExpectedCall]:
        """Call id (MainCallHistoryId) -> the state and cause the faults imply."""
        return dict(self._truth)

    def counts(self) -> dict[str, int]:
        """Calls per state; they add up to the external calls of the history played."""
        return dict(Counter(e.state for e in self._truth.values()))

    def truth_json(self) -> dict[str, Any]:
        revoked = self.settings.revoked_at
        return {
            "calls": {cid: e.as_json() for cid, e in self._truth.items()},
            "by_state": self.counts(),
            "faults": self.hits,
            "key_revoked_at": iso(revoked) if revoked else None,
        }

    def write(self, directory: str | Path) -> list[Path]:
        """``bridge.log``, ``crm-activities.csv`` and ``truth.json`` into ``directory``."""
        folder = Path(directory)
        folder.mkdir(parents=True, exist_ok=True)
        truth = folder / TRUTH_FILE
        truth.write_text(json.dumps(self.truth_json(), indent=2) + "\n", encoding="utf-8")
        return [self.write_log(folder / LOG_FILE), self.write_crm(folder / CRM_FILE), truth]


def play_bridge(
    calls: Sequence[PlayedCall],
    settings: BridgeSettings,
    hours: BusinessHours,
    faults: Iterable[str] = (),
    *,
    fmt: str = "json",
    crm_zone: str | None = None,
) -> BridgePlayback:
    """Every call of ``calls`` (oldest first) through the bridge, with ``faults``.

    Raises ``BridgeFaultError`` (a ValueError) for a fault that cannot be read or applied,
    and ValueError for an unknown format or zone."""
    check_format(fmt)
    zone = _zone(crm_zone)
    parsed = parse_bridge_faults(faults)
    revoked = _earliest(settings.revoked_at, key_revoked_at(parsed))
    settings = replace(settings, revoked_at=revoked)
    previews = plan_workflow(calls, hours)
    fires = (cid for cid, preview in previews.items() if trigger_rows(preview))
    fetches = settings.recording_delay_s is not None and not settings.recordings_refused
    rules = Eligibility.around(fires, revoked, settings.busy_s, fetches_recordings=fetches)
    hits = assign(calls, parsed, rules)
    played = [
        CallRun(call, settings, hits.get(call.call_id), previews.get(call.call_id)).play()
        for call in calls
    ]
    return BridgePlayback(played, hits, settings, fmt=fmt, crm_zone=zone)


def plan_workflow(calls: Iterable[PlayedCall], hours: BusinessHours) -> dict[str, TriggerPreview]:
    """What the CRM's missed-call workflow does for each missed call, planned before any
    fault so that a fault on one call never changes another's (a repeat miss stays one)."""
    planner = TriggerPlanner(hours)
    previews = {}
    for call in sorted(calls, key=lambda c: (c.ended_at, c.call_id)):
        if call.missed:
            previews[call.call_id] = planner.preview(_settled(call))
    return previews


def _settled(call: PlayedCall) -> SettledCall:
    attached = call.match.attached
    return SettledCall(
        call_id=call.call_id,
        at=call.ended_at,
        number=call.number,
        e164=call.match.e164,
        did=call.did or None,
        voicemail_left=call.voicemail,
        contact_name=attached.name if attached is not None else None,
        caller_match=call.match,
    )


def _earliest(one: datetime | None, other: datetime | None) -> datetime | None:
    return min((t for t in (one, other) if t is not None), default=None)


def _zone(name: str | None) -> tzinfo | None:
    if not name:
        return None
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown time zone {name!r} (an IANA name, e.g. Europe/London)") from None


def replay_history(
    tenant: Tenant,
    pbx_faults: FaultSet,
    *,
    seed: int,
    recording_delay_s: float,
    visible_recordings: set[int],
    bridge_faults: Iterable[str] = (),
    fmt: str = "json",
    crm_zone: str | None = None,
    days: float | None = None,
    retry_window_s: float | None = None,
) -> BridgePlayback:
    """The bridge over ``tenant``'s history (the last ``days`` of it when given), on a PBX
    with ``pbx_faults``: late files, a missing recording role and a refused key reach the
    bridge as they would reach any client."""
    contacts = crm_contacts(tenant, unnormalised=pbx_faults.active("unnormalised-contacts"))
    index = BridgeIndex.build(contacts, tenant.country.code, Bridge(), record_ids=True)
    since = tenant.clock() - timedelta(days=days) if days is not None else None
    calls = fold_history(
        tenant.segments, visible_recordings=visible_recordings, contacts=index, since=since
    )
    settings = BridgeSettings(
        seed=seed,
        host=tenant.fqdn,
        zone=tenant.office_hours.zone,
        recording_delay_s=pbx_faults.recording_delay_s(recording_delay_s),
        recordings_refused=pbx_faults.active("missing-recording-role"),
        revoked_at=tenant.history_start() if pbx_faults.active("bad-key") else None,
        retry_window_s=retry_window_s or RETRY_WINDOW_S,
    )
    return play_bridge(
        calls, settings, tenant.office_hours, bridge_faults, fmt=fmt, crm_zone=crm_zone
    )
