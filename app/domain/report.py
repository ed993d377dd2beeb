"""The setup report: what was checked on a customer's PBX, what was found, what is still to do.

Built from a doctor ``Diagnosis`` and the engineer's ``ReportMeta``. Masking happens here, once,
so every format (PDF, HTML, JSON) shows the same thing; secrets never reach the model (the
diagnosis holds none) and every renderer still passes its output through ``scrub`` last.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, tzinfo
from typing import Any

from app.domain.business_hours import BusinessHoursError, zone_of
from app.domain.causes.api_answers import DOWNLOAD_UNCONFIRMED, Answer
from app.domain.contact_match import MatchKind
from app.domain.diagnosis import CheckId, CheckResult, CheckStatus, Diagnosis
from app.domain.masking import Masker
from app.domain.phones import MASK, mask_number

REPORT_SCHEMA = "pbx-companion/report/1"
REDACTED = "[redacted]"
HIDDEN_LABEL = MASK * 3
SAMPLE_PER_KIND = 4  # sample calls shown per kind of contact match
SAMPLE_CALLS = 12
# Host labels that say nothing about who the customer is; kept when the FQDN is masked.
GENERIC_LABELS = frozenset(
    {"pbx", "voip", "sip", "phone", "phones", "tel", "3cx", "my3cx", "www", "localhost"}
    | {"com", "co", "net", "org", "gov", "edu", "ac"}
)
REFUSED = ("403 forbidden", "401 rejected")
STATUS_WORDS = {
    CheckStatus.PASS: "Pass",
    CheckStatus.WARN: "Warning",
    CheckStatus.FAIL: "Failed",
    CheckStatus.SKIP: "Not checked",
}

_JWT = re.compile(r"eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*")
_BEARER = re.compile(r"(?i)\b(bearer\s+)[A-Za-z0-9._~+/=-]{4,}")
_KEY_VALUE = re.compile(
    r"(?i)\b((?:client_?secret|secret|password|passwd|api[_-]?key|access_token|refresh_token)"
    r"[\"']?\s*[=:]\s*[\"']?)[^\s\"'&,;<>]{4,}"
)
_MIN_SECRET = 4
# Numbers the masker's free-text rule leaves alone: E.164 anywhere, and a number that starts
# an evidence line ("+61482836554: no contact has this number").
_E164 = re.compile(r"(?<![\w+])\+\d{7,15}(?!\d)")
_NUMBER_LABEL = re.compile(r"(?<![\w.:/-])(\+?\(?\d[\d ().-]{5,22}\d)(?=:\s)")
# Version numbers look like numbers to the masker ("3CX 20.0.10.1116"): they are kept.
_VERSION = re.compile(r"(?<![\d.])\d{1,2}\.\d{1,2}\.\d{1,3}(?:\.\d{1,5})?(?![\d.])")
_KEPT = re.compile("\x00(\\d+)\x00")
_DOMAIN = re.compile(r"\b(?:[a-z0-9](?:[a-z0-9-]*[a-z0-9])?\.)+[a-z]{2,}\b", re.IGNORECASE)


def scrub(text: str, secrets: Iterable[str] = ()) -> str:
    """Remove secrets and anything shaped like a token: the last step of every renderer."""
    for secret in sorted({s for s in secrets if len(s) >= _MIN_SECRET}, key=len, reverse=True):
        text = text.replace(secret, REDACTED)
    text = _BEARER.sub(lambda m: m.group(1) + REDACTED, text)
    text = _KEY_VALUE.sub(lambda m: m.group(1) + REDACTED, text)
    return _JWT.sub(REDACTED, text)


def mask_host(host: str) -> str:
    """ "pbx.harbourdental.com.au" -> "pbx.•••.com.au": labels that could name the customer go.

    The last label (the country or TLD) and generic labels (pbx, 3cx, com, ...) stay, so the
    reader still sees what kind of address it is; an IPv4 address keeps its last octet.
    """
    if not host:
        return host
    if ":" in host:  # IPv6: nothing in it is generic
        return HIDDEN_LABEL
    labels = host.split(".")
    if len(labels) == 1:
        return host if host.lower() in GENERIC_LABELS else HIDDEN_LABEL
    kept = [
        label if (n == len(labels) - 1 or label.lower() in GENERIC_LABELS) else HIDDEN_LABEL
        for n, label in enumerate(labels)
    ]
    return ".".join(kept)


def status_word(status: CheckStatus) -> str:
    return STATUS_WORDS[status]


def customer_zone(time_zone: str | None) -> tzinfo:
    """The customer's zone a diagnosis recorded; UTC (named as such) when it did not."""
    if time_zone:
        try:
            return zone_of(time_zone)
        except BusinessHoursError:
            pass
    return UTC


