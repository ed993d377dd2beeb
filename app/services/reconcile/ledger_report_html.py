"""The ledger report's HTML: the setup report's template and look, with the ledger's sections.

The customer and the period on the customer's clock, the match rate, the calls per state (they
add up to the PBX's own count), per cause in the doctor's words, the missed-call gap (seed 003),
before and after a fix, then the calls to fix, worst first, each with its timeline: the PBX,
the bridge's attempts, the CRM. Every value passes through ``escaped`` (secrets scrubbed, then
HTML-escaped) and, for a masked report, through the masker first.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from app.domain.business_hours import BusinessHours, customer_time
from app.domain.calls import CallDirection
from app.domain.diagnosis import TITLES, CheckId
from app.domain.masking import Masker
from app.domain.reconcile.records import BridgeEvent, CallState, CrmMatch, LedgerEntry, PbxCall
from app.services.reconcile.ledger_store_compare import Change, Comparison
from app.services.reconcile.run import ReconcileResult
from app.services.reports.html import escaped, load_template
from app.services.reports.logo import Logo

SHOWN_CALLS = 40  # calls to fix shown in HTML/PDF; the JSON has every call
SHOWN_BRIDGE_LINES = 8  # bridge lines per call's timeline
LONG_PATH = 64  # characters: a call-log query's arguments run to hundreds, with no space
SAID_CHARS = 110  # a narrating log line, shortened
# The badge of each state: what the pane marks as failed, a warning, or fine.
STATE_BADGES: dict[CallState, str] = {
    CallState.MISSING: "fail",
    CallState.NO_RECORDING: "fail",
    CallState.WRONG_CONTACT: "fail",
    CallState.DUPLICATED: "warn",
    CallState.MISSED_NOT_TRIGGERED: "warn",
    CallState.MISSED_TRIGGERED: "pass",
    CallState.LOGGED: "pass",
}
Escape = Callable[[object], str]
_CAUSES = {check.value: check for check in CheckId}
_ARGUMENTS = re.compile(r"\([^()]*\)")
_QUERY = re.compile(r"\?.*$")
# The message of a JSON or logfmt line, when a line narrates rather than requests.
_MESSAGE = re.compile(r"""["']?\b(?:msg|message)["']?\s*[:=]\s*(?:"([^"]*)"?|'([^']*)'?|(\S+))""")


def cause_words(cause: str) -> str:
    """A cause as the doctor says it: "4. Recordings appear within the bridge's retry window"."""
    check = _CAUSES.get(cause)
    return f"{check.order}. {TITLES[check]}" if check is not None else "No single cause"


def cause_order(cause: str) -> int:
    check = _CAUSES.get(cause)
    return check.order if check is not None else len(_CAUSES) + 1


def worst_first(entries: Sequence[LedgerEntry]) -> list[LedgerEntry]:
    """The calls that need a fix, the worst state first, then in time order."""
    to_fix = [e for e in entries if not e.state.fine]
    return sorted(to_fix, key=lambda e: (e.state.urgency, e.call.started_at))


@dataclass(frozen=True)
class LedgerView:
    """What the report shows, and how: masked or not, on the customer's clock."""

    result: ReconcileResult
    hours: BusinessHours
    masker: Masker  # disabled: everything shown as it is
    customer: str
    comparison: Comparison | None
    generated_at: datetime
    app_version: str

    def when(self, at: datetime | None, fmt: str = "%d %b %Y %H:%M") -> str:
        return customer_time(at, self.hours, fmt) if at is not None else "time unknown"

    @property
    def who(self) -> str:
        return self.customer or "PBX"

    @property
    def period(self) -> str:
        """ "11 Nov 2026 11:00 to 18 Nov 2026 11:00 ACDT": the zone said once when it is one."""
        ledger = self.result.ledger
        start, end = ledger.period_from, ledger.period_to
        zone = self.hours.zone
        if start.astimezone(zone).tzname() == end.astimezone(zone).tzname():
            return f"{self.when(start, '%d %b %Y %H:%M').rsplit(' ', 1)[0]} to {self.when(end)}"
        return f"{self.when(start)} to {self.when(end)}"

    @property
    def title(self) -> str:
        ledger = self.result.ledger
        days = f"{self.when(ledger.period_from, '%Y-%m-%d')} to {self.when(ledger.period_to, '%Y-%m-%d')}"
        return f"Call ledger: {self.who}, {days}"

    @property
    def footer(self) -> str:
        return f"Call ledger · {self.who} · {self.period}"


def render_page(view: LedgerView, logo: Logo | None, secrets: Sequence[str]) -> str:
    """The whole page: the setup report's template with the ledger's body."""
    body = _Body(view, logo, secrets).render()
    return load_template().substitute(
        title=escaped(view.title, secrets),
        app_version=escaped(view.app_version, secrets),
        body=body,
    )


class _Body:
    def __init__(self, view: LedgerView, logo: Logo | None, secrets: Sequence[str]) -> None:
        self.v = view
        self.s = view.result.ledger.summary
        self.logo = logo
        self.secrets = secrets

    def e(self, value: object) -> str:
        return escaped(value, self.secrets)

    def text(self, value: str) -> str:
        """Free text (evidence, log lines, notes): masked when asked, then escaped."""
        return self.e(self.v.masker.free_text(value))

    def render(self) -> str:
        parts = [
            self._masthead(),
            self._banner(),
            self._facts_section(),
            self._states(),
            self._causes(),
            self._missed_gap(),
            self._before_after(),
            self._calls_to_fix(),
            self._notes(),
            self._colophon(),
        ]
        return "\n".join(p for p in parts if p)

    # ---- top of the document -----------------------------------------------------------------
    def _masthead(self) -> str:
        logo = (
            f'<img src="{self.logo.data_uri()}" width="{self.logo.width}" '
            f'height="{self.logo.height}" alt="logo">'
            if self.logo
            else ""
        )
        return (
            '<table width="100%" cellspacing="0" cellpadding="0"><tr>'
            f'<td width="40%" valign="middle">{logo}</td>'
            '<td width="60%" align="right" valign="middle">'
            '<p class="kind" align="right">CALL LEDGER REPORT</p>'
            f'<h1 align="right">{self.e(self.v.who)}</h1>'
            f'<p class="muted" align="right">Calls {self.e(self.v.period)}</p>'
            "</td></tr></table>"
            '<table width="100%" cellspacing="0" cellpadding="0"><tr>'
            '<td class="rule" height="6"></td></tr></table>'
        )

    def _banner(self) -> str:
        s = self.s
        to_fix = sum(n for state, n in s.by_state.items() if not state.fine)
        worst = "pass"
        for state, n in s.by_state.items():
            if n and STATE_BADGES[state] == "fail":
                worst = "fail"
            elif n and STATE_BADGES[state] == "warn" and worst == "pass":
                worst = "warn"
        found = f"{s.match_rate:.0%} found in the CRM"
        if not to_fix:
            line = (
                f"All {s.calls:,} external {_plural(s.calls, 'call')} landed ({found}): each "
                "is logged, or its missed-call workflow fired."
            )
        else:
            line = (
                f"{to_fix:,} of {s.calls:,} external {_plural(s.calls, 'call')} "
                f"{'needs' if to_fix == 1 else 'need'} a fix; {found}."
            )
        return (
            '<table class="note" width="100%" cellspacing="0"><tr>'
            f'<td class="banner-{worst}">{self.e(line)}</td></tr></table>'
        )

    def _facts_section(self) -> str:
        v, s, result = self.v, self.s, self.v.result
        logs = "; ".join(
            f"{Path(c.source).name}: {c.lines:,} lines, {c.events:,} about calls"
            for c in result.bridge
        )
        facts = [
            ("Customer", v.customer or "not given"),
            ("Period", v.period),
            ("Time zone", f"{v.hours.timezone} ({v.hours.source.value})"),
            ("Calls in the PBX", f"{s.calls:,} external"),
            ("In the CRM", f"{s.matched:,} of {s.calls:,} ({s.match_rate:.0%})"),
            (
                "CRM export",
                f"{Path(result.crm.source).name}: {result.crm.rows:,} rows, "
                f"{result.crm.activities:,} read",
            ),
            ("Bridge logs", logs or "none given"),
            ("Generated", v.when(v.generated_at)),
            ("App version", f"PBX Companion {v.app_version}".rstrip()),
        ]
        rows = []
        for n in range(0, len(facts), 2):
            cells = "".join(
                f'<td class="label" width="18%">{self.e(k)}</td>'
                f'<td width="32%">{self.text(val)}</td>'
                for k, val in facts[n : n + 2]
            )
            rows.append(f"<tr>{cells}</tr>")
        masked = (
            '<p class="muted small">Phone numbers and names in this report are masked.</p>'
            if v.masker.enabled
            else ""
        )
        return (
            '<h2>Customer and period</h2><table class="facts" width="100%" cellspacing="0">'
            + "".join(rows)
            + "</table>"
            + masked
        )

    # ---- the summary -------------------------------------------------------------------------
    def _states(self) -> str:
        s = self.s
        rows = "".join(
            f"<tr><td>{self._state_badge(state)}</td><td>{self.e(state.meaning)}</td>"
            f'<td class="num">{s.by_state.get(state, 0):,}</td>'
            f'<td class="num">{_share(s.by_state.get(state, 0), s.calls)}</td></tr>'
            for state in sorted(CallState, key=lambda state: state.urgency)
        )
        total = sum(s.by_state.values())
        rows += (
            f"<tr><td><b>Total</b></td><td><b>the PBX's own call count</b></td>"
            f'<td class="num"><b>{total:,}</b></td><td class="num">{_share(total, s.calls)}</td>'
            "</tr>"
        )
        return (
            "<h2>Calls by state</h2>"
            '<p class="muted">Every external call of the period has one state, worst first.</p>'
            + _grid(("State", "What it means", "Calls", "Share"), rows, (24, 52, 12, 12), self.e)
        )

    def _causes(self) -> str:
        by_cause = self.s.by_cause
        if not by_cause:
            return "<h2>What to fix, by cause</h2><p>Nothing to fix: no call needs a change.</p>"
        ordered = sorted(by_cause.items(), key=lambda item: cause_order(item[0]))
        rows = "".join(
            f'<tr><td>{self.e(cause_words(cause))}</td><td class="num">{n:,}</td></tr>'
            for cause, n in ordered
        )
        return (
            "<h2>What to fix, by cause</h2>"
            '<p class="muted">In the doctor\'s words and order; a call with no single cause says '
            "why in its own evidence below.</p>"
            + _grid(("Cause (the doctor's check)", "Calls"), rows, (80, 20), self.e)
        )

    def _missed_gap(self) -> str:
        s = self.s
        row = (
            f"<tr><td>{s.missed_in_pbx:,}</td><td>{s.missed_triggers_fired:,}</td>"
            f"<td><b>{s.missed_gap:,}</b></td></tr>"
        )
        if s.missed_gap:
            say = (
                f"The workflow did not fire for {s.missed_gap:,} missed "
                f"{_plural(s.missed_gap, 'call')}: check that it covers every extension and DID, "
                "and that the callers' numbers are stored in E.164."
            )
        else:
            say = "Every missed call fired the missed-call workflow."
        return (
            "<h2>Missed-call gap</h2>"
            "<p class=\"muted\">The first week's check: 3CX's missed-call count against the "
            "workflow's firings.</p>"
            + _grid(
                ("Missed calls in 3CX", "Missed-call workflow fired", "The gap"),
                row,
                (34, 33, 33),
                self.e,
            )
            + f"<p>{self.e(say)}</p>"
        )

    def _before_after(self) -> str:
        compared = self.v.comparison
        if compared is None:
            return ""
        changes = compared.by_change()
        before = compared.before
        which = "the same period" if compared.same_period else "an earlier period"
        head = (
            f"Against run {before.id} of {which}, made {self.v.when(before.ran_at)}: "
            f"{changes[Change.FIXED]:,} fixed, {changes[Change.STILL_BROKEN]:,} still to fix, "
            f"{changes[Change.NEWLY_BROKEN]:,} newly broken."
        )
        rows = ""
        for state in sorted(CallState, key=lambda state: state.urgency):
            was = compared.counts_before.get(state, 0)
            now = compared.counts_after.get(state, 0)
            moved = f"{now - was:+,}" if now != was else "no change"
            rows += (
                f'<tr><td>{self._state_badge(state)}</td><td class="num">{was:,}</td>'
                f'<td class="num">{now:,}</td><td class="num">{self.e(moved)}</td></tr>'
            )
        return f"<h2>Before and after</h2><p>{self.e(head)}</p>" + _grid(
            ("State", "Before", "After", "Change"), rows, (40, 20, 20, 20), self.e
        )

    # ---- the calls to fix --------------------------------------------------------------------
    def _calls_to_fix(self) -> str:
        ordered = worst_first(self.v.result.ledger.entries)
        if not ordered:
            return ""
        shown = ordered[:SHOWN_CALLS]
        parts = [
            f"<h2>Calls to fix ({len(ordered):,})</h2>"
            '<p class="muted">The worst first. Each with its timeline: the PBX, then the '
            "bridge's attempts (seconds after hang-up), then the CRM.</p>"
        ]
        parts += [self._call(n, entry) for n, entry in enumerate(shown, start=1)]
        more = len(ordered) - len(shown)
        if more:
            parts.append(
                f'<p class="muted">... and {more:,} more, see the JSON (the same report saved '
                "as .json, or reconcile --json): it has every call.</p>"
            )
        return "\n".join(parts)

    def _call(self, n: int, entry: LedgerEntry) -> str:
        call = entry.call
        number = self._number(call)
        head = f"{n}. {self.v.when(call.started_at, '%d %b %H:%M')} · {number}"
        cause = cause_words(entry.cause.value) if entry.cause else "No single cause"
        evidence = "".join(f"<li>{self.text(sentence)}</li>" for sentence in entry.evidence)
        rows = [self._pbx_row(call)]
        rows += self._bridge_rows(entry)
        rows += [self._crm_row(match) for match in entry.crm] or [
            _row("CRM", "", "No CRM activity for this call.", self.e)
        ]
        return (
            f"<h4>{self.e(head)}&nbsp;&nbsp;{self._state_badge(entry.state)}</h4>"
            f'<p><span class="muted">Cause:</span> {self.e(cause)}</p>'
            + (f'<ul class="small">{evidence}</ul>' if evidence else "")
            + _grid(
                ("", "When", "What"),
                "".join(rows),
                (9, 23, 68),
                self.e,
                css="grid small",
                repeat_head=False,
            )
        )

    def _number(self, call: PbxCall) -> str:
        if not call.external_number:
            return "no caller id"
        return self.v.masker.number(call.external_number)

    def _pbx_row(self, call: PbxCall) -> str:
        way = "from" if call.direction is CallDirection.INBOUND else "to"
        facts = [
            f"{call.direction.value.capitalize()} {way} {self._number(call)}",
            "answered" if call.answered else "not answered",
            f"extension {call.extension}" if call.extension else "no extension",
        ]
        if call.ended_at is not None:
            facts.append(f"hung up {self.v.when(call.ended_at, '%H:%M:%S')}")
        recording = f"recording {call.recording.value.replace('_', ' ')}"
        if call.recording_ready_after_s is not None:
            recording += f" (file ready at +{call.recording_ready_after_s:g} s)"
        facts += [recording, f"call id {call.call_id}"]
        when = self.v.when(call.started_at, "%d %b %H:%M:%S")
        return _row("PBX", when, ", ".join(facts), self.e)

    def _bridge_rows(self, entry: LedgerEntry) -> list[str]:
        lines = entry.bridge
        if not lines:
            return [_row("Bridge", "", "The bridge logs have no line for this call.", self.e)]
        rows = [self._bridge_row(event, entry.call) for event in lines[:SHOWN_BRIDGE_LINES]]
        more = len(lines) - SHOWN_BRIDGE_LINES
        if more > 0:
            rows.append(_row("Bridge", "", f"... and {more:,} more lines (in the JSON).", self.e))
        return rows

    def _bridge_row(self, event: BridgeEvent, call: PbxCall) -> str:
        if event.at is None:
            when = "time unknown"
        else:
            after = (event.at - call.hung_up_at).total_seconds()
            when = f"{after:+.0f} s ({self.v.when(event.at, '%H:%M:%S')})"
        request = " ".join(p for p in (event.method, short_path(event.path or "")) if p)
        if request or event.status is not None:
            what = request or "a request"
            what += f": {event.status}" if event.status is not None else ": no status"
        else:
            what = said(event.text) or "a line with no request"
        if event.attempt is not None:
            what += f", attempt {event.attempt}"
        what += f" ({event.source.value} line {event.line})"
        return _row("Bridge", when, self.v.masker.free_text(what), self.e)

    def _crm_row(self, match: CrmMatch) -> str:
        a = match.activity
        contact = self._contact(a.contact) or "no contact"
        if a.new_contact:
            contact += ", a new contact the bridge made"
        how = match.confidence.value
        if match.seconds_apart is not None:
            how += f", {match.seconds_apart:g} s apart"
        link = "with a recording link" if a.recording_link else "no recording link"
        what = f"Row {a.row}: {a.kind.value} on {contact}, {link}, matched by {how}"
        return _row("CRM", self.v.when(a.at, "%d %b %H:%M:%S"), what, self.e)

    def _contact(self, contact: str | None) -> str:
        """A contact's name as initials when masked; a contact named by its number (a bridge's
        new contact) keeps that number's last digits instead."""
        masker = self.v.masker
        if not contact or not masker.enabled:
            return contact or ""
        if any(ch.isdigit() for ch in contact):
            return masker.free_text(contact)
        return masker.name(contact)

    # ---- the end -----------------------------------------------------------------------------
    def _notes(self) -> str:
        s, result = self.s, self.v.result
        notes = list(result.notes)
        if s.unmatched_crm:
            notes.append(f"{s.unmatched_crm:,} CRM rows belong to no call of this period.")
        if s.bridge_lines_for_other_calls:
            notes.append(
                f"{s.bridge_lines_for_other_calls:,} bridge log lines are about calls outside "
                "this period."
            )
        if not notes:
            return ""
        items = "".join(f"<li>{self.text(note)}</li>" for note in notes)
        return f'<h2>Notes</h2><ul class="small">{items}</ul>'

    def _colophon(self) -> str:
        made = f"Generated {self.v.when(self.v.generated_at)} with PBX Companion "
        return (
            '<p class="muted small"><br>'
            f"{self.e(made + self.v.app_version)}. This report holds no passwords, API keys or "
            "tokens.</p>"
        )

    def _state_badge(self, state: CallState) -> str:
        text = self.e(state.label).replace(" ", "&nbsp;")
        return f'<span class="{STATE_BADGES[state]}">&nbsp;{text}&nbsp;</span>'


# ---- building blocks -------------------------------------------------------------------------
def _grid(
    headers: Sequence[str],
    rows: str,
    widths: Sequence[int],
    e: Escape,
    *,
    css: str = "grid",
    repeat_head: bool = True,
) -> str:
    # <thead> makes Qt repeat the header row on every PDF page the table spans. A short table
    # goes without: when one ends at a page's foot, Qt draws its header again on the next page,
    # over whatever follows.
    head = "".join(f'<th width="{w}%">{e(h)}</th>' for h, w in zip(headers, widths, strict=True))
    if not repeat_head:
        return (
            f'<table class="{css}" width="100%" cellspacing="0">'
            f"<tbody><tr>{head}</tr>{rows}</tbody></table>"
        )
    return (
        f'<table class="{css}" width="100%" cellspacing="0">'
        f"<thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>"
    )


def _row(source: str, when: str, what: str, e: Escape) -> str:
    return f'<tr><td class="muted">{e(source)}</td><td>{e(when)}</td><td>{e(what)}</td></tr>'


def short_path(path: str) -> str:
    """A request's path short enough to read: long argument lists become "(…)"."""
    if len(path) <= LONG_PATH:
        return path
    shorter = _ARGUMENTS.sub(lambda m: m.group(0) if len(m.group(0)) <= 24 else "(…)", path)
    shorter = _QUERY.sub("?…", shorter) if len(shorter) > LONG_PATH else shorter
    return shorter if len(shorter) <= LONG_PATH else f"{shorter[: LONG_PATH - 1]}…"


def said(text: str) -> str:
    """What a narrating log line says: its message field, else the line, shortened."""
    found = _MESSAGE.search(text)
    message = next((g for g in found.groups() if g), "") if found else ""
    words = (message or text).strip()
    return words if len(words) <= SAID_CHARS else f"{words[: SAID_CHARS - 1]}…"


def _share(n: int, total: int) -> str:
    return f"{n / total:.0%}" if total else "-"


def _plural(n: int, word: str) -> str:
    return word if n == 1 else f"{word}s"
