"""Step 6: can this machine reach the PBX the way a bridge does?

DNS, TCP, the TLS chain (issuer, expiry, the fingerprint to pin), how fast the API answers, and
the Call Control websocket upgrade with the key's bearer token. Each step says what it saw and,
when it fails, what to do, in the doctor's words (cause 7).
"""

from __future__ import annotations

import ssl
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlsplit

from websockets.asyncio.client import connect
from websockets.exceptions import InvalidHandshake, InvalidStatus, WebSocketException

from app.domain.clock import system_clock
from app.services.doctor.options import CERT_EXPIRY_WARNING_DAYS
from app.services.doctor.reachability import FIREWALL, KEY_FIX
from app.threecx.connect import ConnectionParams, detect_generation
from app.threecx.errors import (
    AuthRejected,
    ThreeCXError,
    TlsFailure,
    TlsProblem,
    Unreachable,
    UnreachableKind,
    Unsupported,
)
from app.threecx.probe import NetworkProbe, ProbeStep, StepResult, probe_network
from app.threecx.transport import RetryPolicy, Timeouts
from app.threecx.v20.admin import open_transport
from app.threecx.v20.client import V20Client

WS_PATH = "/callcontrol/ws"
SLOW_MS = 800.0  # an API answer slower than this is worth a word
PLAIN_HTTP_FIX = "Use the PBX's https address (443 for 3CX-hosted, usually 5001 self-managed)."
MONITOR_FIX = (
    "Edit the API client (Admin console > Integrations > API) and select the Extensions to "
    "Monitor: with none selected, Call Control answers but no call events ever arrive."
)
CALL_CONTROL_FIX = (
    "Tick Call Control API Access for the API client (Admin console > Integrations > API) and "
    "choose the extensions to monitor; without it a bridge can only poll the call log."
)
PROXY_FIX = (
    "Something between this machine and the PBX (a web proxy or a firewall that inspects "
    "HTTPS) does not pass the websocket upgrade: allow WebSocket traffic to "
    f"{WS_PATH} on the PBX's address, or run the bridge where no proxy sits in between."
)


@dataclass(frozen=True)
class ReachabilityStep:
    name: str  # "dns", "tcp", "tls", "latency" or "websocket"
    ok: bool | None  # None: not tried
    detail: str
    fix: str | None


@dataclass(frozen=True)
class ReachabilityReport:
    steps: tuple[ReachabilityStep, ...]
    tls_issuer: str | None
    tls_expires: datetime | None
    tls_fingerprint_sha256: str | None  # what the PBX presents, for "pin this certificate"
    latency_ms: float | None  # TCP connect time

    @property
    def ok(self) -> bool:
        return all(step.ok is not False for step in self.steps)


async def check_reachability(
    params: ConnectionParams, secret: str | None, *, timeout_s: float = 5.0
) -> ReachabilityReport:
    """Walk the path to the PBX; raises only ``AddressError``/``ValueError`` for bad input."""
    probe = await probe_network(params.url, params.tls, timeout_s=timeout_s)
    by_step = {result.step: result for result in probe.steps}
    steps: list[ReachabilityStep] = []
    blocked: str | None = None
    for name, step in (("dns", ProbeStep.DNS), ("tcp", ProbeStep.TCP), ("tls", ProbeStep.TLS)):
        result = by_step.get(step)
        steps.append(_network_step(name, result, blocked, probe))
        if blocked is None and (result is None or not result.ok):
            blocked = name.upper()
    steps.append(_latency_step(by_step.get(ProbeStep.HTTP), blocked, probe))
    if blocked is None and steps[-1].ok is False:
        blocked = "latency"
    if blocked is not None:
        steps.append(ReachabilityStep("websocket", None, _not_tried(blocked), None))
    elif secret is None:
        steps.append(
            ReachabilityStep("websocket", None, "Tried once the API key is entered.", None)
        )
    else:
        steps.append(await _websocket_step(params, secret, timeout_s))
    cert = probe.certificate
    return ReachabilityReport(
        steps=tuple(steps),
        tls_issuer=cert.issuer if cert else None,
        tls_expires=cert.not_after if cert else None,
        tls_fingerprint_sha256=cert.sha256 if cert else None,
        latency_ms=probe.latency_ms,
    )


def _not_tried(blocked: str) -> str:
    return f"Not tried: the {blocked} step failed."


def _network_step(
    name: str, result: StepResult | None, blocked: str | None, probe: NetworkProbe
) -> ReachabilityStep:
    if result is None:
        return ReachabilityStep(name, None, _not_tried(blocked or "previous"), None)
    if not result.ok:
        return ReachabilityStep(name, False, result.detail, _fix(result.error, probe))
    if name != "tls":
        return ReachabilityStep(name, True, result.detail, None)
    cert = probe.certificate
    if cert is None:
        return ReachabilityStep(
            name,
            False,
            "Plain HTTP: no TLS, so the API key would travel unencrypted.",
            PLAIN_HTTP_FIX,
        )
    left = cert.days_left(system_clock())
    if left < CERT_EXPIRY_WARNING_DAYS:
        return ReachabilityStep(
            name,
            True,
            f"{result.detail}: expires in {max(left, 0):.0f} days",
            "Renew the PBX certificate now (3CX renews its own certificates for 3CX-hosted "
            "domains; check the admin console's certificate settings otherwise). Bridges that "
            "pin the old certificate will need the new one.",
        )
    return ReachabilityStep(name, True, result.detail, None)


