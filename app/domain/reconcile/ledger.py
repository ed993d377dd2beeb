"""The period's ledger: every call's entry, the summary that adds up to the PBX's own count,
and the JSON every front end writes (``pbx-companion/reconcile/1``)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from app.domain.reconcile.join import join
from app.domain.reconcile.records import (
    BridgeEvent,
    CallState,
    CrmActivity,
    CrmMatch,
    LedgerEntry,
    PbxCall,
)
from app.domain.reconcile.verdict import decide

SCHEMA = "pbx-companion/reconcile/1"


@dataclass(frozen=True)
class Summary:
    calls: int
    by_state: dict[CallState, int]
    by_cause: dict[str, int]  # a doctor check id, or "none"
    missed_in_pbx: int  # unanswered inbound calls, as the PBX counts them
    missed_triggers_fired: int
    matched: int  # calls with at least one CRM activity or trigger
    unmatched_crm: int  # CRM rows tied to no call of the period
    unreadable_bridge_lines: int = 0
    bridge_lines_for_other_calls: int = 0

    @property
    def match_rate(self) -> float:
        return self.matched / self.calls if self.calls else 1.0

    @property
    def missed_gap(self) -> int:
        """Seed 003's first-week gap: missed calls the workflow did not fire for."""
        return self.missed_in_pbx - self.missed_triggers_fired

    @property
    def all_fine(self) -> bool:
        return all(state.fine for state, n in self.by_state.items() if n)


@dataclass(frozen=True)
class Ledger:
    period_from: datetime
    period_to: datetime
    entries: tuple[LedgerEntry, ...]
    summary: Summary
    unmatched_crm: tuple[CrmActivity, ...] = field(default=())


def reconcile(
    calls: Sequence[PbxCall],
    activities: Iterable[CrmActivity],
    bridge_events: Iterable[BridgeEvent],
    *,
    period: tuple[datetime, datetime],
    unreadable_bridge_lines: int = 0,
) -> Ledger:
    """Every call of the period with one state and cause; nothing left unexplained."""
    joined = join(list(calls), activities, bridge_events)
    entries = decide(calls, joined)
    by_state = Counter(e.state for e in entries)
    by_cause = Counter(e.cause.value if e.cause else "none" for e in entries if not e.state.fine)
    missed = sum(
        1
        for e in entries
        if e.state in (CallState.MISSED_TRIGGERED, CallState.MISSED_NOT_TRIGGERED)
    )
    summary = Summary(
        calls=len(entries),
        by_state={state: by_state.get(state, 0) for state in CallState},
        by_cause=dict(sorted(by_cause.items())),
        missed_in_pbx=missed,
        missed_triggers_fired=by_state.get(CallState.MISSED_TRIGGERED, 0),
        matched=sum(1 for e in entries if e.crm),
        unmatched_crm=len(joined.unmatched_crm),
        unreadable_bridge_lines=unreadable_bridge_lines,
        bridge_lines_for_other_calls=joined.unmatched_bridge,
    )
    return Ledger(period[0], period[1], tuple(entries), summary, tuple(joined.unmatched_crm))


# ---- JSON ------------------------------------------------------------------------------------
def ledger_json(ledger: Ledger, *, masked: Any = None) -> dict[str, Any]:
    """The ledger as ``pbx-companion/reconcile/1``; ``masked`` (a Masker-like object with
    ``number`` and ``name``) masks numbers and names for a shared file."""
    number = masked.number if masked is not None else _same
    name = masked.name if masked is not None else _same
    s = ledger.summary
    return {
        "schema": SCHEMA,
        "period": {"from": ledger.period_from.isoformat(), "to": ledger.period_to.isoformat()},
        "summary": {
            "calls": s.calls,
            "by_state": {state.value: n for state, n in s.by_state.items()},
            "by_cause": s.by_cause,
            "match_rate": round(s.match_rate, 4),
            "missed_in_pbx": s.missed_in_pbx,
            "missed_triggers_fired": s.missed_triggers_fired,
            "missed_gap": s.missed_gap,
            "unmatched_crm": s.unmatched_crm,
            "unreadable_bridge_lines": s.unreadable_bridge_lines,
        },
        "calls": [_entry_json(e, number, name) for e in ledger.entries],
    }


def _same(text: str) -> str:
    return text


def _entry_json(entry: LedgerEntry, number: Any, name: Any) -> dict[str, Any]:
    call = entry.call
    return {
        "call_id": call.call_id,
        "started_at": call.started_at.isoformat(),
        "direction": call.direction.value,
        "external_number": number(call.external_number) if call.external_number else None,
        "answered": call.answered,
        "extension": call.extension,
        "state": entry.state.value,
        "cause": entry.cause.value if entry.cause else None,
        "crm": [_crm_json(m, number, name) for m in entry.crm],
        "bridge": [_bridge_json(e) for e in entry.bridge],
        "evidence": list(entry.evidence),
    }


def _crm_json(match: CrmMatch, number: Any, name: Any) -> dict[str, Any]:
    a = match.activity
    return {
        "row": a.row,
        "at": a.at.isoformat() if a.at else None,
        "kind": a.kind.value,
        "phone": number(a.phone) if a.phone else None,
        "contact": name(a.contact) if a.contact else None,
        "recording_link": bool(a.recording_link),
        "matched_by": match.confidence.value,
        "seconds_apart": match.seconds_apart,
    }


def _bridge_json(event: BridgeEvent) -> dict[str, Any]:
    return {
        "line": event.line,
        "at": event.at.isoformat() if event.at else None,
        "method": event.method,
        "path": event.path,
        "status": event.status,
        "attempt": event.attempt,
        "source": event.source.value,
    }
