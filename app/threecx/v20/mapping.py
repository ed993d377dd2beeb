"""v20 XAPI wire JSON → domain objects. Field names as in 3CX's OpenAPI spec."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from app.domain.bridge import PhonebookResolution, PhonebookResolving
from app.domain.calls import CallDirection, CallOutcome, CallRecord
from app.domain.contacts import Contact, ContactSource, PhoneEntry
from app.domain.extensions import Extension, Queue, QueueRecording, RecordingMode
from app.domain.licence import Edition, Licence, NumberingPlan, SystemStatus
from app.domain.live import Participant
from app.domain.recordings import Recording, RecordingCallType, RetentionPolicy
from app.domain.wire_shapes import WireSeen, WireShape
from app.threecx.errors import UnreadableAnswer
from app.threecx.tolerant_fields import (
    boolean,
    duration,
    identity_integer,
    identity_text,
    integer,
    text,
    timestamp,
)

Row = Mapping[str, Any]

CONTACT_PHONE_FIELDS = (
    ("Business", "Business"),
    ("Business2", "Business 2"),
    ("PhoneNumber", "Phone"),
    ("Mobile2", "Mobile"),
    ("Home", "Home"),
    ("Other", "Other"),
    ("Pager", "Pager"),
)


def extension_from_user(row: Row) -> Extension | None:
    number = identity_text(row, "Number")
    if number is None:
        return None
    name = text(row, "DisplayName") or " ".join(
        p for p in (text(row, "FirstName"), text(row, "LastName")) if p
    )
    return Extension(
        number=number,
        name=name or number,
        recording=RecordingMode.from_user_flags(
            boolean(row, "RecordCalls"),
            boolean(row, "RecordExternalCallsOnly"),
            boolean(row, "ForbidRecording"),
            boolean(row, "AllowOwnRecordings"),
        ),
        enabled=boolean(row, "Enabled") is not False,
        registered=boolean(row, "IsRegistered"),
        email=text(row, "EmailAddress", "Email"),
    )


def queue_from_row(row: Row) -> Queue | None:
    number = identity_text(row, "Number")
    if number is None:
        return None
    raw = text(row, "Recording")
    try:
        recording = QueueRecording(raw) if raw else QueueRecording.UNKNOWN
    except ValueError:
        recording = QueueRecording.UNKNOWN
    strategy = (text(row, "PollingStrategy") or "").lower()
    return Queue(
        number=number,
        name=text(row, "Name") or number,
        recording=recording,
        ring_all="ringall" in strategy,
    )


def direction_of(row: Row) -> CallDirection:
    return _direction(
        text(row, "Direction", "CallType"),
        text(row, "SourceCallerId"),
        text(row, "SourceDn"),
        text(row, "DestinationCallerId"),
        text(row, "DestinationDn"),
    )


def _direction(
    kind: str | None,
    source_id: str | None,
    source_dn: str | None,
    destination_id: str | None,
    destination_dn: str | None,
) -> CallDirection:
    """From the row's Direction (or CallType), else from which side looks external."""
    raw = (kind or "").lower()
    if "inbound" in raw or "incoming" in raw:
        return CallDirection.INBOUND
    if "outbound" in raw or "outgoing" in raw:
        return CallDirection.OUTBOUND
    if "internal" in raw or "local" in raw:
        return CallDirection.INTERNAL
    source_external = _looks_external(source_id, source_dn)
    destination_external = _looks_external(destination_id, destination_dn)
    if source_external and not destination_external:
        return CallDirection.INBOUND
    if destination_external and not source_external:
        return CallDirection.OUTBOUND
    if not source_external and not destination_external and source_dn:
        return CallDirection.INTERNAL
    return CallDirection.UNKNOWN


def _looks_external(caller_id: str | None, dn: str | None) -> bool:
    """Internal parties show as ``Ext.101`` or a short DN; outside numbers are longer."""
    value = caller_id or dn or ""
    digits = "".join(ch for ch in value if ch.isdigit())
    return not value.lower().startswith("ext.") and len(digits) >= 7


# A call's identity in call history (API-NOTES §9.1): its legs share MainCallHistoryId; each
# leg has its own CallHistoryId/CdrId. CallId and SegmentId are row numbers of one response on
# live PBXs, so they identify nothing and are never used as a key.
CALL_IDENTITY_FIELDS = ("MainCallHistoryId", "CallHistoryId", "CdrId")
QUEUE_LEG = "queue"


