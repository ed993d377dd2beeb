"""v18 web-API wire JSON → domain objects (older names: Email, MobileNumber, list, Date)."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from app.domain.calls import CallDirection, CallOutcome, CallRecord
from app.domain.extensions import Extension, RecordingMode
from app.domain.licence import Edition, Licence, SystemStatus
from app.domain.live import CallEvent, LiveState
from app.domain.recordings import Recording, RecordingCallType
from app.domain.wire_shapes import WireSeen, WireShape
from app.threecx.tolerant_fields import (
    boolean,
    duration,
    identity_integer,
    identity_text,
    integer,
    rows,
    sane_duration,
    text,
    text_value,
    timestamp,
)

Row = Mapping[str, Any]

# 3CX's own 7-digit fractions, or a UTC offset instead of "Z" (API-NOTES §9.5, §9.9).
FRACTION_OR_OFFSET = re.compile(r"\.\d{7}|[+-]\d\d:\d\d$")
STATUS_TIMES = ("ExpirationDate", "MaintenanceExpiresAt")
ACTIVE_CALL_TIMES = ("EstablishedAt", "LastChangeStatus")
# v18 active-call states (API-NOTES §7); v20's "Connected" is read too.
CONNECTED_STATES = frozenset({"talking", "transferring", "connected"})
# "10000 Flowroute - Example Co (15555550123)": the party's number in brackets (§9.4).
BRACKETED_NUMBER = re.compile(r"\((\+?\d[\d ]*)\)\s*$")


def extension_from_row(row: Row) -> Extension | None:
    number = identity_text(row, "Number")
    if number is None:
        return None
    name = " ".join(p for p in (text(row, "FirstName"), text(row, "LastName")) if p)
    return Extension(
        number=number,
        name=name or number,
        recording=RecordingMode.UNKNOWN,  # the v18 list does not carry the recording flag
        registered=boolean(row, "IsRegistered"),
        email=text(row, "Email", "EmailAddress"),
    )


def system_status_from_row(row: Row) -> SystemStatus:
    return SystemStatus(
        fqdn=text(row, "FQDN"),
        version=text(row, "Version"),
        activated=boolean(row, "Activated"),
        licence_active=_licence_active(row),
        expires_at=timestamp(row, "ExpirationDate"),
        recording_stopped=boolean(row, "RecordingStopped"),
        recording_quota_reached=boolean(row, "RecordingQuotaReached"),
        extensions_total=integer(row, "ExtensionsTotal", low=0),
        calls_active=integer(row, "CallsActive", low=0),
    )


def licence_from_status(row: Row) -> Licence:
    code = (text(row, "ProductCode") or "").upper()
    if "ENT" in code:
        edition = Edition.ENTERPRISE
    elif "PRO" in code:
        edition = Edition.PROFESSIONAL
    elif code:
        edition = Edition.STANDARD
    else:
        edition = Edition.UNKNOWN
    return Licence(
        active=_licence_active(row),
        edition=edition,
        product_code=code or None,
        expires_at=timestamp(row, "ExpirationDate"),
        maintenance_expires_at=timestamp(row, "MaintenanceExpiresAt"),
        max_sim_calls=integer(row, "MaxSimCalls", low=0),
    )


def _licence_active(row: Row) -> bool | None:
    """``LicenseActive`` when sent. Older v18 bodies do not send it (API-NOTES §9.9): then an
    activated licence with no expiry date is active, a licence that is not activated is not,
    and one with an expiry date is left unknown: the licence rule judges that date against the
    doctor's clock (the client has none)."""
    explicit = boolean(row, "LicenseActive")
    if explicit is not None:
        return explicit
    activated = boolean(row, "Activated")
    if activated and timestamp(row, "ExpirationDate") is not None:
        return None
    return activated


def note_status_shapes(row: Row, seen: WireSeen) -> None:
    if any(FRACTION_OR_OFFSET.search(text(row, key) or "") for key in STATUS_TIMES):
        seen.note(WireShape.FRACTIONAL_TIMES)


def active_calls_from_body(body: Any, seen: WireSeen) -> list[CallEvent]:
    """``/api/activeCalls``: live v18 PBXs answer ``{Now, list}`` (API-NOTES §9.9), the
    documents ``{list}``; a bare list is read too. Each call in progress is one event of its
    present state, stamped with when it got there (else the PBX's ``Now``)."""
    now: datetime | None = None
    if isinstance(body, Mapping) and "Now" in body:
        seen.note(WireShape.V18_ACTIVE_CALLS_LIST)
        now = timestamp(body, "Now")
        if FRACTION_OR_OFFSET.search(text(body, "Now") or ""):
            seen.note(WireShape.FRACTIONAL_TIMES)
    return [event for row in rows(body, "list") if (event := active_call_from_row(row, now))]


