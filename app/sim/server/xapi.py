"""The v20 XAPI (/xapi/v1/...): settings, people, departments, call history, recordings, API
clients (``api_clients``)."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from aiohttp import web

from app.sim import departments, office_hours, wire_v20
from app.sim.audio import tone_wav
from app.sim.odata import ODataQueryError, collection, entity, expanded
from app.sim.phonebook import phonebook_settings
from app.sim.records import Recording
from app.sim.server.api_clients import ApiClientRoutes
from app.sim.server.call_log import CALL_LOG_FUNCTION, call_log, rec_visible
from app.sim.server.pbx import Pbx
from app.sim.server.responses import json_response, not_found, odata_error, row_keys
from app.sim.server.tokens import bearer, unauthorized
from app.sim.wire_quirks import WireQuirk

# A GET of one exact path: (query, $metadata base) -> answer.
Getter = Callable[[Any, str], web.StreamResponse]
DOWNLOAD = re.compile(r"Recordings/Pbx\.DownloadRecording\(recId=(-?\d+)\)")
USER = re.compile(r"Users\((\d+)\)")


def _rows(rows: list[dict[str, Any]], q: Any, context: str) -> web.Response:
    """A collection whose $select may name any field of its rows."""
    return json_response(collection(rows, q, context=context, fields=row_keys(rows)))


def _unknown(tail: str) -> web.Response:
    return not_found(tail.split("(")[0].split("/")[0])


def _capability(tail: str) -> str | None:
    """What a GET needs of the API user's role (API-NOTES §3), if anything."""
    if tail == "CallHistoryView" or tail.startswith(CALL_LOG_FUNCTION):
        return "history"
    if tail == "Recordings" or DOWNLOAD.fullmatch(tail):
        return "recordings"
    return None


