"""v18 web-API wire JSON → domain objects (older names: Email, MobileNumber, list, Date)."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from app.domain.calls import CallDirection, CallOutcome, CallRecord
from app.domain.clock import utc_now
from app.domain.durations import parse_iso_duration
from app.domain.extensions import Extension, RecordingMode
from app.domain.licence import Edition, Licence, SystemStatus
from app.domain.recordings import Recording, RecordingCallType
from app.threecx.wire import boolean, integer, text, timestamp

Row = Mapping[str, Any]


def extension_from_row(row: Row) -> Extension | None:
    number = text(row, "Number")
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
        extensions_total=integer(row, "ExtensionsTotal"),
        calls_active=integer(row, "CallsActive"),
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
        max_sim_calls=integer(row, "MaxSimCalls"),
    )


def _licence_active(row: Row) -> bool | None:
    """v18 may not send ``LicenseActive``: an activated licence past its expiry is not active."""
    explicit = boolean(row, "LicenseActive")
    if explicit is not None:
        return explicit
    activated = boolean(row, "Activated")
    expires = timestamp(row, "ExpirationDate")
    if activated and expires is not None and expires < utc_now():
        return False
    return activated


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
    caller_internal, destination_internal = _is_internal(caller), _is_internal(destination)
    if not caller_internal and destination_internal:
        direction = CallDirection.INBOUND
    elif caller_internal and not destination_internal:
        direction = CallDirection.OUTBOUND
    elif caller_internal and destination_internal:
        direction = CallDirection.INTERNAL
    else:
        direction = CallDirection.UNKNOWN
    answered = boolean(row, "Answered")
    if answered:
        outcome = CallOutcome.ANSWERED
    elif answered is None:
        outcome = CallOutcome.UNKNOWN
    elif direction is CallDirection.OUTBOUND:
        outcome = CallOutcome.UNANSWERED_OUTBOUND
    else:
        outcome = CallOutcome.MISSED
    duration = text(row, "Duration")
    return CallRecord(
        call_id=call_id,
        started_at=started,
        direction=direction,
        caller=caller,
        callee=destination,
        extension=_digits_or_none(caller if direction is CallDirection.OUTBOUND else destination),
        answered=answered,
        talking=parse_iso_duration(duration) or _clock_duration(duration),
        outcome=outcome,
    )


def _digits_or_none(value: str) -> str | None:
    digits = "".join(ch for ch in value if ch.isdigit())
    return digits if 0 < len(digits) <= 5 else None


def _clock_duration(value: str | None) -> timedelta | None:
    """v18 writes durations as ``00:01:16`` in some builds."""
    if not value or value.count(":") != 2:
        return None
    try:
        hours, minutes, seconds = (float(p) for p in value.split(":"))
    except ValueError:
        return None
    return timedelta(hours=hours, minutes=minutes, seconds=seconds)


def recording_from_row(row: Row) -> Recording | None:
    rec_id = integer(row, "Id")
    if rec_id is None:
        return None
    participants = row.get("Participants")
    names = [str(p) for p in participants] if isinstance(participants, list) else []
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
