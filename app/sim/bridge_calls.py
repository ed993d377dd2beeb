"""The simulator's external calls as a customer's bridge sees them: legs folded by
MainCallHistoryId (as GET ReportCallLogData returns them), with the recording the PBX holds
now and the CRM contact the bridge lands the caller on."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from app.domain.bridge import BridgeIndex, BridgeMatch
from app.domain.reconcile.records import PbxRecording
from app.sim.records import DN_VOICEMAIL, Party, Recording, Segment
from app.sim.wire_quirks import main_history_id


@dataclass(frozen=True)
class PlayedCall:
    """One external call of the simulator's history, folded, with what the bridge needs."""

    call_id: str  # MainCallHistoryId: what the bridge logs and writes into the CRM
    started_at: datetime
    ended_at: datetime
    inbound: bool
    number: str  # the outside party, E.164 as the PBX wrote it
    answered: bool  # by a person (a voicemail box picking up is not an answer)
    extension: str | None
    did: str
    voicemail: bool
    recording_id: int | None
    recording: PbxRecording
    match: BridgeMatch

    @property
    def missed(self) -> bool:
        """What the missed-call workflow follows up: unanswered and inbound (seed 003)."""
        return self.inbound and not self.answered

    @property
    def direction(self) -> str:
        return "inbound" if self.inbound else "outbound"


def fold_history(
    segments: Iterable[Segment],
    *,
    visible_recordings: set[int],
    contacts: BridgeIndex,
    since: datetime | None = None,
) -> list[PlayedCall]:
    """The external calls (started at or after ``since``), oldest first."""
    legs: dict[int, list[Segment]] = {}
    for seg in segments:
        legs.setdefault(seg.call_id, []).append(seg)
    calls = []
    for call_legs in legs.values():
        call_legs.sort(key=lambda s: (s.start, s.segment_id))
        call = _fold(call_legs, visible_recordings, contacts)
        if call is not None and (since is None or call.started_at >= since):
            calls.append(call)
    calls.sort(key=lambda c: (c.started_at, c.call_id))
    return calls


def _outside(legs: list[Segment]) -> Party | None:
    for seg in legs:
        for party in (seg.src, seg.dst):
            if party.external:
                return party
    return None


def _fold(legs: list[Segment], visible: set[int], contacts: BridgeIndex) -> PlayedCall | None:
    outside = _outside(legs)
    if outside is None:
        return None  # internal: no bridge logs it
    first = legs[0]
    inbound = first.src.external
    answering = [s for s in legs if s.answered and s.dst.dn_type != DN_VOICEMAIL]
    handler = answering[0] if answering else first
    recorded = next((s.recording for s in legs if s.recording is not None), None)
    return PlayedCall(
        call_id=main_history_id(first.call_id),
        started_at=first.start,
        ended_at=max(s.end for s in legs),
        inbound=inbound,
        number=outside.caller_id,
        answered=bool(answering),
        extension=(handler.dst if inbound else handler.src).dn,
        did=first.src.did if inbound else "",
        voicemail=any(s.dst.dn_type == DN_VOICEMAIL for s in legs),
        recording_id=recorded.id if recorded is not None else None,
        recording=_recording_state(recorded, visible, answered=bool(answering)),
        match=contacts.match(outside.caller_id),
    )


def _recording_state(
    recording: Recording | None, visible: set[int], *, answered: bool
) -> PbxRecording:
    """What the PBX holds now: retention may have deleted a file the bridge once fetched."""
    if recording is not None:
        return PbxRecording.PRESENT if recording.id in visible else PbxRecording.DELETED
    return PbxRecording.NOT_RECORDED if answered else PbxRecording.NONE
