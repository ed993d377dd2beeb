"""Access tokens: real-looking ES256 JWTs whose claims carry 3CX-style role hints."""

from __future__ import annotations

import base64
import json
import secrets
import time
from dataclasses import dataclass


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


@dataclass
class Token:
    value: str
    subject: str
    expires_at: float
    admin: bool
    revoked: bool = False

    def valid(self) -> bool:
        return not self.revoked and time.monotonic() < self.expires_at


class TokenStore:
    def __init__(self, issuer: str) -> None:
        self.issuer = issuer
        self._tokens: dict[str, Token] = {}

    def issue(
        self, subject: str, *, lifetime_s: float, roles: list[str], admin: bool, single: bool
    ) -> Token:
        if single:
            for tok in self._tokens.values():
                if tok.subject == subject:
                    tok.revoked = True
        iat = int(time.time())
        header = {"alg": "ES256", "kid": secrets.token_hex(8), "typ": "JWT"}
        claims: dict[str, object] = {
            "iss": self.issuer,
            "aud": "xapi",
            "sub": subject,
            "client_id": subject,
            "unique_name": subject,
            "role": roles[0] if len(roles) == 1 else roles,
            "nbf": iat,
            "iat": iat,
            "exp": iat + int(lifetime_s),
            "jti": secrets.token_hex(12),
        }
        value = ".".join(
            (
                _b64(json.dumps(header, separators=(",", ":")).encode()),
                _b64(json.dumps(claims, separators=(",", ":")).encode()),
                _b64(secrets.token_bytes(64)),
            )
        )
        tok = Token(value, subject, time.monotonic() + lifetime_s, admin)
        self._tokens[value] = tok
        self._prune()
        return tok

    def _prune(self) -> None:
        if len(self._tokens) > 5000:
            for key in [k for k, t in self._tokens.items() if not t.valid()]:
                del self._tokens[key]

    def check(self, header: str | None) -> Token | None:
        if not header or not header.startswith("Bearer "):
            return None
        tok = self._tokens.get(header[7:].strip())
        return tok if tok and tok.valid() else None

    def revoke_subject(self, subject: str) -> None:
        for tok in self._tokens.values():
            if tok.subject == subject:
                tok.revoked = True
