"""Typed failures of talking to a PBX, each saying what happened, why, and what to do next.

The doctor reasons about these; nothing above this package sees a raw httpx or ssl error.
Messages never carry a secret or a token.
"""

from __future__ import annotations

import enum


class ThreeCXError(Exception):
    """Base of every failure the 3CX client reports."""

    what: str = "The PBX request failed."
    next_step: str = ""

    def __init__(self, detail: str = "", *, endpoint: str | None = None) -> None:
        self.detail = detail
        self.endpoint = endpoint
        super().__init__(self.message)

    @property
    def message(self) -> str:
        parts = [self.what]
        if self.detail:
            parts.append(self.detail)
        if self.endpoint:
            parts.append(f"(endpoint: {self.endpoint})")
        return " ".join(parts)


class UnreachableKind(enum.StrEnum):
    DNS = "dns"
    REFUSED = "refused"
    TIMEOUT = "timeout"
    NETWORK = "network"


class Unreachable(ThreeCXError):
    what = "The PBX could not be reached."

    def __init__(self, kind: UnreachableKind, detail: str = "", *, endpoint: str | None = None):
        self.kind = kind
        super().__init__(detail, endpoint=endpoint)

    @property
    def next_step(self) -> str:  # type: ignore[override]
        return {
            UnreachableKind.DNS: "Check the PBX address for typos; the name does not resolve from this machine.",
            UnreachableKind.REFUSED: "Nothing answers on that port: check the port (443 for 3CX-hosted, usually 5001 self-managed) and the firewall.",
            UnreachableKind.TIMEOUT: "The PBX did not answer in time: a firewall may be dropping traffic from this network; whitelist this machine's outbound IP.",
            UnreachableKind.NETWORK: "Check this machine's network connection and any proxy in between.",
        }[self.kind]


class TlsProblem(enum.StrEnum):
    HOSTNAME = "hostname"
    EXPIRED = "expired"
    UNTRUSTED = "untrusted"
    CHANGED = "changed"  # the pinned certificate no longer matches
    HANDSHAKE = "handshake"


class TlsFailure(ThreeCXError):
    what = "The PBX's TLS certificate was not accepted."

    def __init__(self, problem: TlsProblem, detail: str = "", *, endpoint: str | None = None):
        self.problem = problem
        super().__init__(detail, endpoint=endpoint)

    @property
    def next_step(self) -> str:  # type: ignore[override]
        return {
            TlsProblem.HOSTNAME: "The certificate is for a different name: use the PBX's FQDN exactly as on its certificate.",
            TlsProblem.EXPIRED: "The PBX's certificate has expired: renew it in the 3CX admin console (or ask 3CX support for hosted PBXs).",
            TlsProblem.UNTRUSTED: "The certificate is not signed by a trusted authority: install a proper certificate, or give the CA file of the private CA.",
            TlsProblem.CHANGED: "The certificate differs from the one pinned: if it was renewed on purpose, re-pin it; otherwise treat it as an interception.",
            TlsProblem.HANDSHAKE: "The TLS handshake failed: check that the port serves HTTPS.",
        }[self.problem]


class AuthRejected(ThreeCXError):
    what = "The PBX rejected the API credentials (401)."
    next_step = (
        "The key is wrong or was rotated. Regenerate it under Admin console > Integrations > API "
        "(v20) and give the new key to every bridge that holds the old one."
    )


class Forbidden(ThreeCXError):
    what = "The API user is not allowed to do this (403)."
    next_step = "Give the API user the missing capability in the 3CX admin console."


class NotFound(ThreeCXError):
    what = "The PBX has no such resource (404)."


class RecordingFileMissing(NotFound):
    what = "The recording file is not on the PBX."
    next_step = "It was not written yet, was deleted by retention, or was moved to the archive."


class DownloadUnconfirmed(ThreeCXError):
    """v18: none of the recording download paths the client knows answered (API-NOTES §7 names
    none for certain). A limit of this product on that build, not a fault of the PBX: a 404 on
    a path that may not exist says nothing about the recording or the API user's rights."""

    what = "PBX Companion could not confirm the recording download on this 3CX build (v18)."
    next_step = (
        "This is a limit of PBX Companion, not a fault of the PBX: none of the download paths "
        "it knows for v18 answered. To hear the recording, play it in the 3CX admin console "
        "(Recordings)."
    )


class ServerError(ThreeCXError):
    what = "The PBX answered with a server error."

    def __init__(self, status: int, detail: str = "", *, endpoint: str | None = None):
        self.status = status
        super().__init__(detail or f"HTTP {status}", endpoint=endpoint)

    next_step = "Retry in a minute; if it persists, check the PBX's services in the admin console."


class MalformedResponse(ThreeCXError):
    what = "The PBX answered with something that is not a 3CX response."
    next_step = "Check the address points at the PBX itself and not at a proxy or login page."

    def __init__(self, detail: str = "", *, endpoint: str | None = None, status: int | None = None):
        self.status = status
        super().__init__(detail, endpoint=endpoint)


class Unsupported(ThreeCXError):
    what = "This PBX does not offer that API."


class BadRequest(ThreeCXError):
    what = "The PBX refused the request as malformed (400)."
