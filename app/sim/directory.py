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
    extensions: list[Extension] = []
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
        extensions.append(ext)
    for ext in extensions:
        if ext.number in on_demand:
            # v20 reads this as On Demand: Record calls off, the user may record.
            ext.record_calls, ext.forbid_recording = False, False
            ext.allow_own_recordings = True
    staff = [e for e in extensions if e.takes_external]
    not_recording = [e.number for e in staff[1::4]][:4]
    sales = [e.number for e in staff if e.department in ("Sales", "Management")][:5]
    support = [e.number for e in staff if e.department in ("Support", "Operations")][:5]
    queues = [
        Queue(1001, "800", "Sales", "RingAll", "AllowToOptOut", sales or [staff[0].number]),
        Queue(1002, "801", "Support", "LongestWaiting", "Disabled", support or [staff[-1].number]),
    ]
    dids = [did(c, i) for i in range(4)]
    inbound_rules = [
        InboundRule(1, "Main number", dids[0], "Queue", "800", "Sales"),
        InboundRule(2, "Support line", dids[1], "Queue", "801", "Support"),
        InboundRule(
            3,
            f"Direct {staff[0].display_name}",
            dids[2],
            "Extension",
            staff[0].number,
            staff[0].display_name,
        ),
        InboundRule(4, "Accounts", dids[3], "Extension", staff[-1].number, staff[-1].display_name),
    ]
    return Staff(extensions, queues, dids, inbound_rules, not_recording)


def build_phonebook(
    rng: random.Random, country: Country, *, unnormalised: bool, shared_numbers: bool
) -> list[Contact]:
    """The customers in the PBX phonebook, some written by hand (national format)."""
    c = country
    n = rng.randint(40, 70)
    contacts: list[Contact] = []
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
        fixed = landline(c, rng, 300 + i)
        cell = mobile(c, rng, 500 + i)
        use_mobile = i % 3 == 0
        primary = cell if use_mobile else fixed
        contact = Contact(
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
        contacts.append(contact)
    # A few numbers in everyone's phonebook are written by hand even on a healthy PBX.
    for contact in contacts[5::17]:
        contact.mobile = contact.mobile and national_format(c.code, contact.mobile)
    if unnormalised:
        _unnormalise(contacts, c.code)
    if shared_numbers:
        _share_numbers(contacts, rng, c, unnormalised=unnormalised)
    return contacts


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