def call_from_log_row(row: Row, seen: WireSeen | None = None) -> CallRecord | None:
    # Each field is read once, here: a doctor run maps about 1,000 rows, and reading Direction,
    # CallType or a display name again in each helper was a third of the mapping's CPU.
    main_id = text(row, "MainCallHistoryId")
    call_id = main_id or identity_text(row, *CALL_IDENTITY_FIELDS)
    if call_id is None:
        return None
    kind, call_type = text(row, "Direction"), text(row, "CallType")
    kinds = f"{kind or ''} {call_type or ''}".lower()
    source_dn, destination_dn = text(row, "SourceDn"), text(row, "DestinationDn")
    source_id, destination_id = text(row, "SourceCallerId"), text(row, "DestinationCallerId")
    destination_name = text(row, "DestinationDisplayName")
    recording_url = text(row, "RecordingUrl")
    destination_type = integer(row, "DestinationType")
    if seen is not None:
        _note_log_shapes(row, seen, main_id, kinds, recording_url, destination_name)
    direction = _direction(kind or call_type, source_id, source_dn, destination_id, destination_dn)
    answered = boolean(row, "Answered")
    outcome = _outcome(
        destination_type if destination_type is not None else integer(row, "DstDnType"),
        (text(row, "Reason"), text(row, "Status"), destination_name),
        direction,
        answered,
    )
    if outcome is CallOutcome.VOICEMAIL:
        answered = False  # the voicemail box picked up, not a person
    if direction is CallDirection.OUTBOUND:
        extension = source_dn
    else:
        extension = destination_dn or text(row, "actionDnDn")
    recording_ids = tuple(
        rec for rec in (integer(row, "SrcRecId"), integer(row, "DstRecId")) if rec is not None
    )
    return CallRecord(
        call_id=call_id,
        started_at=timestamp(row, "StartTime", "SegmentStartTime"),
        direction=direction,
        caller=source_id or source_dn or "",
        callee=destination_id or destination_dn or "",
        extension=extension,
        answered=answered,
        talking=duration(row, "TalkingDuration", "CallTime"),
        ringing=duration(row, "RingingDuration"),
        recording_ids=recording_ids,
        recording_url=recording_url,
        outcome=outcome,
        segment_id=text(row, "CdrId", "CallHistoryId"),
        leg=QUEUE_LEG if "queue" in kinds or destination_type == QUEUE_DN_TYPE else "",
    )


def _note_log_shapes(
    row: Row,
    seen: WireSeen,
    main_id: str | None,
    kinds: str,
    recording_url: str | None,
    destination_name: str | None,
) -> None:
    seen.note(WireShape.MAIN_CALL_ID if main_id else WireShape.LEG_ID_ONLY)
    # A shape noted once needs no second look: the regular expressions are skipped after.
    if WireShape.FRACTIONAL_TIMES not in seen and FRACTION_OR_OFFSET.search(
        text(row, "StartTime") or ""
    ):
        seen.note(WireShape.FRACTIONAL_TIMES)
    if "queue" in kinds:
        seen.note(WireShape.QUEUE_ROWS)
    url = recording_url
    if url and "://" not in url and not url.startswith("/"):
        seen.note(WireShape.RECORDING_PATHS)
    if WireShape.LAST_FIRST_NAMES not in seen:
        names = (text(row, "SourceDisplayName") or "", destination_name or "")
        if any(LAST_FIRST.fullmatch(name) for name in names):
            seen.note(WireShape.LAST_FIRST_NAMES)


VOICEMAIL_DN_TYPE = 5  # DestinationType of a leg that ended in a voicemail box
QUEUE_DN_TYPE = 4  # DestinationType of a queue's own leg (the simulator's value; UNCONFIRMED)
FRACTION_OR_OFFSET = re.compile(r"\.\d{7}|[+-]\d\d:\d\d$")
LAST_FIRST = re.compile(r"[^\W\d_][\w'-]*, [^\W\d_][\w'-]*")


def outcome_of(row: Row, direction: CallDirection, answered: bool | None) -> CallOutcome:
    return _outcome(
        integer(row, "DestinationType", "DstDnType"),
        (text(row, "Reason"), text(row, "Status"), text(row, "DestinationDisplayName")),
        direction,
        answered,
    )


def _outcome(
    destination_type: int | None,
    words: tuple[str | None, ...],
    direction: CallDirection,
    answered: bool | None,
) -> CallOutcome:
    """From the destination's DN type, the Reason/Status/name ``words``, and ``answered``."""
    if destination_type == VOICEMAIL_DN_TYPE:
        return CallOutcome.VOICEMAIL
    description = " ".join(filter(None, words)).lower()
    if "voicemail" in description or "voice mail" in description:
        return CallOutcome.VOICEMAIL
    if answered:
        return CallOutcome.ANSWERED
    if answered is None:
        return CallOutcome.UNKNOWN
    if direction is CallDirection.OUTBOUND:
        return CallOutcome.UNANSWERED_OUTBOUND
    return CallOutcome.MISSED


