"""Which column of a CRM activity export holds what: detected from the headers, or as the
engineer mapped them and the connection remembers.

Headers are compared squashed (``squash_header``: "Call Start Time" is "callstarttime"), so
case, spaces and punctuation do not matter. The export's time is one column, or a date column
and a time-of-day column (a sheet's ``date`` and ``time``).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from app.services.contacts.crm_import import CrmFlavour, crm_flavour, squash_header


class ActivityColumnsError(ValueError):
    """A mapping that cannot be used with a file, or a saved one that cannot be read back;
    the message names the field or the column."""


@dataclass(frozen=True)
class ActivityColumns:
    """Each field's column, by its header as written in the file (None: not in the export)."""

    time: str | None = None  # date and time in one column
    date: str | None = None  # or the date here ...
    clock: str | None = None  # ... and the time of day here
    phone: str | None = None  # the other party's number
    from_number: str | None = None  # or the caller's and the called numbers, read by direction
    to_number: str | None = None
    direction: str | None = None
    contact: str | None = None
    recording: str | None = None
    call_id: str | None = None
    notes: str | None = None  # searched for a call id ("3CX call id: ...") when call_id is empty
    kind: str | None = None  # call, task, SMS, email
    new_contact: str | None = None  # "Contact created by" or a "New contact" yes/no column
    day_first: bool | None = None  # "03/04" is 3 April; None: as the region writes dates

    def headers(self) -> dict[str, str]:
        """Each mapped field's header, by field name."""
        return {
            name: value
            for name, value in dataclasses.asdict(self).items()
            if isinstance(value, str)
        }

    def as_json(self) -> dict[str, str | bool | None]:
        return dataclasses.asdict(self)

    @classmethod
    def from_json(cls, data: object, where: str = "activity_columns") -> ActivityColumns:
        """A saved mapping; keys it does not know are ignored (a newer app's file)."""
        if not isinstance(data, Mapping):
            raise ActivityColumnsError(f"{where} must be an object")
        day_first = data.get("day_first")
        if day_first is not None and not isinstance(day_first, bool):
            raise ActivityColumnsError(f"{where}.day_first must be true, false or null")

        columns: dict[str, Any] = {}  # checked one by one: text or null
        for name in _COLUMN_FIELDS:
            value = data.get(name)
            if value is not None and not isinstance(value, str):
                raise ActivityColumnsError(f"{where}.{name} must be a column name or null")
            columns[name] = value or None
        return cls(**columns, day_first=day_first)

    def check(self, headers: Sequence[str]) -> None:
        """Raise ``ActivityColumnsError`` naming a mapped column that is not in the file, or
        when the mapping gives nothing to tie an activity to a call by."""
        known = {h.strip() for h in headers}
        for name, header in self.headers().items():
            if header.strip() not in known:
                found = ", ".join(repr(h) for h in headers if h) or "none"
                field = name.replace("_", " ")
                raise ActivityColumnsError(
                    f"The {field} column {header!r} is not in the file; its columns are {found}."
                )
        timed = self.time is not None or self.date is not None
        numbered = any(c is not None for c in (self.phone, self.from_number, self.to_number))
        if self.call_id is None and self.notes is None and not (timed and numbered):
            found = ", ".join(repr(h) for h in headers if h) or "none"
            raise ActivityColumnsError(
                "Nothing to match the activities to calls by: choose a call id column, or a "
                f"time column and a phone number column. The columns found are {found}."
            )


_COLUMN_FIELDS = tuple(f.name for f in dataclasses.fields(ActivityColumns) if f.name != "day_first")

# Each field's headers, squashed, best first.
_TIME = (
    "callstarttime",
    "starttime",
    "createddate",  # Salesforce's ActivityDate is a date only; CreatedDate has the time
    "activitydatetime",
    "activitydate",
    "createdate",
    "datetime",
    "dateandtime",
    "timestamp",
    "createdat",
    "calldatetime",
    "calledat",
    "occurredat",
)
_DATE = ("date", "calldate", "activitydate", "day")
_CLOCK = ("time", "calltime", "timeofday")
_PHONE = (
    "phonenumber",
    "phone",
    "contactphone",
    "customerphone",
    "customernumber",
    "externalnumber",
    "number",
    "telephone",
    "mobile",
)
_FROM = ("fromnumber", "from", "caller", "callerid", "callernumber")
_TO = ("tonumber", "to", "callee", "callednumber", "dialednumber", "diallednumber")
_DIRECTION = ("calldirection", "direction", "calltype", "inboundoutbound")
_CONTACT = (
    "associatedcontact",
    "contactname",
    "whoname",
    "contact",
    "name",
    "relatedto",
    "whoid",
    "contactid",
)
_RECORDING = (
    "callrecordingurl",
    "callrecording",
    "recordingurl",
    "recordinglink",
    "recording",
    "recordingfile",
)
_CALL_ID = (
    "callobject",
    "3cxcallid",
    "callid",
    "externalcallid",
    "calluniqueid",
    "callhistoryid",
    "cdrid",
)
_NOTES = ("callnotes", "description", "notes", "note", "body", "callbody", "comments", "subject")
_KIND = ("activitytype", "tasksubtype", "engagementtype", "type", "activity", "kind")
_NEW_CONTACT = (
    "contactcreatedby",
    "newcontact",
    "contactcreated",
    "createdcontact",
    "isnewcontact",
    "contactisnew",
)

# Headers only one CRM's activity export writes, with how strongly they point at it.
_SIGNATURES: dict[CrmFlavour, dict[str, int]] = {
    CrmFlavour.HUBSPOT: {
        "activitydate": 1,
        "calldirection": 2,
        "associatedcontact": 2,
        "callrecordingurl": 2,
        "callnotes": 1,
        "activitytype": 1,
    },
    CrmFlavour.SALESFORCE: {
        "callobject": 2,
        "tasksubtype": 2,
        "whoname": 2,
        "whoid": 2,
        "createddate": 1,
        "calltype": 1,
    },
    CrmFlavour.ZOHO: {"callstarttime": 2, "callrecording": 1, "contactname": 1, "callid": 1},
}


def detect_activity_columns(headers: Sequence[str]) -> ActivityColumns:
    """The mapping a header row suggests (check it with ``ActivityColumns.check``)."""
    by_key: dict[str, str] = {}
    for header in headers:
        if header.strip():
            by_key.setdefault(squash_header(header), header.strip())

    def first(keys: Sequence[str]) -> str | None:
        return next((by_key[k] for k in keys if k in by_key), None)

    time, date, clock = first(_TIME), None, first(_CLOCK)
    if clock is not None:
        date = first(_DATE)
        time = None if date is not None else time
    if time is None and date is None:
        time = first(_DATE)
    return ActivityColumns(
        time=time,
        date=date,
        clock=clock if date is not None else None,
        phone=first(_PHONE),
        from_number=first(_FROM),
        to_number=first(_TO),
        direction=first(_DIRECTION),
        contact=first(_CONTACT),
        recording=first(_RECORDING),
        call_id=first(_CALL_ID),
        notes=first(_NOTES),
        kind=first(_KIND),
        new_contact=first(_NEW_CONTACT),
    )


def activity_flavour(headers: Sequence[str]) -> CrmFlavour:
    """The CRM that wrote an activity export, by the headers only it writes."""
    return crm_flavour({squash_header(h): h for h in headers}, _SIGNATURES)
