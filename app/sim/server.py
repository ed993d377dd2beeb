"""The HTTP + websocket server: v20 XAPI, token, Call Control, v18 web API, /_sim control."""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import secrets
import time
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from aiohttp import WSMsgType, web

from app.sim import office_hours, wire, wire_v18
from app.sim.audio import tone_wav
from app.sim.faults import UnknownFault
from app.sim.odata import ODataQueryError, collection, entity, error_body, expanded
from app.sim.phonebook import phonebook_settings
from app.sim.tenant import Segment
from app.sim.timefmt import iso, parse_iso
from app.sim.webhooks import RECORDS_PATH
from app.sim.wire_quirks import (
    WireQuirk,
    last_first,
    national,
    renumber_per_response,
    without_plus,
)

if TYPE_CHECKING:
    from app.sim.engine import Participant
    from app.sim.simulator import Simulator

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

CALL_LOG_PARAMS = (
    "periodFrom",
    "periodTo",
    "sourceType",
    "sourceFilter",
    "destinationType",
    "destinationFilter",
    "callsType",
    "callTimeFilterType",
    "callTimeFilterFrom",
    "callTimeFilterTo",
    "hidePcalls",
)
V18_COOKIE = ".AspNetCore.Cookies"
# The v18 recording download forms the client knows, in its order (API-NOTES §7: unconfirmed).
V18_DOWNLOAD_FORMS = ("RecordingList/Download", "RecordingList/DownloadRecord")
LOOPBACK = {"127.0.0.1", "::1", "localhost"}


def _json(body: Any, status: int = 200) -> web.Response:
    return web.Response(
        status=status,
        text=json.dumps(body, separators=(",", ":")),
        content_type="application/json",
        charset="utf-8",
    )


def _odata_error(status: int, message: str, detail: str = "", target: str = "") -> web.Response:
    return _json(error_body(message, detail, target), status)


def _not_found(target: str) -> web.Response:
    return _odata_error(404, "Not Found", "WARNINGS.XAPI.NOT_FOUND", target)


def _split_args(text: str) -> list[str]:
    parts, cur, quoted = [], "", False
    for ch in text:
        if ch == "'":
            quoted = not quoted
        if ch == "," and not quoted:
            parts.append(cur)
            cur = ""
        else:
            cur += ch
    parts.append(cur)
    return parts


