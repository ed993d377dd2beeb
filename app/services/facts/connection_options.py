"""A saved connection (or the CLI's flags) turned into ``DoctorOptions``, in one place.

The CLI doctor, the Doctor tab and the guided setup's report all check a connection with what
it carries: its region, its CRM export read with its own column mapping, its bridge and its
customer's hours. Built here once, so the three cannot drift apart again.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field, replace
from pathlib import Path

from app.domain.bridge import Bridge
from app.domain.business_hours import BusinessHours
from app.domain.connection import ConnectionProfile, ContactColumns
from app.domain.contacts import Contact
from app.domain.phones import NumberError, validate_region
from app.services.contacts.crm_import import ContactsFileError, read_contacts_for
from app.services.facts.options import DoctorOptions


@dataclass(frozen=True)
class ContactsRead:
    """A CRM export read for the doctor, with what had to be skipped."""

    contacts: tuple[Contact, ...]
    label: str  # "crm.csv (HubSpot)", for the evidence
    record_ids: bool  # the export has the CRM's record id column
    skipped: tuple[str, ...] = ()  # "line 7 skipped: …", for the first rows only
    skipped_count: int = -1  # every row skipped (-1: as many as ``skipped``)
    summary: str | None = None  # "469 rows skipped (178 wrong number of fields, …): line …"

    @property
    def rows_skipped(self) -> int:
        return self.skipped_count if self.skipped_count >= 0 else len(self.skipped)


@dataclass(frozen=True)
class ConnectionOptions:
    options: DoctorOptions
    contacts: ContactsRead | None = None
    # What could not be used, in words for the engineer (the doctor still runs without it).
    notices: tuple[str, ...] = field(default=())


async def read_crm_export(path: Path, columns: ContactColumns | None) -> ContactsRead:
    """The export, streamed off the GUI thread; raises ``ContactsFileError`` or ``OSError``."""
    imported = await asyncio.to_thread(read_contacts_for, path, columns)
    return ContactsRead(
        contacts=tuple(imported.contacts),
        label=f"{path.name} ({imported.mapping.flavour})",
        record_ids=imported.mapping.id_column is not None,
        skipped=tuple(f"line {p.line} skipped: {p.message}" for p in imported.problems),
        # The import describes only its first broken rows; this counts all of them.
        skipped_count=imported.skipped,
        summary=imported.problem_summary(),
    )


async def options_for_connection(
    profile: ConnectionProfile | None,
    base: DoctorOptions | None = None,
    *,
    region: str | None = None,
    contacts_csv: Path | None = None,
    bridge: Bridge | None = None,
    business_hours: BusinessHours | None = None,
) -> ConnectionOptions:
    """``base`` (the run's own knobs: watch, windows, retention) completed from ``profile``.

    Explicit arguments win over what the profile saved. A saved region or export that cannot be
    used becomes a notice; an explicit ``contacts_csv`` that cannot be read raises
    (``ContactsFileError``, ``OSError``), since the engineer asked for that file.
    """
    base = base or DoctorOptions()
    notices: list[str] = []
    chosen_region = region
    if chosen_region is None and profile is not None and profile.region:
        try:
            chosen_region = validate_region(profile.region)
        except NumberError as error:
            notices.append(f"Region: {error}; using the PBX's own country instead.")
    contacts: ContactsRead | None = None
    if contacts_csv is not None:
        contacts = await read_crm_export(contacts_csv, None)
    elif profile is not None and profile.contacts_csv:
        path = Path(profile.contacts_csv)
        try:
            contacts = await read_crm_export(path, profile.contacts_columns)
        except (ContactsFileError, OSError) as error:
            notices.append(
                f"CRM export {path.name} not read: {error} "
                "Checking caller numbers against the 3CX phonebook only."
            )
    if contacts is not None and contacts.rows_skipped:
        more = contacts.rows_skipped - 1
        first = contacts.skipped[0] if contacts.skipped else contacts.summary or ""
        notices.append(
            f"CRM export {contacts.label}: {first}"
            + (f" (and {more:,} more rows skipped)" if more > 0 else "")
        )
    options = replace(
        base,
        region=chosen_region,
        crm_contacts=contacts.contacts if contacts else (),
        crm_contacts_label=contacts.label if contacts else None,
        crm_record_ids=contacts.record_ids if contacts else False,
        bridge=bridge or (profile.bridge if profile is not None else Bridge()),
        business_hours=business_hours or (profile.business_hours if profile is not None else None),
    )
    return ConnectionOptions(options, contacts, tuple(notices))