def on_customer_clock(at: datetime, time_zone: str | None, fmt: str = "%d %B %Y, %H:%M") -> str:
    """``at`` on the customer's clock with the zone's abbreviation: "18 November 2026, 13:30
    NZDT"; in UTC, said so, for a diagnosis that did not record the customer's zone."""
    local = at.astimezone(customer_zone(time_zone))
    return f"{local:{fmt}} {local.tzname() or 'UTC'}"


@dataclass(frozen=True)
class ReportMeta:
    """Who made the report, for whom, and how. ``logo`` is PNG/JPEG bytes or a file path."""

    generated_at: datetime
    customer: str = ""
    connection: str = ""
    engineer: str = ""
    app_version: str = ""
    logo: bytes | str | None = field(default=None, repr=False)
    mask: bool = False


@dataclass(frozen=True)
class PbxSummary:
    url: str
    host: str
    version: str | None
    edition: str | None
    hosting: str | None
    region: str | None
    # The customer's clock the checks used (None in a diagnosis from before it was recorded).
    time_zone: str | None = None
    business_hours: str | None = None
    hours_source: str | None = None

    def clock(self, at: datetime, fmt: str = "%d %B %Y, %H:%M") -> str:
        """``at`` on the customer's clock, zone named."""
        return on_customer_clock(at, self.time_zone, fmt)


@dataclass(frozen=True)
class CheckSection:
    id: CheckId
    order: int
    title: str
    status: CheckStatus
    finding: str
    evidence: tuple[str, ...]
    fix: str


@dataclass(frozen=True)
class Capability:
    """One of the two things the API user must be able to do (API-NOTES §3: no such roles)."""

    key: str
    role: str  # the field docs' name
    purpose: str
    status: CheckStatus
    detail: str


@dataclass(frozen=True)
class Certificate:
    subject: str
    issuer: str
    not_after: str
    days_left: float | None
    sha256: str
    names: tuple[str, ...]


@dataclass(frozen=True)
class ProbeStep:
    step: str
    ok: bool
    ms: float | None
    detail: str


@dataclass(frozen=True)
class Reachability:
    status: CheckStatus
    host: str
    port: int | None
    latency_ms: float | None
    tls_version: str | None
    http_status: int | None
    certificate: Certificate | None
    steps: tuple[ProbeStep, ...]


@dataclass(frozen=True)
class ExtensionRow:
    number: str
    name: str
    recording: str
    records_external_calls: bool | None
    calls_without_recording: int


@dataclass(frozen=True)
class QueueRow:
    number: str
    name: str
    recording: str


@dataclass(frozen=True)
class Retention:
    status: CheckStatus
    required_days: int | None
    auto_delete: bool | None
    auto_delete_days: int | None
    archive_enabled: bool | None
    referenced: int | None
    deleted_by_retention: tuple[int, ...]
    missing: tuple[int, ...]
    absent_unconfirmed: int
    archived: int


@dataclass(frozen=True)
class SampleCall:
    call_id: str
    number: str
    e164: str
    match: str
    contacts: tuple[str, ...]
    reason: str


@dataclass(frozen=True)
class BulkFix:
    name: str
    label: str
    stored: str
    e164: str


@dataclass(frozen=True)
class ContactMatchSummary:
    status: CheckStatus
    region: str | None
    contacts: int | None
    calls_matched: int
    counts: tuple[tuple[str, int], ...]
    sample: tuple[SampleCall, ...]
    bulk_fixes: tuple[BulkFix, ...]  # the first rows the doctor kept (BULK_FIXES_KEPT)
    bulk_fix_count: int = 0  # every stored number to change, listed or not


