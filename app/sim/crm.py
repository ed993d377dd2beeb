"""CRM contact exports of the tenant's customers, with each CRM's real export headers."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable

from app.domain.contacts import Contact as CrmContact
from app.domain.contacts import ContactSource, PhoneEntry
from app.sim.countries import national_format
from app.sim.records import Contact
from app.sim.tenant import Tenant

FLAVOURS: dict[str, list[str]] = {
    "hubspot": [
        "Record ID",
        "First Name",
        "Last Name",
        "Email",
        "Phone Number",
        "Mobile Phone Number",
        "Company Name",
        "Create Date",
    ],
    "salesforce": [
        "Id",
        "FirstName",
        "LastName",
        "AccountId",
        "Email",
        "Phone",
        "MobilePhone",
        "CreatedDate",
    ],
    "gohighlevel": [
        "Contact Id",
        "First Name",
        "Last Name",
        "Business Name",
        "Phone",
        "Email",
        "Created",
        "Tags",
    ],
    "zoho": [
        "Record Id",
        "First Name",
        "Last Name",
        "Account Name",
        "Email",
        "Phone",
        "Mobile",
        "Created Time",
    ],
    "generic": ["name", "company", "phone", "mobile", "email"],
}


def export_csv(tenant: Tenant, flavour: str = "hubspot", *, unnormalised: bool = False) -> str:
    if flavour not in FLAVOURS:
        raise ValueError(f"unknown CRM flavour {flavour!r}; choose one of {sorted(FLAVOURS)}")
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(FLAVOURS[flavour])
    row = _ROWS[flavour]
    for i, c in enumerate(tenant.contacts):
        writer.writerow(row(c, i, crm_phone(tenant, i, c, unnormalised=unnormalised)))
    return out.getvalue()


def crm_phone(tenant: Tenant, i: int, c: Contact, *, unnormalised: bool) -> str:
    """The ``i``-th contact's phone as the CRM stores it: two in three typed by hand when the
    numbers are unnormalised (cause 5)."""
    if unnormalised and i % 3 != 2:
        return national_format(tenant.country.code, c.e164)
    return c.e164


def crm_contacts(tenant: Tenant, *, unnormalised: bool = False) -> list[CrmContact]:
    """The HubSpot export's contacts as the customer's bridge searches them: the same stored
    numbers, record ids and names the export shows, so the bridge and the reconciler agree."""
    contacts = []
    for i, c in enumerate(tenant.contacts):
        phones = [PhoneEntry("Phone Number", crm_phone(tenant, i, c, unnormalised=unnormalised))]
        if c.mobile:
            phones.append(PhoneEntry("Mobile Phone Number", c.mobile))
        name = f"{c.first_name} {c.last_name}"
        contacts.append(
            CrmContact(
                _record_id(c),
                name,
                c.company or None,
                tuple(phones),
                ContactSource.CRM_EXPORT,
                email=c.email,
            )
        )
    return contacts


def _created(i: int) -> str:
    """A made-up creation date, spread over the year."""
    return f"2025-{1 + i % 12:02d}-{1 + i % 28:02d}"


def _record_id(c: Contact) -> str:
    return str(100_000 + c.id * 37)


def _hubspot(c: Contact, i: int, phone: str) -> list[str]:
    created = f"{_created(i)} 09:{i % 60:02d}"
    return [_record_id(c), c.first_name, c.last_name, c.email, phone, c.mobile, c.company, created]


def _salesforce(c: Contact, i: int, phone: str) -> list[str]:
    return [
        f"003Dn00000{c.id:08d}",
        c.first_name,
        c.last_name,
        f"001Dn00000{c.id:08d}" if c.company else "",
        c.email,
        phone,
        c.mobile,
        f"{_created(i)}T09:00:00.000Z",
    ]


def _gohighlevel(c: Contact, i: int, phone: str) -> list[str]:
    return [
        f"ghl{_record_id(c)}",
        c.first_name,
        c.last_name,
        c.company,
        phone,
        c.email,
        f"{_created(i)}T09:00:00Z",
        "customer",
    ]


def _zoho(c: Contact, i: int, phone: str) -> list[str]:
    return [
        f"5{_record_id(c)}000",
        c.first_name,
        c.last_name,
        c.company,
        c.email,
        phone,
        c.mobile,
        f"{_created(i)} 09:00:00",
    ]


def _generic(c: Contact, i: int, phone: str) -> list[str]:
    return [f"{c.first_name} {c.last_name}", c.company, phone, c.mobile, c.email]


# One row writer per flavour, in the order of that flavour's headers above.
_ROWS: dict[str, Callable[[Contact, int, str], list[str]]] = {
    "hubspot": _hubspot,
    "salesforce": _salesforce,
    "gohighlevel": _gohighlevel,
    "zoho": _zoho,
    "generic": _generic,
}
