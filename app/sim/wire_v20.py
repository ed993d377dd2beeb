"""Tenant objects rendered in 3CX's v20 (XAPI) wire shapes (v18: app/sim/wire_v18.py; the quirks live PBXs add: app/sim/wire_quirks.py)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Any

from app.sim.calls import call_type_of
from app.sim.records import (
    DN_EXTERNAL,
    DN_QUEUE,
    Contact,
    Extension,
    InboundRule,
    Queue,
    Recording,
    Segment,
)
from app.sim.tenant import Tenant
from app.sim.timefmt import iso, iso_duration
from app.sim.wire_quirks import (
    WireQuirk,
    fractional_time,
    last_first,
    main_history_id,
    recording_path,
    six_decimal_duration,
)

Row = dict[str, Any]

ROLE_UI_NAMES = {
    "system_owners": "System Owner",
    "system_admins": "System Administrator",
    "group_owners": "Owner",
    "managers": "Manager",
    "group_admins": "Group Administrator",
    "receptionists": "Receptionist",
    "users": "User",
}


def download_path(rec_id: int) -> str:
    return f"/xapi/v1/Recordings/Pbx.DownloadRecording(recId={rec_id})"


def rights(role: str) -> Row:
    admin = role in ("system_owners", "system_admins")
    manager = admin or role in ("group_owners", "managers", "group_admins")
    return {
        "RoleName": role,
        "AllowIVR": admin,
        "AllowParking": True,
        "AllowToChangePresence": True,
        "AllowToManageCompanyBook": manager,
        "AssignClearOperations": manager,
        "CanBargeIn": manager,
        "CanIntercom": manager,
        "CanSeeGroupCalls": manager,
        "CanSeeGroupMembers": True,
        "CanSeeGroupRecordings": manager,
        "Invalid": False,
        "PerformOperations": manager,
        "ShowMyCalls": True,
        "ShowMyPresence": True,
        "ShowMyPresenceOutside": False,
    }


def membership(e: Extension, group_id: int, group_name: str) -> Row:
    """One user's place in a department (``Pbx.UserGroup``): in the user's ``Groups`` and in
    the department's ``Members`` alike."""
    return {
        "GroupId": group_id,
        "Id": 100 + e.id,
        "Name": group_name,
        "MemberName": e.display_name,
        "Number": e.number,
        "CanDelete": False,
        "Type": "Extension",
        "Rights": rights(e.role),
        "Tags": [],
    }


def user(
    t: Tenant,
    e: Extension,
    *,
    not_recording: bool,
    expand_groups: bool,
    group: tuple[int, str] = (28, "DEFAULT"),
) -> Row:
    """A ``Pbx.User``; ``group`` is the (Id, Name) of the department the user sits in."""
    rec = t.effective_record(e, not_recording) if not e.forbid_recording else False
    row: Row = {
        "Id": e.id,
        "Number": e.number,
        "FirstName": e.first_name,
        "LastName": e.last_name,
        "DisplayName": e.display_name,
        "EmailAddress": e.email,
        "Mobile": e.mobile,
        "OutboundCallerID": t.dids[0],
        "Enabled": True,
        "IsRegistered": e.registered,
        "Internal": False,
        "CurrentProfileName": e.profile,
        "QueueStatus": "LoggedIn" if any(e.number in q.agents for q in t.queues) else "LoggedOut",
        "RecordCalls": rec,
        "RecordExternalCallsOnly": e.record_external_only,
        "RecordEmailNotify": False,
        "AllowOwnRecordings": e.allow_own_recordings,
        "MyPhoneShowRecordings": e.allow_own_recordings,
        "MyPhoneAllowDeleteRecordings": False,
        "ForbidRecording": e.forbid_recording,
        "SendEmailMissedCalls": True,
        "VMEnabled": True,
        "Language": "EN",
        "PrimaryGroupId": group[0],
        "TranscriptionMode": "Nothing",
        "ClickToCallId": e.email.split("@")[0].replace(".", ""),
        "Tags": [],
    }
    if expand_groups:
        row["Groups"] = [membership(e, *group)]
    return row


