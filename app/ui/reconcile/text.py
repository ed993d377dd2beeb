"""The Reconcile pane's words: state labels and marks, causes, the summary above the ledger and
the selected call's timeline (PBX, then the bridge's attempts, then the CRM's rows).

Pure functions of the ledger and the presenter (masking): the state and cause are the domain's
one decision (``app.domain.reconcile.verdict``); this only says them.
"""

from __future__ import annotations

import html
import re
from datetime import datetime

from app.domain.business_hours import BusinessHours, customer_time
from app.domain.diagnosis import TITLES, CheckId
from app.domain.reconcile.ledger import Summary
from app.domain.reconcile.records import BridgeEvent, CallState, CrmMatch, LedgerEntry, PbxCall
from app.services.reconcile.ledger_store_compare import Change, Comparison
from app.ui.presenter import Presenter
from app.ui.theme import Mark, colours

DASH = "—"
LONG_PATH = 60  # characters: a call-log query's arguments run to hundreds, with no space to wrap
_ARGUMENTS = re.compile(r"\(([^()]*)\)|\?.*$")
STATE_LABELS = {state: state.label for state in CallState}
# Every state has a drawn mark, so the column reads without colour (screen-share, colour-blind).
STATE_MARKS = {
    CallState.LOGGED: Mark.PASS,
    CallState.MISSED_TRIGGERED: Mark.PASS,
    CallState.MISSING: Mark.FAIL,
    CallState.NO_RECORDING: Mark.FAIL,
    CallState.WRONG_CONTACT: Mark.FAIL,
    CallState.DUPLICATED: Mark.WARN,
    CallState.MISSED_NOT_TRIGGERED: Mark.WARN,
}
# Calls that need a fix sort first on the State column, the worst first.
STATE_ORDER = {state: state.urgency for state in CallState}


def cause_short(cause: CheckId | None) -> str:
    """The cause as the doctor numbers it, short enough for a column: "4 · late recording"."""
    if cause is None:
        return DASH
    return f"{cause.order} · {cause.value.replace('_', ' ')}"


def cause_title(cause: CheckId | None) -> str:
    return f"{cause.order}. {TITLES[cause]}" if cause is not None else "No single cause"


def when_text(at: datetime | None, hours: BusinessHours, fmt: str = "%Y-%m-%d %H:%M") -> str:
    return customer_time(at, hours, fmt) if at is not None else DASH


def _plural(n: int, word: str) -> str:
    return f"{n:,} {word}" if n == 1 else f"{n:,} {word}s"


# ---- the summary -----------------------------------------------------------------------------
def summary_html(summary: Summary, hours: BusinessHours, period: tuple[datetime, datetime]) -> str:
    """The counts in bold, then each state's count and the missed-call gap (seed 003)."""
    s = summary
    start, end = (customer_time(at, hours, "%Y-%m-%d %H:%M") for at in period)
    head = f"{_plural(s.calls, 'call')}, {s.match_rate:.0%} found in the CRM"
    # Each state with its count, never split across lines ("missed, fired" / "8").
    states = " · ".join(
        f"{STATE_LABELS[state].lower()} {s.by_state.get(state, 0):,}".replace(" ", "\u00a0")
        for state in CallState
    )
    gap = (
        f"Missed calls: {s.missed_in_pbx:,} in the PBX, {s.missed_triggers_fired:,} fired the "
        f"workflow: a gap of {s.missed_gap:,}."
    )
    muted = colours().muted
    return (
        f"<b>{html.escape(head)}</b> &nbsp;{html.escape(states)}<br>{html.escape(gap)} "
        f"<span style='color:{muted}'>{html.escape(f'{start} to {end}')}</span>"
    )


def causes_text(summary: Summary) -> str:
    """What to fix, by cause, in the doctor's order."""
    known = {check.value: check for check in CheckId}
    ordered = sorted(
        summary.by_cause.items(),
        key=lambda item: known[item[0]].order if item[0] in known else len(known) + 1,
    )
    parts = [f"{cause_title(known.get(cause))}: {n:,}" for cause, n in ordered]
    return f"To fix, by cause: {'; '.join(parts)}." if parts else ""


# ---- before and after -----------------------------------------------------------------------
KEPT_FIRST = "Kept for before and after: run the same dates again after a fix to see what changed."
KEPT_ROLLING = (
    "Kept. The untouched dates move with the clock: choose From and To to compare a re-run "
    "after a fix with this one."
)