@dataclass(frozen=True)
class PollAttempt:
    number: int
    after_s: float
    found: bool
    note: str


@dataclass(frozen=True)
class Journey:
    call_id: str
    extension: str
    number: str
    hung_up_at: str
    state: str
    ready_after_s: float | None
    upper_bound_only: bool
    attempts: tuple[PollAttempt, ...]


@dataclass(frozen=True)
class LateRecording:
    status: CheckStatus
    window_s: float | None
    watch_s: float | None
    journeys: tuple[Journey, ...]


@dataclass(frozen=True)
class Action:
    check: CheckId
    order: int
    title: str
    status: CheckStatus
    text: str


@dataclass(frozen=True)
class Report:
    """Everything a report shows, already masked as ``masked`` says."""

    meta: ReportMeta
    pbx: PbxSummary
    checked_at: datetime
    checks: tuple[CheckSection, ...]
    first_failure: CheckId | None
    capabilities: tuple[Capability, ...]
    reachability: Reachability | None
    extensions: tuple[ExtensionRow, ...]
    queues: tuple[QueueRow, ...]
    retention: Retention | None
    contact_match: ContactMatchSummary | None
    late_recording: LateRecording | None
    actions: tuple[Action, ...]
    source: Diagnosis = field(repr=False, compare=False)

    @property
    def masked(self) -> bool:
        return self.meta.mask

    @classmethod
    def build(cls, diagnosis: Diagnosis, meta: ReportMeta) -> Report:
        return _Builder(diagnosis, meta).build()

    def with_mask(self, mask: bool) -> Report:
        """The same report with numbers and names masked (or not): rebuilt from the source."""
        if mask == self.masked:
            return self
        return Report.build(self.source, replace(self.meta, mask=mask))

    def check(self, check: CheckId) -> CheckSection:
        return next(section for section in self.checks if section.id is check)

    @property
    def title(self) -> str:
        return f"Setup report: {self.meta.customer}" if self.meta.customer else "Setup report"

    def summary_line(self) -> str:
        failed = sum(1 for c in self.checks if c.status is CheckStatus.FAIL)
        warned = sum(1 for c in self.checks if c.status is CheckStatus.WARN)
        if not failed and not warned:
            return "Every check that ran passed: nothing is outstanding."
        parts = []
        if failed:
            parts.append(f"{failed} {'check' if failed == 1 else 'checks'} failed")
        if warned:
            parts.append(f"{warned} {'warning' if warned == 1 else 'warnings'}")
        first = self.first_failure
        tail = f"; fix check {first.order} first." if first else "."
        return " and ".join(parts) + tail

    def as_json(self) -> dict[str, Any]:
        meta = self.meta
        return {
            "schema": REPORT_SCHEMA,
            "generated_at": meta.generated_at.isoformat(),
            "generated_by": {"engineer": meta.engineer, "app_version": meta.app_version},
            "customer": meta.customer,
            "connection": meta.connection,
            "masked": self.masked,
            "pbx": {
                "url": self.pbx.url,
                "host": self.pbx.host,
                "version": self.pbx.version,
                "edition": self.pbx.edition,
                "hosting": self.pbx.hosting,
                "region": self.pbx.region,
                "time_zone": self.pbx.time_zone,
                "business_hours": self.pbx.business_hours,
                "hours_source": self.pbx.hours_source,
            },
            "checked_at": self.checked_at.isoformat(),
            "checked_at_customer_time": self.checked_at.astimezone(
                customer_zone(self.pbx.time_zone)
            ).isoformat(),
            "first_failure": self.first_failure.value if self.first_failure else None,
            "summary": self.summary_line(),
            "checks": [
                {
                    "id": c.id.value,
                    "order": c.order,
                    "title": c.title,
                    "status": c.status.value,
                    "finding": c.finding,
                    "evidence": list(c.evidence),
                    "fix": c.fix,
                }
                for c in self.checks
            ],
            "capabilities": [
                {
                    "id": c.key,
                    "role": c.role,
                    "purpose": c.purpose,
                    "status": c.status.value,
                    "detail": c.detail,
                }
                for c in self.capabilities
            ],
            "reachability": _reachability_json(self.reachability),
            "extensions": [
                {
                    "number": e.number,
                    "name": e.name,
                    "recording": e.recording,
                    "records_external_calls": e.records_external_calls,
                    "calls_without_recording": e.calls_without_recording,
                }
                for e in self.extensions
            ],
            "queues": [
                {"number": q.number, "name": q.name, "recording": q.recording} for q in self.queues
            ],
            "retention": _retention_json(self.retention),
            "contact_match": _contact_json(self.contact_match),
            "late_recording": _late_json(self.late_recording),
            "outstanding_actions": [
                {
                    "check": a.check.value,
                    "order": a.order,
                    "title": a.title,
                    "status": a.status.value,
                    "action": a.text,
                }
                for a in self.actions
            ],
        }