USER_NAV = {"Groups"}
QUEUE_NAV = {"Agents", "Managers"}


def queue(t: Tenant, q: Queue, *, expand_agents: bool) -> Row:
    row: Row = {
        "Id": q.id,
        "Number": q.number,
        "Name": q.name,
        "PollingStrategy": q.strategy,
        "Recording": q.recording,
        "RingTimeout": q.ring_timeout,
        "MasterTimeout": 90,
        "MaxCallersInQueue": 10,
        "IsRegistered": True,
        "AnnounceQueuePosition": False,
        "EnableIntro": False,
        "SLATime": 60,
        "WrapUpTime": 0,
        "PriorityQueue": False,
        "TranscriptionMode": "Nothing",
        "ClickToCallId": q.name.lower(),
    }
    if expand_agents:
        agents = []
        for dn in q.agents:
            e = t.ext(dn)
            agents.append(
                {
                    "Id": e.id if e else 0,
                    "Number": dn,
                    "Name": e.display_name if e else dn,
                    "SkillGroup": "1",
                    "Tags": [],
                }
            )
        row["Agents"] = agents
    return row


def contact(c: Contact) -> Row:
    return {
        "Id": c.id,
        "FirstName": c.first_name,
        "LastName": c.last_name,
        "CompanyName": c.company,
        "PhoneNumber": c.phone,
        "Mobile2": c.mobile,
        "Business": c.business,
        "Business2": "",
        "BusinessFax": "",
        "Home": "",
        "Other": "",
        "Pager": "",
        "Email": c.email,
        "Department": "",
        "Title": "",
        "Tag": "",
        "ContactType": "3CX",
    }


def _party_caller(p: Any) -> str:
    return str(p.caller_id)


@dataclass(frozen=True)
class CallLogShape:
    """How this PBX writes call-log rows: which live-PBX quirks, and its time zone."""

    quirks: frozenset[WireQuirk] = frozenset()
    zone: tzinfo = UTC

    def has(self, quirk: WireQuirk) -> bool:
        return quirk in self.quirks


CLEAN = CallLogShape()


def call_log_row(s: Segment, rec_visible: bool, shape: CallLogShape = CLEAN) -> Row:
    rec = s.recording if rec_visible else None
    fractional = shape.has(WireQuirk.FRACTIONAL_TIMES)
    duration = six_decimal_duration if fractional else iso_duration
    start = fractional_time(s.start, shape.zone) if fractional else iso(s.start)
    return {
        **_log_ids(s),
        "StartTime": start,
        **_log_parties(s, shape),
        "ActionType": s.action_type,
        "ActionDnType": None,
        "actionDnDn": None,
        "ActionDnCallerId": None,
        "ActionDnDisplayName": None,
        "RingingDuration": duration(s.ring_s),
        "TalkingDuration": duration(s.talk_s),
        "CallCost": None,
        "Answered": s.answered,
        **_log_kind(s, shape),
        "Status": "Answered" if s.answered else "Unanswered",
        "Reason": s.reason,
        **_log_recording(s, rec, shape),
        "QualityReport": False,
        "Transcription": None,
        "Summary": None,
        "SentimentScore": None,
        "Recordings": [],
    }


def _log_ids(s: Segment) -> Row:
    return {
        "CdrId": s.cdr_id,
        "CallHistoryId": s.cdr_id,
        # The call's legs share it (§9.1); each leg has its own CdrId/CallHistoryId.
        "MainCallHistoryId": main_history_id(s.call_id),
        "CallId": s.call_id,
        "SegmentId": s.segment_id,
        "Indent": 0,
        "SubrowDescNumber": 0,
    }