def active_call_from_row(row: Row, now: datetime | None = None) -> CallEvent | None:
    """One active call; None when the row gives no time at all and the body no ``Now``."""
    at = timestamp(row, *ACTIVE_CALL_TIMES) or now
    if at is None:
        return None
    caller = _party_number(text(row, "Caller", "CallerId", "From"))
    callee = _party_number(text(row, "Callee", "Destination", "To"))
    call_id = text(row, "Id", "CallId") or (
        "v18-"
        + hashlib.sha1(f"{at}|{caller}|{callee}".encode(), usedforsecurity=False).hexdigest()[:12]
    )
    status = (text(row, "Status") or "").lower()
    direction = _direction(caller, callee)
    caller_internal = _is_internal(caller)
    internal = caller if caller_internal else callee
    external = callee if caller_internal else caller
    return CallEvent(
        call_id=call_id,
        state=LiveState.CONNECTED if status in CONNECTED_STATES else LiveState.RINGING,
        at=at,
        direction=direction,
        external_number=external if external and not _is_internal(external) else None,
        extension=_digits_or_none(internal),
        source="active-calls",
    )


def _party_number(value: str | None) -> str:
    """The number in ``+61412345678 Jane Doe``, ``101 Bob`` or ``Trunk (15555550123)``."""
    if not value:
        return ""
    bracketed = BRACKETED_NUMBER.search(value)
    if bracketed:
        return bracketed.group(1).replace(" ", "")
    return value.split()[0]


def _direction(caller: str, destination: str) -> CallDirection:
    caller_internal, destination_internal = _is_internal(caller), _is_internal(destination)
    if not caller_internal and destination_internal:
        return CallDirection.INBOUND
    if caller_internal and not destination_internal:
        return CallDirection.OUTBOUND
    if caller_internal and destination_internal:
        return CallDirection.INTERNAL
    return CallDirection.UNKNOWN


def _is_internal(number: str) -> bool:
    digits = "".join(ch for ch in number if ch.isdigit())
    return number.lower().startswith("ext.") or 0 < len(digits) <= 5


def call_from_row(row: Row) -> CallRecord | None:
    """v18 rows carry no call id; one is derived from the time and the two parties."""
    started = timestamp(row, "CallTime", "StartTime")
    caller = text(row, "CallerId", "From") or ""
    destination = text(row, "Destination", "To") or ""
    if started is None and not caller:
        return None
    explicit = text(row, "CallId", "Id")
    call_id = (
        explicit
        or "v18-"
        + hashlib.sha1(
            # The legs of one call (a ring-all queue) share its start and caller.
            f"{started}|{caller}".encode(),
            usedforsecurity=False,
        ).hexdigest()[:12]
    )
    direction = _direction(caller, destination)
    answered = boolean(row, "Answered")
    if answered:
        outcome = CallOutcome.ANSWERED
    elif answered is None:
        outcome = CallOutcome.UNKNOWN
    elif direction is CallDirection.OUTBOUND:
        outcome = CallOutcome.UNANSWERED_OUTBOUND
    else:
        outcome = CallOutcome.MISSED
    return CallRecord(
        call_id=call_id,
        started_at=started,
        direction=direction,
        caller=caller,
        callee=destination,
        extension=_digits_or_none(caller if direction is CallDirection.OUTBOUND else destination),
        answered=answered,
        talking=duration(row, "Duration") or _clock_duration(text(row, "Duration")),
        outcome=outcome,
    )


def _digits_or_none(value: str) -> str | None:
    digits = "".join(ch for ch in value if ch.isdigit())
    return digits if 0 < len(digits) <= 5 else None


CLOCK_DURATION = re.compile(r"([0-9]{1,4}):([0-9]{1,2}):([0-9]{1,2}(?:\.[0-9]{1,7})?)")


def _clock_duration(value: str | None) -> timedelta | None:
    """v18 writes durations as ``00:01:16`` in some builds; an absurd one is ``None``."""
    match = CLOCK_DURATION.fullmatch(value.strip()) if value else None
    if match is None:
        return None
    hours, minutes, seconds = (float(part) for part in match.groups())
    return sane_duration(timedelta(hours=hours, minutes=minutes, seconds=seconds))


def recording_from_row(row: Row) -> Recording | None:
    rec_id = identity_integer(row, "Id")
    if rec_id is None:
        return None
    participants = row.get("Participants")
    listed = participants if isinstance(participants, list) else []
    names = [name for p in listed if (name := text_value(p)) is not None]
    caller = text(row, "CallerNumber") or (names[0] if names else "")
    callee = names[1] if len(names) > 1 else ""
    when = timestamp(row, "Date", "StartTime")
    return Recording(
        id=rec_id,
        started_at=when,
        ended_at=timestamp(row, "EndTime"),
        call_type=RecordingCallType.UNKNOWN,
        from_number=caller,
        to_number=callee,
        archived=boolean(row, "IsArchived") is True,
        did=text(row, "DID"),
        url=text(row, "RecordingUrl", "FileName"),
    )
