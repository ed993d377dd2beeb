"""Cause 3: an extension (or inbound rule) is not flagged to record.

Seed 000: "Recording can be set to All Calls, On Demand or Disabled. Inbound rules can also
override the extension setting." The doctor gathers the extensions, the queues and last week's
answered external calls that have no recording; this module judges them. Every count it states
is the length of the list it names, and the extensions that lost calls are named as the cause
in one sentence (``cause_sentence``), which the setup's recording audit shows too.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from app.domain.calls import CallRecord
from app.domain.causes import fields
from app.domain.causes.recording import (
    Recorder,
    recorder,
    recording_fix,
    records_external_calls,
    settled,
)
from app.domain.causes.wording import listing, plural
from app.domain.diagnosis import CheckId, CheckResult, CheckStatus
from app.domain.extensions import Extension, Queue, QueueRecording, RecordingMode
from app.domain.recordings import Recording, recording_for_call

OVERRIDE_FIX = (
    "Check the inbound rules for the numbers those calls came in on, and confirm in the 3CX "
    "call history whether those calls were recorded."
)
READ_BY_HAND = "Check each extension's recording option in the admin console by hand."


# ---- which calls count as lost ----------------------------------------------------------------
def unrecorded_candidates(calls: Iterable[CallRecord], now: datetime) -> list[CallRecord]:
    """Answered external calls on an extension, settled, that reference no recording."""
    return [
        call
        for call in calls
        if call.is_external
        and call.answered
        and not call.recording_ids
        and call.extension
        and settled(call, now)
    ]


def references_recordings(calls: Iterable[CallRecord]) -> bool:
    """This call log points at recordings (v20); v18's does not, so they must be matched."""
    return any(c.recording_ids or c.recording_url for c in calls)


def without_recording(
    candidates: Iterable[CallRecord], recordings: Sequence[Recording]
) -> list[CallRecord]:
    """The candidates no listed recording matches by number and time (v18)."""
    return [c for c in candidates if recording_for_call(c, list(recordings)) is None]


def count_by_extension(calls: Iterable[CallRecord]) -> dict[str, int]:
    return dict(Counter(c.extension for c in calls if c.extension))


# ---- facts and details ------------------------------------------------------------------------
@dataclass(frozen=True)
class ExtensionRecordingFacts:
    generation: str  # "v20" or "v18": the admin console's words differ
    recent_label: str  # "last 7 days", or the wider window a quiet week needed
    extensions: tuple[Extension, ...] | None  # None: they could not be read
    extensions_error: str = ""  # why not
    extensions_denied: bool = False  # the API user may not read them (cause 2)
    queues: tuple[Queue, ...] = ()
    # Settled answered external calls without a recording, per extension; None: not checked.
    unrecorded: Mapping[str, int] | None = None
    cross_check_notes: tuple[str, ...] = ()  # the window used, how recordings were matched
    cross_check_skipped: str = ""  # why the calls were not cross-checked

    @property
    def v20(self) -> bool:
        return self.generation == "v20"


@dataclass(frozen=True)
class ExtensionRow:
    number: str
    name: str
    recording: RecordingMode
    unrecorded: int  # settled answered external calls in the recent window without a recording

    @property
    def recorder(self) -> Recorder:
        return recorder(self.recording)

    @property
    def label(self) -> str:
        return (
            f"{self.number} ({self.name})"
            if self.name and self.name != self.number
            else self.number
        )

    def as_json(self) -> dict[str, Any]:
        kind = self.recorder
        return {
            "number": self.number,
            "name": self.name,
            "recording": str(self.recording),
            "records": str(kind),
            "records_external_calls": records_external_calls(self.recording),
            "answered_external_without_recording": self.unrecorded,
        }

    @classmethod
    def from_json(cls, data: object, where: str) -> ExtensionRow:
        item = fields.obj(data, where)
        mode = fields.member(item.get("recording"), RecordingMode, f"{where}.recording")
        lost = item.get("answered_external_without_recording")
        return cls(
            number=fields.text(item.get("number"), f"{where}.number"),
            name=fields.opt_text(item.get("name"), f"{where}.name") or "",
            recording=mode,
            unrecorded=fields.opt_int(lost, f"{where}.answered_external_without_recording") or 0,
        )