def _log_parties(s: Segment, shape: CallLogShape) -> Row:
    names = last_first if shape.has(WireQuirk.LAST_FIRST_NAMES) else str
    return {
        "SourceType": s.src.dn_type,
        "SourceDn": s.src.dn,
        "SourceCallerId": s.src.caller_id,
        "SourceDisplayName": names(s.src.name),
        "DestinationType": s.dst.dn_type,
        "DestinationDn": s.dst.dn,
        "DestinationCallerId": s.dst.caller_id,
        "DestinationDisplayName": names(s.dst.name),
    }


def _log_kind(s: Segment, shape: CallLogShape) -> Row:
    """Direction and CallType; some PBXs mark the queue's own leg (§9.6)."""
    if s.dst.dn_type == DN_QUEUE and shape.has(WireQuirk.QUEUE_ROWS):
        return {"Direction": "Inbound Queue", "CallType": "Queue"}
    return {"Direction": s.direction, "CallType": call_type_of(s.direction)}


def _log_recording(s: Segment, rec: Recording | None, shape: CallLogShape) -> Row:
    return {
        "RecordingUrl": _recording_url(s, rec, shape),
        "SrcRecId": rec.id if rec and s.rec_on_src else None,
        "DstRecId": rec.id if rec and not s.rec_on_src else None,
    }


def _recording_url(s: Segment, rec: Recording | None, shape: CallLogShape) -> str | None:
    if rec is None:
        return None
    if not shape.has(WireQuirk.RECORDING_PATHS):
        return download_path(rec.id)
    inside = rec.src if s.rec_on_src else rec.dst
    outside = rec.dst if s.rec_on_src else rec.src
    return recording_path(inside.dn, outside.name, outside.caller_id, rec.start, rec.id, shape.zone)


def call_history_row(s: Segment, rec_visible: bool) -> Row:
    rec = s.recording if rec_visible else None

    def num(p: Any) -> str:
        return p.caller_id if p.dn_type == DN_EXTERNAL else f"Ext.{p.dn}"

    return {
        "SegmentId": s.segment_id,
        "SegmentStartTime": iso(s.start),
        "SegmentEndTime": iso(s.end),
        "SegmentType": 2 if s.answered else 1,
        "SegmentActionId": s.action_type,
        "SrcId": s.src_participant,
        "SrcParticipantId": s.src_participant,
        "SrcDn": s.src.dn,
        "SrcDnType": s.src.dn_type,
        "SrcCallerNumber": num(s.src),
        "SrcDisplayName": s.src.name,
        "SrcExtendedDisplayName": s.src.name,
        "SrcExternal": s.src.dn_type == DN_EXTERNAL,
        "SrcInternal": s.src.dn_type != DN_EXTERNAL,
        "SrcRecId": rec.id if rec and s.rec_on_src else None,
        "DstId": s.dst_participant,
        "DstParticipantId": s.dst_participant,
        "DstDn": s.dst.dn,
        "DstDnType": s.dst.dn_type,
        "DstCallerNumber": num(s.dst),
        "DstDisplayName": s.dst.name,
        "DstExtendedDisplayName": s.dst.name,
        "DstExternal": s.dst.dn_type == DN_EXTERNAL,
        "DstInternal": s.dst.dn_type != DN_EXTERNAL,
        "DstRecId": rec.id if rec and not s.rec_on_src else None,
        "CallTime": iso_duration(s.talk_s),
        "CallAnswered": s.answered,
    }


