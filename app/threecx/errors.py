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
    # 3CX answers the same 401 for an unknown Client ID and a wrong key (API-NOTES §2), so the
    # words name both; regenerating comes last because it breaks every bridge holding the key.
    what = "The PBX rejected the Client ID or key (401)."
    next_step = (
        "The Client ID or key is wrong, or the key was rotated. First check both exactly as "
        "shown under Admin console > Integrations > API (v20; on v18 the API user's extension "
        "and password) and paste the key again in one piece. Regenerate the key only if it is "
        "lost: every bridge that holds the old key then needs the new one."
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


# What a misbehaving PBX, or something in front of it, does (issue 18). Each names the
# misbehaviour so no verdict is read from it: none of these is "a role is missing".


class NotThreeCX(MalformedResponse):
    """An answer that is plainly not the 3CX API: an HTML page, a login form, a proxy's page."""

    what = "Something other than the 3CX API answered."
    next_step = (
        "The address reaches a web page, a login page or a proxy, not the PBX's API: check the "
        "address and port, and any proxy or firewall page in between. The key is not at fault."
    )


class AnswerTooLarge(MalformedResponse):
    """A body over the size limit, counted while it streams and while it decompresses."""

    what = "The PBX's answer was larger than PBX Companion reads, so it stopped reading."
    next_step = (
        "Something sent an oversized or endlessly compressed answer: check for a proxy in front "
        "of the PBX, then run again. Nothing was read from this answer."
    )


class UnreadableAnswer(MalformedResponse):
    """JSON of the wrong shape: a value of the wrong type, out of range or absurd."""

    what = "The PBX answered, but the answer could not be read."
    next_step = (
        "A value had the wrong type or was out of range, so nothing is concluded from it: check "
        "this by hand in the 3CX admin console, and send the app's log to support."
    )


class EndlessPaging(MalformedResponse):
    """Paging that would not end: a repeated nextLink, an ignored $skip, or past the caps."""

    what = "The PBX kept sending pages without end, so PBX Companion stopped asking."
    next_step = (
        "The PBX (or a proxy in front of it) repeated a page or ignored paging, so nothing from "
        "that list was used. Check for a proxy or a half-finished upgrade."
    )


class TokenRevoked(ThreeCXError):
    """A 401 on an API call right after a good sign-in, again after signing in once more."""

    what = "The PBX withdrew the access token right after a good sign-in (401), twice."
    next_step = (
        "Another program signed in with the same API client meanwhile (3CX keeps one token per "
        "client), or the key was rotated. Give each bridge and tool its own API client; if the "
        "key was rotated, use the new one. This is not a missing role."
    )


class SchemeMismatch(Unreachable):
    """The address's http:// or https:// is not what the port speaks (checked, not guessed)."""

    what = "The address's http:// or https:// does not match what the port speaks."

    def __init__(self, detail: str, fix: str, *, endpoint: str | None = None) -> None:
        self.fix = fix
        super().__init__(UnreachableKind.NETWORK, detail, endpoint=endpoint)

    @property
    def next_step(self) -> str:  # type: ignore[override]
        return self.fix