class SimServer:
    def __init__(self, sim: Simulator) -> None:
        self.sim = sim
        self.app = web.Application(middlewares=[self._middleware])
        self.app.router.add_route("*", "/{tail:.*}", self._dispatch)
        self.websockets: set[web.WebSocketResponse] = set()
        self._refresh_tokens: dict[str, str] = {}  # admin console refresh token -> user
        # Set while at least one Call Control websocket is open (tests and demos wait on it).
        self.subscribed = asyncio.Event()
        self.closing = asyncio.Event()
        self.v18_sessions: dict[str, float] = {}

    # ---- middleware: faults, latency, version header ---------------------------------------
    @web.middleware
    async def _middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        sim = self.sim
        faults = sim.faults
        # The add-on's MP3 folder is its own web service: the PBX's faults do not reach it.
        if request.path.startswith(("/_sim/", "/webhooks/")):
            return await handler(request)
        if faults.active("hang"):
            await self.closing.wait()
            if request.transport is not None:
                request.transport.close()
            raise web.HTTPServiceUnavailable()
        if sim.config.latency_ms > 0:
            await asyncio.sleep(sim.config.latency_ms / 1000)
        if faults.take_flaky():
            resp: web.StreamResponse = web.Response(
                status=503, text="Service Unavailable", headers={"Retry-After": "1"}
            )
        elif faults.active("drop-connection") and request.path != "/callcontrol/ws":
            return await self._drop(request)
        else:
            resp = await handler(request)
            if (
                faults.active("garbage-body")
                and request.method == "GET"
                and request.path.startswith("/xapi/")
                and resp.status == 200
                and isinstance(resp, web.Response)
                and resp.content_type == "application/json"
            ):
                resp = web.Response(
                    text="<html><head><title>3CX</title></head><body>Loading…</body></html>",
                    content_type="text/html",
                )
        if isinstance(resp, web.Response) and request.path.startswith("/xapi/"):
            resp = self._collection_variants(request, resp)
        if sim.is_v20 and not resp.prepared and not faults.active("no-version-header"):
            resp.headers["X-3CX-Version"] = sim.version
        return resp

    def _collection_variants(self, request: web.Request, resp: web.Response) -> web.Response:
        """Server-driven paging and silent $top caps, as some OData servers do."""
        faults = self.sim.faults
        query = request.rel_url.query
        if faults.active("top-limit") and query.get("$top", "").isdigit():
            limit = int(faults.float_value("top-limit", 50))
            if int(query["$top"]) > limit and resp.status == 200:
                return _odata_error(
                    400,
                    f"The limit of '{limit}' for Top query has been exceeded. "
                    f"The value from the incoming request is '{query['$top']}'.",
                    "WARNINGS.XAPI.INVALID_QUERY",
                    "$top",
                )
        paging = faults.active("server-paging")
        capped = faults.active("silent-top-cap")
        if not (paging or capped) or resp.status != 200 or resp.content_type != "application/json":
            return resp
        body = json.loads(resp.body) if isinstance(resp.body, bytes) else None
        if not isinstance(body, dict) or not isinstance(body.get("value"), list):
            return resp
        rows = body["value"]
        top = int(query["$top"]) if query.get("$top", "").isdigit() else None
        if capped:
            cap = int(faults.float_value("silent-top-cap", 50))
            if top is not None and top > cap:
                body["value"] = rows[:cap]
        elif paging:
            size = int(faults.float_value("server-paging", 50))
            if len(rows) > size:
                skip = int(query.get("$skip", "0") or 0) + size
                rest = dict(query, **{"$skip": str(skip)})
                if top is not None:
                    rest["$top"] = str(top - size)
                body["value"] = rows[:size]
                body["@odata.nextLink"] = str(request.url.with_query(rest))
        return _json(body)

    async def _drop(self, request: web.Request) -> web.StreamResponse:
        resp = web.StreamResponse(status=200, headers={"Content-Type": "application/json"})
        resp.content_length = 4096
        if self.sim.is_v20:
            resp.headers["X-3CX-Version"] = self.sim.version
        await resp.prepare(request)
        await resp.write(b'{"@odata.context":"')
        if request.transport is not None:
            request.transport.abort()
        return resp

    # ---- routing ---------------------------------------------------------------------------
    async def _dispatch(self, request: web.Request) -> web.StreamResponse:
        path = request.path
        sim = self.sim
        if path.startswith("/_sim/"):
            return await self._control(request)
        if path.startswith(RECORDS_PATH) and request.method == "GET":
            return sim.webhooks.record_response(path)
        if sim.is_v20:
            if path == "/connect/token" and request.method == "POST":
                return await self._token(request)
            if path == "/webclient/api/Login/GetAccessToken" and request.method == "POST":
                return await self._user_login(request)
            if path.startswith("/xapi/v1/"):
                return await self._xapi(request, path[len("/xapi/v1/") :])
            if path == "/callcontrol/ws":
                return await self._ws(request)
            if path == "/callcontrol" or path.startswith("/callcontrol/"):
                return await self._callcontrol(request, path)
        elif path.startswith("/api/"):
            return await self._v18(request, path[len("/api/") :])
        return web.Response(status=404)

    # ---- auth ------------------------------------------------------------------------------
    def _token_json(self, lifetime_s: float, value: str) -> dict[str, Any]:
        expires = int(lifetime_s) if self.sim.expires_in_seconds else max(1, int(lifetime_s // 60))
        claimed = self.sim.faults.value("token-expires-in-says")
        if claimed is not None:
            expires = int(claimed)  # expires_in says one thing, the JWT's exp another (§9.2)
        return {
            "token_type": "Bearer",
            "expires_in": expires,
            "access_token": value,
            "refresh_token": None,
        }

    async def _token(self, request: web.Request) -> web.Response:
        sim = self.sim
        form = await request.post()
        # No trimming: a real PBX rejects a key pasted with stray whitespace.
        client_id = str(form.get("client_id", ""))
        secret = str(form.get("client_secret", ""))
        grant = str(form.get("grant_type", ""))
        if grant == "refresh_token":
            return self._refresh_admin(str(form.get("refresh_token", "")))
        if grant != "client_credentials":
            return _json({"error": "unsupported_grant_type"}, 400)
        principal = sim.principal_by_number(client_id)
        if (
            principal is None
            or not secrets.compare_digest(principal["_secret"], secret)
            or sim.faults.active("bad-key")
        ):
            if sim.faults.active("invalid-client-400"):
                return _json({"error": "invalid_client"}, 400)
            return _json(
                {
                    "error": "unauthorized",
                    "error_description": "The request requires valid user authentication.",
                },
                401,
            )
        over = sim.faults.active("over-privileged")
        roles = ["Reports", "Admin", "GlobalAdmin"] if over else ["Reports"]
        lifetime = sim.token_lifetime_s()
        tok = sim.tokens.issue(
            client_id,
            lifetime_s=lifetime,
            roles=roles,
            admin=over,
            single=sim.faults.active("single-token"),
        )
        principal["LastUsed"] = iso(self.sim.tenant.clock())
        return _json(self._token_json(lifetime, tok.value))

    async def _user_login(self, request: web.Request) -> web.Response:
        sim = self.sim
        try:
            body = await request.json()
        except ValueError:
            return _json({"Status": "AuthFailed", "Token": None}, 400)
        user = str(body.get("Username", ""))
        pw = str(body.get("Password", ""))
        if user != sim.admin_username or not secrets.compare_digest(pw, sim.admin_password):
            return _json({"Status": "AuthFailed", "Token": None}, 401)
        return _json({"Status": "AuthSuccess", "Token": self._admin_token(user)})

    def _admin_token(self, user: str) -> dict[str, Any]:
        # The admin console's tokens lived 60 s on 20.0.8 (API-NOTES §9.2): admin-token-lifetime.
        lifetime = self.sim.faults.float_value("admin-token-lifetime", self.sim.token_lifetime_s())
        tok = self.sim.tokens.issue(
            user, lifetime_s=lifetime, roles=["Admin", "GlobalAdmin"], admin=True, single=False
        )
        token = self._token_json(lifetime, tok.value)
        refresh = secrets.token_urlsafe(32)
        self._refresh_tokens[refresh] = user
        token["refresh_token"] = refresh
        return token

    def _refresh_admin(self, refresh: str) -> web.Response:
        """The web client's renewal: one refresh token buys one new token (and a new refresh)."""
        user = self._refresh_tokens.pop(refresh, None)
        if user is None or self.sim.faults.active("admin-refresh-refused"):
            return _json({"error": "invalid_grant"}, 400)
        return _json(self._admin_token(user))

    def _bearer(self, request: web.Request) -> Any:
        return self.sim.tokens.check(request.headers.get("Authorization"))

    @staticmethod
    def _unauthorized() -> web.Response:
        return web.Response(status=401, headers={"WWW-Authenticate": "Bearer"})

    # ---- XAPI ------------------------------------------------------------------------------
    async def _xapi(self, request: web.Request, tail: str) -> web.StreamResponse:
        sim = self.sim
        token = self._bearer(request)
        if token is None:
            return self._unauthorized()
        if not sim.principal_allows(token, "XAPIEnabled"):
            return web.Response(status=403)  # "XAPI Access" not ticked (status UNCONFIRMED)
        base = f"{sim.url}/xapi/v1/$metadata#"
        q = request.query
        faults = sim.faults
        try:
            if request.method == "POST":
                return await self._xapi_post(request, tail, token)
            if request.method != "GET":
                return _odata_error(405, "Method not allowed")
            if tail == "Defs":
                return _json(entity({"Id": 0}, q, context=f"{base}Defs"))
            if tail == "SystemStatus":
                return _json(entity(sim.system_status(), q, context=f"{base}SystemStatus"))
            if tail in ("Defs/Pbx.GetLicenseParameters()", "LicenseStatus") and sim.faults.active(
                "licence-unreadable"
            ):
                return _json({"@odata.context": f"{base}{tail}", "value": None})
            if tail == "Defs/Pbx.GetLicenseParameters()":
                return _json({"@odata.context": f"{base}Pbx.License", **sim.licence()})
            if tail == "LicenseStatus":
                return _json(entity(sim.licence_status(), q, context=f"{base}LicenseStatus"))
            if tail == "E164Settings":
                return _json(entity(wire.e164(sim.tenant), q, context=f"{base}E164Settings"))
            if tail == "OfficeHours":
                return _json(self._office_hours(q, base))
            if tail == "PhoneBookSettings":
                row = phonebook_settings(faults.value("phonebook-resolving"))
                return _json(entity(row, q, context=f"{base}PhoneBookSettings"))
            if tail == "Defs/TimeZones":
                rows = office_hours.time_zones(sim.tenant.office_hours.timezone)
                return _json(
                    collection(rows, q, context=f"{base}Defs/TimeZones", fields=_keys(rows))
                )
            if tail == "Users":
                rows = sim.users(expand_groups="Groups" in expanded(q))
                fields = set(rows[0]) | wire.USER_NAV if rows else None
                return _json(
                    collection(rows, q, context=f"{base}Users", fields=fields, max_top=100)
                )
            m = re.fullmatch(r"Users\((\d+)\)", tail)
            if m:
                found = [
                    u
                    for u in sim.users(expand_groups="Groups" in expanded(q))
                    if u["Id"] == int(m.group(1))
                ]
                if not found:
                    return _not_found("Users")
                return _json(entity(found[0], q, context=f"{base}Users", singleton=False))
            if tail == "Queues":
                rows = [
                    wire.queue(sim.tenant, x, expand_agents="Agents" in expanded(q))
                    for x in sim.tenant.queues
                ]
                fields = set(rows[0]) | wire.QUEUE_NAV if rows else None
                return _json(collection(rows, q, context=f"{base}Queues", fields=fields))
            if tail == "Contacts":
                rows = [wire.contact(c) for c in sim.tenant.contacts]
                return _json(collection(rows, q, context=f"{base}Contacts", fields=_keys(rows)))
            if tail == "InboundRules":
                rows = [wire.inbound_rule(sim.tenant, r) for r in sim.tenant.inbound_rules]
                return _json(collection(rows, q, context=f"{base}InboundRules", fields=_keys(rows)))
            if tail == "ActiveCalls":
                rows = sim.active_calls_v20()
                return _json(collection(rows, q, context=f"{base}ActiveCalls", fields=_keys(rows)))
            if tail == "ServicePrincipals":
                rows = sim.principals_json()
                return _json(
                    collection(rows, q, context=f"{base}ServicePrincipals", fields=_keys(rows))
                )
            if tail.startswith("ReportCallLogData/Pbx.GetCallLogData("):
                if faults.active("missing-history-role"):
                    return web.Response(status=403)
                return self._call_log(tail, q, base)
            if tail == "CallHistoryView":
                if faults.active("missing-history-role"):
                    return web.Response(status=403)
                visible = sim.visible_recording_ids()
                rows = [
                    wire.call_history_row(s, _rec_visible(s, visible))
                    for s in reversed(sim.tenant.segments)
                ]
                return _json(
                    collection(rows, q, context=f"{base}CallHistoryView", fields=_keys(rows))
                )
            if tail == "Recordings/Pbx.GetRecordingRepositorySettings()":
                return _json(
                    {
                        "@odata.context": f"{base}Pbx.RecordingRepositorySettings",
                        **sim.repository_settings(),
                    }
                )
            if tail == "Recordings":
                if faults.active("missing-recording-role"):
                    return web.Response(status=403)
                visible = sim.visible_recording_ids()
                rows = [
                    wire.recording(r, sim.archive_base)
                    for rid, r in sorted(sim.tenant.recordings.items(), reverse=True)
                    if rid in visible
                ]
                return _json(collection(rows, q, context=f"{base}Recordings", fields=_keys(rows)))
            m = re.fullmatch(r"Recordings/Pbx\.DownloadRecording\(recId=(-?\d+)\)", tail)
            if m:
                if faults.active("missing-recording-role"):
                    return web.Response(status=403)
                rid = int(m.group(1))
                rec = sim.tenant.recordings.get(rid)
                if rec is None or rec.archived or rid not in sim.visible_recording_ids():
                    if faults.active("file-not-found-404"):
                        return web.Response(status=404)
                    return _odata_error(
                        400, "File not found", "WARNINGS.XAPI.FILE_NOT_FOUND", "recId"
                    )
                return web.Response(
                    body=tone_wav(rid, min(3.0, max(1.0, rec.seconds / 60))),
                    content_type="audio/x-wav",
                    headers={
                        "Content-Disposition": f'attachment; filename="{sim.recording_filename(rid)}"'
                    },
                )
            return _not_found(tail.split("(")[0].split("/")[0])
        except ODataQueryError as exc:
            return _odata_error(400, str(exc), "WARNINGS.XAPI.INVALID_QUERY", "$filter")

    def _office_hours(self, q: Any, base: str) -> dict[str, Any]:
        tenant = self.sim.tenant
        row = office_hours.office_hours(tenant.office_hours, tenant.clock())
        holidays = row.pop("OfficeHolidays")
        body = entity(row, q, context=f"{base}OfficeHours")
        if "OfficeHolidays" in expanded(q):  # a navigation property: only when expanded
            body["OfficeHolidays"] = holidays
        return body

    async def _xapi_post(self, request: web.Request, tail: str, token: Any) -> web.Response:
        sim = self.sim
        base = f"{sim.url}/xapi/v1/$metadata#"
        if tail == "ServicePrincipals":
            if not token.admin:
                return web.Response(status=403)
            try:
                body = await request.json()
            except ValueError:
                return _odata_error(400, "Invalid request body")
            number = str(body.get("Number") or "").strip()
            if not number:
                return _odata_error(400, "Number is required", "WARNINGS.XAPI.REQUIRED", "Number")
            if sim.number_in_use(number):
                return _odata_error(
                    400, "Number already in use", "WARNINGS.XAPI.ALREADY_IN_USE", "Number"
                )
            p = sim.add_principal(
                number,
                bool(body.get("XAPIEnabled", True)),
                bool(body.get("CallControlEnabled", False)),
            )
            return _json(
                {"@odata.context": f"{base}ServicePrincipals/$entity", **sim.principal_json(p)}, 201
            )
        m = re.fullmatch(r"ServicePrincipals\((\d+)\)/Pbx\.GenerateAppToken", tail)
        if m:
            if not token.admin:
                return web.Response(status=403)
            principal = sim.principal_by_id(int(m.group(1)))
            if principal is None:
                return _not_found("ServicePrincipals")
            principal["_secret"] = secrets.token_urlsafe(24)
            sim.tokens.revoke_subject(principal["Number"])
            if principal["Number"] == sim.client_id:
                sim.client_secret = principal["_secret"]
            return _json({"@odata.context": f"{base}Edm.String", "value": principal["_secret"]})
        return _not_found(tail.split("(")[0].split("/")[0])

    def _call_log(self, tail: str, q: Any, base: str) -> web.Response:
        sim = self.sim
        inner = tail[len("ReportCallLogData/Pbx.GetCallLogData(") :]
        if not inner.endswith(")"):
            return _not_found("ReportCallLogData")
        args: dict[str, str] = {}
        for part in _split_args(inner[:-1]):
            key, sep, value = part.partition("=")
            if not sep or key.strip() not in CALL_LOG_PARAMS or key.strip() in args:
                return _not_found("ReportCallLogData")
            args[key.strip()] = value.strip()
        if set(args) != set(CALL_LOG_PARAMS):
            return _not_found("ReportCallLogData")
        for name in ("sourceFilter", "destinationFilter", "callTimeFilterFrom", "callTimeFilterTo"):
            v = args[name]
            # A string literal, or null: live clients send callTimeFilterFrom=null.
            if v == "null":
                args[name] = "''"
            elif not (len(v) >= 2 and v[0] == v[-1] == "'"):
                return _not_found("ReportCallLogData")
        for name in ("sourceType", "destinationType", "callsType", "callTimeFilterType"):
            if not re.fullmatch(r"-?\d+", args[name]):
                return _not_found("ReportCallLogData")
        if args["hidePcalls"] not in ("true", "false"):
            return _not_found("ReportCallLogData")
        try:
            start = parse_iso(args["periodFrom"])
            end = parse_iso(args["periodTo"])
        except ValueError:
            return _odata_error(500, "An error has occurred.")
        if end - start > timedelta(days=366):
            return web.Response(status=504, text="Gateway Time-out")
        src_f = args["sourceFilter"][1:-1].lower()
        dst_f = args["destinationFilter"][1:-1].lower()
        visible = sim.visible_recording_ids()
        shape = sim.call_log_shape()
        segs = [s for s in sim.tenant.segments if start <= s.start <= end]
        ignores_order = shape.has(WireQuirk.ORDERBY_IGNORED)
        # Newest first unless asked; a PBX that ignores $orderby answers oldest first.
        segs.sort(key=lambda s: (s.start, s.segment_id), reverse=not ignores_order)
        if ignores_order:
            q = {k: v for k, v in q.items() if k != "$orderby"}
        rows = [
            wire.call_log_row(s, _rec_visible(s, visible), shape)
            for s in segs
            if (not src_f or src_f in f"{s.src.dn} {s.src.caller_id} {s.src.name}".lower())
            and (not dst_f or dst_f in f"{s.dst.dn} {s.dst.caller_id} {s.dst.name}".lower())
        ]
        body = collection(rows, q, context=f"{base}Pbx.CallLogData", fields=_keys(rows))
        if shape.has(WireQuirk.CALL_IDS_PER_RESPONSE):
            renumber_per_response(body["value"])
        return _json(body)

    # ---- Call Control ----------------------------------------------------------------------
    def _cc_gate(self, request: web.Request) -> web.Response | None:
        token = self._bearer(request)
        if token is None:
            return self._unauthorized()
        if self.sim.faults.active("no-call-control") or not self.sim.principal_allows(
            token, "CallControlEnabled"
        ):
            return web.Response(status=403)
        return None

    def _dn_info(self, dn: str) -> dict[str, Any]:
        eng = self.sim.engine
        return {
            "dn": dn,
            "type": eng.dn_type(dn),
            "devices": [
                {
                    "dn": dn,
                    "device_id": f"sip:{dn}@{eng.host}:5060",
                    "user_agent": "3CX Phone System Simulator",
                }
            ],
            "participants": [self._participant(p) for p in eng.participants.get(dn, {}).values()],
        }

    def _participant(self, p: Participant) -> dict[str, Any]:
        """A participant as a live PBX writes it (§9.4), unless the clean wire is asked for."""
        row = p.to_json()
        quirks = self.sim.wire
        if WireQuirk.NATIONAL_CALLER_IDS in quirks and p.party.external:
            country = self.sim.tenant.country
            # Caller id national, the name holding the E.164 number; the DID without "+".
            row["party_caller_name"] = p.party.caller_id
            row["party_caller_id"] = national(p.party.caller_id, country.dial, country.national)
            row["party_did"] = without_plus(str(row.get("party_did") or ""))
        if WireQuirk.DEVICE_DETAILS in quirks:
            row["device_id"] = f"{row['device_id']};rinstance={p.id:08x}{p.callid:08x}"
            row["referred_by_dn"] = ""
            row["referred_by_type"] = ""
            row["on_behalf_of_dn"] = ""
            row["on_behalf_of_type"] = ""
        if WireQuirk.LAST_FIRST_NAMES in quirks and not p.party.external:
            row["party_caller_name"] = last_first(str(row.get("party_caller_name") or ""))
        return row

    async def _callcontrol(self, request: web.Request, path: str) -> web.StreamResponse:
        gate = self._cc_gate(request)
        if gate is not None:
            return gate
        eng = self.sim.engine
        parts = [p for p in path.split("/") if p][1:]
        if not parts:
            return _json([self._dn_info(dn) for dn in eng.participants if eng.monitored(dn)])
        dn = parts[0]
        if dn not in eng.participants or not eng.monitored(dn):
            return web.Response(status=404)
        if len(parts) == 1 and request.method == "GET":
            return _json(self._dn_info(dn))
        if len(parts) == 2 and parts[1] == "participants" and request.method == "GET":
            return _json([self._participant(p) for p in eng.participants[dn].values()])
        if len(parts) == 2 and parts[1] == "makecall" and request.method == "POST":
            body = await _body(request)
            dest = str(body.get("destination", "")).strip()
            if not dest:
                return _json(
                    {
                        "finalstatus": "Failure",
                        "reason": "InvalidDestination",
                        "result": None,
                        "reasontext": "destination is required",
                    },
                    400,
                )
            record = await eng.makecall(dn, dest)
            p = next((x for x in eng.participants[dn].values() if x.callid == record.call_id), None)
            return _json(
                {
                    "finalstatus": "Success",
                    "reason": "",
                    "reasontext": "",
                    "result": self._participant(p) if p else None,
                }
            )
        if len(parts) >= 3 and parts[1] == "participants":
            try:
                pid = int(parts[2])
            except ValueError:
                return web.Response(status=404)
            p = eng.find(dn, pid)
            if p is None:
                return web.Response(status=404)
            if len(parts) == 3 and request.method == "GET":
                return _json(self._participant(p))
            if len(parts) == 4 and request.method == "POST":
                action = parts[3]
                if action not in ("drop", "answer", "divert", "routeto", "transferto"):
                    return web.Response(status=404)
                body = await _body(request)
                result = eng.act(p, action, body.get("destination"))
                return _json(
                    {
                        "finalstatus": "Success",
                        "reason": "",
                        "reasontext": "",
                        "result": result.to_json(),
                    }
                )
        return web.Response(status=404)

    async def _ws(self, request: web.Request) -> web.StreamResponse:
        gate = self._cc_gate(request)
        if gate is not None:
            return gate
        ws = web.WebSocketResponse(heartbeat=None)
        await ws.prepare(request)
        self.websockets.add(ws)
        self.subscribed.set()
        queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        sub = queue.put_nowait
        self.sim.engine.subscribers.add(sub)
        sequence = 0
        opened = time.monotonic()
        reader = asyncio.ensure_future(_drain(ws))
        try:
            while not ws.closed and not reader.done():
                drop_after = (
                    self.sim.faults.float_value("ws-drop", 5.0)
                    if self.sim.faults.active("ws-drop")
                    else None
                )
                timeout = 0.25
                try:
                    event = await asyncio.wait_for(queue.get(), timeout)
                except TimeoutError:
                    event = None
                if drop_after is not None and time.monotonic() - opened >= drop_after:
                    await ws.close(code=1011, message=b"dropped")
                    break
                if event is not None:
                    sequence += 1
                    if self.sim.faults.active("ws-skip-sequence"):
                        self.sim.faults.disable("ws-skip-sequence")  # one frame lost, once
                        continue
                    await ws.send_str(json.dumps({"sequence": sequence, "event": event}))
        except (ConnectionResetError, asyncio.CancelledError):
            pass
        finally:
            self.sim.engine.subscribers.discard(sub)
            self.websockets.discard(ws)
            if not self.websockets:
                self.subscribed.clear()
            reader.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await reader
            if not ws.closed:
                await ws.close()
        return ws

    # ---- v18 -------------------------------------------------------------------------------
    async def _v18(self, request: web.Request, tail: str) -> web.StreamResponse:
        sim = self.sim
        if tail == "login" and request.method == "POST":
            try:
                body = await request.json()
            except ValueError:
                return web.Response(status=400, text="Bad Request")
            ok = (
                str(body.get("Username", "")) == sim.client_id
                and secrets.compare_digest(str(body.get("Password", "")), sim.client_secret)
                and not sim.faults.active("bad-key")
            )
            if not ok:
                return web.Response(status=401, text="Unauthorized")
            cookie = secrets.token_urlsafe(48)
            self.v18_sessions[cookie] = time.monotonic() + sim.token_lifetime_s()
            resp = web.Response(text="AuthSuccess", content_type="text/plain")
            resp.set_cookie(
                V18_COOKIE, cookie, httponly=True, path="/", secure=sim.config.tls, samesite="Lax"
            )
            return resp
        cookie = request.cookies.get(V18_COOKIE, "")
        if self.v18_sessions.get(cookie, 0) < time.monotonic():
            return web.Response(status=401)
        q = request.query
        if tail == "SystemStatus":
            return _json(wire_v18.v18_system_status(sim.system_status(), sim.call_log_shape()))
        if tail == "ExtensionList":
            return _json({"list": [wire_v18.v18_extension(e) for e in sim.tenant.extensions]})
        if tail == "activeCalls":
            return _json(
                wire_v18.v18_active_calls(
                    sim.active_calls_v18(), sim.tenant.clock(), sim.call_log_shape()
                )
            )
        if tail == "CallLog":
            start = _qint(q, "startRow", 0)
            rows = _qint(q, "numberOfRows", 50)
            segs = list(reversed(sim.tenant.segments))
            page = segs[start : start + rows]
            return _json(
                {
                    "CallLogRows": [wire_v18.v18_call_row(s) for s in page],
                    "HasMoreRows": start + rows < len(segs),
                }
            )
        if tail.rstrip("/") == "RecordingList":
            start = _qint(q, "start", 0)
            count = _qint(q, "count", 50)
            visible = sim.visible_recording_ids()
            recs = [
                r
                for rid, r in sorted(sim.tenant.recordings.items(), reverse=True)
                if rid in visible
            ]
            return _json(
                {
                    "TotalRowsCount": len(recs),
                    "isArchiveEnabled": True,
                    "list": [wire_v18.v18_recording(r) for r in recs[start : start + count]],
                }
            )
        # One field source (a Python bulk-download script) uses `Download?file=<Id>` and treats
        # a 302 as "file not on the PBX disk"; `DownloadRecord?file=` appears in advisories.
        if tail in V18_DOWNLOAD_FORMS:
            if not _v18_download_answers(sim.faults.value("v18-download-path"), tail):
                return web.Response(status=404)
            raw = q.get("file", "")
            rid = int(raw) if raw.isdigit() else -1
            rec = sim.tenant.recordings.get(rid)
            if sim.faults.active("missing-recording-role"):
                return web.Response(status=403)
            if rec is None or rec.archived or rid not in sim.visible_recording_ids():
                raise web.HTTPFound("/#/app/recordings")
            return web.Response(body=tone_wav(rid), content_type="audio/x-wav")
        return web.Response(status=404)

    # ---- control API -----------------------------------------------------------------------
    async def _control(self, request: web.Request) -> web.StreamResponse:
        if request.remote not in LOOPBACK:
            return web.Response(status=403)
        sim = self.sim
        tail = request.path[len("/_sim/") :]
        if tail == "faults" and request.method == "POST":
            body = await _body(request)
            try:
                for spec in body.get("enable", []) or []:
                    sim.faults.enable(str(spec))
                for name in body.get("disable", []) or []:
                    sim.faults.disable(str(name).split("=")[0])
            except UnknownFault as exc:
                return _json({"error": str(exc)}, 400)
            return _json(sim.state())
        if tail == "calls" and request.method == "POST":
            body = await _body(request)
            kwargs: dict[str, Any] = {}
            for key in ("extension", "number", "queue"):
                if body.get(key):
                    kwargs[key] = str(body[key])
            for key in ("ring_s", "talk_s"):
                if body.get(key) is not None:
                    kwargs[key] = float(body[key])
            try:
                record = await sim.place_call(
                    str(body.get("kind", "inbound")),
                    answered=bool(body.get("answered", True)),
                    **kwargs,
                )
            except ValueError as exc:
                return _json({"error": str(exc)}, 400)
            return _json(record.to_json())
        if tail == "crm-export.csv" and request.method == "GET":
            try:
                text = sim.crm_export_csv(request.query.get("flavour", "hubspot"))
            except ValueError as exc:
                return _json({"error": str(exc)}, 400)
            return web.Response(text=text, content_type="text/csv")
        if tail == "state" and request.method == "GET":
            return _json(sim.state())
        return web.Response(status=404)


def _v18_download_answers(knob: str | None, form: str) -> bool:
    """Whether ``form`` answers under the ``v18-download-path`` knob (None: every form does)."""
    if knob is None:
        return True
    return knob.strip() == str(V18_DOWNLOAD_FORMS.index(form) + 1)


def _keys(rows: list[dict[str, Any]]) -> set[str] | None:
    return set(rows[0]) if rows else None


def _rec_visible(s: Segment, visible: set[int]) -> bool:
    # Once written, a recording stays referenced by its call-log row, even after retention
    # deleted the file: that is exactly the field symptom.
    del visible
    return s.recording is not None


def _qint(q: Any, name: str, default: int) -> int:
    raw = q.get(name, "")
    return int(raw) if str(raw).isdigit() else default


async def _body(request: web.Request) -> dict[str, Any]:
    if not request.can_read_body:
        return {}
    try:
        body = await request.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


async def _drain(ws: web.WebSocketResponse) -> None:
    async for msg in ws:
        if msg.type in (WSMsgType.ERROR, WSMsgType.CLOSE):
            break


__all__ = ["SimServer", "datetime"]