def recording(r: Recording, archive_base: str) -> Row:
    def num(p: Any) -> str:
        return p.caller_id if p.dn_type == DN_EXTERNAL else f"Ext.{p.dn}"

    return {
        "Id": r.id,
        "RefParticipantId": r.participant_id,
        "FromIdParticipant": r.participant_id,
        "ToIdParticipant": r.participant_id + 1,
        "RecordingUrl": download_path(r.id),
        "StartTime": iso(r.start),
        "EndTime": iso(r.end),
        "CallType": r.call_type,
        "FromDn": r.src.dn,
        "FromDnType": r.src.dn_type,
        "FromCallerNumber": num(r.src),
        "FromDisplayName": r.src.name,
        "FromDidNumber": r.src.did or None,
        "FromCrmContact": r.src_crm,
        "ToDn": r.dst.dn,
        "ToDnType": r.dst.dn_type,
        "ToCallerNumber": num(r.dst),
        "ToDisplayName": r.dst.name,
        "ToDidNumber": r.dst.did or None,
        "ToCrmContact": r.dst_crm,
        "IsArchived": r.archived,
        "ArchivedUrl": f"{archive_base}/{r.id}.wav" if r.archived else None,
        "Transcription": None,
        "Summary": None,
        "SentimentScore": None,
        "IsTranscribed": False,
        "TranscriptionResult": None,
        "CanBeTranscribed": False,
    }


def licence_dates(now: datetime, expired: bool) -> tuple[datetime, datetime]:
    if expired:
        return now - timedelta(days=12), now - timedelta(days=12)
    return now + timedelta(days=287), now + timedelta(days=287)


def product_code(version: str) -> str:
    return "3CXPSENT" if version.startswith("20") else "3CXPSPROFENT"


def system_status(
    t: Tenant,
    version: str,
    now: datetime,
    *,
    expired: bool,
    stopped: bool,
    calls_active: int,
    recording_bytes: int,
) -> Row:
    return {
        "Id": 0,
        "FQDN": t.fqdn,
        "Version": version,
        **_status_licence(version, now, expired),
        "MaxSimCalls": 16,
        "CallsActive": calls_active,
        "ExtensionsRegistered": sum(1 for e in t.extensions if e.registered),
        "ExtensionsTotal": len(t.extensions),
        "UserExtensions": len(t.extensions),
        "MaxUserExtensions": 500,
        "TrunksRegistered": 1,
        "TrunksTotal": 1,
        "OutboundRules": 2,
        **_status_storage(stopped, recording_bytes),
        **_STATUS_HOST,
        **_status_maintenance(now),
    }


def _status_licence(version: str, now: datetime, expired: bool) -> Row:
    exp, maint = licence_dates(now, expired)
    return {
        "Activated": True,
        "LicenseActive": not expired,
        "LicenseKey": "XXXX-XXXX-XXXX-7F3A",
        "ProductCode": product_code(version),
        "ExpirationDate": iso(exp),
        "MaintenanceExpiresAt": iso(maint),
        "Support": not expired,
        "ResellerName": "Connect Zero",
    }


def _status_storage(stopped: bool, recording_bytes: int) -> Row:
    return {
        "RecordingUsedSpace": recording_bytes,
        "RecordingQuota": 10 * 1024**3,
        "RecordingQuotaReached": stopped,
        "RecordingStopped": stopped,
        "IsRecordingArchiveEnabled": True,
        "VoicemailQuotaReached": False,
        "VoicemailStopped": False,
        "ChatUsedSpace": 1_048_576,
        "LogUsedSpace": 52_428_800,
        "DiskUsage": 37,
        "FreeDiskSpace": 40 * 1024**3,
        "TotalDiskSpace": 64 * 1024**3,
    }


# The simulated host never changes.
_STATUS_HOST: Row = {
    "OS": "Linux",
    "Ip": "203.0.113.10",
    "IpV4": "203.0.113.10",
    "IpV6": None,
    "CurrentLocalIp": "10.0.0.10",
    "AvailableLocalIps": "10.0.0.10",
    "LocalIpValid": True,
}


