"""Live calls: fold Call Control participant snapshots into ring / connect / end / miss events.

A missed call is settled, not transient: it is only reported once every leg of the call is
gone without anyone answering. A ring-all queue's unanswered legs are one missed call, a call
answered elsewhere is not missed, and a call that reached voicemail is reported as voicemail.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime

from app.domain.calls import CallDirection
from app.domain.reconnect import Gap

EXTERNAL_DN_TYPES = frozenset({"Wexternalline"})
ANSWERING_DN_TYPES = frozenset({"Wextension", "Wexternalline"})
VOICEMAIL_MARKERS = ("voicemail", "vmail")


class LiveState(enum.StrEnum):
    RINGING = "ringing"
    CONNECTED = "connected"
    ENDED = "ended"
    MISSED = "missed"
    VOICEMAIL = "voicemail"


@dataclass(frozen=True)
class Participant:
    """One Call Control participant (a leg of a call at one DN)."""

    id: int
    dn: str
    status: str  # Dialing, Ringing, Connected
    call_id: str
    party_caller_id: str = ""
    party_caller_name: str = ""
    party_dn: str = ""
    party_dn_type: str = ""
    party_did: str = ""
    dn_type: str = ""
    leg_id: int | None = None
    originated_by_dn: str = ""
    originated_by_type: str = ""

    @property
    def key(self) -> tuple[str, int]:
        return (self.dn, self.id)


@dataclass(frozen=True)
class CallEvent:
    call_id: str
    state: LiveState
    at: datetime
    direction: CallDirection
    external_number: str | None
    extension: str | None
    source: str  # "call-control", "call-log", "webhook"
    did: str | None = None  # the number the caller dialled (inbound), when the source says
    filled: Gap | None = None  # read from the call log after the live stream was down


@dataclass
class _LiveCall:
    call_id: str
    first_seen: datetime
    legs: dict[tuple[str, int], Participant] = field(default_factory=dict)
    connected: bool = False
    voicemail: bool = False
    direction: CallDirection = CallDirection.UNKNOWN
    external_number: str | None = None
    extension: str | None = None
    did: str | None = None


class CallAssembler:
    """Turns participant upserts and removals into one event per call state change."""

    def __init__(self, max_calls: int = 10_000) -> None:
        self._calls: dict[str, _LiveCall] = {}
        self._by_leg: dict[tuple[str, int], str] = {}
        self._max_calls = max_calls

    @property
    def live_calls(self) -> int:
        return len(self._calls)

    def legs(self) -> set[tuple[str, int]]:
        """Every (dn, participant id) currently tracked, for reconciling with a snapshot."""
        return set(self._by_leg)

    def upsert(self, participant: Participant, at: datetime) -> list[CallEvent]:
        events: list[CallEvent] = []
        call = self._calls.get(participant.call_id)
        if call is None:
            if len(self._calls) >= self._max_calls:
                self._evict_oldest()
            call = _LiveCall(participant.call_id, at)
            self._calls[participant.call_id] = call
            self._learn(call, participant)
            events.append(self._event(call, LiveState.RINGING, at))
        else:
            self._learn(call, participant)
        call.legs[participant.key] = participant
        self._by_leg[participant.key] = participant.call_id
        if participant.status == "Connected" and not call.connected and not call.voicemail:
            if _is_voicemail(participant):
                call.voicemail = True
                events.append(self._event(call, LiveState.VOICEMAIL, at))
            elif participant.dn_type in ANSWERING_DN_TYPES or not participant.dn_type:
                call.connected = True
                if participant.dn_type != "Wexternalline":
                    call.extension = participant.dn
                events.append(self._event(call, LiveState.CONNECTED, at))
        return events

    def remove(self, dn: str, participant_id: int, at: datetime) -> list[CallEvent]:
        call_id = self._by_leg.pop((dn, participant_id), None)
        if call_id is None:
            return []
        call = self._calls.get(call_id)
        if call is None:
            return []
        call.legs.pop((dn, participant_id), None)
        if call.legs:
            return []
        del self._calls[call_id]
        if call.connected:
            state = LiveState.ENDED
        elif call.voicemail:
            state = LiveState.VOICEMAIL
        elif call.direction is CallDirection.INBOUND or call.direction is CallDirection.UNKNOWN:
            state = LiveState.MISSED
        else:
            state = LiveState.ENDED  # an outbound call nobody picked up is not a missed call
        return [self._event(call, state, at)]

    def _learn(self, call: _LiveCall, p: Participant) -> None:
        if call.direction is CallDirection.UNKNOWN:
            call.direction = _direction_of(p)
        if call.external_number is None and p.party_dn_type in EXTERNAL_DN_TYPES:
            call.external_number = p.party_caller_id or None
        if call.extension is None and p.dn_type == "Wextension":
            call.extension = p.dn
        if call.did is None and p.party_did:
            call.did = p.party_did

    def _event(self, call: _LiveCall, state: LiveState, at: datetime) -> CallEvent:
        return CallEvent(
            call_id=call.call_id,
            state=state,
            at=at,
            direction=call.direction,
            external_number=call.external_number,
            extension=call.extension,
            source="call-control",
            did=call.did,
        )

    def _evict_oldest(self) -> None:
        oldest = min(self._calls.values(), key=lambda c: c.first_seen)
        del self._calls[oldest.call_id]
        for key in list(oldest.legs):
            self._by_leg.pop(key, None)


def _direction_of(p: Participant) -> CallDirection:
    if p.party_dn_type in EXTERNAL_DN_TYPES:
        # An extension leg that is dialling an outside party is an outbound call.
        if p.status == "Dialing" or (p.originated_by_dn == p.dn and p.dn_type == "Wextension"):
            return CallDirection.OUTBOUND
        return CallDirection.INBOUND
    if p.party_dn_type == "Wextension":
        return CallDirection.INTERNAL
    return CallDirection.UNKNOWN


def _is_voicemail(p: Participant) -> bool:
    text = f"{p.dn_type} {p.party_caller_name} {p.party_dn}".lower()
    return any(marker in text for marker in VOICEMAIL_MARKERS)
