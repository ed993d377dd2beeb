"""The ledger as a terminal shows it: the summary that adds up to the PBX's count, the
missed-call gap, and every call that needs a fix with its cause in the doctor's words."""

from __future__ import annotations

from app.domain.business_hours import BusinessHours, customer_time
from app.domain.diagnosis import TITLES
from app.domain.masking import Masker
from app.domain.reconcile.records import CallState, LedgerEntry
from app.services.reconcile.ledger_store_compare import Change, Comparison
from app.services.reconcile.run import ReconcileResult

SHOWN_TO_FIX = 50  # the rest are in --json


def render_ledger(result: ReconcileResult, hours: BusinessHours, *, masker: Masker | None) -> str:
    ledger = result.ledger
    s = ledger.summary
    start = customer_time(ledger.period_from, hours)
    end = customer_time(ledger.period_to, hours)
    lines = [
        f"Calls {start} to {end} ({hours.timezone}, the customer's clock): "
        f"{s.calls:,} external {_plural(s.calls, 'call')}, {s.match_rate:.0%} found in the CRM.",
        "",
    ]
    width = max(len(state.value) for state in CallState)
    for state in CallState:
        n = s.by_state.get(state, 0)
        lines.append(f"  {state.value.ljust(width)}  {n:>6,}  {state.meaning}")
    lines.append(f"  {'total'.ljust(width)}  {sum(s.by_state.values()):>6,}  = the PBX's count")
    lines.append("")
    lines.append(
        f"Missed calls: {s.missed_in_pbx:,} in the PBX, {s.missed_triggers_fired:,} fired the "
        f"workflow: a gap of {s.missed_gap:,}."
    )
    if s.by_cause:
        ordered = sorted(s.by_cause.items(), key=lambda item: _cause_order(item[0]))
        causes = "; ".join(f"{_cause_words(c)}: {n:,}" for c, n in ordered)
        lines.append(f"To fix, by cause: {causes}.")
    if s.unmatched_crm:
        lines.append(f"{s.unmatched_crm:,} CRM rows belong to no call of this period.")
    lines += [f"Note: {note}" for note in result.notes]
    to_fix = [e for e in ledger.entries if not e.state.fine]
    if to_fix:
        lines += ["", "Calls to fix:"]
        lines += [_entry_line(e, hours, masker) for e in to_fix[:SHOWN_TO_FIX]]
        if len(to_fix) > SHOWN_TO_FIX:
            lines.append(f"  … and {len(to_fix) - SHOWN_TO_FIX:,} more (--json has every call).")
    return "\n".join(lines)


def _entry_line(entry: LedgerEntry, hours: BusinessHours, masker: Masker | None) -> str:
    call = entry.call
    number = call.external_number or "no caller id"
    if masker is not None:
        number = masker.number(number)
    ext = f"ext {call.extension}" if call.extension else "no extension"
    cause = f" [{entry.cause.value}]" if entry.cause else ""
    why = entry.evidence[0] if entry.evidence else ""
    if masker is not None:
        why = masker.free_text(why)
    when = customer_time(call.started_at, hours, "%d %b %H:%M")
    return f"  {when}  {number}  {ext}  {entry.state.value}{cause}: {why}"


def _cause_order(cause: str) -> int:
    return next((check.order for check in TITLES if check.value == cause), len(TITLES) + 1)


def _cause_words(cause: str) -> str:
    for check, title in TITLES.items():
        if check.value == cause:
            return f"{check.order}. {title}"
    return "no single cause"


def _plural(n: int, word: str) -> str:
    return word if n == 1 else f"{word}s"


def render_comparison(compared: Comparison) -> str:
    """Before and after for the same period: what the fix changed, call by call."""
    changes = compared.by_change()
    before = compared.before
    lines = [
        f"Against run {before.id} of the same period ({before.ran_at:%Y-%m-%d %H:%M} UTC): "
        f"{changes[Change.FIXED]:,} fixed, {changes[Change.STILL_BROKEN]:,} still to fix, "
        f"{changes[Change.NEWLY_BROKEN]:,} newly broken."
    ]
    for state in CallState:
        was, now = compared.counts_before.get(state, 0), compared.counts_after.get(state, 0)
        if was != now:
            lines.append(f"  {state.value}: {was:,} -> {now:,}")
    return "\n".join(lines)
