"""The period's ledger: every call's entry, the summary that adds up to the PBX's own count,
and the JSON every front end writes (``pbx-companion/reconcile/1``)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from app.domain.contact_match import display_name
from app.domain.masking import Masker
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
def ledger_json(ledger: Ledger, *, masked: Masker | None = None) -> dict[str, Any]:
    """The ledger as ``pbx-companion/reconcile/1``. With an enabled ``masked``, numbers and
    names are masked everywhere a shared file could carry them: the fields, and the free text
    (evidence, request paths), where the ledger's own names are looked for too."""
    mask = masked if masked is not None and masked.enabled else None
    if mask is not None:
        mask.learn_names(ledger_names(ledger))
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
        "calls": [_entry_json(e, mask) for e in ledger.entries],
    }


def ledger_names(ledger: Ledger) -> Iterator[str]:
    """Every person's name the ledger holds: the CRM's contacts, and whom the bridge matched."""
    for entry in ledger.entries:
        for match in entry.crm:
            if match.activity.contact:
                yield match.activity.contact
        found = entry.call.bridge_match
        if found is not None:
            for contact in found.contacts:
                yield display_name(contact)
                yield contact.name
    for activity in ledger.unmatched_crm:
        if activity.contact:
            yield activity.contact


def _entry_json(entry: LedgerEntry, mask: Masker | None) -> dict[str, Any]:
    call = entry.call
    number = mask.number if mask is not None else _same
    text = mask.free_text if mask is not None else _same
    return {
        "call_id": call.call_id,
        "started_at": call.started_at.isoformat(),
        "direction": call.direction.value,
        "external_number": number(call.external_number) if call.external_number else None,
        "answered": call.answered,
        "extension": call.extension,
        "state": entry.state.value,
        "cause": entry.cause.value if entry.cause else None,
        "crm": [_crm_json(m, mask) for m in entry.crm],
        "bridge": [_bridge_json(e, text) for e in entry.bridge],
        "evidence": [text(sentence) for sentence in entry.evidence],
    }


def _same(text: str | None) -> str:
    return text or ""


def _crm_json(match: CrmMatch, mask: Masker | None) -> dict[str, Any]:
    a = match.activity
    contact = a.contact
    if contact and mask is not None:
        # A contact the bridge named by the number has no initials: its last digits instead.
        digits = any(c.isdigit() for c in contact)
        contact = mask.free_text(contact) if digits else mask.name(contact)
    return {
        "row": a.row,
        "at": a.at.isoformat() if a.at else None,
        "kind": a.kind.value,
        "phone": (mask.number(a.phone) if mask else a.phone) if a.phone else None,
        "contact": contact or None,
        "recording_link": bool(a.recording_link),
        "matched_by": match.confidence.value,
        "seconds_apart": match.seconds_apart,
    }


def _bridge_json(event: BridgeEvent, text: Callable[[str | None], str]) -> dict[str, Any]:
    return {
        "line": event.line,
        "at": event.at.isoformat() if event.at else None,
        "method": event.method,
        "path": text(event.path) if event.path else None,
        "status": event.status,
        "attempt": event.attempt,
        "source": event.source.value,
    }
