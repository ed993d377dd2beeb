"""Prove a key before it is trusted: sign in, read call history, list and download a recording.

The guided setup's step 5, the gate of a key rotation and the doctor's cause 2 ask the same
question, so these are the doctor's own probes and wording (``app.services.doctor.api_roles``):
"Reports User" is the call-history capability and "Recording Manager" the recording fetch, as
the field docs name them; 3CX has no roles by those names (API-NOTES §3), so both are proven by
doing, never read off a role name. Nothing here ever holds or prints the key.
"""

from __future__ import annotations

import asyncio
import dataclasses
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Final

from app.domain.addresses import AddressError
from app.domain.clock import utc_now
from app.domain.recordings import Recording
from app.services.doctor.api_roles import (
    HISTORY,
    RECORDINGS,
    admin_claims,
    download_line,
    download_newest,
    history_line,
    list_line,
    roles_fix,
)
from app.services.doctor.common import Outcome, attempt
from app.services.log_setup import REDACTOR
from app.threecx.client import PbxClient
from app.threecx.connect import ConnectionParams, open_client
from app.threecx.errors import AuthRejected, Forbidden, RecordingFileMissing, ThreeCXError
from app.threecx.transport import Timeouts

TOKEN: Final = "token"
CALL_HISTORY: Final = "call_history"
RECORDING_LIST: Final = "recording_list"
RECORDING_DOWNLOAD: Final = "recording_download"

LABELS: Final[dict[str, str]] = {
    TOKEN: "API key accepted (access token)",
    CALL_HISTORY: "Call history (Reports User)",
    RECORDING_LIST: "Recording list (Recording Manager)",
    RECORDING_DOWNLOAD: "Recording download (Recording Manager)",
}

TOKEN_FIX: Final = (
    "The key or Client ID is wrong. Check that the Client ID is the API client's number under "
    "Admin console > Integrations > API (on v18: the API user's extension number) and paste the "
    "key again in one piece. 3CX shows a key only once: if it is lost, or was rotated (often by "
    "a 3CX upgrade), regenerate it there (v20: edit the API client; v18: Users, edit the API "
    "user), then give the new key to every bridge and poller that holds the old one."
)
TOKEN_FORBIDDEN_FIX: Final = (
    "The PBX refused this machine (403) although the key may be right: the admin console "
    "restricts which IP addresses may use the console and API. Allow this machine's public IP "
    "(and the bridge's) in the PBX's console IP restrictions, or run the check from an allowed "
    "network."
)
NO_RECORDING_YET: Final = (
    "Place a recorded test call, then verify again to prove the recording download."
)
RETRY_FIX: Final = (
    "Verify again in a minute; if it repeats, check the PBX's services in the admin console."
)
PROBE_HISTORY_LIMIT: Final = 50  # enough to prove the call log reads; the doctor reads the rest
PROBE_RECORDINGS: Final = 5


@dataclass(frozen=True)
class CapabilityCheck:
    """One tick on the "verify the key" step. ``ok`` None: not tried (or nothing to try on)."""

    key: str  # "token" | "call_history" | "recording_list" | "recording_download"
    label: str
    ok: bool | None
    detail: str
    fix: str | None


@dataclass(frozen=True)
class CapabilityReport:
    """The four probes in order; ``generation``/``version`` once the PBX has answered."""

    checks: tuple[CapabilityCheck, ...]
    generation: str | None
    version: str | None
    admin_claims: tuple[str, ...] = ()  # admin-level token claims: the key is over-privileged

    def check(self, key: str) -> CapabilityCheck:
        return next(c for c in self.checks if c.key == key)

    @property
    def key_accepted(self) -> bool:
        return self.check(TOKEN).ok is True

    @property
    def both_capabilities(self) -> bool:
        """Call history reads and the recordings list and download work.

        A PBX with no recording on it yet cannot prove the download; the list answering is then
        taken as the recording capability (the download tick stays grey, saying why).
        """
        return (
            self.check(CALL_HISTORY).ok is True
            and self.check(RECORDING_LIST).ok is True
            and self.check(RECORDING_DOWNLOAD).ok is not False
        )

    @property
    def first_problem(self) -> CapabilityCheck | None:
        return next((c for c in self.checks if c.ok is False), None)

    @property
    def over_privileged(self) -> bool:
        return bool(self.admin_claims)


