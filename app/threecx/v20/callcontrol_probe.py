"""Can a bridge open the Call Control websocket with this key, and what would it see?

The reachability probe's last step (v20 only): the websocket upgrade at ``/callcontrol/ws`` with
the signed-in client's bearer token, opened and closed at once. It reports what happened;
``app.domain.causes.reachability`` says what it means.
"""

from __future__ import annotations

import ssl
from urllib.parse import urlsplit

from websockets.asyncio.client import connect
from websockets.exceptions import InvalidHandshake, InvalidStatus, WebSocketException

from app.domain.causes.reachability import WS_PATH, CallControl, CallControlFacts
from app.threecx.errors import AuthRejected, ThreeCXError
from app.threecx.tls import TlsOptions
from app.threecx.transport import RetryPolicy, Timeouts
from app.threecx.v20.admin import open_transport
from app.threecx.v20.client import V20Client


async def probe_call_control(
    client: V20Client, url: str, tls: TlsOptions, *, timeout_s: float
) -> CallControlFacts:
    """Upgrade and close the websocket with ``client``'s token; never raises for PBX trouble."""
    try:
        token = await client.bearer()
        transport = await open_transport(
            url,
            tls,
            timeouts=Timeouts(connect=timeout_s, read=timeout_s, total=timeout_s * 2),
            retry=RetryPolicy(attempts=1),
        )
    except AuthRejected:
        return CallControlFacts(CallControl.REJECTED)
    except ThreeCXError as exc:
        return CallControlFacts(CallControl.FAILED, detail=exc.message, next_step=exc.next_step)
    try:
        failed = await _upgrade(transport.base_url, token, transport.ssl_context, timeout_s)
    finally:
        await transport.aclose()
    return failed or CallControlFacts(CallControl.OPENED)


async def _upgrade(
    base_url: str, token: str, ssl_context: ssl.SSLContext | None, timeout_s: float
) -> CallControlFacts | None:
    """Open and close the websocket; None when the upgrade worked."""
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
            # The token was issued moments ago for this key: a 401 now means it was withdrawn
            # (another sign-in with the same API client), not that the key is wrong.
            return CallControlFacts(CallControl.REVOKED, status=status)
        if status in (403, 404):
            return CallControlFacts(CallControl.REFUSED, status=status)
        return CallControlFacts(CallControl.ODD_STATUS, status=status)
    except TimeoutError:
        return CallControlFacts(CallControl.TIMEOUT, timeout_s=timeout_s)
    except (InvalidHandshake, WebSocketException, OSError) as exc:
        return CallControlFacts(CallControl.BROKEN, detail=str(exc))