class _Builder:
    """Reads the checks' ``details`` defensively: a document may come from an older app or a
    hand-edited file, and a missing key must cost one line of the report, not the report."""

    def __init__(self, diagnosis: Diagnosis, meta: ReportMeta) -> None:
        self.diagnosis = diagnosis
        self.meta = meta
        self.masker = Masker(meta.mask)
        self.masker.learn_names(self._names())
        self.host = _host_of(diagnosis.pbx.url)
        self.shown_host = mask_host(self.host) if meta.mask else self.host

    def build(self) -> Report:
        d = self.diagnosis
        return Report(
            meta=self.meta,
            pbx=self._pbx(),
            checked_at=d.started_at.astimezone(UTC),
            checks=tuple(self._section(r) for r in d.checks),
            first_failure=d.first_failure,
            capabilities=self._capabilities(d.result(CheckId.API_ROLES)),
            reachability=self._reachability(d.result(CheckId.REACHABILITY)),
            extensions=self._extensions(d.result(CheckId.EXTENSION_RECORDING)),
            queues=self._queues(d.result(CheckId.EXTENSION_RECORDING)),
            retention=self._retention(d.result(CheckId.RETENTION)),
            contact_match=self._contacts(d.result(CheckId.CONTACT_MATCH)),
            late_recording=self._late(d.result(CheckId.LATE_RECORDING)),
            actions=tuple(
                Action(r.id, r.id.order, r.title, r.status, self.text(text))
                for r, text in d.outstanding_actions()
            ),
            source=d,
        )

    # What may be shown -------------------------------------------------------------------

    def text(self, value: object) -> str:
        """Free text: learned names and number-like runs masked, the PBX host masked."""
        text = "" if value is None else str(value)
        if not self.meta.mask:
            return text
        if self.host and self.host != self.shown_host:
            text = text.replace(self.host, self.shown_host)
        kept: list[str] = []

        def keep(match: re.Match[str]) -> str:
            kept.append(match.group(0))
            return f"\x00{len(kept) - 1}\x00"

        text = _VERSION.sub(keep, text)
        text = self.masker.free_text(text)
        text = _NUMBER_LABEL.sub(lambda m: _mask_digits(m.group(1)), text)
        text = _E164.sub(lambda m: mask_number(m.group(0)), text)
        return _KEPT.sub(lambda m: kept[int(m.group(1))], text)

    def number(self, value: object) -> str:
        return self.masker.number(_str(value))

    def name(self, value: object) -> str:
        return self.masker.name(_str(value))

    def _names(self) -> list[str]:
        d = self.diagnosis
        names = [
            _str(e.get("name")) for e in _rows(d.result(CheckId.EXTENSION_RECORDING), "extensions")
        ]
        contacts = d.result(CheckId.CONTACT_MATCH)
        for call in _rows(contacts, "calls"):
            names += [_str(n) for n in _list(call.get("contacts"))]
        names += [_str(f.get("name")) for f in _rows(contacts, "bulk_fixes")]
        return [n for n in names if n]

    # Sections ----------------------------------------------------------------------------

    def _pbx(self) -> PbxSummary:
        pbx = self.diagnosis.pbx
        url = pbx.url.replace(self.host, self.shown_host, 1) if self.host else pbx.url
        return PbxSummary(
            url=url,
            host=self.shown_host,
            version=pbx.version,
            edition=pbx.edition,
            hosting=pbx.hosting,
            region=pbx.region,
            time_zone=pbx.time_zone,
            business_hours=pbx.business_hours,
            hours_source=pbx.hours_source,
        )

    def _section(self, result: CheckResult) -> CheckSection:
        return CheckSection(
            id=result.id,
            order=result.id.order,
            title=result.title,
            status=result.status,
            finding=self.text(result.finding),
            evidence=tuple(self.text(line) for line in result.evidence),
            fix=self.text(result.fix),
        )

    def _capabilities(self, result: CheckResult) -> tuple[Capability, ...]:
        details = result.details
        history = _str(details.get("call_history"))
        listing = _str(details.get("recording_list"))
        download = _str(details.get("recording_download"))
        if not details:
            why = self.text(result.finding) or "Not checked."
            return (
                Capability(
                    "call_history", "Reports User", "read the call history", CheckStatus.SKIP, why
                ),
                Capability(
                    "recording_fetch",
                    "Recording Manager",
                    "list and download recordings",
                    CheckStatus.SKIP,
                    why,
                ),
            )
        if history == "ok":
            history_cap = (CheckStatus.PASS, "Proven: the call history reads.")
        elif history in REFUSED:
            history_cap = (CheckStatus.FAIL, f"Refused: the call history answers {history}.")
        else:
            history_cap = (
                CheckStatus.WARN,
                f"Not proven: the call history answered {history or 'nothing'}.",
            )
        if listing in REFUSED or download in REFUSED:
            refused = listing if listing in REFUSED else download
            step = "list" if listing in REFUSED else "download"
            fetch_cap = (CheckStatus.FAIL, f"Refused: the recordings {step} answers {refused}.")
        elif listing == "ok" and download == "ok":
            fetch_cap = (CheckStatus.PASS, "Proven: recordings list and a recording downloads.")
        elif listing == "ok" and download == Answer.UNCONFIRMED:
            # The product's limit on this v18 build, not the PBX's fault: not held against it.
            fetch_cap = (CheckStatus.SKIP, f"Recordings list. {DOWNLOAD_UNCONFIRMED}")
        elif listing == "ok":
            fetch_cap = (
                CheckStatus.WARN,
                "Partly proven: recordings list, but no recording could be downloaded to prove "
                f"the fetch ({download or 'not tried'}).",
            )
        else:
            fetch_cap = (
                CheckStatus.WARN,
                f"Not proven: the recordings list answered {listing or 'nothing'}.",
            )
        return (
            Capability("call_history", "Reports User", "read the call history", *history_cap),
            Capability(
                "recording_fetch", "Recording Manager", "list and download recordings", *fetch_cap
            ),
        )

    def _reachability(self, result: CheckResult) -> Reachability | None:
        details = result.details
        if not details:
            return None
        cert = details.get("certificate")
        certificate = None
        if isinstance(cert, Mapping):
            certificate = Certificate(
                subject=self._domains(self.text(cert.get("subject"))),
                issuer=self.text(cert.get("issuer")),
                not_after=_str(cert.get("not_after")),
                days_left=_float(cert.get("days_left")),
                sha256=_str(cert.get("sha256")),
                names=tuple(self._host_text(n) for n in _list(cert.get("names"))),
            )
        steps = tuple(
            ProbeStep(
                step=_str(step.get("step")).upper(),
                ok=bool(step.get("ok")),
                ms=_float(step.get("ms")),
                detail=self.text(step.get("detail")),
            )
            for step in _dicts(details.get("steps"))
        )
        return Reachability(
            status=result.status,
            host=self._host_text(details.get("host")),
            port=_int(details.get("port")),
            latency_ms=_float(details.get("latency_ms")),
            tls_version=_str(details.get("tls_version")) or None,
            http_status=_int(details.get("http_status")),
            certificate=certificate,
            steps=steps,
        )

    def _host_text(self, value: object) -> str:
        text = _str(value)
        if self.meta.mask and text and text != self.host:
            # A certificate name or an address other than the PBX's own: mask it alike.
            return mask_host(text) if "." in text or ":" in text else text
        return self.shown_host if text == self.host else text

    def _domains(self, text: str) -> str:
        """Every host name in a certificate subject, masked (the CN names the customer)."""
        if not self.meta.mask:
            return text
        return _DOMAIN.sub(lambda m: mask_host(m.group(0)), text)

    def _extensions(self, result: CheckResult) -> tuple[ExtensionRow, ...]:
        return tuple(
            ExtensionRow(
                number=_str(row.get("number")),
                name=self.name(row.get("name")),
                recording=_str(row.get("recording")),
                records_external_calls=_bool(row.get("records_external_calls")),
                calls_without_recording=_int(row.get("answered_external_without_recording")) or 0,
            )
            for row in _rows(result, "extensions")
        )

    def _queues(self, result: CheckResult) -> tuple[QueueRow, ...]:
        return tuple(
            QueueRow(_str(q.get("number")), _str(q.get("name")), _str(q.get("recording")))
            for q in _rows(result, "queues")
        )

    def _retention(self, result: CheckResult) -> Retention | None:
        details = result.details
        if not details:
            return None
        return Retention(
            status=result.status,
            required_days=_int(details.get("required_days")),
            auto_delete=_bool(details.get("auto_delete")),
            auto_delete_days=_int(details.get("auto_delete_days")),
            archive_enabled=_bool(details.get("archive_enabled")),
            referenced=_int(details.get("referenced")),
            deleted_by_retention=_ints(details.get("deleted_by_retention")),
            missing=_ints(details.get("missing")),
            absent_unconfirmed=len(_list(details.get("absent_unconfirmed"))),
            archived=len(_list(details.get("archived"))),
        )

    def _contacts(self, result: CheckResult) -> ContactMatchSummary | None:
        details = result.details
        if not details:
            return None
        counts = details.get("counts")
        count_rows = (
            tuple((_str(k), _int(v) or 0) for k, v in counts.items())
            if isinstance(counts, Mapping)
            else ()
        )
        calls = _rows(result, "calls")
        return ContactMatchSummary(
            status=result.status,
            region=_str(details.get("region")) or None,
            contacts=_int(details.get("contacts")),
            calls_matched=sum(n for _, n in count_rows) or len(calls),
            counts=count_rows,
            sample=tuple(self._sample_call(call) for call in _sample(calls)),
            bulk_fixes=tuple(
                BulkFix(
                    name=self.name(fix.get("name")),
                    label=_str(fix.get("label")),
                    stored=self.number(fix.get("stored")),
                    e164=self.number(fix.get("e164")),
                )
                for fix in _rows(result, "bulk_fixes")
            ),
            # Older documents listed every fix and had no count.
            bulk_fix_count=_int(details.get("bulk_fix_count")) or len(_rows(result, "bulk_fixes")),
        )

    def _sample_call(self, call: Mapping[str, Any]) -> SampleCall:
        return SampleCall(
            call_id=_str(call.get("call_id")),
            number=self.number(call.get("raw")),
            e164=self.number(call.get("e164")),
            match=_str(call.get("match")),
            contacts=tuple(self.name(n) for n in _list(call.get("contacts"))),
            reason=self.text(call.get("reason")),
        )

    def _late(self, result: CheckResult) -> LateRecording | None:
        details = result.details
        if not details:
            return None
        journeys = tuple(
            Journey(
                call_id=_str(j.get("call_id")),
                extension=_str(j.get("extension")),
                number=self.number(j.get("number")),
                hung_up_at=_str(j.get("hung_up_at")),
                state=_str(j.get("state")),
                ready_after_s=_float(j.get("ready_after_s")),
                upper_bound_only=bool(j.get("upper_bound_only")),
                attempts=tuple(
                    PollAttempt(
                        number=_int(a.get("n")) or 0,
                        after_s=_float(a.get("after_s")) or 0.0,
                        found=bool(a.get("found")),
                        note=self.text(a.get("note")),
                    )
                    for a in _dicts(j.get("attempts"))
                ),
            )
            for j in _dicts(details.get("journeys"))
        )
        return LateRecording(
            status=result.status,
            window_s=_float(details.get("bridge_window_s")),
            watch_s=_float(details.get("watch_s")),
            journeys=journeys,
        )


