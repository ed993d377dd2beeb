"""What the reconciliation reads and what it decides: the PBX's calls, the CRM's activities, the
bridge's log lines, and one ledger entry per call with its state and cause.

Pure data: the parsers (services/reconcile) fill these in, ``reconcile.verdict`` decides each
call's state once, and every pane, the CLI and the JSON show that one decision.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime

from app.domain.bridge import BridgeMatch
from app.domain.calls import CallDirection
from app.domain.diagnosis import CheckId


class CallState(enum.StrEnum):
    """Where a call ended up, as the field guide's first moves ask (seed 000, seed 003)."""

    LOGGED = "logged"  # in the CRM, with its recording when the PBX has one
    NO_RECORDING = "no_recording"  # in the CRM without the recording the PBX has or should have
    WRONG_CONTACT = "wrong_contact"  # on another contact, or on a new one the bridge made
    DUPLICATED = "duplicated"  # two or more CRM activities for one call
    MISSING = "missing"  # not in the CRM at all
    MISSED_TRIGGERED = "missed_triggered"  # unanswered, and the missed-call workflow fired
    MISSED_NOT_TRIGGERED = "missed_not_triggered"  # unanswered, and nothing fired

    @property
    def fine(self) -> bool:
        """Nothing to fix for this call (the CLI's exit code 0)."""
        return self in (CallState.LOGGED, CallState.MISSED_TRIGGERED)

    @property
    def label(self) -> str:
        """A column's word for it: "No recording"."""
        return _STATE_WORDS[self][0]

    @property
    def meaning(self) -> str:
        """What it says about the call, for a summary line or a report: "not in the CRM"."""
        return _STATE_WORDS[self][1]

    @property
    def urgency(self) -> int:
        """0 for the worst (nothing in the CRM) to 6 (logged): the order to fix in."""
        return list(_STATE_WORDS).index(self)


# Every pane, the CLI and the report say a state with these words, worst first.
_STATE_WORDS: dict[CallState, tuple[str, str]] = {
    CallState.MISSING: ("Missing", "not in the CRM"),
    CallState.NO_RECORDING: ("No recording", "in the CRM without its recording"),
    CallState.WRONG_CONTACT: ("Wrong contact", "on the wrong or a new contact"),
    CallState.DUPLICATED: ("Duplicated", "logged more than once"),
    CallState.MISSED_NOT_TRIGGERED: ("Missed, not fired", "missed, and nothing fired"),
    CallState.MISSED_TRIGGERED: ("Missed, fired", "missed, and the workflow fired"),
    CallState.LOGGED: ("Logged", "logged with everything"),
}


class PbxRecording(enum.StrEnum):
    """What the PBX holds for a call's recording."""

    PRESENT = "present"  # a file the bridge can fetch
    NOT_RECORDED = "not_recorded"  # answered, but the extension (or rule) does not record
    DELETED = "deleted"  # retention removed it
    LOST = "lost"  # the call log points at a file the PBX no longer has, and not by retention
    NONE = "none"  # nothing to record: unanswered, voicemail, or not asked for
    UNKNOWN = "unknown"  # the recordings could not be read (no right, an error)


@dataclass(frozen=True, slots=True)
class PbxCall:
    """One external call from the PBX's call log, legs folded (issue 10)."""

    call_id: str
    started_at: datetime  # aware
    direction: CallDirection
    external_number: str | None  # E.164 when it normalises, else as the PBX sent it
    answered: bool
    extension: str | None
    recording: PbxRecording = PbxRecording.NONE
    recording_ids: tuple[int, ...] = ()
    ended_at: datetime | None = None
    # When 3CX's file became downloadable, in seconds after hang-up (None: not known).
    recording_ready_after_s: float | None = None
    did: str | None = None
    # The call's other ids as 3CX writes them (each leg's CdrId or CallHistoryId, the
    # MainCallHistoryId): a bridge may log or store any of them.
    aliases: tuple[str, ...] = ()
    # Where the customer's bridge lands this number in the CRM (issue 9), when contacts are known.
    bridge_match: BridgeMatch | None = field(default=None, compare=False)

    @property
    def hung_up_at(self) -> datetime:
        return self.ended_at or self.started_at

    @property
    def ids(self) -> tuple[str, ...]:
        return (self.call_id, *self.aliases)


class ActivityKind(enum.StrEnum):
    """What a CRM row is: a logged call, or what a missed-call workflow fires."""

    CALL = "call"
    TASK = "task"
    SMS = "sms"
    EMAIL = "email"
    OTHER = "other"

    @property
    def is_trigger(self) -> bool:
        """A row a missed-call workflow writes (seed 003), not a call log entry."""
        return self in (ActivityKind.TASK, ActivityKind.SMS, ActivityKind.EMAIL)


@dataclass(frozen=True, slots=True)
class CrmActivity:
    """One row of the CRM's activity export, its columns read through the mapping."""

    row: int  # 1-based data row in the export, for the engineer to find it
    at: datetime | None  # aware; None when the row's time could not be read
    phone: str | None  # as the CRM stored it
    phone_e164: str | None
    direction: CallDirection | None = None
    contact: str | None = None  # the contact's name or record id, as the export gives it
    recording_link: str | None = None
    call_id: str | None = None  # any 3CX call id the bridge wrote into the activity
    kind: ActivityKind = ActivityKind.CALL
    new_contact: bool = False  # the export says the bridge created the contact for this call


class BridgeSource(enum.StrEnum):
    BRIDGE_LOG = "bridge log"
    WEBHOOK = "webhook add-on"  # the app's own receiver saw the add-on's event


@dataclass(frozen=True, slots=True)
class BridgeEvent:
    """One readable line of the bridge's log (or one webhook event) about a call."""

    line: int  # 1-based line in its file
    at: datetime | None  # aware
    call_id: str | None = None
    recording_id: int | None = None
    method: str | None = None
    path: str | None = None
    status: int | None = None
    attempt: int | None = None  # the bridge's own retry counter, when it logs one
    text: str = ""  # the line, shortened, secrets already removed
    source: BridgeSource = BridgeSource.BRIDGE_LOG

    @property
    def asks_for_recording(self) -> bool:
        path = (self.path or "").lower()
        return "recording" in path or self.recording_id is not None


class Confidence(enum.StrEnum):
    """How a CRM activity was tied to a call."""

    CALL_ID = "call id"  # both sides carry the same 3CX call id
    NUMBER_AND_TIME = "number and time"  # same number, start times within the tolerance
    NONE = "none"


@dataclass(frozen=True, slots=True)
class CrmMatch:
    activity: CrmActivity
    confidence: Confidence
    seconds_apart: float | None = None  # for a number-and-time match


@dataclass(frozen=True, slots=True)
class LedgerEntry:
    """One call's decided state, its cause in the doctor's check ids, and the evidence."""

    call: PbxCall
    state: CallState
    cause: CheckId | None
    crm: tuple[CrmMatch, ...] = ()
    bridge: tuple[BridgeEvent, ...] = ()
    evidence: tuple[str, ...] = ()
