"""/xapi/v1/ServicePrincipals: the API clients (Admin console > Integrations > API).

Anyone with XAPI access may list them; only an admin's sign-in may add one, change its
department, role and Extensions to Monitor (PATCH, 204 as the spec says) or make its key.
"""

from __future__ import annotations

import re
import secrets
from typing import Any

from aiohttp import web

from app.sim.odata import collection, entity, expanded
from app.sim.principals import INVALID, SettingsRefused
from app.sim.server.pbx import Pbx
from app.sim.server.responses import json_response, not_found, odata_error, row_keys

COLLECTION = "ServicePrincipals"
ONE = re.compile(r"ServicePrincipals\((\d+)\)")
GENERATE_APP_TOKEN = re.compile(r"ServicePrincipals\((\d+)\)/Pbx\.GenerateAppToken")
NAVIGATION = frozenset({"Groups", "Peers"})


def _expand(q: Any) -> frozenset[str]:
    return frozenset(expanded(q)) & NAVIGATION


def _refused(exc: SettingsRefused) -> web.Response:
    if not exc.message:
        return web.Response(status=exc.status)
    return odata_error(exc.status, exc.message, exc.detail, exc.target)


async def _body(request: web.Request) -> dict[str, Any] | None:
    try:
        body = await request.json()
    except ValueError:
        return None
    return body if isinstance(body, dict) else None


class ApiClientRoutes:
    def __init__(self, pbx: Pbx) -> None:
        self.pbx = pbx

    def handles(self, tail: str) -> bool:
        return tail == COLLECTION or tail.startswith(f"{COLLECTION}(")

    def get(self, tail: str, q: Any, base: str) -> web.Response:
        pbx = self.pbx
        expand = _expand(q)
        if tail == COLLECTION:
            rows = pbx.principals_json(expand)
            fields = (row_keys(rows) or set()) | NAVIGATION
            body = collection(rows, q, context=f"{base}{COLLECTION}", fields=fields, keep=expand)
            return json_response(body)
        m = ONE.fullmatch(tail)
        principal = pbx.principal_by_id(int(m.group(1))) if m else None
        if principal is None:
            return not_found(COLLECTION)
        row = pbx.principal_json(principal, expand)
        return json_response(
            entity(row, q, context=f"{base}{COLLECTION}", singleton=False, keep=expand)
        )

    async def post(self, request: web.Request, tail: str, token: Any, base: str) -> web.Response:
        if not token.admin:
            return web.Response(status=403)
        m = GENERATE_APP_TOKEN.fullmatch(tail)
        if m:
            return self._generate_app_token(int(m.group(1)), base)
        if tail != COLLECTION:
            return not_found(COLLECTION)
        body = await _body(request)
        if body is None:
            return odata_error(400, "Invalid request body")
        return self._add(body, base)

    async def patch(self, request: web.Request, tail: str, token: Any) -> web.Response:
        """Change a client: its flags, department and role (Groups), monitored DNs (Peers)."""
        if not token.admin:
            return web.Response(status=403)
        m = ONE.fullmatch(tail)
        principal = self.pbx.principal_by_id(int(m.group(1))) if m else None
        if principal is None:
            return not_found(COLLECTION)
        body = await _body(request)
        if body is None:
            return odata_error(400, "Invalid request body")
        if str(body.get("Number", principal["Number"])) != principal["Number"]:
            return odata_error(
                400, "The number of an API client cannot be changed", INVALID, "Number"
            )
        try:
            settings = self.pbx.principal_settings(body)
        except SettingsRefused as exc:
            return _refused(exc)
        for flag in ("XAPIEnabled", "CallControlEnabled"):
            if flag in body:
                principal[flag] = bool(body[flag])
        principal.update(settings)
        return web.Response(status=204)

    def _add(self, body: dict[str, Any], base: str) -> web.Response:
        pbx = self.pbx
        number = str(body.get("Number") or "").strip()
        if not number:
            return odata_error(400, "Number is required", "WARNINGS.XAPI.REQUIRED", "Number")
        if pbx.number_in_use(number):
            return odata_error(
                400, "Number already in use", "WARNINGS.XAPI.ALREADY_IN_USE", "Number"
            )
        try:
            settings = pbx.principal_settings(body)
        except SettingsRefused as exc:
            return _refused(exc)
        p = pbx.add_principal(
            number,
            bool(body.get("XAPIEnabled", True)),
            bool(body.get("CallControlEnabled", False)),
            settings=settings,
        )
        row = {"@odata.context": f"{base}{COLLECTION}/$entity", **pbx.principal_json(p)}
        return json_response(row, 201)

    def _generate_app_token(self, principal_id: int, base: str) -> web.Response:
        pbx = self.pbx
        principal = pbx.principal_by_id(principal_id)
        if principal is None:
            return not_found(COLLECTION)
        principal["_secret"] = secrets.token_urlsafe(24)
        pbx.tokens.revoke_subject(principal["Number"])
        if principal["Number"] == pbx.client_id:
            pbx.client_secret = principal["_secret"]
        return json_response({"@odata.context": f"{base}Edm.String", "value": principal["_secret"]})
