"""The v18 web API (/api/...): cookie login, status, extensions, call log and recordings."""

from __future__ import annotations

import secrets
import time
from typing import Any

from aiohttp import web

from app.sim import wire_v18
from app.sim.audio import tone_wav
from app.sim.server.pbx import Pbx
from app.sim.server.responses import json_response, query_int

V18_COOKIE = ".AspNetCore.Cookies"
# The v18 recording download forms the client knows, in its order (API-NOTES §7: unconfirmed).
V18_DOWNLOAD_FORMS = ("RecordingList/Download", "RecordingList/DownloadRecord")


def v18_download_answers(knob: str | None, form: str) -> bool:
    """Whether ``form`` answers under the ``v18-download-path`` knob (None: every form does)."""
    if knob is None:
        return True
    return knob.strip() == str(V18_DOWNLOAD_FORMS.index(form) + 1)


class V18Routes:
    def __init__(self, pbx: Pbx) -> None:
        self.pbx = pbx
        self.sessions: dict[str, float] = {}  # cookie -> when it expires (monotonic)

    async def handle(self, request: web.Request, tail: str) -> web.StreamResponse:
        if tail == "login" and request.method == "POST":
            return await self._login(request)
        cookie = request.cookies.get(V18_COOKIE, "")
        if self.sessions.get(cookie, 0) < time.monotonic():
            return web.Response(status=401)
        pbx = self.pbx
        q = request.query
        if tail == "SystemStatus":
            return json_response(
                wire_v18.v18_system_status(pbx.system_status(), pbx.call_log_shape())
            )
        if tail == "ExtensionList":
            return json_response(
                {"list": [wire_v18.v18_extension(e) for e in pbx.tenant.extensions]}
            )
        if tail == "activeCalls":
            return json_response(
                wire_v18.v18_active_calls(
                    pbx.active_calls_v18(), pbx.tenant.clock(), pbx.call_log_shape()
                )
            )
        if tail == "CallLog":
            return self._call_log(q)
        if tail.rstrip("/") == "RecordingList":
            return self._recordings(q)
        # One field source (a Python bulk-download script) uses `Download?file=<Id>` and treats
        # a 302 as "file not on the PBX disk"; `DownloadRecord?file=` appears in advisories.
        if tail in V18_DOWNLOAD_FORMS:
            return self._download(tail, q)
        return web.Response(status=404)

    async def _login(self, request: web.Request) -> web.Response:
        pbx = self.pbx
        try:
            body = await request.json()
        except ValueError:
            return web.Response(status=400, text="Bad Request")
        ok = (
            str(body.get("Username", "")) == pbx.client_id
            and secrets.compare_digest(str(body.get("Password", "")), pbx.client_secret)
            and not pbx.faults.active("bad-key")
        )
        if not ok:
            return web.Response(status=401, text="Unauthorized")
        cookie = secrets.token_urlsafe(48)
        self.sessions[cookie] = time.monotonic() + pbx.token_lifetime_s()
        resp = web.Response(text="AuthSuccess", content_type="text/plain")
        resp.set_cookie(
            V18_COOKIE, cookie, httponly=True, path="/", secure=pbx.config.tls, samesite="Lax"
        )
        return resp

    def _call_log(self, q: Any) -> web.Response:
        start = query_int(q, "startRow", 0)
        rows = query_int(q, "numberOfRows", 50)
        segs = list(reversed(self.pbx.tenant.segments))
        page = segs[start : start + rows]
        return json_response(
            {
                "CallLogRows": [wire_v18.v18_call_row(s) for s in page],
                "HasMoreRows": start + rows < len(segs),
            }
        )

    def _recordings(self, q: Any) -> web.Response:
        start = query_int(q, "start", 0)
        count = query_int(q, "count", 50)
        visible = self.pbx.visible_recording_ids()
        recs = [
            r
            for rid, r in sorted(self.pbx.tenant.recordings.items(), reverse=True)
            if rid in visible
        ]
        return json_response(
            {
                "TotalRowsCount": len(recs),
                "isArchiveEnabled": True,
                "list": [wire_v18.v18_recording(r) for r in recs[start : start + count]],
            }
        )

    def _download(self, form: str, q: Any) -> web.Response:
        pbx = self.pbx
        if not v18_download_answers(pbx.faults.value("v18-download-path"), form):
            return web.Response(status=404)
        raw = q.get("file", "")
        rid = int(raw) if raw.isdigit() else -1
        rec = pbx.tenant.recordings.get(rid)
        if pbx.faults.active("missing-recording-role"):
            return web.Response(status=403)
        if rec is None or rec.archived or rid not in pbx.visible_recording_ids():
            raise web.HTTPFound("/#/app/recordings")
        return web.Response(body=tone_wav(rid), content_type="audio/x-wav")
