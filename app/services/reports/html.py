"""The report as HTML: the body of resources/report/report.html.template, section by section.

Every value passes through ``escaped``, which scrubs secrets before it escapes.
"""

import functools
import html
import re
from collections.abc import Sequence
from datetime import UTC, datetime
from string import Template

from app.domain.contact_match import MatchKind
from app.domain.diagnosis import CheckId, CheckStatus
from app.domain.report import Report
from app.domain.report_sections import (
    Capability,
    CheckSection,
    ContactMatchSummary,
    ExtensionRow,
    LateRecording,
    PbxSummary,
    Reachability,
    Retention,
)
from app.domain.report_text import scrub, status_word
from app.services.paths import resources_dir
from app.services.reports.formats import ReportExportError
from app.services.reports.logo import Logo

TEMPLATE = resources_dir() / "report" / "report.html.template"
BULK_FIX_ROWS = 200  # rows of the bulk-fix list in HTML/PDF (the doctor keeps as many)
EVIDENCE_IDS = 10  # recording ids listed in the retention table
MATCH_MEANINGS: dict[str, str] = {
    MatchKind.EXACT: "the bridge attaches the call to this contact.",
    MatchKind.NORMALISED: "the contact exists, but its number is stored in a local "
    "format: a bridge that compares E.164 misses it.",
    MatchKind.ORPHAN: "no contact has this number: the bridge would create a new contact with only "
    "the number.",
    MatchKind.AMBIGUOUS: "several contacts share this number: the bridge may attach the call to "
    "either.",
    MatchKind.UNUSABLE: "withheld or internal caller id: nothing to match.",
}