class XapiRoutes:
    def __init__(self, pbx: Pbx) -> None:
        self.pbx = pbx
        self.api_clients = ApiClientRoutes(pbx)
        # Each recording's row as last written, with what it was written from: a sweep lists
        # every recording several times, and a recording changes only by being archived.
        self._recording_rows: dict[int, tuple[Recording, bool, str, dict[str, Any]]] = {}
        self._gets: dict[str, Getter] = {
            "Defs": lambda q, base: json_response(entity({"Id": 0}, q, context=f"{base}Defs")),
            "SystemStatus": self._system_status,
            "Defs/Pbx.GetLicenseParameters()": self._licence,
            "LicenseStatus": self._licence_status,
            "E164Settings": self._e164,
            "OfficeHours": lambda q, base: json_response(self._office_hours(q, base)),
            "PhoneBookSettings": self._phonebook_settings,
            "Defs/TimeZones": self._time_zones,
            "Users": self._users,
            "Queues": self._queues,
            "Contacts": self._contacts,
            "InboundRules": self._inbound_rules,
            "ActiveCalls": self._active_calls,
            "Groups": self._groups,
            "CallHistoryView": self._call_history,
            "Recordings/Pbx.GetRecordingRepositorySettings()": self._repository_settings,
            "Recordings": self._recordings,
        }

    async def handle(self, request: web.Request, tail: str) -> web.StreamResponse:
        pbx = self.pbx
        token = bearer(pbx, request)
        if token is None:
            return unauthorized()
        if not pbx.principal_allows(token, "XAPIEnabled"):
            return web.Response(status=403)  # "XAPI Access" not ticked (status UNCONFIRMED)
        base = f"{pbx.url}/xapi/v1/$metadata#"
        q = request.query
        clients = self.api_clients
        try:
            if request.method == "POST":
                if clients.handles(tail):
                    return await clients.post(request, tail, token, base)
                return _unknown(tail)
            if request.method == "PATCH" and clients.handles(tail):
                return await clients.patch(request, tail, token)
            if request.method != "GET":
                return odata_error(405, "Method not allowed")
            need = _capability(tail)
            if need is not None and pbx.role_refuses(token, need):
                return web.Response(status=403)
            if clients.handles(tail):
                return clients.get(tail, q, base)
            return self._get(tail, q, base)
        except ODataQueryError as exc:
            return odata_error(400, str(exc), "WARNINGS.XAPI.INVALID_QUERY", "$filter")

    def _get(self, tail: str, q: Any, base: str) -> web.StreamResponse:
        getter = self._gets.get(tail)
        if getter is not None:
            return getter(q, base)
        m = USER.fullmatch(tail)
        if m:
            return self._user(int(m.group(1)), q, base)
        if tail.startswith(CALL_LOG_FUNCTION):
            return call_log(self.pbx, tail, q, base)
        m = DOWNLOAD.fullmatch(tail)
        if m:
            return self._download(int(m.group(1)))
        return _unknown(tail)

    # ---- settings --------------------------------------------------------------------------
    def _system_status(self, q: Any, base: str) -> web.Response:
        return json_response(entity(self.pbx.system_status(), q, context=f"{base}SystemStatus"))

    def _licence(self, q: Any, base: str) -> web.Response:
        tail = "Defs/Pbx.GetLicenseParameters()"
        if self.pbx.faults.active("licence-unreadable"):
            return json_response({"@odata.context": f"{base}{tail}", "value": None})
        return json_response({"@odata.context": f"{base}Pbx.License", **self.pbx.licence()})

    def _licence_status(self, q: Any, base: str) -> web.Response:
        if self.pbx.faults.active("licence-unreadable"):
            return json_response({"@odata.context": f"{base}LicenseStatus", "value": None})
        row = self.pbx.licence_status()
        return json_response(entity(row, q, context=f"{base}LicenseStatus"))

    def _e164(self, q: Any, base: str) -> web.Response:
        row = wire_v20.e164(self.pbx.tenant)
        return json_response(entity(row, q, context=f"{base}E164Settings"))

    def _office_hours(self, q: Any, base: str) -> dict[str, Any]:
        tenant = self.pbx.tenant
        row = office_hours.office_hours(tenant.office_hours, tenant.clock())
        holidays = row.pop("OfficeHolidays")
        body = entity(row, q, context=f"{base}OfficeHours")
        if "OfficeHolidays" in expanded(q):  # a navigation property: only when expanded
            body["OfficeHolidays"] = holidays
        return body

    def _phonebook_settings(self, q: Any, base: str) -> web.Response:
        row = phonebook_settings(self.pbx.faults.value("phonebook-resolving"))
        return json_response(entity(row, q, context=f"{base}PhoneBookSettings"))

    def _time_zones(self, q: Any, base: str) -> web.Response:
        rows = office_hours.time_zones(self.pbx.tenant.office_hours.timezone)
        return _rows(rows, q, f"{base}Defs/TimeZones")

    def _repository_settings(self, q: Any, base: str) -> web.Response:
        del q
        return json_response(
            {
                "@odata.context": f"{base}Pbx.RecordingRepositorySettings",
                **self.pbx.repository_settings(),
            }
        )

    # ---- people and numbers ----------------------------------------------------------------
    def _users(self, q: Any, base: str) -> web.Response:
        rows = self.pbx.users(expand_groups="Groups" in expanded(q))
        fields = set(rows[0]) | wire_v20.USER_NAV if rows else None
        return json_response(
            collection(rows, q, context=f"{base}Users", fields=fields, max_top=100)
        )

    def _user(self, user_id: int, q: Any, base: str) -> web.Response:
        users = self.pbx.users(expand_groups="Groups" in expanded(q))
        found = [u for u in users if u["Id"] == user_id]
        if not found:
            return not_found("Users")
        return json_response(entity(found[0], q, context=f"{base}Users", singleton=False))

    def _queues(self, q: Any, base: str) -> web.Response:
        tenant = self.pbx.tenant
        rows = [
            wire_v20.queue(tenant, x, expand_agents="Agents" in expanded(q)) for x in tenant.queues
        ]
        fields = set(rows[0]) | wire_v20.QUEUE_NAV if rows else None
        return json_response(collection(rows, q, context=f"{base}Queues", fields=fields))

    def _contacts(self, q: Any, base: str) -> web.Response:
        rows = [wire_v20.contact(c) for c in self.pbx.tenant.contacts]
        return _rows(rows, q, f"{base}Contacts")

    def _inbound_rules(self, q: Any, base: str) -> web.Response:
        tenant = self.pbx.tenant
        rows = [wire_v20.inbound_rule(tenant, r) for r in tenant.inbound_rules]
        return _rows(rows, q, f"{base}InboundRules")

    def _active_calls(self, q: Any, base: str) -> web.Response:
        rows = self.pbx.active_calls_v20()
        return _rows(rows, q, f"{base}ActiveCalls")

    def _groups(self, q: Any, base: str) -> web.Response:
        """The departments; their ``Members`` (a navigation property) when expanded."""
        pbx = self.pbx
        extensions = pbx.tenant.extensions
        expand = frozenset(expanded(q)) & {"Members"}
        rows = []
        for d in pbx.departments():
            row = departments.group_row(d)
            if expand:
                row["Members"] = departments.member_rows(d, extensions)
            rows.append(row)
        if WireQuirk.FAVORITES_GROUPS in pbx.wire:
            favorites = departments.favorites_row(extensions[0])
            rows.insert(0, favorites | ({"Members": []} if expand else {}))
        fields = set(rows[0]) | {"Members"}
        body = collection(rows, q, context=f"{base}Groups", fields=fields, keep=expand)
        return json_response(body)

    # ---- call history and recordings -------------------------------------------------------
    def _call_history(self, q: Any, base: str) -> web.Response:
        pbx = self.pbx
        visible = pbx.visible_recording_ids()
        rows = [
            wire_v20.call_history_row(s, rec_visible(s, visible))
            for s in reversed(pbx.tenant.segments)
        ]
        return _rows(rows, q, f"{base}CallHistoryView")

    def _recordings(self, q: Any, base: str) -> web.Response:
        pbx = self.pbx
        visible = pbx.visible_recording_ids()
        rows = [
            self._recording_row(r)
            for rid, r in sorted(pbx.tenant.recordings.items(), reverse=True)
            if rid in visible
        ]
        return _rows(rows, q, f"{base}Recordings")

    def _recording_row(self, rec: Recording) -> dict[str, Any]:
        """``wire_v20.recording``, written again only when the recording (or where archives
        live) changed. The routes never change a row they answer with."""
        base = self.pbx.archive_base
        kept = self._recording_rows.get(rec.id)
        if kept is not None and kept[0] is rec and kept[1] == rec.archived and kept[2] == base:
            return kept[3]
        row = wire_v20.recording(rec, base)
        self._recording_rows[rec.id] = (rec, rec.archived, base, row)
        return row

    def _download(self, rid: int) -> web.Response:
        pbx = self.pbx
        rec = pbx.tenant.recordings.get(rid)
        if rec is None or rec.archived or rid not in pbx.visible_recording_ids():
            if pbx.faults.active("file-not-found-404"):
                return web.Response(status=404)
            return odata_error(400, "File not found", "WARNINGS.XAPI.FILE_NOT_FOUND", "recId")
        return web.Response(
            body=tone_wav(rid, min(3.0, max(1.0, rec.seconds / 60))),
            content_type="audio/x-wav",
            headers={
                "Content-Disposition": f'attachment; filename="{pbx.recording_filename(rid)}"'
            },
        )
