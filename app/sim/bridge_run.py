"""One call through the customer's bridge: the lines it logs, the CRM rows it leaves, and the
state (and cause) that leaves the call in.

The bridge is the field guide's (seed 000): it hears the call end, reads the call's row from
the call log, polls the recording with backoff for two minutes after hang-up, then posts the
activity to the CRM; a missed call starts the CRM's missed-call workflow (seed 003).
"""

from __future__ import annotations

import enum
import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta, tzinfo

from app.domain.contact_match import MatchKind, display_name
from app.domain.diagnosis import CheckId
from app.domain.reconcile.records import CallState, PbxRecording
from app.domain.recordings import retry_delays
from app.domain.triggers import ActionKind, TriggerPreview
from app.sim.bridge_calls import PlayedCall
from app.sim.bridge_faults import (
    DUPLICATE,
    LATE_NO_RETRY,
    MISSED_NO_TRIGGER,
    NEVER_LOGGED,
    NEW_CONTACT,
    RECORDING_403,
)
from app.sim.bridge_formats import CrmRow, LogLine, Value
from app.sim.timefmt import iso
from app.sim.wire_v20 import download_path

RETRY_WINDOW_S = 120.0  # seed 000: a bridge should retry for two minutes after hang-up
CREATED_BY_BRIDGE = "3CX bridge"
# The workflow's actions that leave a row in the CRM's activity export.
TRIGGER_ROWS = {ActionKind.SMS: "SMS", ActionKind.TASK: "Task", ActionKind.EMAIL: "Email"}


@dataclass(frozen=True)
class BridgeSettings:
    """What every call's run shares: the PBX it talks to and how the bridge behaves."""

    seed: int
    host: str  # the PBX's name, in the text log's URLs and the CRM's recording links
    zone: tzinfo  # the bridge host's zone: the customer's
    # How long 3CX takes to write a file after hang-up (None: never within any window).
    recording_delay_s: float | None
    recordings_refused: bool = False  # the PBX's missing-recording-role: 403 for everyone
    revoked_at: datetime | None = None
    retry_window_s: float = RETRY_WINDOW_S

    @property
    def busy_s(self) -> float:
        """How long after hang-up the bridge may still be working on a call."""
        return self.retry_window_s + 60.0


@dataclass(frozen=True)
class ExpectedCall:
    """The ground truth for one call: the state and cause the faults imply."""

    call_id: str
    state: str  # a CallState value
    cause: str | None  # a CheckId value
    fault: str | None = None  # the bridge fault that hit it

    def as_json(self) -> dict[str, str | None]:
        return {"state": self.state, "cause": self.cause, "fault": self.fault}


@dataclass
class PlayedOut:
    lines: list[LogLine] = field(default_factory=list)
    rows: list[CrmRow] = field(default_factory=list)
    expected: ExpectedCall | None = None


class _Fetch(enum.Enum):
    GOT = "got"
    REFUSED = "refused"  # 403
    GAVE_UP = "gave up"  # 404 until the bridge stopped
    REVOKED = "revoked"  # 401


