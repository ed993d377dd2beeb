"""Call Control's monitored list, read once after a sweep's doctor run (the doctor reads it only
while it watches for a test call, which a sweep never does).

A second sign-in of the same API client, made after the doctor's client is closed, so the two
never hold tokens at once. Anything short of a clean answer is None ("not known"): the change
rule then stays silent rather than calling the list emptied.
"""

from __future__ import annotations

from app.domain.addresses import AddressError
from app.services.feed.call_control import monitored
from app.services.session import signed_in_client
from app.threecx.connect import ConnectionParams
from app.threecx.errors import ThreeCXError
from app.threecx.v20.client import V20Client


async def monitored_dns(params: ConnectionParams, secret: str) -> tuple[str, ...] | None:
    """The DNs the API client's "Extensions to Monitor" chose; None when not known (v18, Call
    Control not enabled, or the PBX did not answer)."""
    try:
        client = await signed_in_client(params, secret)
    except (ThreeCXError, AddressError, OSError):
        return None
    try:
        if not isinstance(client, V20Client):
            return None
        return await monitored(client)
    except ThreeCXError:
        return None
    finally:
        await client.aclose()