def _fix(error: ThreeCXError | None, probe: NetworkProbe) -> str:
    if error is None:
        return "Check the PBX address and this machine's network."
    fix = error.next_step
    if isinstance(error, Unreachable) and error.kind in (
        UnreachableKind.TIMEOUT,
        UnreachableKind.REFUSED,
    ):
        fix += FIREWALL
    if isinstance(error, TlsFailure) and probe.certificate is not None:
        if error.problem is TlsProblem.UNTRUSTED:
            fix += (
                " Or, once the customer confirms the fingerprint shown here is their PBX's, "
                "pin this certificate."
            )
        elif error.problem is TlsProblem.CHANGED:
            fix += " To re-pin, use the fingerprint shown here."
    return fix


def _latency_step(
    result: StepResult | None, blocked: str | None, probe: NetworkProbe
) -> ReachabilityStep:
    if result is None:
        return ReachabilityStep("latency", None, _not_tried(blocked or "previous"), None)
    if not result.ok:
        return ReachabilityStep("latency", False, result.detail, _fix(result.error, probe))
    status = probe.http_status or 0
    connect_ms = f"TCP connect {probe.latency_ms:.0f} ms; " if probe.latency_ms else ""
    detail = f"{connect_ms}the API answered in {result.duration_ms:.0f} ms: {result.detail}"
    if status == 403:
        return ReachabilityStep(
            "latency",
            False,
            detail,
            "The PBX refuses this machine before any key is checked: allow this machine's "
            "public IP in the PBX's console IP restrictions, or remove the proxy in between.",
        )
    if 300 <= status < 400 or status >= 500:
        return ReachabilityStep(
            "latency",
            False,
            detail,
            "This is not the PBX's own answer: check the port (443 for 3CX-hosted, usually "
            "5001 self-managed) and any proxy in between.",
        )
    if result.duration_ms > SLOW_MS:
        return ReachabilityStep(
            "latency",
            True,
            detail,
            "The PBX answers slowly from here: a bridge with short timeouts may give up; check "
            "the PBX's load and the network path.",
        )
    return ReachabilityStep("latency", True, detail, None)


async def _websocket_step(
    params: ConnectionParams, secret: str, timeout_s: float
) -> ReachabilityStep:
    timeouts = Timeouts(connect=timeout_s, read=timeout_s, total=timeout_s * 2)
    try:
        transport = await open_transport(
            params.url, params.tls, timeouts=timeouts, retry=RetryPolicy(attempts=1)
        )
    except ThreeCXError as exc:
        return ReachabilityStep("websocket", False, exc.message, exc.next_step or None)
    try:
        generation = params.generation or await detect_generation(transport)
        if generation != "v20":
            return ReachabilityStep(
                "websocket",
                None,
                "v18 has no Call Control websocket: a bridge polls the call log instead.",
                None,
            )
        client = V20Client(transport, params.client_id, secret)
        token = await client.bearer()
        failed = await _upgrade(transport.base_url, token, transport.ssl_context, timeout_s)
        if failed is not None:
            return failed
        monitored = await _monitored(client)
    except AuthRejected:
        return ReachabilityStep(
            "websocket",
            False,
            "The PBX rejected the API key (401), so the websocket could not be opened.",
            KEY_FIX,
        )
    except Unsupported as exc:
        return ReachabilityStep("websocket", False, exc.message, CALL_CONTROL_FIX)
    except ThreeCXError as exc:
        return ReachabilityStep("websocket", False, exc.message, exc.next_step or None)
    finally:
        await transport.aclose()
    opened = f"The websocket upgrade at {WS_PATH} succeeded with the key's bearer token"
    if not monitored:
        return ReachabilityStep(
            "websocket", False, f"{opened}, but Call Control monitors no extensions.", MONITOR_FIX
        )
    shown = ", ".join(monitored[:6]) + (
        f" and {len(monitored) - 6} more" if len(monitored) > 6 else ""
    )
    return ReachabilityStep(
        "websocket", True, f"{opened}; Call Control sees {len(monitored)} DNs ({shown}).", None
    )


async def _upgrade(
    base_url: str, token: str, ssl_context: ssl.SSLContext | None, timeout_s: float
) -> ReachabilityStep | None:
    """Open and close the Call Control websocket; None when the upgrade worked."""
    parts = urlsplit(base_url)
    url = f"{'wss' if parts.scheme == 'https' else 'ws'}://{parts.netloc}{WS_PATH}"
    try:
        async with connect(
            url,
            additional_headers={"Authorization": f"Bearer {token}"},
            ssl=ssl_context,
            open_timeout=timeout_s,
            close_timeout=min(timeout_s, 2.0),
            ping_interval=None,
        ):
            return None
    except InvalidStatus as exc:
        status = exc.response.status_code
        if status == 401:
            raise AuthRejected(endpoint=WS_PATH) from exc
        if status in (403, 404):
            return ReachabilityStep(
                "websocket",
                False,
                f"The PBX refused the websocket upgrade (HTTP {status}): Call Control is not "
                "enabled for this API client.",
                CALL_CONTROL_FIX,
            )
        return ReachabilityStep(
            "websocket", False, f"The upgrade was answered with HTTP {status}.", PROXY_FIX
        )
    except TimeoutError:
        return ReachabilityStep(
            "websocket",
            False,
            f"The websocket upgrade got no answer within {timeout_s:g} s.",
            PROXY_FIX,
        )
    except (InvalidHandshake, WebSocketException, OSError) as exc:
        return ReachabilityStep(
            "websocket", False, f"The websocket upgrade failed: {exc}.", PROXY_FIX
        )


async def _monitored(client: V20Client) -> list[str]:
    """The DNs Call Control may see, besides the route point every client sees."""
    snapshot = await client.call_control_snapshot()
    return [
        str(row.get("dn"))
        for row in snapshot
        if row.get("dn") and str(row.get("type") or "") != "Wroutepoint"
    ]
