"""Tenant objects rendered in the v18 web API's wire shapes (API-NOTES §7, §9.9)."""

from __future__ import annotations

from datetime import datetime, tzinfo
from typing import Any

from app.sim.records import DN_EXTENSION, DN_EXTERNAL, Extension, Recording, Segment
from app.sim.timefmt import hms, iso, parse_iso
from app.sim.wire_quirks import WireQuirk, fractional_time
from app.sim.wire_v20 import CLEAN, CallLogShape, Row


def v18_extension(e: Extension) -> Row:
    return {
        "Id": e.id,
        "Number": e.number,
        "FirstName": e.first_name,
        "LastName": e.last_name,
        "Email": e.email,
        "MobileNumber": e.mobile,
        "IsRegistered": e.registered,
        "CurrentProfile": e.profile,
        "DND": False,
        "QueueStatus": "LoggedIn",
        "RecordCalls": e.record_calls and not e.forbid_recording,
    }


def v18_call_row(s: Segment) -> Row:
    def who(p: Any) -> str:
        if p.dn_type == DN_EXTENSION:
            return f"{p.name} ({p.dn})"
        if p.dn_type == DN_EXTERNAL:
            return str(p.caller_id)
        return f"{p.name} ({p.dn})"

    return {
        "Answered": s.answered,
        "CallTime": iso(s.start),
        "CallerId": who(s.src),
        "Destination": who(s.dst),
        "Duration": hms(s.talk_s),
    }


def v18_recording(r: Recording) -> Row:
    def who(p: Any) -> str:
        return p.caller_id if p.dn_type == DN_EXTERNAL else f"{p.name} ({p.dn})"

    return {
        "Id": r.id,
        "IsArchived": r.archived,
        "Date": iso(r.start),
        "Participants": [who(r.src), who(r.dst)],
        "CallerNumber": r.src.caller_id,
        "DID": r.src.did,
        "Duration": hms(r.seconds),
    }


V18_STATUS_KEYS = (
    "FQDN",
    "Version",
    "Activated",
    "MaxSimCalls",
    "ExtensionsRegistered",
    "ExtensionsTotal",
    "CallsActive",
    "DiskUsage",
    "ExpirationDate",
    "MaintenanceExpiresAt",
    "LicenseKey",
    "ProductCode",
    "LicenseActive",
    "RecordingUsedSpace",
    "RecordingQuota",
    "RecordingStopped",
    "RecordingQuotaReached",
    "FreeDiskSpace",
    "TotalDiskSpace",
)


def v18_system_status(status: Row, shape: CallLogShape = CLEAN) -> Row:
    """``/api/SystemStatus`` from the full status. Older bodies (§9.9) send no LicenseActive,
    a null expiry while the licence runs, and times with 7 digits in the PBX's own offset."""
    body = {k: status[k] for k in V18_STATUS_KEYS} | {"OS": "Linux", "IsAuditLogEnabled": True}
    if not shape.has(WireQuirk.V18_OLD_BODIES):
        return body
    if body.pop("LicenseActive"):
        body["ExpirationDate"] = None
    for key in ("ExpirationDate", "MaintenanceExpiresAt"):
        body[key] = _pbx_time(body[key], shape.zone)
    return body


def v18_active_calls(rows: list[Row], now: datetime, shape: CallLogShape = CLEAN) -> Row:
    """``/api/activeCalls``: ``{list}`` as the documents wrap lists; ``{Now, list}`` with the
    PBX's 7-digit times as live v18 PBXs answer (§9.9)."""
    if not shape.has(WireQuirk.V18_OLD_BODIES):
        return {"list": rows}
    times = ("EstablishedAt", "LastChangeStatus", "ServerNow")
    return {
        "Now": fractional_time(now, shape.zone),
        "list": [
            row | {key: _pbx_time(row[key], shape.zone) for key in times if key in row}
            for row in rows
        ],
    }


def _pbx_time(value: str | None, zone: tzinfo) -> str | None:
    return fractional_time(parse_iso(value), zone) if value else None
