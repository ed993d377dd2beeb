"""Live calls: Call Control participants, websocket events, the call generator, recordings."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, Protocol

from app.sim.calls import CallBuilder, attach
from app.sim.faults import FaultSet
from app.sim.records import DN_EXTERNAL, DN_QUEUE, CallRecord, Party, Recording, Segment
from app.sim.tenant import Tenant
from app.sim.timefmt import iso

log = logging.getLogger(__name__)

Event = dict[str, Any]

DN_TYPE_NAMES = {0: "Wextension", 1: "Wexternalline", 4: "Wqueue", 5: "Wextension"}


@dataclass
class Participant:
    id: int
    dn: str
    status: str
    party: Party
    callid: int
    legid: int
    originated_by_dn: str
    originated_by_type: str
    device_id: str
    live: LiveCall | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "status": self.status,
            "dn": self.dn,
            "party_caller_name": self.party.name,
            "party_dn": self.party.dn,
            "party_caller_id": self.party.caller_id,
            "party_did": self.party.did,
            "device_id": self.device_id,
            "party_dn_type": DN_TYPE_NAMES.get(self.party.dn_type, "Wextension"),
            "direct_control": False,
            "originated_by_dn": self.originated_by_dn,
            "originated_by_type": self.originated_by_type,
            "callid": self.callid,
            "legid": self.legid,
        }


@dataclass
class LiveCall:
    record: CallRecord
    rec_seg: Segment | None
    rec_on_src: bool
    ring_s: float
    talk_s: float | None
    participants: list[Participant] = field(default_factory=list)
    answered_evt: asyncio.Event = field(default_factory=asyncio.Event)
    hangup_evt: asyncio.Event = field(default_factory=asyncio.Event)
    will_answer: bool = True
    established: str | None = None


class CallObserver(Protocol):
    """Told about each call's lifecycle (the webhook add-on listens); must not block."""

    def ringing(self, live: LiveCall) -> None: ...
    def answered(self, live: LiveCall) -> None: ...
    def transferred(self, live: LiveCall, from_dn: str, to_dn: str) -> None: ...
    def ended(self, live: LiveCall) -> None: ...
    def recorded(self, call: CallRecord, recording: Recording) -> None: ...