def call_from_history_view(row: Row) -> CallRecord | None:
    """The legacy ``CallHistoryView`` per-segment row."""
    call_id = identity_text(row, "CallId", "SegmentId")
    if call_id is None:
        return None
    caller = text(row, "SrcCallerNumber", "SrcDn") or ""
    callee = text(row, "DstCallerNumber", "DstDn") or ""
    src_external = boolean(row, "SrcExternal")
    dst_external = boolean(row, "DstExternal")
    if src_external and not dst_external:
        direction = CallDirection.INBOUND
    elif dst_external and not src_external:
        direction = CallDirection.OUTBOUND
    elif src_external is False and dst_external is False:
        direction = CallDirection.INTERNAL
    else:
        direction = CallDirection.UNKNOWN
    answered = boolean(row, "CallAnswered")
    recording_ids = tuple(
        rec for rec in (integer(row, "SrcRecId"), integer(row, "DstRecId")) if rec is not None
    )
    return CallRecord(
        call_id=call_id,
        started_at=timestamp(row, "SegmentStartTime"),
        direction=direction,
        caller=caller,
        callee=callee,
        extension=text(row, "SrcDn") if direction is CallDirection.OUTBOUND else text(row, "DstDn"),
        answered=answered,
        talking=duration(row, "CallTime"),
        recording_ids=recording_ids,
        outcome=outcome_of(row, direction, answered),
        segment_id=text(row, "SegmentId"),
    )


def recording_from_row(row: Row) -> Recording | None:
    rec_id = identity_integer(row, "Id")
    if rec_id is None:
        return None
    raw_type = text(row, "CallType")
    try:
        call_type = RecordingCallType(raw_type) if raw_type else RecordingCallType.UNKNOWN
    except ValueError:
        call_type = RecordingCallType.UNKNOWN
    return Recording(
        id=rec_id,
        started_at=timestamp(row, "StartTime"),
        ended_at=timestamp(row, "EndTime"),
        call_type=call_type,
        from_number=text(row, "FromCallerNumber", "FromDn") or "",
        to_number=text(row, "ToCallerNumber", "ToDn") or "",
        from_dn=text(row, "FromDn"),
        to_dn=text(row, "ToDn"),
        url=text(row, "RecordingUrl"),
        archived=boolean(row, "IsArchived") is True,
        archived_url=text(row, "ArchivedUrl"),
        did=text(row, "FromDidNumber", "ToDidNumber"),
    )


# Retention past a century is no policy anyone set; the rule computes now - days with it.
MAX_RETENTION_DAYS = 36_500


def retention_from_row(row: Row) -> RetentionPolicy:
    return RetentionPolicy(
        auto_delete=boolean(row, "AutoDeleteRecordingEnabled"),
        auto_delete_days=integer(row, "AutoDeleteRecordingDays", low=0, high=MAX_RETENTION_DAYS),
        archive_enabled=boolean(row, "IsRecordingArchiveEnabled"),
        quota_mb=integer(row, "RecordingsQuota", low=0),
    )


def contact_from_row(row: Row) -> Contact | None:
    contact_id = identity_text(row, "Id")
    if contact_id is None:
        return None
    phones = tuple(
        PhoneEntry(label, number)
        for field_name, label in CONTACT_PHONE_FIELDS
        if (number := text(row, field_name)) is not None
    )
    name = " ".join(p for p in (text(row, "FirstName"), text(row, "LastName")) if p)
    return Contact(
        id=contact_id,
        name=name or text(row, "CompanyName") or contact_id,
        company=text(row, "CompanyName"),
        phones=phones,
        source=ContactSource.PHONEBOOK,
        email=text(row, "Email"),
    )


MAX_RESOLVING_DIGITS = 32  # no phone number is longer; more is "match the whole number"


def phonebook_resolution_from_row(row: Row) -> PhonebookResolution:
    """``Pbx.PhoneBookSettings``: ``ResolvingType`` and ``ResolvingLength`` (the last N digits)."""
    raw = text(row, "ResolvingType")
    # By name as the spec has it; an OData enum may also arrive as its number (spec order).
    kinds = {kind.value.lower(): kind for kind in PhonebookResolving}
    kinds.update({str(n): kind for n, kind in enumerate(PhonebookResolving)})
    kind = kinds.get((raw or "").strip().lower())
    if kind is None:
        allowed = ", ".join(k.value for k in PhonebookResolving)
        raise UnreadableAnswer(
            f"ResolvingType {raw!r} is not one of {allowed}.", endpoint="/PhoneBookSettings"
        )
    length = integer(row, "ResolvingLength", low=1, high=MAX_RESOLVING_DIGITS)
    return PhonebookResolution(kind, length)


