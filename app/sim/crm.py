"""CRM contact exports of the tenant's customers, with each CRM's real export headers."""

from __future__ import annotations

import csv
import io

from app.sim.countries import national_format
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
    code = tenant.country.code
    for i, c in enumerate(tenant.contacts):
        phone = c.e164
        mobile = c.mobile
        if unnormalised and i % 3 != 2:
            phone = national_format(code, c.e164)
        created = f"2025-{1 + i % 12:02d}-{1 + i % 28:02d}"
        rid = str(100_000 + c.id * 37)
        if flavour == "hubspot":
            row = [
                rid,
                c.first_name,
                c.last_name,
                c.email,
                phone,
                mobile,
                c.company,
                f"{created} 09:{i % 60:02d}",
            ]
        elif flavour == "salesforce":
            row = [
                f"003Dn00000{c.id:08d}",
                c.first_name,
                c.last_name,
                f"001Dn00000{c.id:08d}" if c.company else "",
                c.email,
                phone,
                mobile,
                f"{created}T09:00:00.000Z",
            ]
        elif flavour == "gohighlevel":
            row = [
                f"ghl{rid}",
                c.first_name,
                c.last_name,
                c.company,
                phone,
                c.email,
                f"{created}T09:00:00Z",
                "customer",
            ]
        elif flavour == "zoho":
            row = [
                f"5{rid}000",
                c.first_name,
                c.last_name,
                c.company,
                c.email,
                phone,
                mobile,
                f"{created} 09:00:00",
            ]
        else:
            row = [f"{c.first_name} {c.last_name}", c.company, phone, mobile, c.email]
        writer.writerow(row)
    return out.getvalue()