class Engine:
    def __init__(
        self,
        tenant: Tenant,
        faults: FaultSet,
        *,
        seed: int,
        recording_delay_s: float,
        host: str,
    ) -> None:
        self.tenant = tenant
        self.faults = faults
        self.rng = random.Random(seed * 31 + 5)
        self.builder = CallBuilder(tenant, self.rng)
        self.recording_delay_s = recording_delay_s
        self.host = host
        self.participants: dict[str, dict[int, Participant]] = {}
        self.live: dict[int, LiveCall] = {}
        self.subscribers: set[Callable[[Event], None]] = set()
        self.tasks: set[asyncio.Task[Any]] = set()
        self.observer: CallObserver | None = None
        self._legs = 0
        for e in tenant.extensions:
            self.participants[e.number] = {}
        for q in tenant.queues:
            self.participants[q.number] = {}

    # ---- plumbing --------------------------------------------------------------------------
    def spawn(self, coro: Any) -> asyncio.Task[Any]:
        task = asyncio.get_running_loop().create_task(coro)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)
        return task

    async def close(self) -> None:
        for task in list(self.tasks):
            task.cancel()
        for task in list(self.tasks):
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task

    def monitored(self, dn: str) -> bool:
        """Whether the API client's "Extensions to Monitor" include this DN."""
        if "monitored" not in self.faults:
            return True
        chosen = (self.faults.value("monitored") or "all").strip().lower()
        if chosen == "all":
            return True
        return dn in {d.strip() for d in chosen.split(",") if d.strip() and chosen != "none"}

    def _emit(self, event_type: int, p: Participant) -> None:
        if not self.monitored(p.dn):
            return
        event = {
            "event_type": event_type,
            "entity": f"/callcontrol/{p.dn}/participants/{p.id}",
            "attached_data": None,
        }
        for sub in list(self.subscribers):
            sub(event)

    def _observe(self, notify: Callable[[CallObserver], None]) -> None:
        """Tell the observer; its failure is logged and never reaches the call."""
        if self.observer is None:
            return
        try:
            notify(self.observer)
        except Exception:
            log.exception("call observer failed")

    def dn_type(self, dn: str) -> str:
        return "Wqueue" if self.tenant.queue(dn) else "Wextension"

    def _add(self, live: LiveCall, dn: str, status: str, party: Party, pid: int) -> Participant:
        self._legs += 1
        p = Participant(
            id=pid,
            dn=dn,
            status=status,
            party=party,
            callid=live.record.call_id,
            legid=self._legs,
            # Calls from outside enter through the route point; the others start at the
            # extension that dialled.
            originated_by_dn=(
                "ROUTER" if live.record.src.dn_type == DN_EXTERNAL else live.record.src.dn
            ),
            originated_by_type=(
                "Wroutepoint" if live.record.src.dn_type == DN_EXTERNAL else "Wextension"
            ),
            device_id=f"sip:{dn}@{self.host}:5060",
            live=live,
        )
        live.participants.append(p)
        self.participants.setdefault(dn, {})[p.id] = p
        self._emit(0, p)
        return p

    def _set(self, p: Participant, status: str) -> None:
        p.status = status
        self._emit(0, p)

    def _remove(self, p: Participant) -> None:
        if self.participants.get(p.dn, {}).pop(p.id, None) is not None:
            self._emit(1, p)

    # ---- call lifecycle --------------------------------------------------------------------
    async def run_call(
        self,
        kind: str,
        *,
        answered: bool = True,
        ring_s: float = 0.2,
        talk_s: float | None = 0.5,
        extension: str | None = None,
        number: str | None = None,
        queue: str | None = None,
    ) -> CallRecord:
        start = self.tenant.clock().replace(microsecond=0)
        record, rec_seg, on_src = self.builder.build(
            kind,
            answered=answered,
            start=start,
            ring_s=ring_s,
            talk_s=talk_s or 0.0,
            not_recording_fault="extension-not-recording" in self.faults,
            extension=extension,
            number=number,
            queue=queue,
        )
        live = LiveCall(record, rec_seg, on_src, ring_s, talk_s, will_answer=record.answered)
        self.live[record.call_id] = live
        try:
            await self._drive(live)
        finally:
            self.live.pop(record.call_id, None)
            for p in list(live.participants):
                self._remove(p)
        self._finish(live)
        self._observe(lambda o: o.ended(live))
        return record

    async def _drive(self, live: LiveCall) -> None:
        rec = live.record
        t = self.tenant
        legs: list[tuple[str, Party, int, str]] = []  # (dn, far party, pid, first status)
        answering: Participant | None = None
        for seg in rec.segments:
            if seg.dst.dn_type == DN_QUEUE or (
                seg.src.dn_type == DN_EXTERNAL and t.ext(seg.dst.dn) and seg.dst.dn_type == 0
            ):
                legs.append((seg.dst.dn, seg.src, seg.dst_participant, "Ringing"))
            elif seg.dst.dn_type == DN_EXTERNAL:
                legs.append((seg.src.dn, seg.dst, seg.src_participant, "Dialing"))
            elif seg.src.dn_type == 0 and seg.dst.dn_type == 0:
                legs.append((seg.src.dn, seg.dst, seg.src_participant, "Dialing"))
                legs.append((seg.dst.dn, seg.src, seg.dst_participant, "Ringing"))
        parts = [self._add(live, dn, st, party, pid) for dn, party, pid, st in legs]
        self._observe(lambda o: o.ringing(live))
        waits = [self.spawn(live.answered_evt.wait()), self.spawn(live.hangup_evt.wait())]
        try:
            await asyncio.wait(waits, timeout=live.ring_s, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for w in waits:
                w.cancel()
        if not live.answered_evt.is_set() and not live.hangup_evt.is_set() and live.will_answer:
            live.answered_evt.set()
        if not live.answered_evt.is_set() or live.hangup_evt.is_set():
            rec.answered = False
            return
        rec.answered = True
        live.established = iso(self.tenant.clock())
        winner_dn = rec.dst.dn
        for p in parts:
            if p.dn == t.TRUNK_DN:
                continue
            if rec.kind == "queue" and p.dn != winner_dn:
                self._remove(p)
                continue
            self._set(p, "Connected")
            answering = answering or p
        self._observe(lambda o: o.answered(live))
        if live.talk_s is None:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(live.hangup_evt.wait(), 300)
        else:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(live.hangup_evt.wait(), live.talk_s)

    def _finish(self, live: LiveCall) -> None:
        rec = live.record
        end = self.tenant.clock()
        rec.ended = end
        elapsed = (end - rec.start).total_seconds()
        if not rec.answered:
            for s in rec.segments:
                if s.dst.dn_type != 5:
                    s.answered = False
                    s.talk_s = 0.0
            rec.recorded = False
            live.rec_seg = None
        else:
            for s in rec.segments:
                if s.answered:
                    s.talk_s = round(max(0.0, elapsed - s.ring_s), 2)
        for s in rec.segments:
            self.tenant.add_segment(s)
        self.tenant.calls.append(rec)
        if live.rec_seg is not None and not self.faults.active("recording-stopped"):
            delay = self.faults.recording_delay_s(self.recording_delay_s)
            if delay is None:
                return
            self.spawn(self._write_recording(rec, live.rec_seg, live.rec_on_src, delay))
        elif live.rec_seg is not None:
            rec.recorded = False

    async def _write_recording(
        self, call: CallRecord, seg: Segment, on_src: bool, delay: float
    ) -> None:
        await asyncio.sleep(delay)
        recording = self.builder.make_recording(call, seg, on_src)
        attach(self.tenant, call, seg, on_src, recording)
        self._observe(lambda o: o.recorded(call, recording))

    # ---- Call Control actions --------------------------------------------------------------
    def find(self, dn: str, pid: int) -> Participant | None:
        return self.participants.get(dn, {}).get(pid)

    def act(self, p: Participant, action: str, destination: str | None) -> Participant:
        live = p.live
        if live is None:
            return p
        if action == "drop":
            live.will_answer = False
            live.hangup_evt.set()
        elif action == "answer":
            live.will_answer = True
            live.answered_evt.set()
        elif action in ("divert", "routeto", "transferto") and destination:
            target = self.tenant.ext(destination)
            if target is not None and target.number != p.dn:
                self._remove(p)
                live.participants.remove(p)
                new = self._add(
                    live, target.number, p.status, p.party, self.tenant.new_participant_id()
                )
                for s in live.record.segments:
                    if s.dst.dn == p.dn:
                        s.dst = self.tenant.ext_party(target)
                live.record.dst = self.tenant.ext_party(target)
                from_dn, to_dn = p.dn, target.number
                self._observe(lambda o: o.transferred(live, from_dn, to_dn))
                return new
        return p

    async def makecall(self, dn: str, destination: str) -> CallRecord:
        """Start a call from `dn`; it runs until dropped (or five minutes)."""
        kind = "internal" if self.tenant.ext(destination) else "outbound"
        before = set(self.live)
        self.spawn(self.run_call(kind, extension=dn, number=destination, ring_s=1.0, talk_s=None))
        # run_call registers the call before its first real wait.
        for _ in range(10):
            await asyncio.sleep(0)
            new = set(self.live) - before
            if new:
                return self.live[max(new)].record
        raise RuntimeError("call did not start")

    # ---- generator -------------------------------------------------------------------------
    async def generate(self, calls_per_minute: float) -> None:
        # Arrivals are due on the loop's clock, not after each sleep: a loop busy serving
        # hundreds of requests a second oversleeps, and would quietly lower the rate asked for.
        loop = asyncio.get_running_loop()
        due = loop.time()
        while True:
            due += self.rng.expovariate(calls_per_minute / 60.0)
            await asyncio.sleep(max(0.0, due - loop.time()))
            kind = self.rng.choices(
                ("inbound", "outbound", "internal", "missed", "queue", "voicemail"),
                weights=(35, 25, 10, 10, 15, 5),
            )[0]
            answered = kind not in ("missed", "voicemail") and self.rng.random() > 0.15
            self.spawn(
                self.run_call(
                    kind,
                    answered=answered,
                    ring_s=round(self.rng.uniform(2, 8), 2),
                    talk_s=round(self.rng.uniform(6, 45), 2),
                )
            )

    def active_calls(self) -> list[LiveCall]:
        return list(self.live.values())

    def expire_retention(self, days: int) -> set[int]:
        cutoff = self.tenant.clock() - timedelta(days=days)
        return {rid for rid, r in self.tenant.recordings.items() if r.start < cutoff}
