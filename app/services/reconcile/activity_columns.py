"""Which column of a CRM activity export holds what: detected from the headers, or as the
engineer mapped them and the connection remembers.

The mapping is ``app.domain.activity_columns``'s; it is imported from here too. Headers are
compared squashed (``squash_header``: "Call Start Time" is "callstarttime"), so
case, spaces and punctuation do not matter. The export's time is one column, or a date column
and a time-of-day column (a sheet's ``date`` and ``time``).
"""

from __future__ import annotations

from collections.abc import Sequence

# The mapping itself is domain data (the connection keeps it); detection stays here.
from app.domain.activity_columns import ActivityColumns, ActivityColumnsError
from app.services.contacts.crm_import import CrmFlavour, crm_flavour, squash_header

__all__ = [
    "ActivityColumns",
    "ActivityColumnsError",
    "activity_flavour",
    "detect_activity_columns",
    "remembered_columns",
]

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


def remembered_columns(
    headers: Sequence[str], saved: ActivityColumns | None
) -> ActivityColumns | None:
    """The connection's saved mapping when every column it names is in ``headers`` and it can
    be used, else None (detect): a saved mapping belongs to the export it was made for."""
    if saved is None or not saved.fits(headers) or saved.missing() is not None:
        return None
    return saved
