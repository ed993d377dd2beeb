"""The simulated customer: extensions, queues, phonebook, call history and recordings.

Everything is derived from a seed, so a given seed always yields the same business.
"""

from __future__ import annotations

import json
import random
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from pathlib import Path

from app.domain.business_hours import BusinessHours, Holiday, HoursSource, Period
from app.domain.clock import Clock, utc_now
from app.sim.wire_quirks import main_history_id

# Numeric DN types in call-log rows (SourceType/DestinationType). The value set is
# UNCONFIRMED in API-NOTES; these are the simulator's choice and stay stable.
DN_EXTENSION = 0
DN_EXTERNAL = 1
DN_QUEUE = 4
DN_VOICEMAIL = 5

MAX_SEGMENTS = 50_000
MAX_RECORDINGS = 20_000


@dataclass(frozen=True)
class Country:
    code: str  # ISO alpha-2, as in the licence
    dial: str  # E164Settings.CountryCode
    national: str  # NationalCode (trunk prefix)
    international: str  # InternationalCode
    area: str
    cities: tuple[str, ...]
    businesses: tuple[str, ...]
    first_names: tuple[str, ...]
    last_names: tuple[str, ...]
    zone: str  # IANA name: the PBX's OfficeHours time zone


COUNTRIES: dict[str, Country] = {
    "AU": Country(
        "AU",
        "61",
        "0",
        "0011",
        "8",
        ("Adelaide",),
        (
            "Harbourside Plumbing & Gas Pty Ltd",
            "Torrens Valley Dental Group",
            "Southern Cross Freight Pty Ltd",
        ),
        (
            "Olivia",
            "Jack",
            "Charlotte",
            "Noah",
            "Mia",
            "William",
            "Isla",
            "Lachlan",
            "Chloe",
            "Cooper",
            "Matilda",
            "Riley",
            "Zara",
            "Harrison",
            "Ruby",
            "Archie",
        ),
        (
            "Nguyen",
            "Smith",
            "Kelly",
            "Papadopoulos",
            "Wilson",
            "Taylor",
            "Brown",
            "O'Connor",
            "Singh",
            "Murphy",
            "Rossi",
            "Walker",
            "Campbell",
            "Chen",
            "Mitchell",
            "Evans",
        ),
        "Australia/Adelaide",
    ),
    "US": Country(
        "US",
        "1",
        "1",
        "011",
        "555",
        ("Springfield",),
        ("Lakeview Home Services LLC", "Cedar Ridge Family Practice", "Summit Logistics Inc."),
        (
            "Emma",
            "Liam",
            "Ava",
            "Mason",
            "Sophia",
            "Ethan",
            "Harper",
            "Logan",
            "Amelia",
            "Lucas",
            "Evelyn",
            "Jackson",
            "Abigail",
            "Aiden",
            "Ella",
            "Carter",
        ),
        (
            "Johnson",
            "Williams",
            "Garcia",
            "Miller",
            "Davis",
            "Rodriguez",
            "Martinez",
            "Lopez",
            "Gonzalez",
            "Anderson",
            "Thomas",
            "Moore",
            "Jackson",
            "Lee",
            "Harris",
            "Clark",
        ),
        "America/Chicago",
    ),
    "GB": Country(
        "GB",
        "44",
        "0",
        "00",
        "20",
        ("London",),
        (
            "Thameside Property Management Ltd",
            "Kingsway Veterinary Surgery",
            "Brackenbury Accountants LLP",
        ),
        (
            "Amelia",
            "Oliver",
            "Isla",
            "George",
            "Ava",
            "Harry",
            "Freya",
            "Jack",
            "Poppy",
            "Alfie",
            "Lily",
            "Theo",
            "Grace",
            "Arthur",
            "Evie",
            "Oscar",
        ),
        (
            "Jones",
            "Evans",
            "Hughes",
            "Patel",
            "Khan",
            "Roberts",
            "Wright",
            "Thompson",
            "Hall",
            "Green",
            "Clarke",
            "Wood",
            "Turner",
            "Ahmed",
            "Lewis",
            "Ward",
        ),
        "Europe/London",
    ),
}