@functools.cache
def load_template() -> Template:
    """The report's HTML template (read once). Reads a file: not on the GUI thread."""
    try:
        return Template(TEMPLATE.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ReportExportError(f"{TEMPLATE}: the report template is missing ({exc})") from exc


def escaped(value: object, secrets: Sequence[str]) -> str:
    return html.escape(scrub("" if value is None else str(value), secrets), quote=True)


class HtmlBody:
    def __init__(self, report: Report, logo: Logo | None, secrets: Sequence[str]) -> None:
        self.r = report
        self.logo = logo
        self.secrets = secrets

    def e(self, value: object) -> str:
        return escaped(value, self.secrets)

    def render(self) -> str:
        parts = [self._masthead(), self._banner(), self._customer(), self._glance()]
        parts.append(self._actions())
        parts.append(
            "<h2>The seven checks</h2>"
            '<p class="muted">In the field guide\'s order, cheapest first: what was found, what '
            "to do about it, and the evidence.</p>"
        )
        parts += [self._check(section) for section in self.r.checks]
        parts.append(self._colophon())
        return "\n".join(parts)

    # Top of the document

    def _masthead(self) -> str:
        r = self.r
        logo = (
            f'<img src="{self.logo.data_uri()}" width="{self.logo.width}" '
            f'height="{self.logo.height}" alt="logo">'
            if self.logo
            else ""
        )
        customer = self.e(r.meta.customer or r.pbx.host or "PBX")
        return (
            '<table width="100%" cellspacing="0" cellpadding="0"><tr>'
            f'<td width="50%" valign="middle">{logo}</td>'
            '<td width="50%" align="right" valign="middle">'
            '<p class="kind" align="right">CALL RECORDING SETUP REPORT</p>'
            f'<h1 align="right">{customer}</h1>'
            f'<p class="muted" align="right">Checked {self.e(r.pbx.clock(r.checked_at))}</p>'
            "</td></tr></table>"
            '<table width="100%" cellspacing="0" cellpadding="0"><tr>'
            '<td class="rule" height="6"></td></tr></table>'
        )

    def _banner(self) -> str:
        r = self.r
        worst = (
            "fail"
            if r.first_failure
            else ("warn" if any(c.status is CheckStatus.WARN for c in r.checks) else "pass")
        )
        return (
            '<table class="note" width="100%" cellspacing="0"><tr>'
            f'<td class="banner-{worst}">{self.e(r.summary_line())}</td></tr></table>'
        )

    def _customer(self) -> str:
        r, p, m = self.r, self.r.pbx, self.r.meta
        version = f"3CX {p.version}" if p.version else "not reported"
        facts = [
            ("Customer", m.customer or "not given"),
            ("Connection", m.connection or "not given"),
            ("PBX address", p.host or p.url),
            ("3CX version", version),
            ("Licence edition", p.edition or "not reported"),
            ("Hosting", p.hosting if p.hosting and p.hosting != "unknown" else "not known"),
            ("Number region", p.region or "not known"),
            ("Time zone", _zone_fact(p.time_zone, p.hours_source)),
            ("Office hours", p.business_hours or "not known"),
            ("Checked", p.clock(r.checked_at, "%Y-%m-%d %H:%M")),
            ("Checked by", m.engineer or "not recorded"),
            ("App version", f"PBX Companion {m.app_version}" if m.app_version else "PBX Companion"),
        ]
        rows = []
        for n in range(0, len(facts), 2):
            cells = "".join(
                f'<td class="label" width="16%">{self.e(k)}</td><td width="34%">{self.e(v)}</td>'
                for k, v in facts[n : n + 2]
            )
            rows.append(f"<tr>{cells}</tr>")
        masked = (
            '<p class="muted small">Phone numbers and names in this report are masked.</p>'
            if r.masked
            else ""
        )
        return (
            '<h2>Customer and PBX</h2><table class="facts" width="100%" cellspacing="0">'
            + "".join(rows)
            + "</table>"
            + masked
        )

    def _glance(self) -> str:
        rows = "".join(
            f"<tr><td>{c.order}</td><td>{self.e(c.title)}</td>"
            f"<td>{self._badge(c.status)}</td><td>{self.e(_first_sentence(c.finding))}</td></tr>"
            for c in self.r.checks
        )
        return "<h2>Results at a glance</h2>" + self._grid(
            ("#", "Check", "Result", "What was found"), rows, widths=(4, 32, 18, 46)
        )

    def _actions(self) -> str:
        if not self.r.actions:
            return (
                "<h2>Outstanding actions</h2><p>Nothing is outstanding: no check failed or "
                "warned.</p>"
            )
        items = "".join(
            f"<li><b>{self.e(f'{a.order}. {a.title}')}</b> {self._badge(a.status)}<br>"
            f"{self.e(a.text)}</li>"
            for a in self.r.actions
        )
        return (
            "<h2>Outstanding actions</h2>"
            '<p class="muted">Every failure, then every warning, in the order to work on them.</p>'
            f"<ol>{items}</ol>"
        )

    # One check

    def _check(self, c: CheckSection) -> str:
        parts = [
            f"<h3>{self.e(f'{c.order}. {c.title}')}&nbsp;&nbsp;{self._badge(c.status)}</h3>",
            f"<p>{self.e(c.finding)}</p>",
        ]
        if c.fix and c.status is not CheckStatus.PASS:
            label = (
                "What to do" if c.status in (CheckStatus.FAIL, CheckStatus.WARN) else "To check it"
            )
            parts.append(
                '<table class="note" width="100%" cellspacing="0"><tr><td class="fix">'
                f"<b>{label}:</b> {self.e(c.fix)}</td></tr></table>"
            )
        elif c.fix:
            parts.append(f'<p class="muted">Note: {self.e(c.fix)}</p>')
        parts.append(self._detail(c.id))
        evidence = c.evidence
        if c.id is CheckId.REACHABILITY and self.r.reachability and self.r.reachability.steps:
            # The probe steps table already shows these lines.
            shown = {f"{s.step}:" for s in self.r.reachability.steps}
            evidence = tuple(line for line in evidence if line.split(" ", 1)[0] not in shown)
        if evidence:
            items = "".join(f"<li>{self.e(line)}</li>" for line in evidence)
            parts.append(f'<h4>Evidence</h4><ul class="small">{items}</ul>')
        return "\n".join(p for p in parts if p)

    def _detail(self, check: CheckId) -> str:
        r = self.r
        if check is CheckId.API_ROLES:
            return self._capabilities(r.capabilities)
        if check is CheckId.EXTENSION_RECORDING:
            return self._extensions(r.extensions) + self._queues()
        if check is CheckId.LATE_RECORDING and r.late_recording:
            return self._late(r.late_recording)
        if check is CheckId.CONTACT_MATCH and r.contact_match:
            return self._contacts(r.contact_match)
        if check is CheckId.RETENTION and r.retention:
            return self._retention(r.retention)
        if check is CheckId.REACHABILITY and r.reachability:
            return self._reachability(r.reachability)
        return ""

    def _capabilities(self, caps: Sequence[Capability]) -> str:
        rows = "".join(
            f"<tr><td><b>{self.e(c.role)}</b></td><td>{self.e(c.purpose)}</td>"
            f"<td>{self._badge(c.status)}</td><td>{self.e(c.detail)}</td></tr>"
            for c in caps
        )
        return "<h4>The API user's two capabilities</h4>" + self._grid(
            ("Capability", "Needed to", "Result", "How it was proven"),
            rows,
            widths=(20, 22, 12, 46),
        )

    def _extensions(self, rows_in: Sequence[ExtensionRow]) -> str:
        if not rows_in:
            return ""
        rows = "".join(
            f"<tr><td>{self.e(x.number)}</td><td>{self.e(x.name)}</td>"
            f"<td>{self._recording(x)}</td><td>{_yes_no(x.records_external_calls)}</td>"
            f'<td class="num">{x.calls_without_recording}</td></tr>'
            for x in rows_in
        )
        silent = sum(1 for x in rows_in if x.records_external_calls is False)
        return (
            f"<h4>Extension recording ({len(rows_in)} extensions, {silent} not recording "
            "external calls)</h4>"
            + self._grid(
                (
                    "Ext.",
                    "Name",
                    "Recording setting",
                    "Records external calls",
                    "Answered external calls without a recording",
                ),
                rows,
                widths=(11, 27, 22, 16, 24),
            )
        )

    def _recording(self, x: ExtensionRow) -> str:
        if x.records_external_calls is False:
            return f'<span class="fail">&nbsp;{self.e(x.recording)}&nbsp;</span>'
        return self.e(x.recording)

    def _queues(self) -> str:
        if not self.r.queues:
            return ""
        rows = "".join(
            f"<tr><td>{self.e(q.number)}</td><td>{self.e(q.name)}</td>"
            f"<td>{self.e(q.recording)}</td></tr>"
            for q in self.r.queues
        )
        return "<h4>Queues</h4>" + self._grid(
            ("Queue", "Name", "Queue recording"), rows, widths=(11, 49, 40)
        )

    def _late(self, late: LateRecording) -> str:
        window = f"{late.window_s:g} s" if late.window_s is not None else "not set"
        watched = f"{late.watch_s:g} s" if late.watch_s is not None else "not watched"
        parts = [
            f'<p class="muted">Watched for {self.e(watched)}; the bridge retries for '
            f"{self.e(window)} after hang-up.</p>"
        ]
        for j in late.journeys:
            who = f"Call {j.call_id}" + (f" on extension {j.extension}" if j.extension else "")
            who += f" from {j.number}" if j.number else ""
            outcome = (
                f"recording ready {j.ready_after_s:.1f} s after hang-up"
                + (" (already there at the first look)" if j.upper_bound_only else "")
                if j.ready_after_s is not None
                else f"no recording ({j.state})"
            )
            parts.append(f"<h4>{self.e(who)}: {self.e(outcome)}</h4>")
            hung_up = _instant_on(self.r.pbx, j.hung_up_at)
            rows = [f"<tr><td></td><td>0.0 s</td><td>Hung up at {self.e(hung_up)}</td></tr>"]
            for a in j.attempts:
                gave_up = late.window_s is not None and a.after_s > late.window_s
                if a.found:
                    result = '<span class="pass">&nbsp;recording&nbsp;there&nbsp;</span>'
                    result += " after the bridge gave up" if gave_up else ""
                else:
                    result = "not there yet" + ("; the bridge has given up" if gave_up else "")
                note = f" ({self.e(a.note)})" if a.note else ""
                rows.append(
                    f"<tr><td>{a.number}</td><td>+{a.after_s:.1f} s</td>"
                    f'<td>{result}<span class="muted">{note}</span></td></tr>'
                )
            parts.append(
                self._grid(
                    ("Look", "After hang-up", "What the look found"),
                    "".join(rows),
                    widths=(8, 16, 76),
                )
            )
        return "<h4>Recording timeline</h4>" + "\n".join(parts) if late.journeys else parts[0]

    def _contacts(self, c: ContactMatchSummary) -> str:
        parts = []
        facts = [
            ("Region", c.region or "not known"),
            ("Contacts compared", "unknown" if c.contacts is None else str(c.contacts)),
            ("Recent external calls", str(c.calls_matched)),
        ]
        parts.append(self._facts(facts))
        counts = "".join(
            f'<tr><td>{self.e(label)}</td><td class="num">{n}</td></tr>'
            for label, n in c.counts
            if n
        )
        if counts:
            parts.append("<h4>How recent callers match</h4>")
            parts.append(self._grid(("Match", "Calls"), counts, widths=(70, 30), width=50))
        if c.sample:
            parts += self._sample_calls(c)
        if c.bulk_fixes:
            parts += self._bulk_fixes(c)
        return "\n".join(parts)

    def _sample_calls(self, c: ContactMatchSummary) -> list[str]:
        parts = []
        rows = "".join(
            f"<tr><td>{self.e(s.number)}</td>"
            f"<td>{self.e('same' if s.e164 == s.number else s.e164 or '-')}</td>"
            f"<td>{self.e(s.match)}</td><td>{self.e(', '.join(s.contacts) or '-')}</td></tr>"
            for s in c.sample
        )
        parts.append("<h4>Sample calls</h4>")
        parts.append(
            self._grid(
                ("Caller number", "As E.164", "Match", "Lands on contact"),
                rows,
                widths=(22, 22, 26, 30),
            )
        )
        kinds = list(dict.fromkeys(s.match for s in c.sample))
        meanings = "".join(
            f"<li><b>{self.e(kind)}</b>: {self.e(MATCH_MEANINGS[kind])}</li>"
            for kind in kinds
            if kind in MATCH_MEANINGS
        )
        if meanings:
            parts.append(f'<ul class="small">{meanings}</ul>')
        return parts

    def _bulk_fixes(self, c: ContactMatchSummary) -> list[str]:
        parts = []
        shown = c.bulk_fixes[:BULK_FIX_ROWS]
        rows = "".join(
            f"<tr><td>{self.e(f.name)}</td><td>{self.e(f.label)}</td>"
            f"<td>{self.e(f.stored)}</td><td>{self.e(f.e164)}</td></tr>"
            for f in shown
        )
        count = max(c.bulk_fix_count, len(c.bulk_fixes))
        more = count - len(shown)
        noun = "stored number" if count == 1 else "stored numbers"
        parts.append(f"<h4>Bulk-fix list: {count:,} {noun} to change</h4>")
        parts.append(
            self._grid(
                ("Contact", "Label", "Stored as", "Change to (E.164)"),
                rows,
                widths=(34, 16, 25, 25),
            )
        )
        if more:
            parts.append(
                f'<p class="muted">... and {more:,} more: the guided setup\'s contact '
                "preview exports them all as a CSV for the CRM's import.</p>"
            )
        return parts

    def _retention(self, r: Retention) -> str:
        if r.auto_delete is False:
            policy = "off: recordings stay until deleted by hand"
        elif r.auto_delete_days:
            policy = f"after {r.auto_delete_days} days"
        else:
            policy = "not reported"
        facts = [
            ("Auto-delete", policy),
            ("Required", f"{r.required_days} days" if r.required_days else "not set"),
            ("Archiving", _yes_no(r.archive_enabled, "on", "off")),
            (
                "Recordings in the call log",
                "unknown" if r.referenced is None else str(r.referenced),
            ),
            ("Deleted by retention", _ids(r.deleted_by_retention)),
            ("Missing (deleted by hand or lost)", _ids(r.missing)),
            ("Absent, not confirmed", str(r.absent_unconfirmed)),
            ("Moved to the archive", str(r.archived)),
        ]
        return self._facts(facts)

    def _reachability(self, r: Reachability) -> str:
        cert = r.certificate
        where = r.host + (f":{r.port}" if r.port else "")
        facts = [
            ("Address", where),
            ("Latency", f"{r.latency_ms:.0f} ms" if r.latency_ms is not None else "not measured"),
            ("TLS", r.tls_version or "none"),
            ("HTTP", str(r.http_status) if r.http_status else "no answer"),
        ]
        if cert is not None:
            left = f" (in {cert.days_left:.0f} days)" if cert.days_left is not None else ""
            facts += [
                ("Certificate issuer", cert.issuer),
                ("Certificate subject", cert.subject),
                ("Expires", cert.not_after[:10] + left),
                ("Names", ", ".join(cert.names) or "none"),
            ]
        parts = [self._facts(facts)]
        if cert is not None and cert.sha256:
            groups = " ".join(cert.sha256[n : n + 8] for n in range(0, len(cert.sha256), 8))
            parts.append(
                f'<p><span class="muted">SHA-256 fingerprint:</span> '
                f'<span class="mono">{self.e(groups)}</span></p>'
            )
        if r.steps:
            rows = "".join(
                f"<tr><td>{self.e(s.step)}</td>"
                f"<td>{self._badge(CheckStatus.PASS if s.ok else CheckStatus.FAIL, 'ok' if s.ok else 'failed')}</td>"
                f'<td class="num">{"" if s.ms is None else f"{s.ms:.0f} ms"}</td>'
                f"<td>{self.e(s.detail)}</td></tr>"
                for s in r.steps
            )
            parts.append("<h4>Probe steps</h4>")
            parts.append(
                self._grid(("Step", "Result", "Time", "Detail"), rows, widths=(9, 11, 10, 70))
            )
        return "\n".join(parts)

    def _colophon(self) -> str:
        m = self.r.meta
        made = f"Generated {self.r.pbx.clock(m.generated_at, '%Y-%m-%d %H:%M')}"
        by = f" by {m.engineer}" if m.engineer else ""
        app = f"PBX Companion {m.app_version}".rstrip()
        return (
            '<p class="muted small"><br>'
            f"{self.e(f'{made}{by} with {app}.')} This report holds no passwords, API keys or "
            "tokens.</p>"
        )

    # Building blocks

    def _badge(self, status: CheckStatus, word: str | None = None) -> str:
        text = self.e(word or status_word(status)).replace(" ", "&nbsp;")
        return f'<span class="{status.value}">&nbsp;{text}&nbsp;</span>'

    def _grid(
        self, headers: Sequence[str], rows: str, *, widths: Sequence[int], width: int = 100
    ) -> str:
        # <thead> makes Qt repeat the header row on every PDF page the table spans.
        head = "".join(
            f'<th width="{w}%">{self.e(h)}</th>' for h, w in zip(headers, widths, strict=True)
        )
        return (
            f'<table class="grid" width="{width}%" cellspacing="0">'
            f"<thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>"
        )

    def _facts(self, facts: Sequence[tuple[str, str]]) -> str:
        rows = "".join(
            f'<tr><td class="label" width="30%">{self.e(k)}</td><td>{self.e(v)}</td></tr>'
            for k, v in facts
        )
        return f'<table class="facts" width="100%" cellspacing="0">{rows}</table>'


def _instant_on(pbx: PbxSummary, iso: str) -> str:
    """An ISO instant from the diagnosis on the customer's clock; as written if unreadable."""
    try:
        at = datetime.fromisoformat(iso)
    except ValueError:
        return iso
    if at.tzinfo is None:
        at = at.replace(tzinfo=UTC)  # the doctor writes UTC
    return pbx.clock(at, "%Y-%m-%d %H:%M:%S")


def _zone_fact(time_zone: str | None, source: str | None) -> str:
    """ "Pacific/Auckland (read from the PBX): times in this report are on this clock"."""
    if not time_zone:
        return "not recorded: times in this report are UTC"
    return f"{time_zone} ({source or 'source not recorded'}): times in this report are its"


def _first_sentence(text: str) -> str:
    # Not at an initial's full stop ("114 (J. P.) is not set to record").
    match = re.match(r"(.+?(?<!\b[A-Z])[.:;])(\s|$)", text)
    return (
        match.group(1).rstrip(":;") + ("." if match.group(1)[-1] in ":;" else "") if match else text
    )


def _yes_no(value: bool | None, yes: str = "yes", no: str = "no") -> str:
    return "unknown" if value is None else (yes if value else no)


def _ids(ids: Sequence[int]) -> str:
    if not ids:
        return "none"
    shown = ", ".join(str(i) for i in ids[:EVIDENCE_IDS])
    more = f" and {len(ids) - EVIDENCE_IDS} more" if len(ids) > EVIDENCE_IDS else ""
    return f"{len(ids)} (recording {shown}{more})"