class CallRun:
    """Plays one call; its own seeded generator keeps every other call's lines unchanged."""

    def __init__(
        self,
        call: PlayedCall,
        settings: BridgeSettings,
        fault: str | None,
        preview: TriggerPreview | None = None,
    ) -> None:
        self.call = call
        self.settings = settings
        self.fault = fault
        self.preview = preview
        self.rng = random.Random(f"{settings.seed}:{call.call_id}")
        self.out = PlayedOut()

    def play(self) -> PlayedOut:
        at = self._heard_end()
        at, ok = self._read_call_log(at)
        if not ok:
            return self._cut()
        if self.call.missed:
            return self._workflow(at)
        return self._log_call(at)

    # ---- plumbing ----------------------------------------------------------------------------
    def _line(self, at: datetime, level: str, msg: str, *fields: tuple[str, Value]) -> None:
        self.out.lines.append(LogLine(at, level, msg, self.call.call_id, fields))

    def _revoked(self, at: datetime) -> bool:
        revoked_at = self.settings.revoked_at
        return revoked_at is not None and at >= revoked_at

    def _get(
        self,
        at: datetime,
        msg: str,
        path: str,
        status: int,
        *,
        recording_id: int | None = None,
        attempt: int | None = None,
    ) -> int:
        """One GET to the PBX; a revoked key answers 401 whatever the PBX would have said."""
        if self._revoked(at):
            status = 401
        level = "info" if status < 400 else "warn" if status == 404 else "error"
        fields: list[tuple[str, Value]] = [("method", "GET"), ("path", path), ("status", status)]
        if recording_id is not None:
            fields.insert(0, ("recording_id", recording_id))
        if attempt is not None:
            fields.append(("attempt", attempt))
        self._line(at, level, msg, *fields)
        return status

    def _after(self, at: datetime, low: float, high: float) -> datetime:
        return at + timedelta(seconds=round(self.rng.uniform(low, high), 3))

    def _done(self, state: CallState, cause: CheckId | None) -> PlayedOut:
        self.out.expected = ExpectedCall(
            self.call.call_id, state.value, cause.value if cause else None, self.fault
        )
        return self.out

    def _cut(self) -> PlayedOut:
        """The key was refused: nothing about this call reaches the CRM."""
        at = self.out.lines[-1].at + timedelta(milliseconds=2)
        self._line(at, "error", "the PBX refused the bridge's API key; call not logged")
        state = CallState.MISSED_NOT_TRIGGERED if self.call.missed else CallState.MISSING
        return self._done(state, CheckId.REACHABILITY)

    # ---- the steps ---------------------------------------------------------------------------
    def _heard_end(self) -> datetime:
        """The PBX's push (webhook or Call Control) that the call ended: no request of ours."""
        call = self.call
        at = self._after(call.ended_at, 0.2, 1.5)
        self._line(
            at,
            "info",
            "call ended",
            ("direction", call.direction),
            ("number", call.number),
            ("extension", call.extension or ""),
            ("answered", call.answered),
        )
        return at

    def _read_call_log(self, heard: datetime) -> tuple[datetime, bool]:
        at = self._after(heard, 0.05, 0.4)
        status = self._get(at, "read call record", _call_log_path(self.call), 200)
        return at, status != 401

    def _log_call(self, read_at: datetime) -> PlayedOut:
        fetched = _Fetch.GAVE_UP
        at = read_at
        if self.call.recording_id is not None:
            at, fetched = self._fetch_recording(read_at)
            if fetched is _Fetch.REVOKED:
                return self._cut()
        post_at = self._after(at, 0.2, 0.8)
        if self._revoked(post_at):
            return self._done(CallState.MISSING, CheckId.REACHABILITY)
        if self.fault == NEVER_LOGGED:
            return self._done(CallState.MISSING, None)
        got = fetched is _Fetch.GOT
        self._post(post_at, got)
        if self.fault == DUPLICATE:
            self._post(self._after(post_at, 5.0, 30.0), got)
        return self._done(*self._logged_state(fetched))

    def _logged_state(self, fetched: _Fetch) -> tuple[CallState, CheckId | None]:
        """In the order the reconciler asks (seed 000): once, on the right contact, with the
        recording the PBX has."""
        recording = self.call.recording
        if self.fault == DUPLICATE:
            return CallState.DUPLICATED, None
        if self._lands_on_new_contact():
            return CallState.WRONG_CONTACT, CheckId.CONTACT_MATCH
        if recording is PbxRecording.DELETED:
            return CallState.NO_RECORDING, CheckId.RETENTION
        if recording is PbxRecording.NOT_RECORDED:
            return CallState.NO_RECORDING, CheckId.EXTENSION_RECORDING
        if recording is PbxRecording.PRESENT and fetched is not _Fetch.GOT:
            cause = CheckId.API_ROLES if fetched is _Fetch.REFUSED else CheckId.LATE_RECORDING
            return CallState.NO_RECORDING, cause
        return CallState.LOGGED, None

    def _lands_on_new_contact(self) -> bool:
        """A known caller on a contact the bridge made: the fault, or a number the CRM stores
        in a form the E.164 search misses (cause 5)."""
        return self.fault == NEW_CONTACT or self.call.match.kind is MatchKind.NORMALISED

    def _contact(self) -> tuple[str, str]:
        """The contact the bridge attaches the call to, and who created it."""
        match = self.call.match
        if self._lands_on_new_contact() or match.kind is MatchKind.ORPHAN:
            # The bridge creates a contact holding only the number, named by it.
            return self.call.number, CREATED_BY_BRIDGE
        if match.contacts:
            return display_name(match.contacts[0]), ""  # several: the search's first
        return "", ""

    # ---- the recording -----------------------------------------------------------------------
    def _ready_after(self) -> float | None:
        """When 3CX's file becomes downloadable, in seconds after hang-up."""
        base = self.settings.recording_delay_s
        if base is None:
            return None
        ready = base * self.rng.uniform(0.6, 1.8)
        if self.fault == LATE_NO_RETRY:
            # The field case: the file lands well inside a two-minute window, after the one try.
            ready = max(ready, self.rng.uniform(15.0, 90.0))
        return round(ready, 3)

    def _attempts(self) -> list[float]:
        """Seconds after reading the call's row at which the bridge asks for the file."""
        schedule = retry_delays(self.settings.retry_window_s)
        refused = self.fault == RECORDING_403 or self.settings.recordings_refused
        # A 403 is not worth a retry; the faulty bridge never retries at all.
        return schedule[:1] if refused or self.fault == LATE_NO_RETRY else schedule

    def _status(self, at: datetime, ready: float | None) -> int:
        if self.fault == RECORDING_403 or self.settings.recordings_refused:
            return 403
        waited = (at - self.call.ended_at).total_seconds()
        return 200 if ready is not None and waited >= ready else 404

    def _fetch_recording(self, read_at: datetime) -> tuple[datetime, _Fetch]:
        rec_id = self.call.recording_id
        assert rec_id is not None
        ready = self._ready_after()
        path = download_path(rec_id)
        at = read_at
        attempts = self._attempts()
        for n, offset in enumerate(attempts, start=1):
            at = read_at + timedelta(seconds=offset)
            status = self._status(at, ready)
            status = self._get(at, "fetch recording", path, status, recording_id=rec_id, attempt=n)
            if status != 404:
                return at, _FETCHED[status]
        waited = round((at - self.call.ended_at).total_seconds(), 1)
        self._line(
            at + timedelta(milliseconds=1),
            "warn",
            "recording not there yet; giving up",
            ("recording_id", rec_id),
            ("attempts", len(attempts)),
            ("waited_s", waited),
        )
        return at, _Fetch.GAVE_UP

    # ---- the CRM -----------------------------------------------------------------------------
    def _post(self, at: datetime, got_recording: bool) -> None:
        call = self.call
        contact, created_by = self._contact()
        link = ""
        if got_recording and call.recording_id is not None:
            link = f"https://{self.settings.host}{download_path(call.recording_id)}"
        fields: list[tuple[str, Value]] = [("contact", contact)]
        if created_by:
            fields.append(("contact_created", True))
        fields.append(("recording", "attached" if got_recording else "none"))
        self._line(at, "info", "posted activity to CRM", *fields)
        answered = "answered" if call.answered else "not answered"
        self.out.rows.append(
            CrmRow(
                at=call.started_at,
                kind="Call",
                direction=call.direction.upper(),
                phone=call.number,
                contact=contact,
                created_by=created_by,
                recording_url=link,
                notes=f"{call.direction.capitalize()} call, {answered}, Ext. "
                f"{call.extension or '?'}. 3CX call id: {call.call_id}",
                call_id=call.call_id,
            )
        )

    def _workflow(self, read_at: datetime) -> PlayedOut:
        """The missed-call workflow as the domain's trigger rules plan it (seed 003)."""
        actions = self._trigger_actions()
        if self.fault == MISSED_NO_TRIGGER or not actions:
            return self._done(CallState.MISSED_NOT_TRIGGERED, self._no_trigger_cause())
        fired = self._after(read_at, 5.0, 40.0)
        if self._revoked(fired):
            return self._done(CallState.MISSED_NOT_TRIGGERED, CheckId.REACHABILITY)
        contact, created_by = self._contact()
        assert self.preview is not None
        for kind, text in actions:
            self._line(
                fired,
                "info",
                "missed-call workflow fired",
                ("action", kind.lower()),
                ("branch", self.preview.branch.value),
            )
            self.out.rows.append(
                CrmRow(
                    fired,
                    kind,
                    "",
                    self.call.number,
                    contact,
                    created_by,
                    "",
                    f"{text}. 3CX call id: {self.call.call_id}",
                    self.call.call_id,
                )
            )
        return self._done(CallState.MISSED_TRIGGERED, None)

    def _trigger_actions(self) -> list[tuple[str, str]]:
        return trigger_rows(self.preview) if self.preview is not None else []

    def _no_trigger_cause(self) -> CheckId | None:
        """Of seed 003's two usual causes, the one the evidence can name: the caller's number
        stored in a form the bridge misses; the DID mapping is the engineer's to check."""
        return CheckId.CONTACT_MATCH if self.call.match.kind is MatchKind.NORMALISED else None


def trigger_rows(preview: TriggerPreview) -> list[tuple[str, str]]:
    """(row kind, words) of each workflow action that leaves a row in the CRM's export."""
    return [
        (TRIGGER_ROWS[action.kind], action.text)
        for action in preview.actions
        if action.kind in TRIGGER_ROWS
        # A contact made just now has no email address to acknowledge the call to.
        and not (action.kind is ActionKind.EMAIL and preview.new_contact)
    ]


_FETCHED = {200: _Fetch.GOT, 403: _Fetch.REFUSED, 401: _Fetch.REVOKED}


def _call_log_path(call: PlayedCall) -> str:
    """The call log around the call, as a bridge asks for it (the arguments 3CX requires)."""
    start = iso(call.started_at - timedelta(minutes=1))
    end = iso(call.ended_at + timedelta(minutes=1))
    return (
        f"/xapi/v1/ReportCallLogData/Pbx.GetCallLogData(periodFrom={start},periodTo={end},"
        "sourceType=0,sourceFilter='',destinationType=0,destinationFilter='',callsType=0,"
        "callTimeFilterType=0,callTimeFilterFrom='0:00:0',callTimeFilterTo='0:00:0',"
        "hidePcalls=true)"
    )
