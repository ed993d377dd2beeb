"""Builds calls (segments, who records) for the generator, the history and Call Control."""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass, replace
from datetime import UTC, datetime, time, timedelta

from app.sim.records import (
    DN_VOICEMAIL,
    CallRecord,
    Extension,
    Party,
    Recording,
    Segment,
)
from app.sim.tenant import Tenant

KINDS = ("inbound", "outbound", "internal", "missed", "queue", "voicemail")

# Action types in call-log rows (value set UNCONFIRMED; the simulator's own choice).
ACTION_ENDED = 1
ACTION_FORWARDED = 5
ACTION_QUEUE = 8


@dataclass(frozen=True)
class _Request:
    """What a caller asked ``CallBuilder.build`` for, with the extension resolved."""

    kind: str
    answered: bool
    start: datetime
    ring_s: float
    talk_s: float
    nrf: bool  # the extension-not-recording fault is on
    ext: Extension
    number: str | None
    queue: str | None


# A built call, the segment that is recorded (if any), and whether its source records.
_Built = tuple[CallRecord, Segment | None, bool]


class CallBuilder:
    def __init__(self, tenant: Tenant, rng: random.Random) -> None:
        self.tenant = tenant
        self.rng = rng

    def _cdr(self) -> str:
        return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))

    def _seg(
        self,
        call: CallRecord,
        start: datetime,
        src: Party,
        dst: Party,
        *,
        ring: float,
        talk: float,
        answered: bool,
        direction: str,
        reason: str,
        action: int = ACTION_ENDED,
    ) -> Segment:
        seg = Segment(
            cdr_id=self._cdr(),
            call_id=call.call_id,
            segment_id=self.tenant.new_segment_id(),
            start=start,
            ring_s=ring,
            talk_s=talk if answered else 0.0,
            src=src,
            dst=dst,
            answered=answered,
            direction=direction,
            reason=reason,
            action_type=action,
            src_participant=self.tenant.new_participant_id(),
            dst_participant=self.tenant.new_participant_id(),
        )
        call.segments.append(seg)
        return seg

    def pick_ext(self, exclude: str | None = None) -> Extension:
        staff = [e for e in self.tenant.external_staff() if e.number != exclude]
        return self.rng.choice(staff)

    def build(
        self,
        kind: str,
        *,
        answered: bool,
        start: datetime,
        ring_s: float,
        talk_s: float,
        not_recording_fault: bool,
        extension: str | None = None,
        number: str | None = None,
        queue: str | None = None,
    ) -> tuple[CallRecord, Segment | None, bool]:
        """Return the call, the segment that is recorded (if any) and whether the recording
        belongs to the segment's source party."""
        if kind not in KINDS:
            raise ValueError(f"unknown call kind {kind!r}")
        ext = self.tenant.ext(extension) if extension else None
        if ext is None:
            ext = self.pick_ext()
        outside_num, outside_name = self._outside(number)
        req = _Request(
            kind, answered, start, ring_s, talk_s, not_recording_fault, ext, number, queue
        )
        if kind in ("inbound", "missed", "voicemail"):
            call, rec_seg, rec_on_src = self._inbound(req, outside_num, outside_name)
        elif kind == "queue":
            call, rec_seg, rec_on_src = self._queue(req, outside_num, outside_name)
        elif kind == "outbound":
            call, rec_seg, rec_on_src = self._outbound(req, outside_num, outside_name)
        else:
            call, rec_seg, rec_on_src = self._internal(req)
        call.recorded = rec_seg is not None
        return call, rec_seg, rec_on_src

    def _outside(self, number: str | None) -> tuple[str, str]:
        """The outside party's number and name: the one asked for, or a random caller."""
        if number:
            ct = self.tenant.contact_for(number)
            return number, (f"{ct.first_name} {ct.last_name}" if ct else "")
        return self.tenant.random_outside_number(self.rng)

    def _inbound(self, req: _Request, num: str, name: str) -> _Built:
        """An inbound call to an extension; missed and voicemail calls are never answered."""
        t, ext = self.tenant, req.ext
        if req.kind != "inbound":
            req = replace(req, answered=False)
        did = t.dids[2] if ext.number == t.inbound_rules[2].dest_number else t.dids[3]
        src = t.outside_party(num, name, did)
        dst = t.ext_party(ext)
        voicemail = req.kind == "voicemail"
        call, seg = self._direct(
            req,
            src,
            dst,
            "Inbound",
            "TerminatedBySrc",
            missed="Forwarded" if voicemail else "NoAnswer",
            action=ACTION_FORWARDED if voicemail else ACTION_ENDED,
        )
        if voicemail:
            self._voicemail_leg(call, req, src)
        elif req.answered and t.records_call(ext, True, req.nrf):
            return call, seg, False
        return call, None, False

    def _voicemail_leg(self, call: CallRecord, req: _Request, src: Party) -> None:
        """The leg the extension's voicemail answers once the ringing stops."""
        ext = req.ext
        vm = Party(ext.number, DN_VOICEMAIL, ext.number, f"Voicemail ({ext.number})")
        self._seg(
            call,
            req.start + timedelta(seconds=req.ring_s),
            src,
            vm,
            ring=0.0,
            talk=max(req.talk_s, 1.0),
            answered=True,
            direction="Inbound",
            reason="TerminatedBySrc",
        )

    def _queue(self, req: _Request, num: str, name: str) -> _Built:
        """A call to a queue: one leg to the queue, then one per agent it rang."""
        t = self.tenant
        q = t.queue(req.queue) if req.queue else None
        if q is None:
            q = next((x for x in t.queues if x.strategy == "RingAll"), t.queues[0])
        src = t.outside_party(num, name, t.dids[0])
        qp = t.queue_party(q)
        call = CallRecord(t.new_call_id(), req.kind, req.answered, req.start, src, qp)
        call.agent_dns = list(q.agents)
        winner = self.rng.choice(q.agents) if req.answered else None
        self._seg(
            call,
            req.start,
            src,
            qp,
            ring=0.0,
            talk=0.0,
            answered=False,
            direction="Inbound",
            reason="Forwarded" if req.answered else "NoAnswer",
            action=ACTION_QUEUE,
        )
        return call, self._agent_legs(call, req, q.agents, winner), False

    def _agent_legs(
        self, call: CallRecord, req: _Request, agents: list[str], winner: str | None
    ) -> Segment | None:
        """Ring every agent; return the winner's leg when it is recorded."""
        t = self.tenant
        rec_seg: Segment | None = None
        for dn in agents:
            agent = t.ext(dn)
            if agent is None:
                continue
            won = dn == winner
            seg = self._seg(
                call,
                req.start,
                call.src,
                t.ext_party(agent),
                ring=req.ring_s,
                talk=req.talk_s,
                answered=won,
                direction="Inbound",
                reason="TerminatedBySrc" if won else ("Replaced" if req.answered else "NoAnswer"),
            )
            if won:
                call.dst = t.ext_party(agent)
                if t.records_call(agent, True, req.nrf):
                    rec_seg = seg
        return rec_seg

    def _outbound(self, req: _Request, num: str, name: str) -> _Built:
        """An extension calls out; the extension's side holds the recording."""
        t, ext = self.tenant, req.ext
        src = t.ext_party(ext)
        dst = t.outside_party(num, name)
        call, seg = self._direct(req, src, dst, "Outbound", "TerminatedByDst")
        if req.answered and t.records_call(ext, True, req.nrf):
            return call, seg, True
        return call, None, False

    def _internal(self, req: _Request) -> _Built:
        """One extension calls another; whichever side records holds the recording."""
        t, ext = self.tenant, req.ext
        chosen = t.ext(req.number) if req.number else None
        other = chosen if chosen is not None else self.pick_ext(ext.number)
        src, dst = t.ext_party(ext), t.ext_party(other)
        call, seg = self._direct(req, src, dst, "Internal", "TerminatedBySrc")
        if req.answered and t.records_call(ext, False, req.nrf):
            return call, seg, True
        if req.answered and t.records_call(other, False, req.nrf):
            return call, seg, False
        return call, None, False

    def _direct(
        self,
        req: _Request,
        src: Party,
        dst: Party,
        direction: str,
        hung_up: str,
        *,
        missed: str = "NoAnswer",
        action: int = ACTION_ENDED,
    ) -> tuple[CallRecord, Segment]:
        """A call whose first leg goes from ``src`` to ``dst``; ``hung_up`` is the reason it
        ends when answered, ``missed`` when not."""
        call = CallRecord(self.tenant.new_call_id(), req.kind, req.answered, req.start, src, dst)
        seg = self._seg(
            call,
            req.start,
            src,
            dst,
            ring=req.ring_s,
            talk=req.talk_s,
            answered=req.answered,
            direction=direction,
            reason=hung_up if req.answered else missed,
            action=action,
        )
        return call, seg

    def make_recording(self, call: CallRecord, seg: Segment, on_src: bool) -> Recording:
        t = self.tenant
        call_type = call_type_of(seg.direction)
        start = seg.start + timedelta(seconds=seg.ring_s)
        rec = Recording(
            id=t.new_rec_id(),
            call_id=call.call_id,
            participant_id=seg.src_participant if on_src else seg.dst_participant,
            start=start,
            end=start + timedelta(seconds=seg.talk_s),
            call_type=call_type,
            src=seg.src,
            dst=seg.dst,
            src_crm=t.crm_name(seg.src),
            dst_crm=t.crm_name(seg.dst),
            seconds=seg.talk_s,
        )
        return rec


