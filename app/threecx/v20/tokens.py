"""v20 access tokens: one request at a time, refreshed early, dropped on a 401."""

from __future__ import annotations

import asyncio
import base64
import json
import math
import time
from collections.abc import Callable
from typing import Any

from app.domain.version import PbxVersion
from app.threecx.errors import AuthRejected, BadRequest, MalformedResponse
from app.threecx.transport import Transport, parse_json

TOKEN_PATH = "/connect/token"


class TokenManager:
    """Holds the bearer token for one API client.

    3CX allows one active token per client, so requests for a new one are serialised.
    ``expires_in`` counted minutes before 20.0.9 and seconds since; when the version is not
    known yet we read it as seconds, which can only make us refresh too early.
    """

    def __init__(
        self,
        transport: Transport,
        client_id: str,
        secret: str,
        *,
        refresh_fraction: float = 0.8,
        clock: Callable[[], float] = time.monotonic,
        version_hint: Callable[[], PbxVersion | None] = lambda: None,
    ) -> None:
        self._version_hint = version_hint
        self._issued_at = 0.0
        self._raw_expires_in: float | None = None
        self._transport = transport
        self._client_id = client_id
        self._secret = secret
        self._refresh_fraction = refresh_fraction
        self._clock = clock
        self._lock = asyncio.Lock()
        self._token: str | None = None
        self._refresh_at = 0.0
        self.lifetime_s: float | None = None
        self.version: PbxVersion | None = None
        self.requests = 0

    def __repr__(self) -> str:
        return f"TokenManager(client_id={self._client_id!r}, has_token={self._token is not None})"

    async def token(self) -> str:
        async with self._lock:
            if self.refresh_due:
                await self._fetch()
            assert self._token is not None
            return self._token

    @property
    def refresh_due(self) -> bool:
        """The next request fetches a new token first."""
        return self._token is None or self._clock() >= self._refresh_at

    def invalidate(self, token: str) -> None:
        """Forget ``token`` after the PBX rejected it, unless a newer one replaced it already."""
        if self._token == token:
            self._token = None

    def claims(self) -> dict[str, Any]:
        """The token's claims, decoded without verification (for role hints only)."""
        return decode_jwt_claims(self._token) if self._token else {}

    async def _fetch(self) -> None:
        self.requests += 1
        form = {
            "client_id": self._client_id,
            "client_secret": self._secret,
            "grant_type": "client_credentials",
        }
        try:
            response = await self._transport.request(
                "POST", TOKEN_PATH, data=form, label=TOKEN_PATH
            )
        except BadRequest as exc:
            # Some builds answer 400 invalid_client instead of 401 for a wrong key.
            raise AuthRejected(endpoint=TOKEN_PATH) from exc
        body = parse_json(response, TOKEN_PATH)
        if not isinstance(body, dict) or not isinstance(body.get("access_token"), str):
            raise MalformedResponse("The token answer has no access_token.", endpoint=TOKEN_PATH)
        header = response.headers.get("X-3CX-Version")
        self.version = PbxVersion.parse(header) or self.version or self._version_hint()
        expires_in = body.get("expires_in")
        if isinstance(expires_in, (int, float)) and not isinstance(expires_in, bool):
            try:
                self._raw_expires_in = float(expires_in)
            except OverflowError:  # an integer of hundreds of digits
                self._raw_expires_in = float("inf")
        else:
            self._raw_expires_in = None
        self._token = body["access_token"]
        self._issued_at = self._clock()
        self._schedule()

    def _schedule(self) -> None:
        lifetime = self._raw_expires_in if self._raw_expires_in is not None else 60.0
        if self.version is not None and self.version.token_lifetime_in_minutes:
            lifetime *= 60
        lifetime = sane_lifetime(lifetime)
        # The token's own claims win when they say it lives shorter (API-NOTES §9.2):
        # exp - iat is the PBX's word in seconds, free of the unit question and of clock skew.
        signed = jwt_lifetime_s(self._token) if self._token else None
        if signed is not None and (self._raw_expires_in is None or signed < lifetime):
            lifetime = sane_lifetime(signed)
        self.lifetime_s = lifetime
        self._refresh_at = self._issued_at + lifetime * self._refresh_fraction

    def learn_version(self, version: PbxVersion) -> None:
        """The version arrived after the token did: re-read ``expires_in`` in the right unit."""
        if self.version != version:
            self.version = version
            if self._token is not None:
                self._schedule()


def decode_jwt_claims(token: str) -> dict[str, Any]:
    parts = token.split(".")
    if len(parts) < 2:
        return {}
    payload = parts[1] + "=" * (-len(parts[1]) % 4)
    try:
        claims = json.loads(base64.urlsafe_b64decode(payload))
    except (ValueError, json.JSONDecodeError):
        return {}
    return claims if isinstance(claims, dict) else {}


# A PBX (or what sits in front of it) can say 0, -60, NaN or 1e400: read it within sane bounds.
MIN_LIFETIME_S = 1.0
MAX_LIFETIME_S = 24 * 3600.0
UNSAID_LIFETIME_S = 60.0


def sane_lifetime(seconds: float) -> float:
    """A token lifetime clamped to [1 s, 24 h]; not a finite positive number: 60 s."""
    if not math.isfinite(seconds) or seconds <= 0:
        return UNSAID_LIFETIME_S
    return min(MAX_LIFETIME_S, max(MIN_LIFETIME_S, seconds))


def jwt_lifetime_s(token: str) -> float | None:
    """``exp - iat`` of a JWT, in seconds; None when either claim is missing or odd."""
    claims = decode_jwt_claims(token)
    exp, iat = claims.get("exp"), claims.get("iat")
    numbers = all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in (exp, iat))
    if not numbers:
        return None
    try:
        lifetime = float(exp) - float(iat)  # type: ignore[arg-type]
    except OverflowError:  # a 400-digit claim
        return None
    return lifetime if math.isfinite(lifetime) and lifetime > 0 else None