def _mask_digits(candidate: str) -> str:
    digits = sum(ch.isdigit() for ch in candidate)
    return mask_number(candidate) if 7 <= digits <= 15 else candidate


def _sample(calls: Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """A few calls of each kind, problems first, one per number."""
    chosen: list[Mapping[str, Any]] = []
    priority = (MatchKind.NORMALISED, MatchKind.AMBIGUOUS, MatchKind.ORPHAN, MatchKind.EXACT)
    for kind in priority:
        seen: set[str] = set()
        for call in calls:
            raw = _str(call.get("raw"))
            if call.get("match") != kind.value or raw in seen:
                continue
            seen.add(raw)
            chosen.append(call)
            if len(seen) >= SAMPLE_PER_KIND:
                break
    return chosen[:SAMPLE_CALLS]


def _host_of(url: str) -> str:
    match = re.match(r"^[a-z][a-z0-9+.-]*://(\[[^\]]+\]|[^/:?#]+)", url.strip(), re.IGNORECASE)
    return match.group(1).strip("[]") if match else ""


def _rows(result: CheckResult, key: str) -> list[Mapping[str, Any]]:
    return _dicts(result.details.get(key))


def _dicts(value: object) -> list[Mapping[str, Any]]:
    return [item for item in _list(value) if isinstance(item, Mapping)]


def _list(value: object) -> list[Any]:
    return list(value) if isinstance(value, (list, tuple)) else []


def _str(value: object) -> str:
    return "" if value is None else str(value)


def _int(value: object) -> int | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return int(value)


def _ints(value: object) -> tuple[int, ...]:
    return tuple(n for n in (_int(v) for v in _list(value)) if n is not None)


def _float(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value)


def _bool(value: object) -> bool | None:
    return value if isinstance(value, bool) else None


def _reachability_json(r: Reachability | None) -> dict[str, Any] | None:
    if r is None:
        return None
    cert = r.certificate
    return {
        "status": r.status.value,
        "host": r.host,
        "port": r.port,
        "latency_ms": r.latency_ms,
        "tls_version": r.tls_version,
        "http_status": r.http_status,
        "certificate": None
        if cert is None
        else {
            "subject": cert.subject,
            "issuer": cert.issuer,
            "not_after": cert.not_after,
            "days_left": cert.days_left,
            "sha256": cert.sha256,
            "names": list(cert.names),
        },
        "steps": [{"step": s.step, "ok": s.ok, "ms": s.ms, "detail": s.detail} for s in r.steps],
    }


def _retention_json(r: Retention | None) -> dict[str, Any] | None:
    if r is None:
        return None
    return {
        "status": r.status.value,
        "required_days": r.required_days,
        "auto_delete": r.auto_delete,
        "auto_delete_days": r.auto_delete_days,
        "archive_enabled": r.archive_enabled,
        "referenced": r.referenced,
        "deleted_by_retention": list(r.deleted_by_retention),
        "missing": list(r.missing),
        "absent_unconfirmed": r.absent_unconfirmed,
        "archived": r.archived,
    }


def _contact_json(c: ContactMatchSummary | None) -> dict[str, Any] | None:
    if c is None:
        return None
    return {
        "status": c.status.value,
        "region": c.region,
        "contacts": c.contacts,
        "calls_matched": c.calls_matched,
        "counts": dict(c.counts),
        "sample_calls": [
            {
                "call_id": s.call_id,
                "number": s.number,
                "e164": s.e164,
                "match": s.match,
                "contacts": list(s.contacts),
                "reason": s.reason,
            }
            for s in c.sample
        ],
        "bulk_fixes": [
            {"name": f.name, "label": f.label, "stored": f.stored, "e164": f.e164}
            for f in c.bulk_fixes
        ],
        "bulk_fix_count": c.bulk_fix_count,
    }


def _late_json(late: LateRecording | None) -> dict[str, Any] | None:
    if late is None:
        return None
    return {
        "status": late.status.value,
        "bridge_window_s": late.window_s,
        "watch_s": late.watch_s,
        "journeys": [
            {
                "call_id": j.call_id,
                "extension": j.extension,
                "number": j.number,
                "hung_up_at": j.hung_up_at,
                "state": j.state,
                "ready_after_s": j.ready_after_s,
                "upper_bound_only": j.upper_bound_only,
                "attempts": [
                    {"n": a.number, "after_s": a.after_s, "found": a.found, "note": a.note}
                    for a in j.attempts
                ],
            }
            for j in late.journeys
        ],
    }