def changes_text(comparison: Comparison, hours: BusinessHours) -> str:
    """One line: what changed since the newest earlier run of the same period."""
    n = comparison.by_change()
    line = (
        f"Since the last run of this period: {n[Change.FIXED]:,} fixed, "
        f"{n[Change.STILL_BROKEN]:,} still to fix, {n[Change.NEWLY_BROKEN]:,} worse"
    )
    # Calls only one run has: the PBX's call log changed between them (rare for past days).
    if n[Change.NEW_CALL]:
        line += f", {_plural(n[Change.NEW_CALL], 'call')} new"
    if n[Change.GONE]:
        line += f", {_plural(n[Change.GONE], 'call')} gone"
    when = customer_time(comparison.before.ran_at, hours, "%Y-%m-%d %H:%M")
    return f"{line} (that run: {when})."


# ---- the selected call's timeline ----------------------------------------------------------
def timeline_html(entry: LedgerEntry, hours: BusinessHours, presenter: Presenter) -> str:
    """PBX, then the bridge's attempts (seconds after hang-up), then the CRM's rows, then the
    evidence in full; every number, name and path through the presenter."""
    call = entry.call
    title = (
        f"<b>{html.escape(STATE_LABELS[entry.state])}</b> · {html.escape(cause_title(entry.cause))}"
    )
    parts = [title, _section("PBX"), _pbx_line(call, hours, presenter)]
    parts.append(_section(f"Bridge ({len(entry.bridge)})"))
    parts += [_bridge_line(e, call, hours, presenter) for e in entry.bridge] or [
        _muted("The bridge logs have no line for this call.")
    ]
    parts.append(_section(f"CRM ({len(entry.crm)})"))
    parts += [_crm_line(m, hours, presenter) for m in entry.crm] or [
        _muted("No CRM activity for this call.")
    ]
    parts.append(_section("Evidence"))
    parts += [html.escape(presenter.text(sentence)) for sentence in entry.evidence]
    return "<br>".join(parts)


def _section(name: str) -> str:
    return f"<br><b>{html.escape(name)}</b>"


def _muted(text: str) -> str:
    return f"<span style='color:{colours().muted}'>{html.escape(text)}</span>"


def _pbx_line(call: PbxCall, hours: BusinessHours, presenter: Presenter) -> str:
    number = presenter.number(call.external_number) if call.external_number else "no caller id"
    facts = [
        f"started {when_text(call.started_at, hours, '%Y-%m-%d %H:%M:%S')}",
        f"hung up {when_text(call.ended_at, hours, '%H:%M:%S')}",
        f"{call.direction.value} {number}",
        "answered" if call.answered else "not answered",
        f"extension {call.extension}" if call.extension else "no extension",
        f"recording {call.recording.value.replace('_', ' ')}",
    ]
    if call.recording_ready_after_s is not None:
        facts.append(f"file ready at +{call.recording_ready_after_s:g} s")
    facts.append(f"call id {call.call_id}")
    return html.escape(" · ".join(facts))


def _bridge_line(
    event: BridgeEvent, call: PbxCall, hours: BusinessHours, presenter: Presenter
) -> str:
    if event.at is None:
        after = "at an unknown time"
    else:
        seconds = (event.at - call.hung_up_at).total_seconds()
        after = f"{seconds:+.0f} s after hang-up ({when_text(event.at, hours, '%H:%M:%S')})"
    path = presenter.text(short_path(event.path)) if event.path else None
    request = " ".join(part for part in (event.method, path) if part)
    if request:
        facts = [after, request, str(event.status) if event.status is not None else "no status"]
    else:  # a line that narrates ("fetching the recording…"): its own words
        facts = [after, presenter.text(_wrappable(event.text)) or "no request"]
    if event.attempt is not None:
        facts.append(f"attempt {event.attempt}")
    facts.append(f"{event.source.value} line {event.line}")
    return html.escape(" · ".join(facts))


def short_path(path: str) -> str:
    """A request's path short enough to wrap: long argument lists become "(…)"."""
    if len(path) <= LONG_PATH:
        return path
    shorter = _ARGUMENTS.sub(lambda m: "(…)" if m.group(0).startswith("(") else "?…", path)
    return shorter if len(shorter) <= LONG_PATH else f"{shorter[: LONG_PATH - 1]}…"


def _wrappable(text: str) -> str:
    """A log line that wraps: each run too long for a line is shortened like a path."""
    return " ".join(short_path(word) for word in text.split())


def _crm_line(match: CrmMatch, hours: BusinessHours, presenter: Presenter) -> str:
    a = match.activity
    how = match.confidence.value
    if match.seconds_apart is not None:
        how += f", {match.seconds_apart:g} s apart"
    facts = [
        f"row {a.row}",
        a.kind.value,
        when_text(a.at, hours, "%Y-%m-%d %H:%M:%S"),
        f"contact {presenter.name(a.contact)}" if a.contact else "no contact",
        f"recording link {'yes' if a.recording_link else 'no'}",
        f"matched by {how}",
    ]
    if a.new_contact:
        facts.insert(4, "new contact")
    return html.escape(" · ".join(facts))
