"""The simulated customer at run time: its people and phonebook, call history, recordings
and the id counters a restarted PBX continues.

Everything is derived from a seed, so a given seed always yields the same business; who the
people are is drawn in ``directory``, the country's ways in ``countries``.
"""

from __future__ import annotations

import json
import random
from collections import deque
from collections.abc import Iterable
from datetime import date, datetime, time, timedelta
from pathlib import Path

from app.domain.business_hours import BusinessHours, Holiday, HoursSource, Period
from app.domain.clock import Clock, utc_now
from app.sim.countries import COUNTRIES, landline
from app.sim.directory import build_phonebook, build_staff
from app.sim.records import (
    DN_EXTENSION,
    DN_EXTERNAL,
    DN_QUEUE,
    CallRecord,
    Contact,
    Extension,
    InboundRule,
    Party,
    Queue,
    Recording,
    Segment,
)

MAX_SEGMENTS = 50_000
MAX_RECORDINGS = 20_000


class Tenant:
    """State of the simulated PBX customer. Mutated only from the event loop."""

    TRUNK_DN = "10000"
    ADMIN_NUMBER = "100"

    def __init__(
        self,
        seed: int = 1,
        country: str = "AU",
        *,
        unnormalised_contacts: bool = False,
        shared_numbers: bool = False,
        history_days: int | None = None,
        clock: Clock = utc_now,
        time_zone: str | None = None,
        on_demand: Iterable[str] = (),
    ) -> None:
        self.seed = seed
        self.on_demand = tuple(on_demand)  # extensions set to record only on demand
        self.clock = clock
        self.rng = random.Random(seed)
        self.country = COUNTRIES.get(country.upper(), COUNTRIES["AU"])
        self.unnormalised = unnormalised_contacts
        self.shared_numbers = shared_numbers
        c = self.country
        self.office_hours = office_hours(time_zone or c.zone)
        self.company = self.rng.choice(c.businesses)
        domain = "".join(ch for ch in self.company.split()[0].lower() if ch.isalpha())
        self.domain = f"{domain}.example"
        self.fqdn = f"{domain}.{'my3cx.com.au' if c.code == 'AU' else 'my3cx.' + c.code.lower()}"
        self.segments: deque[Segment] = deque(maxlen=MAX_SEGMENTS)
        self.recordings: dict[int, Recording] = {}
        self.calls: deque[CallRecord] = deque(maxlen=2000)
        self._next_call = 1264
        self._next_segment = 700_000
        self._next_rec = 1
        self._next_participant = 8000
        self._ids_file: str | None = None  # where a restartable simulator keeps its counters
        staff = build_staff(self.rng, c, self.domain, self.on_demand)
        self.extensions: list[Extension] = staff.extensions
        self.queues: list[Queue] = staff.queues
        self.dids: list[str] = staff.dids
        self.inbound_rules: list[InboundRule] = staff.inbound_rules
        self.not_recording = staff.not_recording  # switched off by extension-not-recording
        self.contacts: list[Contact] = build_phonebook(
            self.rng, c, unnormalised=self.unnormalised, shared_numbers=self.shared_numbers
        )
        days = history_days if history_days is not None else self.rng.randint(90, 180)
        self.history_days = days

    # ---- id counters -----------------------------------------------------------------------
    def new_call_id(self) -> int:
        self._next_call += 1
        self._save_ids()
        return self._next_call

    def new_segment_id(self) -> int:
        self._next_segment += 1
        self._save_ids()
        return self._next_segment

    def continue_ids(self, path: str) -> None:
        """A restarted PBX keeps counting: ids go on from the last run's, kept in ``path``.
        Without this a restart would hand out the ids of calls a client has already seen."""
        try:
            saved = json.loads(Path(path).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            saved = {}
        if isinstance(saved, dict):
            for name in ("call", "segment", "rec", "participant"):
                value = saved.get(name)
                if isinstance(value, int) and value > getattr(self, f"_next_{name}"):
                    setattr(self, f"_next_{name}", value)
        self._ids_file = path
        self._save_ids()

    def _save_ids(self) -> None:
        if self._ids_file is None:
            return
        counters = {
            name: getattr(self, f"_next_{name}")
            for name in ("call", "segment", "rec", "participant")
        }
        Path(self._ids_file).write_text(json.dumps(counters), encoding="utf-8")

    def new_rec_id(self) -> int:
        rid = self._next_rec
        self._next_rec += 1
        self._save_ids()
        return rid

    def new_participant_id(self) -> int:
        self._next_participant += 1
        self._save_ids()
        return self._next_participant

    # ---- people ----------------------------------------------------------------------------
    def ext(self, number: str) -> Extension | None:
        return next((e for e in self.extensions if e.number == number), None)

    def queue(self, number: str) -> Queue | None:
        return next((q for q in self.queues if q.number == number), None)

    def external_staff(self) -> list[Extension]:
        return [e for e in self.extensions if e.takes_external]

    def effective_record(self, ext: Extension, not_recording_fault: bool) -> bool:
        if not_recording_fault and ext.number in self.not_recording:
            return False
        return ext.record_calls and not ext.forbid_recording

    def records_call(self, ext: Extension, external: bool, not_recording_fault: bool) -> bool:
        if not self.effective_record(ext, not_recording_fault):
            return False
        return external or not ext.record_external_only

    # ---- phonebook -------------------------------------------------------------------------
    def contact_for(self, e164: str) -> Contact | None:
        return next((ct for ct in self.contacts if ct.e164 == e164), None)

    def random_outside_number(self, rng: random.Random) -> tuple[str, str]:
        """An outside caller: mostly phonebook customers, sometimes a stranger."""
        if rng.random() < 0.8 and self.contacts:
            ct = rng.choice(self.contacts)
            return ct.e164, f"{ct.first_name} {ct.last_name}"
        return landline(self.country, self.rng, rng.randint(7000, 7999)), ""

    # ---- history ---------------------------------------------------------------------------
    def add_segment(self, seg: Segment) -> None:
        self.segments.append(seg)

    def add_recording(self, rec: Recording) -> None:
        self.recordings[rec.id] = rec
        if len(self.recordings) > MAX_RECORDINGS:
            for rid in sorted(self.recordings)[: len(self.recordings) - MAX_RECORDINGS]:
                del self.recordings[rid]

    def outside_party(self, number: str, name: str, did: str = "") -> Party:
        return Party(self.TRUNK_DN, DN_EXTERNAL, number, name, did)

    def ext_party(self, ext: Extension) -> Party:
        return Party(ext.number, DN_EXTENSION, ext.number, ext.display_name)

    def queue_party(self, q: Queue) -> Party:
        return Party(q.number, DN_QUEUE, q.number, q.name)

    def crm_name(self, party: Party) -> str | None:
        if not party.external:
            return None
        ct = self.contact_for(party.caller_id)
        return f"{ct.first_name} {ct.last_name}" if ct else None

    def history_start(self) -> datetime:
        return self.clock() - timedelta(days=self.history_days)


def office_hours(zone: str) -> BusinessHours:
    """The simulated office: Mon–Fri 08:30–17:30 with a lunch break, closed on the usual
    public holidays of December and January (which also empties the call history then)."""
    weekdays = range(5)
    return BusinessHours(
        timezone=zone,
        days=tuple(weekdays),
        opens=time(8, 30),
        closes=time(17, 30),
        breaks=tuple(Period(day, time(12, 30), time(13, 0)) for day in weekdays),
        holidays=(
            Holiday("Christmas Day", date(2000, 12, 25), date(2000, 12, 25), recurrent=True),
            Holiday("Boxing Day", date(2000, 12, 26), date(2000, 12, 26), recurrent=True),
            Holiday("New Year's Day", date(2000, 1, 1), date(2000, 1, 1), recurrent=True),
        ),
        source=HoursSource.PBX,
    )