def system_status_from_row(row: Row) -> SystemStatus:
    return SystemStatus(
        fqdn=text(row, "FQDN"),
        version=text(row, "Version"),
        activated=boolean(row, "Activated"),
        licence_active=boolean(row, "LicenseActive"),
        expires_at=timestamp(row, "ExpirationDate"),
        recording_stopped=boolean(row, "RecordingStopped"),
        recording_quota_reached=boolean(row, "RecordingQuotaReached"),
        recording_used_bytes=integer(row, "RecordingUsedSpace", low=0),
        recording_quota=integer(row, "RecordingQuota", low=0),
        extensions_total=integer(row, "ExtensionsTotal", low=0),
        calls_active=integer(row, "CallsActive", low=0),
    )


def licence_from_rows(params: Row, status: Row) -> Licence:
    """``Pbx.GetLicenseParameters()`` and ``LicenseStatus`` together."""
    if boolean(params, "IsEnterprise"):
        edition = Edition.ENTERPRISE
    elif boolean(params, "IsProfessional"):
        edition = Edition.PROFESSIONAL
    elif boolean(params, "IsEnterprise") is False:
        edition = Edition.STANDARD
    else:
        edition = Edition.UNKNOWN
    cfd = boolean(params, "IsCfdEnabled")
    return Licence(
        active=boolean(status, "LicenseActive"),
        edition=edition,
        product_code=text(params, "ProductCode") or text(status, "ProductCode"),
        expires_at=timestamp(status, "ExpirationDate"),
        maintenance_expires_at=timestamp(status, "MaintenanceExpiresAt"),
        maintenance_expired=boolean(params, "IsMaintainceExpired", "IsMaintenanceExpired"),
        country_code=(text(params, "CountryCode") or text(status, "CountryCode") or "").upper()
        or None,
        max_sim_calls=integer(params, "MaxSimCalls", low=0)
        or integer(status, "MaxSimCalls", low=0),
        call_control_allowed=(edition is Edition.ENTERPRISE and cfd is not False)
        if edition is not Edition.UNKNOWN
        else None,
    )


def numbering_plan_from_row(row: Row) -> NumberingPlan:
    return NumberingPlan(
        country_code=text(row, "CountryCode"),
        area_code=text(row, "AreaCode"),
        national_prefix=text(row, "NationalCode"),
        international_prefix=text(row, "InternationalCode"),
    )


def participant_from_row(
    row: Row, dn_type: str = "", seen: WireSeen | None = None
) -> Participant | None:
    participant_id = integer(row, "id")
    dn = text(row, "dn")
    call_id = text(row, "callid")
    if participant_id is None or dn is None or call_id is None:
        return None
    caller_id, caller_name = caller_of(
        text(row, "party_caller_id") or "", text(row, "party_caller_name") or "", seen
    )
    if seen is not None and ";rinstance=" in (text(row, "device_id") or ""):
        seen.note(WireShape.RINSTANCE_DEVICES)
    return Participant(
        id=participant_id,
        dn=dn,
        status=text(row, "status") or "",
        call_id=call_id,
        party_caller_id=caller_id,
        party_caller_name=caller_name,
        party_dn=text(row, "party_dn") or "",
        party_dn_type=text(row, "party_dn_type") or "",
        party_did=text(row, "party_did") or "",
        dn_type=dn_type,
        leg_id=integer(row, "legid"),
        originated_by_dn=text(row, "originated_by_dn") or "",
        originated_by_type=text(row, "originated_by_type") or "",
    )


E164_NAME = re.compile(r"\+[1-9]\d{6,14}")


def caller_of(caller_id: str, caller_name: str, seen: WireSeen | None = None) -> tuple[str, str]:
    """The caller's number and name as a person would read them.

    Live PBXs were seen giving ``party_caller_id`` in national format while
    ``party_caller_name`` holds the same number in E.164 (API-NOTES §9.4). When the name is an
    E.164 number that ends with the national number's digits, it is the number, and there is
    no name.
    """
    name = caller_name.replace(" ", "")
    national = caller_id.lstrip("0")
    if (
        E164_NAME.fullmatch(name)
        and national.isdigit()
        and len(national) >= 6
        and name.endswith(national)
        and not caller_id.startswith("+")
    ):
        if seen is not None:
            seen.note(WireShape.NATIONAL_CALLER_IDS)
        return name, ""
    return caller_id, caller_name