def _status_maintenance(now: datetime) -> Row:
    return {
        "AutoUpdateEnabled": True,
        "BackupScheduled": True,
        "LastBackupDateTime": iso(now.replace(hour=2, minute=0, second=0, microsecond=0)),
        "LastCheckForUpdates": iso(now - timedelta(hours=5)),
        "LastSuccessfulUpdate": iso(now - timedelta(days=20)),
        "HasNotRunningServices": False,
        "HasUnregisteredSystemExtensions": False,
        "IsAuditLogEnabled": True,
        "IsChatLogEnabled": False,
        "DBMaintenanceInProgress": False,
        "RemoteConfigurationRequired": False,
        "RemoteStorageEnabled": False,
        "RemoteStorageStatus": "NotConfigured",
    }


def licence(t: Tenant, version: str, *, expired: bool) -> Row:
    return {
        "CountryCode": t.country.code,
        "IsEnterprise": True,
        "IsProfessional": False,
        "IsCfdEnabled": True,
        "IsMaintainceExpired": expired,
        "IsBrandingEnabled": False,
        "MaxSimCalls": 16,
        "ProductCode": product_code(version),
    }


COUNTRY_NAMES = {"AU": "Australia", "US": "United States", "GB": "United Kingdom"}


def licence_status(t: Tenant, version: str, now: datetime, *, expired: bool) -> Row:
    exp, maint = licence_dates(now, expired)
    return {
        "Activated": True,
        "LicenseActive": not expired,
        "LicenseKey": "XXXX-XXXX-XXXX-7F3A",
        "ExpirationDate": iso(exp),
        "MaintenanceExpiresAt": iso(maint),
        "MaxSimCalls": 16,
        "SimMeetingParticipants": 25,
        "ProductCode": product_code(version),
        "ActiveModules": ["Enterprise", "Recording", "CallFlowDesigner"],
        "CountryCode": t.country.code,
        "CountryName": COUNTRY_NAMES[t.country.code],
        "CompanyName": t.company,
        "ContactName": t.extensions[0].display_name,
        "EMail": t.extensions[0].email,
        "AdminEMail": t.extensions[0].email,
        "Telephone": t.dids[0],
        "ResellerName": "Connect Zero",
        "Support": not expired,
        "Version": version,
    }


def e164(t: Tenant) -> Row:
    c = t.country
    return {
        "CountryCode": c.dial,
        "CountryName": COUNTRY_NAMES[c.code],
        "AreaCode": c.area,
        "NationalCode": c.national,
        "InternationalCode": c.international,
        "Prefix": "",
        "Enabled": True,
        "RemoveAreaCode": False,
        "RemoveCountryCode": True,
    }


def repository_settings(retention_days: int | None, used_bytes: int) -> Row:
    return {
        "AutoDeleteRecordingEnabled": retention_days is not None,
        "AutoDeleteRecordingDays": retention_days if retention_days is not None else 365,
        "RecordingPath": "/var/lib/3cxpbx/Instance1/Data/Recordings",
        "RecordingsQuota": 10240,
        "RecordingDiskSpace": 10240,
        "RecordingUsedSpace": used_bytes,
        "IsRecordingArchiveEnabled": True,
    }


def inbound_rule(t: Tenant, r: InboundRule) -> Row:
    dest: dict[str, Any] = {
        "To": r.dest_type,
        "Number": r.dest_number,
        "Name": r.dest_name,
        "External": None,
        "Type": r.dest_type,
        "Tags": [],
    }
    return {
        "Id": r.id,
        "RuleName": r.name,
        "Data": r.did,
        "CallType": "AllCalls",
        "Condition": "BasedOnDID",
        "CustomData": None,
        "AlterDestinationDuringHolidays": False,
        "AlterDestinationDuringOutOfOfficeHours": False,
        "OfficeHoursDestination": dest,
        "OutOfOfficeHoursDestination": dest,
        "HolidaysDestination": dest,
        "TrunkDN": {
            "Id": 1,
            "Number": t.TRUNK_DN,
            "Name": "SIP Trunk",
            "Type": "ExternalLine",
            "Hidden": False,
            "Tags": [],
        },
    }