@dataclass(frozen=True)
class QueueRow:
    number: str
    name: str
    recording: QueueRecording

    def as_json(self) -> dict[str, Any]:
        return {"number": self.number, "name": self.name, "recording": str(self.recording)}

    @classmethod
    def from_json(cls, data: object, where: str) -> QueueRow:
        item = fields.obj(data, where)
        mode = fields.member(item.get("recording"), QueueRecording, f"{where}.recording")
        return cls(
            fields.text(item.get("number"), f"{where}.number"),
            fields.opt_text(item.get("name"), f"{where}.name") or "",
            mode,
        )


@dataclass(frozen=True)
class ExtensionRecordingDetails:
    """What ``CheckResult.details`` holds for cause 3 (as JSON), read back by ``from_json``."""

    extensions: tuple[ExtensionRow, ...]
    queues: tuple[QueueRow, ...]
    recent: str
    cross_checked: bool

    @classmethod
    def from_facts(cls, facts: ExtensionRecordingFacts) -> ExtensionRecordingDetails:
        lost = facts.unrecorded or {}
        return cls(
            extensions=tuple(
                ExtensionRow(e.number, e.name, e.recording, lost.get(e.number, 0))
                for e in facts.extensions or ()
                if e.enabled
            ),
            queues=tuple(QueueRow(q.number, q.name, q.recording) for q in facts.queues),
            recent=facts.recent_label,
            cross_checked=facts.unrecorded is not None,
        )

    def as_json(self) -> dict[str, Any]:
        return {
            "extensions": [row.as_json() for row in self.extensions],
            "queues": [row.as_json() for row in self.queues],
            "recent": self.recent,
            "cross_checked": self.cross_checked,
        }

    @classmethod
    def from_json(cls, data: object) -> ExtensionRecordingDetails:
        where = "extension_recording.details"
        item = fields.obj(data, where)
        return cls(
            extensions=tuple(
                ExtensionRow.from_json(row, f"{where}.extensions[{n}]")
                for n, row in enumerate(fields.items(item.get("extensions"), f"{where}.extensions"))
            ),
            queues=tuple(
                QueueRow.from_json(row, f"{where}.queues[{n}]")
                for n, row in enumerate(fields.items(item.get("queues"), f"{where}.queues"))
            ),
            # Absent from diagnoses saved before these were recorded.
            recent=fields.opt_text(item.get("recent"), f"{where}.recent") or "last 7 days",
            cross_checked=bool(
                fields.opt_bool(item.get("cross_checked"), f"{where}.cross_checked")
            ),
        )

    # The groups every sentence is built from: a count is always one of these lists' length.
    def of(self, kind: Recorder) -> tuple[ExtensionRow, ...]:
        return tuple(row for row in self.extensions if row.recorder is kind)

    @property
    def modes_known(self) -> bool:
        return any(row.recorder is not Recorder.UNKNOWN for row in self.extensions)

    @property
    def silent(self) -> tuple[ExtensionRow, ...]:
        """Set so that a bridge's calls are not reliably recorded: off or only on demand."""
        return tuple(r for r in self.extensions if r.recorder in (Recorder.OFF, Recorder.ON_DEMAND))

    @property
    def culprits(self) -> tuple[ExtensionRow, ...]:
        """Extensions that lost calls and are not set to record them (or do not say)."""
        return tuple(
            r
            for r in self.extensions
            if r.unrecorded and r.recorder in (Recorder.OFF, Recorder.ON_DEMAND, Recorder.UNKNOWN)
        )

    @property
    def overridden(self) -> tuple[ExtensionRow, ...]:
        """Set to record, yet calls on them have no recording: an inbound rule may override."""
        return tuple(r for r in self.extensions if r.unrecorded and r.recorder is Recorder.RECORDS)


