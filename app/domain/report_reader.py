"""Reads a doctor ``Diagnosis`` into the report's sections, masking as the engineer asked.

Masking happens here, once, so every format (PDF, HTML, JSON) shows the same thing.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from app.domain.causes.api_answers import DOWNLOAD_UNCONFIRMED, Answer
from app.domain.contact_match import MatchKind
from app.domain.diagnosis import CheckId, CheckResult, CheckStatus, Diagnosis
from app.domain.masking import Masker
from app.domain.phones import mask_number
from app.domain.report_sections import (
    BulkFix,
    Capability,
    Certificate,
    CheckSection,
    ContactMatchSummary,
    ExtensionRow,
    Journey,
    LateRecording,
    PbxSummary,
    PollAttempt,
    ProbeStep,
    QueueRow,
    Reachability,
    ReportMeta,
    Retention,
    SampleCall,
)
from app.domain.report_text import mask_host

SAMPLE_PER_KIND = 4  # sample calls shown per kind of contact match
SAMPLE_CALLS = 12
REFUSED = ("403 forbidden", "401 rejected")
# Numbers the masker's free-text rule leaves alone: E.164 anywhere, and a number that starts
# an evidence line ("+61482836554: no contact has this number").
_E164 = re.compile(r"(?<![\w+])\+\d{7,15}(?!\d)")
_NUMBER_LABEL = re.compile(r"(?<![\w.:/-])(\+?\(?\d[\d ().-]{5,22}\d)(?=:\s)")
# Version numbers look like numbers to the masker ("3CX 20.0.10.1116"): they are kept.
_VERSION = re.compile(r"(?<![\d.])\d{1,2}\.\d{1,2}\.\d{1,3}(?:\.\d{1,5})?(?![\d.])")
_DOMAIN = re.compile(r"\b(?:[a-z0-9](?:[a-z0-9-]*[a-z0-9])?\.)+[a-z]{2,}\b", re.IGNORECASE)
_KEPT = re.compile("\x00(\\d+)\x00")


class DiagnosisReader:
    """Reads the checks' ``details`` defensively: a document may come from an older app or a
    hand-edited file, and a missing key must cost one line of the report, not the report."""

    def __init__(self, diagnosis: Diagnosis, meta: ReportMeta) -> None:
        self.diagnosis = diagnosis
        self.meta = meta
        self.masker = Masker(meta.mask)
        self.masker.learn_names(self._names())
        self.host = _host_of(diagnosis.pbx.url)
        self.shown_host = mask_host(self.host) if meta.mask else self.host

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

    def pbx(self) -> PbxSummary:
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

    def section(self, result: CheckResult) -> CheckSection:
        return CheckSection(
            id=result.id,
            order=result.id.order,
            title=result.title,
            status=result.status,
            finding=self.text(result.finding),
            evidence=tuple(self.text(line) for line in result.evidence),
            fix=self.text(result.fix),
        )

    def capabilities(self, result: CheckResult) -> tuple[Capability, ...]:
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

    def reachability(self, result: CheckResult) -> Reachability | None:
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

    def extensions(self, result: CheckResult) -> tuple[ExtensionRow, ...]:
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

    def queues(self, result: CheckResult) -> tuple[QueueRow, ...]:
        return tuple(
            QueueRow(_str(q.get("number")), _str(q.get("name")), _str(q.get("recording")))
            for q in _rows(result, "queues")
        )

    def retention(self, result: CheckResult) -> Retention | None:
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

    def contacts(self, result: CheckResult) -> ContactMatchSummary | None:
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

    def late(self, result: CheckResult) -> LateRecording | None:
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