def national_format(country: str, e164: str) -> str:
    """The way people in that country write the number by hand."""
    digits = e164.lstrip("+")
    if country == "AU":
        rest = digits[2:]
        if rest.startswith("4"):
            return f"0{rest[:3]} {rest[3:6]} {rest[6:]}"
        return f"0{rest[0]} {rest[1:5]} {rest[5:]}"
    if country == "US":
        rest = digits[1:]
        return f"({rest[:3]}) {rest[3:6]}-{rest[6:]}"
    rest = digits[2:]
    if rest.startswith("7"):
        return f"0{rest[:4]} {rest[4:]}"
    return f"0{rest[:2]} {rest[2:6]} {rest[6:]}"


def _slug(name: str) -> str:
    return "".join(ch for ch in name.lower() if ch.isalnum())


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
        self.extensions: list[Extension] = []
        self.queues: list[Queue] = []
        self.contacts: list[Contact] = []
        self.inbound_rules: list[InboundRule] = []
        self.dids: list[str] = []
        self.segments: deque[Segment] = deque(maxlen=MAX_SEGMENTS)
        self.recordings: dict[int, Recording] = {}
        self.calls: deque[CallRecord] = deque(maxlen=2000)
        self.not_recording: list[str] = []  # extensions switched off by extension-not-recording
        self._next_call = 1264
        self._next_segment = 700_000
        self._next_rec = 1
        self._next_participant = 8000
        self._ids_file: str | None = None  # where a restartable simulator keeps its counters
        self._build_people()
        self._build_phonebook()
        days = history_days if history_days is not None else self.rng.randint(90, 180)
        self.history_days = days

    # ---- numbering -------------------------------------------------------------------------
    def _e164_landline(self, i: int) -> str:
        c = self.country.code
        if c == "AU":
            return f"+618{self.rng.choice(['81', '82', '83'])}{self.rng.randint(10, 99)}{i:04d}"
        if c == "US":
            return f"+1555010{i % 10000:04d}"[:12]
        return f"+4420794{60000 + i % 1000:05d}"[:13]

    def _e164_mobile(self, i: int) -> str:
        c = self.country.code
        if c == "AU":
            return f"+614{self.rng.randint(10, 99)}{self.rng.randint(100, 999)}{i % 1000:03d}"
        if c == "US":
            return f"+1555011{i % 10000:04d}"
        return f"+447700900{i % 1000:03d}"

    def did(self, i: int) -> str:
        c = self.country.code
        if c == "AU":
            return f"+61881234{500 + i:03d}"
        if c == "US":
            return f"+155501000{10 + i:02d}"
        return f"+44207946{1000 + i:04d}"

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
    def _build_people(self) -> None:
        rng, c = self.rng, self.country
        n = rng.randint(12, 24)
        firsts = list(c.first_names)
        lasts = list(c.last_names)
        rng.shuffle(firsts)
        rng.shuffle(lasts)
        departments = ["Sales", "Support", "Accounts", "Operations"]
        for i in range(n):
            number = str(101 + i)
            first = firsts[i % len(firsts)]
            last = lasts[(i * 7) % len(lasts)]
            dept = "Management" if i == 0 else departments[i % len(departments)]
            back_office = dept == "Accounts" and i % 8 == 3
            ext = Extension(
                id=i + 1,
                number=number,
                first_name=first,
                last_name=last,
                email=f"{first.lower()}.{_slug(last)}@{self.domain}",
                mobile=self._e164_mobile(200 + i),
                record_calls=not back_office,
                record_external_only=(not back_office) and i % 5 == 2,
                forbid_recording=back_office,
                allow_own_recordings=i % 3 != 1,
                registered=rng.random() > 0.15,
                role="system_owners" if i == 0 else ("managers" if i % 6 == 1 else "users"),
                department=dept,
                takes_external=not back_office,
            )
            self.extensions.append(ext)
        for ext in self.extensions:
            if ext.number in self.on_demand:
                # v20 reads this as On Demand: Record calls off, the user may record.
                ext.record_calls, ext.forbid_recording = False, False
                ext.allow_own_recordings = True
        staff = [e for e in self.extensions if e.takes_external]
        self.not_recording = [e.number for e in staff[1::4]][:4]
        sales = [e.number for e in staff if e.department in ("Sales", "Management")][:5]
        support = [e.number for e in staff if e.department in ("Support", "Operations")][:5]
        self.queues = [
            Queue(1001, "800", "Sales", "RingAll", "AllowToOptOut", sales or [staff[0].number]),
            Queue(
                1002, "801", "Support", "LongestWaiting", "Disabled", support or [staff[-1].number]
            ),
        ]
        self.dids = [self.did(i) for i in range(4)]
        self.inbound_rules = [
            InboundRule(1, "Main number", self.dids[0], "Queue", "800", "Sales"),
            InboundRule(2, "Support line", self.dids[1], "Queue", "801", "Support"),
            InboundRule(
                3,
                f"Direct {staff[0].display_name}",
                self.dids[2],
                "Extension",
                staff[0].number,
                staff[0].display_name,
            ),
            InboundRule(
                4, "Accounts", self.dids[3], "Extension", staff[-1].number, staff[-1].display_name
            ),
        ]

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
    def _build_phonebook(self) -> None:
        rng, c = self.rng, self.country
        n = rng.randint(40, 70)
        suffixes = {"AU": "Pty Ltd", "US": "Inc.", "GB": "Ltd"}[c.code]
        trades = [
            "Coastal",
            "Northgate",
            "Bluegum",
            "Ironbark",
            "Meridian",
            "Redwood",
            "Parkside",
            "Hillcrest",
            "Riverside",
            "Oakfield",
            "Westbury",
            "Silverline",
        ]
        kinds = [
            "Builders",
            "Cafe",
            "Motors",
            "Legal",
            "Realty",
            "Electrical",
            "Medical",
            "Logistics",
        ]
        for i in range(n):
            first = rng.choice(c.first_names)
            last = rng.choice(c.last_names)
            company = f"{rng.choice(trades)} {rng.choice(kinds)} {suffixes}"
            landline = self._e164_landline(300 + i)
            mobile = self._e164_mobile(500 + i)
            use_mobile = i % 3 == 0
            primary = mobile if use_mobile else landline
            contact = Contact(
                id=i + 1,
                first_name=first,
                last_name=last,
                company=company if i % 4 else "",
                phone=primary,
                mobile=mobile if not use_mobile and i % 2 else "",
                business=landline if use_mobile and i % 2 else "",
                email=f"{first.lower()}.{_slug(last)}@example.{c.code.lower()}",
                e164=primary,
            )
            self.contacts.append(contact)
        # A few numbers in everyone's phonebook are written by hand even on a healthy PBX.
        for contact in self.contacts[5::17]:
            contact.mobile = contact.mobile and national_format(c.code, contact.mobile)
        if self.unnormalised:
            self._unnormalise()
        if self.shared_numbers:
            self._share_numbers()

    def _unnormalise(self) -> None:
        c = self.country.code
        for i, contact in enumerate(self.contacts):
            if i % 3 != 2:
                contact.phone = national_format(c, contact.e164)
            if contact.mobile.startswith("+"):
                contact.mobile = national_format(c, contact.mobile)

    def _share_numbers(self) -> None:
        """Two different people at one company line: a number several contacts share."""
        c = self.country.code
        base = len(self.contacts)
        for j, src in enumerate(self.contacts[1:13:4]):
            first = self.rng.choice(self.country.first_names)
            self.contacts.append(
                Contact(
                    id=base + j + 1,
                    first_name=first,
                    last_name=src.last_name,
                    company=src.company,
                    phone=national_format(c, src.e164) if self.unnormalised else src.e164,
                    mobile="",
                    business="",
                    email=f"{first.lower()}@{src.company.split()[0].lower() or 'example'}.example",
                    e164=src.e164,
                )
            )

    def contact_for(self, e164: str) -> Contact | None:
        return next((ct for ct in self.contacts if ct.e164 == e164), None)

    def random_outside_number(self, rng: random.Random) -> tuple[str, str]:
        """An outside caller: mostly phonebook customers, sometimes a stranger."""
        if rng.random() < 0.8 and self.contacts:
            ct = rng.choice(self.contacts)
            return ct.e164, f"{ct.first_name} {ct.last_name}"
        return self._e164_landline(rng.randint(7000, 7999)), ""

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