# ---- the sentences ----------------------------------------------------------------------------
def _will_not_record(rows: Iterable[ExtensionRow]) -> list[str]:
    """ "101 is not set to record", "104 and 107 record only on demand": each group once."""
    rows = list(rows)
    off = [r.label for r in rows if r.recorder is Recorder.OFF]
    on_demand = [r.label for r in rows if r.recorder is Recorder.ON_DEMAND]
    who = []
    if off:
        who.append(f"{listing(off)} {'is' if len(off) == 1 else 'are'} not set to record")
    if on_demand:
        who.append(
            f"{listing(on_demand)} record{'s' if len(on_demand) == 1 else ''} only on demand"
        )
    return who


def cause_sentence(details: ExtensionRecordingDetails) -> str | None:
    """The one sentence naming the extensions that lost calls as the cause, if any did."""
    culprits = details.culprits
    if not culprits:
        return None
    on_demand = [r.label for r in culprits if r.recorder is Recorder.ON_DEMAND]
    unknown = [r.label for r in culprits if r.recorder is Recorder.UNKNOWN]
    who = _will_not_record(culprits)
    if unknown:
        why = (
            "the API does not say its recording mode"
            if len(unknown) == 1
            else "the API does not say their recording modes"
        )
        who.append(f"{listing(unknown)} did not record ({why})")
    count = sum(r.unrecorded for r in culprits)
    note = " (a call the user does not record has no file)" if on_demand else ""
    return (
        f"{_and(who)}: {plural(count, 'answered external call')} in the {details.recent} "
        f"{'has' if count == 1 else 'have'} no recording{note}, and no bridge can recover "
        f"{'it' if count == 1 else 'them'}."
    )


def override_sentence(details: ExtensionRecordingDetails) -> str | None:
    """Calls without a recording on extensions that are set to record: look at inbound rules."""
    rows = details.overridden
    if not rows:
        return None
    names = listing([r.label for r in rows])
    count = sum(r.unrecorded for r in rows)
    calls = f"{plural(count, 'answered external call')} in the {details.recent}"
    if not details.silent and not details.culprits:
        return (
            f"Every extension is set to record external calls, yet {calls} on {names} "
            f"{'has' if count == 1 else 'have'} no recording: an inbound rule may override "
            "the extension."
        )
    return (
        f"{calls[0].upper()}{calls[1:]} on {names}, set to record, "
        f"{'has' if count == 1 else 'have'} no recording either: an inbound rule may override "
        "the extension."
    )


def _silent_sentence(details: ExtensionRecordingDetails) -> str | None:
    """The extensions that will not record a bridge's calls but lost none (yet)."""
    rows = [r for r in details.silent if r not in details.culprits]
    if not rows:
        return None
    who = _will_not_record(rows)
    lost = (
        f"none lost an answered external call in the {details.recent}"
        if details.cross_checked
        else "the calls were not cross-checked"
    )
    if details.culprits:
        return f"Also {_and(who)} ({plural(len(rows), 'extension')}); {lost}."
    return f"{_and(who)} ({plural(len(rows), 'extension')}); {lost}."


def _evidence(facts: ExtensionRecordingFacts, details: ExtensionRecordingDetails) -> list[str]:
    rows = details.extensions
    off, on_demand = details.of(Recorder.OFF), details.of(Recorder.ON_DEMAND)
    if details.modes_known:
        silent = len(off) + len(on_demand)
        state = (
            f"{silent} {'does' if silent == 1 else 'do'} not record external calls "
            f"({len(off)} not set to record, {len(on_demand)} only on demand)"
            if silent
            else "every one records external calls"
        )
    else:
        state = "modes not given by this API"
    evidence = [f"{plural(len(rows), 'extension')} read; {state}"]
    evidence += [f"Extension {r.label}: {r.recording}" for r in off]
    evidence += [
        f"Extension {r.label}: on demand (records only when the user starts recording)"
        for r in on_demand
    ]
    for queue in details.queues:
        if queue.recording is QueueRecording.DISABLED:
            evidence.append(
                f"Queue {queue.number} {queue.name}: queue recording disabled (its calls record "
                "only if the answering agent's extension does)"
            )
    evidence += facts.cross_check_notes
    if facts.unrecorded is None:
        evidence.append(f"Cross-check skipped: {facts.cross_check_skipped or 'not run'}")
    else:
        lost = sorted((n for n, c in facts.unrecorded.items() if c), key=_number_key)
        total = sum(facts.unrecorded.get(n, 0) for n in lost)
        evidence.append(
            f"Cross-check, {details.recent}: "
            f"{plural(total, 'answered external call')} without a recording"
            + (f" (on {listing(lost)})" if lost else "")
        )
    return evidence


