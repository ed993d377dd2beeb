"""Call Control's monitored list, read once after a sweep's doctor run (the doctor reads it only
while it watches for a test call, which a sweep never does).

Read on the doctor's own client when its run finished (the same token and kept-alive
connections: no second sign-in, no new handshake); otherwise by a sign-in of its own, made
after the doctor's client is closed, so the two never hold tokens at once. Anything short of a
clean answer is None ("not known"): the change rule then stays silent rather than calling the
list emptied.
"""

from __future__ import annotations

from app.domain.addresses import AddressError
from app.services.feed.call_control import monitored
from app.services.session import signed_in_client
from app.threecx.client import PbxClient
from app.threecx.connect import ConnectionParams
from app.threecx.errors import ThreeCXError
from app.threecx.v20.client import V20Client


async def monitored_on(client: PbxClient) -> tuple[str, ...] | None:
    """The DNs the API client's "Extensions to Monitor" chose, asked on a signed-in client;
    None when not known (v18, Call Control not enabled, or the PBX did not answer)."""
    if not isinstance(client, V20Client):
        return None
    try:
        return await monitored(client)
    except ThreeCXError:
        return None


async def monitored_dns(params: ConnectionParams, secret: str) -> tuple[str, ...] | None:
    """The same, signed in for it alone (and closed after)."""
    try:
        client = await signed_in_client(params, secret)
    except (ThreeCXError, AddressError, OSError):
        return None
    try:
        return await monitored_on(client)
    finally:
        await client.aclose()