def call_type_of(direction: str) -> str:
    """The CallType 3CX writes for a leg of this direction."""
    if direction == "Inbound":
        return "InboundExternal"
    if direction == "Outbound":
        return "OutboundExternal"
    return "Local"


def attach(tenant: Tenant, call: CallRecord, seg: Segment, on_src: bool, rec: Recording) -> None:
    seg.recording = rec
    seg.rec_on_src = on_src
    call.recording_id = rec.id
    tenant.add_recording(rec)


def generate_history(tenant: Tenant, *, not_recording_fault: bool) -> None:
    """Fill the tenant with past calls: business hours, weekdays, some recordings archived."""
    rng = random.Random(tenant.seed * 7919 + 17)
    builder = CallBuilder(tenant, rng)
    end = tenant.history_start() + timedelta(days=tenant.history_days)
    hours = tenant.office_hours
    zone = hours.zone
    day = tenant.history_start().astimezone(zone).date()
    while day <= end.astimezone(zone).date():
        # The office's own calendar: no calls at weekends or on its holidays.
        per_day = rng.randint(6, 16) if hours.is_business_day(day) else 0
        for _ in range(per_day):
            local_h = rng.uniform(8.5, 17.5)
            start = datetime.combine(day, time(0), tzinfo=zone) + timedelta(hours=local_h)
            start = start.astimezone(UTC)
            if start >= end - timedelta(minutes=5) or start < tenant.history_start():
                continue
            kind = rng.choices(KINDS, weights=(40, 25, 12, 8, 10, 5))[0]
            answered = kind not in ("missed", "voicemail") and rng.random() > 0.1
            call, seg, on_src = builder.build(
                kind,
                answered=answered,
                start=start.replace(microsecond=0),
                ring_s=round(rng.uniform(3, 25), 2),
                talk_s=round(rng.uniform(20, 600), 2),
                not_recording_fault=not_recording_fault,
            )
            call.ended = call.segments[-1].end
            if seg is not None:
                rec = builder.make_recording(call, seg, on_src)
                age = (end - rec.start).days
                rec.archived = age > 60 and rng.random() < 0.3
                attach(tenant, call, seg, on_src, rec)
            for s in call.segments:
                tenant.add_segment(s)
        day += timedelta(days=1)
    # Keep the rows in time order (queue legs share a start time, ids break ties).
    ordered = sorted(tenant.segments, key=lambda s: (s.start, s.segment_id))
    tenant.segments.clear()
    tenant.segments.extend(ordered)