def _check(key: str, ok: bool | None, detail: str, fix: str | None = None) -> CapabilityCheck:
    return CapabilityCheck(key, LABELS[key], ok, detail, fix)


def _not_tried(key: str, why: str) -> CapabilityCheck:
    return _check(key, None, f"Not tried: {why}.")


def _token_failed(detail: str, fix: str) -> CapabilityReport:
    why = "the PBX did not accept the key"
    return CapabilityReport(
        (
            _check(TOKEN, False, detail, fix),
            *(_not_tried(k, why) for k in (CALL_HISTORY, RECORDING_LIST, RECORDING_DOWNLOAD)),
        ),
        generation=None,
        version=None,
    )


def _failure_fix(outcome: Outcome[Any], v20: bool, capability: str) -> str:
    if outcome.denied:
        return roles_fix(v20, [capability])
    error = outcome.error
    return (error.next_step if error is not None else "") or RETRY_FIX


async def verify_capabilities(
    params: ConnectionParams, secret: str, *, timeout_s: float = 10.0
) -> CapabilityReport:
    """Sign in with ``secret`` and probe both capabilities; never raises for PBX trouble.

    401 on sign-in: the key or Client ID is wrong; 403 on call history: Reports User is
    missing; 403 (or 401) on the recordings: Recording Manager is missing. Each failed tick
    carries the fix in the field docs' words and the 3CX admin console's.
    """
    REDACTOR.register(secret)
    params = dataclasses.replace(
        params, timeouts=Timeouts(connect=timeout_s, read=timeout_s, total=timeout_s * 2)
    )
    try:
        client = await open_client(params, secret)
    except AddressError as exc:
        return _token_failed(f"The PBX address cannot be used: {exc}", "Correct the PBX address.")
    except ThreeCXError as exc:
        return _token_failed(exc.message, exc.next_step or RETRY_FIX)
    try:
        return await _probe(client)
    finally:
        await client.aclose()


async def _probe(client: PbxClient) -> CapabilityReport:
    try:
        identity = await client.authenticate()
    except AuthRejected:
        return _token_failed(
            "The PBX rejected the Client ID and API key (401): the key or Client ID is wrong, "
            "or the key was regenerated since it was copied.",
            TOKEN_FIX,
        )
    except Forbidden:
        return _token_failed("The PBX refused the sign-in (403).", TOKEN_FORBIDDEN_FIX)
    except ThreeCXError as exc:
        return _token_failed(exc.message, exc.next_step or RETRY_FIX)

    v20 = client.generation == "v20"
    version = str(identity.version) if identity.version else None
    token = _check(
        TOKEN,
        True,
        f"Signed in to 3CX {version or '(version not reported)'} "
        f"({'v20 XAPI' if v20 else 'v18 web API'}).",
    )
    now = utc_now()
    history, newest = await asyncio.gather(
        attempt(client.call_history(now - timedelta(days=1), now, limit=PROBE_HISTORY_LIMIT)),
        attempt(client.recordings(limit=PROBE_RECORDINGS)),
    )
    checks = [
        token,
        _check(
            CALL_HISTORY,
            history.ok,
            history_line(history, v20),
            None if history.ok else _failure_fix(history, v20, HISTORY),
        ),
        _check(
            RECORDING_LIST,
            newest.ok,
            list_line(newest),
            None if newest.ok else _failure_fix(newest, v20, RECORDINGS),
        ),
        await _download_check(client, newest, v20),
    ]
    return CapabilityReport(
        tuple(checks),
        generation=client.generation,
        version=version,
        admin_claims=tuple(admin_claims(client)),
    )


async def _download_check(
    client: PbxClient, newest: Outcome[list[Recording]], v20: bool
) -> CapabilityCheck:
    if not newest.ok:
        return _not_tried(RECORDING_DOWNLOAD, "the recordings list did not answer")
    if not newest.value:
        return _check(
            RECORDING_DOWNLOAD,
            None,
            "No recording on the PBX yet, so the download cannot be proven.",
            NO_RECORDING_YET,
        )
    download = await download_newest(client, newest.value)
    if download.ok:
        return _check(RECORDING_DOWNLOAD, True, download_line(download))
    if isinstance(download.error, RecordingFileMissing):
        return _check(RECORDING_DOWNLOAD, None, download_line(download), NO_RECORDING_YET)
    return _check(
        RECORDING_DOWNLOAD,
        False,
        download_line(download),
        _failure_fix(download, v20, RECORDINGS),
    )
