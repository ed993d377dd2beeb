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
from app.threecx.errors import (
    AuthRejected,
    BadRequest,
    MalformedResponse,
    ThreeCXError,
    TokenRevoked,
)
from app.threecx.transport import Transport, parse_json

TOKEN_PATH = "/connect/token"
# A second withdrawal this soon after the first means something else keeps signing in with this
# API client: sign in once more and we would only take its token away in turn.
WITHDRAWAL_MEMORY_S = 300.0


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
        self.revocations = 0  # fresh tokens the PBX withdrew at once (another sign-in, rotation)
        self.withdrawals = 0  # tokens refused after a good sign-in, the first one included
        self._withdrawn: list[str] = []  # the last few, so requests in flight share one event
        self._last_withdrawal: float | None = None
        self._gave_up_at: float | None = None
        self._latest: str | None = None  # the last token issued, even after it was dropped

    def __repr__(self) -> str:
        return f"TokenManager(client_id={self._client_id!r}, has_token={self._token is not None})"

    async def token(self) -> str:
        async with self._lock:
            if self._given_up():
                raise TokenRevoked(
                    "Not signing in again for now: that would only withdraw the other "
                    "program's token in turn.",
                )
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

    def revoked(self, endpoint: str) -> TokenRevoked:
        """The error for a 401 on a token issued just now: counted, never read as a role.
        No new sign-in follows for a while, so two programs sharing the client stop fighting."""
        self.revocations += 1
        self._gave_up_at = self._clock()
        return TokenRevoked(endpoint=endpoint)

    def may_sign_in_again(self, token: str) -> bool:
        """A 401 on ``token`` after a good sign-in: whether one more sign-in is allowed.

        The first withdrawal is (an expired or replaced token happens); requests in flight with
        the same token share that one. A second one within ``WITHDRAWAL_MEMORY_S`` is not: the
        caller says so instead (``revoked``).
        """
        if token in self._withdrawn:
            return True
        now = self._clock()
        lifetime = self.lifetime_s or 60.0
        if token == self._latest and now - self._issued_at >= lifetime / 2:
            return True  # an old token refused: expiry or clock skew, not another sign-in
        again = (
            self._last_withdrawal is not None and now - self._last_withdrawal < WITHDRAWAL_MEMORY_S
        )
        self._withdrawn = [*self._withdrawn[-3:], token]
        self._last_withdrawal = now
        self.withdrawals += 1
        return not again

    def _given_up(self) -> bool:
        if self._gave_up_at is None:
            return False
        if self._clock() - self._gave_up_at >= WITHDRAWAL_MEMORY_S:
            self._gave_up_at = None
            return False
        return True

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
        except (AuthRejected, BadRequest) as exc:
            # Some builds answer 400 invalid_client instead of 401 for a wrong key. Both codes
            # usually cover a wrong Client ID and a wrong key alike (API-NOTES §2); only an
            # answer that names one of them is passed on as which.
            raise AuthRejected(credential_hint(exc), endpoint=TOKEN_PATH) from exc
        # expires_in of 1e400 or NaN is no reason to refuse a good token: its exp says more.
        body = parse_json(response, TOKEN_PATH, absurd_numbers_absent=True)
        if not isinstance(body, dict) or not isinstance(body.get("access_token"), str):
            raise MalformedResponse("The token answer has no access_token.", endpoint=TOKEN_PATH)
        header = response.headers.get("X-3CX-Version")
        self.version = PbxVersion.parse(header) or self.version or self._version_hint()
        self._raw_expires_in = read_expires_in(body.get("expires_in"))
        self._token = self._latest = body["access_token"]
        self._issued_at = self._clock()
        self._schedule()

    def _schedule(self) -> None:
        lifetime = self._raw_expires_in if self._raw_expires_in is not None else 60.0
        if self.version is not None and self.version.token_lifetime_in_minutes:
            lifetime *= 60
        lifetime = sane_lifetime(lifetime)
        # The token's own claims win when they say it lives shorter (API-NOTES §9.2):
        # exp - iat is the PBX's word in seconds, free of the unit question and of clock skew.
        # An expires_in that is no finite positive number counts as unsaid, so the JWT decides.
        raw = self._raw_expires_in
        unsaid = raw is None or not math.isfinite(raw) or raw <= 0
        signed = jwt_lifetime_s(self._token) if self._token else None
        if signed is not None and (unsaid or signed < lifetime):
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


# What a token endpoint may say when it names the part it does not accept. The OAuth code
# "invalid_client" covers both and so is no hint.
_CLIENT_WORDS = ("unknown client", "client not found", "no such client", "invalid client id")
_KEY_WORDS = ("invalid secret", "wrong secret", "invalid client secret", "secret is invalid")


def credential_hint(exc: ThreeCXError) -> str:
    """Which credential the PBX's answer blames, in words; "" when it does not say."""
    said = exc.detail.lower().replace("_", " ")
    if any(word in said for word in _CLIENT_WORDS):
        return "The PBX says it does not know this Client ID (the key was not checked)."
    if any(word in said for word in _KEY_WORDS):
        return "The PBX says the Client ID is known but the key is wrong."
    return ""


def read_expires_in(value: object) -> float | None:
    """``expires_in`` as a number, or None when it is not one. A numeric string is read; an
    integer too large for a float is infinite (``sane_lifetime`` then ignores it)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, str):
        try:
            return float(value.strip()[:64])
        except ValueError:
            return None
    if isinstance(value, (int, float)):
        try:
            return float(value)
        except OverflowError:  # an integer of hundreds of digits
            return float("inf")
    return None


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
