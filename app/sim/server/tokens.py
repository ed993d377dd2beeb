"""Signing in: the API client's /connect/token, the admin console's login and its refresh."""

from __future__ import annotations

import secrets
from typing import Any

from aiohttp import web

from app.sim.server.pbx import Pbx
from app.sim.server.responses import json_response
from app.sim.timefmt import iso


def bearer(pbx: Pbx, request: web.Request) -> Any:
    """The request's valid token, or None."""
    return pbx.tokens.check(request.headers.get("Authorization"))


def unauthorized() -> web.Response:
    return web.Response(status=401, headers={"WWW-Authenticate": "Bearer"})


class TokenRoutes:
    def __init__(self, pbx: Pbx) -> None:
        self.pbx = pbx
        self._refresh_tokens: dict[str, str] = {}  # admin console refresh token -> user

    def _token_json(self, lifetime_s: float, value: str) -> dict[str, Any]:
        pbx = self.pbx
        expires = int(lifetime_s) if pbx.expires_in_seconds else max(1, int(lifetime_s // 60))
        claimed = pbx.faults.value("token-expires-in-says")
        if claimed is not None:
            expires = int(claimed)  # expires_in says one thing, the JWT's exp another (§9.2)
        return {
            "token_type": "Bearer",
            "expires_in": expires,
            "access_token": value,
            "refresh_token": None,
        }

    async def token(self, request: web.Request) -> web.Response:
        form = await request.post()
        # No trimming: a real PBX rejects a key pasted with stray whitespace.
        client_id = str(form.get("client_id", ""))
        secret = str(form.get("client_secret", ""))
        grant = str(form.get("grant_type", ""))
        if grant == "refresh_token":
            return self._refresh_admin(str(form.get("refresh_token", "")))
        if grant != "client_credentials":
            return json_response({"error": "unsupported_grant_type"}, 400)
        return self._client_credentials(client_id, secret)

    def _client_credentials(self, client_id: str, secret: str) -> web.Response:
        pbx = self.pbx
        principal = pbx.principal_by_number(client_id)
        if (
            principal is None
            or not secrets.compare_digest(principal["_secret"], secret)
            or pbx.faults.active("bad-key")
        ):
            if pbx.faults.active("invalid-client-400"):
                return json_response({"error": "invalid_client"}, 400)
            return json_response(
                {
                    "error": "unauthorized",
                    "error_description": "The request requires valid user authentication.",
                },
                401,
            )
        over = pbx.faults.active("over-privileged")
        roles = ["Reports", "Admin", "GlobalAdmin"] if over else ["Reports"]
        lifetime = pbx.token_lifetime_s()
        tok = pbx.tokens.issue(
            client_id,
            lifetime_s=lifetime,
            roles=roles,
            admin=over,
            single=pbx.faults.active("single-token"),
        )
        principal["LastUsed"] = iso(pbx.tenant.clock())
        return json_response(self._token_json(lifetime, tok.value))

    async def user_login(self, request: web.Request) -> web.Response:
        pbx = self.pbx
        try:
            body = await request.json()
        except ValueError:
            return json_response({"Status": "AuthFailed", "Token": None}, 400)
        user = str(body.get("Username", ""))
        pw = str(body.get("Password", ""))
        if user != pbx.admin_username or not secrets.compare_digest(pw, pbx.admin_password):
            return json_response({"Status": "AuthFailed", "Token": None}, 401)
        return json_response({"Status": "AuthSuccess", "Token": self._admin_token(user)})

    def _admin_token(self, user: str) -> dict[str, Any]:
        # The admin console's tokens lived 60 s on 20.0.8 (API-NOTES §9.2): admin-token-lifetime.
        lifetime = self.pbx.faults.float_value("admin-token-lifetime", self.pbx.token_lifetime_s())
        tok = self.pbx.tokens.issue(
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
        if user is None or self.pbx.faults.active("admin-refresh-refused"):
            return json_response({"error": "invalid_grant"}, 400)
        return json_response(self._admin_token(user))
