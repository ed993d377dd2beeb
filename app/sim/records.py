"""What the simulated PBX holds: people, queues, contacts, parties, call segments, recordings."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from app.sim.wire_quirks import main_history_id

# Numeric DN types in call-log rows (SourceType/DestinationType). The value set is
# UNCONFIRMED in API-NOTES; these are the simulator's choice and stay stable.
DN_EXTENSION = 0
DN_EXTERNAL = 1
DN_QUEUE = 4
DN_VOICEMAIL = 5


@dataclass
class Extension:
    id: int
    number: str
    first_name: str
    last_name: str
    email: str
    mobile: str
    record_calls: bool
    record_external_only: bool
    forbid_recording: bool
    allow_own_recordings: bool
    registered: bool
    role: str
    department: str
    takes_external: bool  # the generator routes outside calls to this person
    profile: str = "Available"

    @property
    def display_name(self) -> str:
        return f"{self.first_name} {self.last_name}"


@dataclass
class Queue:
    id: int
    number: str
    name: str
    strategy: str
    recording: str
    agents: list[str]
    ring_timeout: int = 20


@dataclass
class Contact:
    id: int
    first_name: str
    last_name: str
    company: str
    phone: str  # as stored in the phonebook (E.164 or a local format)
    mobile: str
    business: str
    email: str
    e164: str  # the true number, whatever the stored format


@dataclass
class InboundRule:
    id: int
    name: str
    did: str
    dest_type: str
    dest_number: str
    dest_name: str


@dataclass
class Party:
    dn: str  # extension/queue number, or the trunk DN for outside parties
    dn_type: int
    caller_id: str  # E.164 for outside parties, the extension number otherwise
    name: str
    did: str = ""

    @property
    def external(self) -> bool:
        return self.dn_type == DN_EXTERNAL


@dataclass
class Recording:
    id: int
    call_id: int
    participant_id: int
    start: datetime
    end: datetime
    call_type: str  # Local | InboundExternal | OutboundExternal
    src: Party
    dst: Party
    src_crm: str | None
    dst_crm: str | None
    archived: bool = False
    seconds: float = 0.0


@dataclass
class Segment:
    cdr_id: str
    call_id: int
    segment_id: int
    start: datetime
    ring_s: float
    talk_s: float
    src: Party
    dst: Party
    answered: bool
    direction: str
    reason: str
    action_type: int
    src_participant: int
    dst_participant: int
    recording: Recording | None = None
    rec_on_src: bool = False

    @property
    def end(self) -> datetime:
        return self.start + timedelta(seconds=self.ring_s + self.talk_s)


@dataclass
class CallRecord:
    """One call as the generator placed it: the summary tests and demos look at."""

    call_id: int
    kind: str
    answered: bool
    start: datetime
    src: Party
    dst: Party
    segments: list[Segment] = field(default_factory=list)
    recording_id: int | None = None
    recorded: bool = False
    ended: datetime | None = None
    agent_dns: list[str] = field(default_factory=list)

    @property
    def history_id(self) -> str:
        """Its ``MainCallHistoryId`` in call history, which all its legs share."""
        return main_history_id(self.call_id)

    def to_json(self) -> dict[str, object]:
        return {
            "call_id": self.call_id,
            "history_id": self.history_id,
            "kind": self.kind,
            "answered": self.answered,
            "missed": self.kind in ("missed", "queue") and not self.answered,
            "start": self.start.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "from": self.src.caller_id,
            "from_dn": self.src.dn,
            "to": self.dst.caller_id,
            "to_dn": self.dst.dn,
            "agents": self.agent_dns,
            "recorded": self.recorded,
            "recording_id": self.recording_id,
            "segment_ids": [s.segment_id for s in self.segments],
        }
