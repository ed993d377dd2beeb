"""Who works at and calls the simulated customer: staff, queues, DIDs, inbound rules and the
phonebook, all drawn from the tenant's seeded random generator (in a fixed order, so a seed
always yields the same business)."""

from __future__ import annotations

import random
from dataclasses import dataclass

from app.sim.countries import Country, did, landline, mobile, national_format
from app.sim.records import Contact, Extension, InboundRule, Queue


@dataclass
class Staff:
    extensions: list[Extension]
    queues: list[Queue]
    dids: list[str]
    inbound_rules: list[InboundRule]
    not_recording: list[str]  # extensions switched off by extension-not-recording


def _slug(name: str) -> str:
    return "".join(ch for ch in name.lower() if ch.isalnum())


def build_staff(
    rng: random.Random, country: Country, domain: str, on_demand: tuple[str, ...]
) -> Staff:
    """The extensions (``on_demand`` ones set to record only on demand), the two queues, the
    company's DIDs and the inbound rules routing them."""
    c = country
    n = rng.randint(12, 24)
    firsts = list(c.first_names)
    lasts = list(c.last_names)
    rng.shuffle(firsts)
    rng.shuffle(lasts)
    extensions = [_extension(rng, c, domain, i, firsts[i % len(firsts)], lasts) for i in range(n)]
    for ext in extensions:
        if ext.number in on_demand:
            # v20 reads this as On Demand: Record calls off, the user may record.
            ext.record_calls, ext.forbid_recording = False, False
            ext.allow_own_recordings = True
    staff = [e for e in extensions if e.takes_external]
    not_recording = [e.number for e in staff[1::4]][:4]
    dids = [did(c, i) for i in range(4)]
    return Staff(extensions, _queues(staff), dids, _inbound_rules(staff, dids), not_recording)


_DEPARTMENTS = ("Sales", "Support", "Accounts", "Operations")


def _extension(
    rng: random.Random, c: Country, domain: str, i: int, first: str, lasts: list[str]
) -> Extension:
    """The ``i``-th member of staff; one in eight of Accounts is back office (no recording)."""
    last = lasts[(i * 7) % len(lasts)]
    dept = "Management" if i == 0 else _DEPARTMENTS[i % len(_DEPARTMENTS)]
    back_office = dept == "Accounts" and i % 8 == 3
    return Extension(
        id=i + 1,
        number=str(101 + i),
        first_name=first,
        last_name=last,
        email=f"{first.lower()}.{_slug(last)}@{domain}",
        mobile=mobile(c, rng, 200 + i),
        record_calls=not back_office,
        record_external_only=(not back_office) and i % 5 == 2,
        forbid_recording=back_office,
        allow_own_recordings=i % 3 != 1,
        registered=rng.random() > 0.15,
        role="system_owners" if i == 0 else ("managers" if i % 6 == 1 else "users"),
        department=dept,
        takes_external=not back_office,
    )


def _queues(staff: list[Extension]) -> list[Queue]:
    sales = [e.number for e in staff if e.department in ("Sales", "Management")][:5]
    support = [e.number for e in staff if e.department in ("Support", "Operations")][:5]
    return [
        Queue(1001, "800", "Sales", "RingAll", "AllowToOptOut", sales or [staff[0].number]),
        Queue(1002, "801", "Support", "LongestWaiting", "Disabled", support or [staff[-1].number]),
    ]


def _inbound_rules(staff: list[Extension], dids: list[str]) -> list[InboundRule]:
    first, last = staff[0], staff[-1]
    return [
        InboundRule(1, "Main number", dids[0], "Queue", "800", "Sales"),
        InboundRule(2, "Support line", dids[1], "Queue", "801", "Support"),
        InboundRule(
            3,
            f"Direct {first.display_name}",
            dids[2],
            "Extension",
            first.number,
            first.display_name,
        ),
        InboundRule(4, "Accounts", dids[3], "Extension", last.number, last.display_name),
    ]


def build_phonebook(
    rng: random.Random, country: Country, *, unnormalised: bool, shared_numbers: bool
) -> list[Contact]:
    """The customers in the PBX phonebook, some written by hand (national format)."""
    c = country
    n = rng.randint(40, 70)
    contacts = [_contact(rng, c, i) for i in range(n)]
    # A few numbers in everyone's phonebook are written by hand even on a healthy PBX.
    for contact in contacts[5::17]:
        contact.mobile = contact.mobile and national_format(c.code, contact.mobile)
    if unnormalised:
        _unnormalise(contacts, c.code)
    if shared_numbers:
        _share_numbers(contacts, rng, c, unnormalised=unnormalised)
    return contacts


_SUFFIXES = {"AU": "Pty Ltd", "US": "Inc.", "GB": "Ltd"}
_TRADES = (
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
)
_KINDS = ("Builders", "Cafe", "Motors", "Legal", "Realty", "Electrical", "Medical", "Logistics")


def _contact(rng: random.Random, c: Country, i: int) -> Contact:
    """The ``i``-th customer: a mobile first on every third, a landline otherwise."""
    first = rng.choice(c.first_names)
    last = rng.choice(c.last_names)
    company = f"{rng.choice(_TRADES)} {rng.choice(_KINDS)} {_SUFFIXES[c.code]}"
    fixed = landline(c, rng, 300 + i)
    cell = mobile(c, rng, 500 + i)
    use_mobile = i % 3 == 0
    primary = cell if use_mobile else fixed
    return Contact(
        id=i + 1,
        first_name=first,
        last_name=last,
        company=company if i % 4 else "",
        phone=primary,
        mobile=cell if not use_mobile and i % 2 else "",
        business=fixed if use_mobile and i % 2 else "",
        email=f"{first.lower()}.{_slug(last)}@example.{c.code.lower()}",
        e164=primary,
    )


def _unnormalise(contacts: list[Contact], c: str) -> None:
    for i, contact in enumerate(contacts):
        if i % 3 != 2:
            contact.phone = national_format(c, contact.e164)
        if contact.mobile.startswith("+"):
            contact.mobile = national_format(c, contact.mobile)


def _share_numbers(
    contacts: list[Contact], rng: random.Random, country: Country, *, unnormalised: bool
) -> None:
    """Two different people at one company line: a number several contacts share."""
    c = country.code
    base = len(contacts)
    for j, src in enumerate(contacts[1:13:4]):
        first = rng.choice(country.first_names)
        contacts.append(
            Contact(
                id=base + j + 1,
                first_name=first,
                last_name=src.last_name,
                company=src.company,
                phone=national_format(c, src.e164) if unnormalised else src.e164,
                mobile="",
                business="",
                email=f"{first.lower()}@{src.company.split()[0].lower() or 'example'}.example",
                e164=src.e164,
            )
        )
