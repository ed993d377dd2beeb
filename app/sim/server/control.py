"""The simulator's own control API (/_sim/...), loopback only: faults, calls, CRM export, state."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from app.sim.faults import UnknownFault
from app.sim.server.pbx import Pbx
from app.sim.server.responses import json_body, json_response

LOOPBACK = {"127.0.0.1", "::1", "localhost"}


class ControlRoutes:
    def __init__(self, pbx: Pbx) -> None:
        self.pbx = pbx

    async def handle(self, request: web.Request) -> web.StreamResponse:
        if request.remote not in LOOPBACK:
            return web.Response(status=403)
        tail = request.path[len("/_sim/") :]
        if tail == "faults" and request.method == "POST":
            return self._faults(await json_body(request))
        if tail == "calls" and request.method == "POST":
            return await self._place_call(await json_body(request))
        if tail == "crm-export.csv" and request.method == "GET":
            try:
                text = self.pbx.crm_export_csv(request.query.get("flavour", "hubspot"))
            except ValueError as exc:
                return json_response({"error": str(exc)}, 400)
            return web.Response(text=text, content_type="text/csv")
        if tail == "state" and request.method == "GET":
            return json_response(self.pbx.state())
        return web.Response(status=404)

    def _faults(self, body: dict[str, Any]) -> web.Response:
        faults = self.pbx.faults
        try:
            for spec in body.get("enable", []) or []:
                faults.enable(str(spec))
            for name in body.get("disable", []) or []:
                faults.disable(str(name).split("=")[0])
        except UnknownFault as exc:
            return json_response({"error": str(exc)}, 400)
        return json_response(self.pbx.state())

    async def _place_call(self, body: dict[str, Any]) -> web.Response:
        kwargs: dict[str, Any] = {}
        for key in ("extension", "number", "queue"):
            if body.get(key):
                kwargs[key] = str(body[key])
        for key in ("ring_s", "talk_s"):
            if body.get(key) is not None:
                kwargs[key] = float(body[key])
        try:
            record = await self.pbx.place_call(
                str(body.get("kind", "inbound")),
                answered=bool(body.get("answered", True)),
                **kwargs,
            )
        except ValueError as exc:
            return json_response({"error": str(exc)}, 400)
        return json_response(record.to_json())