# ---- the verdict ------------------------------------------------------------------------------
def judge_extension_recording(facts: ExtensionRecordingFacts) -> CheckResult:
    if facts.extensions is None:
        return CheckResult(
            CheckId.EXTENSION_RECORDING,
            CheckStatus.SKIP if facts.extensions_denied else CheckStatus.WARN,
            f"Could not read the extensions: {facts.extensions_error}",
            READ_BY_HAND,
        )
    details = ExtensionRecordingDetails.from_facts(facts)
    evidence = tuple(_evidence(facts, details))
    payload = details.as_json()
    cause = cause_sentence(details)
    silent = _silent_sentence(details)
    override = override_sentence(details)
    fix = _fix(facts.v20, details, override)
    if cause or silent or override:
        status = CheckStatus.FAIL if cause else CheckStatus.WARN
        finding = " ".join(s for s in (cause, silent, override) if s)
    else:
        status, finding, fix = _no_fault(details, fix)
    return CheckResult(CheckId.EXTENSION_RECORDING, status, finding, fix, evidence, payload)


def _fix(v20: bool, details: ExtensionRecordingDetails, override: str | None) -> str:
    """Record on the extensions at fault (or silent), then lift any override."""
    to_fix = [r.label for r in details.culprits] + [
        r.label for r in details.silent if r not in details.culprits
    ]
    fix = recording_fix(v20, listing(to_fix)) if to_fix else ""
    if override:
        fix = f"{fix} {OVERRIDE_FIX}".strip()
    return fix


def _no_fault(details: ExtensionRecordingDetails, fix: str) -> tuple[CheckStatus, str, str]:
    """No extension found at fault: a PASS, unless recording modes went unsaid and unchecked."""
    if not details.cross_checked and not details.modes_known:
        return (
            CheckStatus.WARN,
            "This API does not say each extension's recording mode, and the calls could "
            "not be cross-checked.",
            READ_BY_HAND,
        )
    unsaid = [r.label for r in details.extensions if r.recorder is Recorder.UNKNOWN]
    if details.modes_known and unsaid:
        # Some modes read, others not: "every extension records" would claim the unread.
        return _unsaid_modes(details, unsaid, fix)
    finding = (
        "Every extension is set to record external calls."
        if details.modes_known
        else "This API does not say each extension's recording mode; every answered "
        f"external call in the {details.recent} has a recording."
    )
    return CheckStatus.PASS, finding, fix


def _unsaid_modes(
    details: ExtensionRecordingDetails, unsaid: list[str], fix: str
) -> tuple[CheckStatus, str, str]:
    """Some extensions did not say their mode: the calls must vouch for them."""
    if details.cross_checked:
        return (
            CheckStatus.PASS,
            "Every extension whose mode the PBX said is set to record external calls; "
            f"{listing(unsaid)} did not say, and lost no answered external call in the "
            f"{details.recent}.",
            fix,
        )
    return (
        CheckStatus.WARN,
        f"The PBX did not say the recording mode of {listing(unsaid)}, and the "
        "calls could not be cross-checked; the others are set to record.",
        READ_BY_HAND,
    )


# ---- words ------------------------------------------------------------------------------------


def _and(parts: list[str]) -> str:
    if len(parts) <= 1:
        return "".join(parts)
    return ", ".join(parts[:-1]) + f" and {parts[-1]}"


def _number_key(number: str) -> tuple[int, int, str]:
    return (0, int(number), "") if number.isdigit() else (1, 0, number)
