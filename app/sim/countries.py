"""The countries a simulated PBX can be in: names, businesses, and how numbers are written."""

from __future__ import annotations

import random
from dataclasses import dataclass


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


def landline(country: Country, rng: random.Random, i: int) -> str:
    """The ``i``-th landline number in E.164 (AU draws its exchange from ``rng``)."""
    c = country.code
    if c == "AU":
        return f"+618{rng.choice(['81', '82', '83'])}{rng.randint(10, 99)}{i:04d}"
    if c == "US":
        return f"+1555010{i % 10000:04d}"[:12]
    return f"+4420794{60000 + i % 1000:05d}"[:13]


def mobile(country: Country, rng: random.Random, i: int) -> str:
    """The ``i``-th mobile number in E.164 (AU draws its middle digits from ``rng``)."""
    c = country.code
    if c == "AU":
        return f"+614{rng.randint(10, 99)}{rng.randint(100, 999)}{i % 1000:03d}"
    if c == "US":
        return f"+1555011{i % 10000:04d}"
    return f"+447700900{i % 1000:03d}"


def did(country: Country, i: int) -> str:
    """The company's ``i``-th DID (direct inward dialling number)."""
    c = country.code
    if c == "AU":
        return f"+61881234{500 + i:03d}"
    if c == "US":
        return f"+155501000{10 + i:02d}"
    return f"+44207946{1000 + i:04d}"
