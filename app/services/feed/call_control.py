"""What Call Control shows this API client: the DNs its "Extensions to Monitor" chose.

What "monitors nothing" means is the domain's (app.domain.causes.recording); this only reads
the snapshot it is judged from.
"""

from __future__ import annotations

from app.domain.causes.recording import VisibleDn, monitored_dns
from app.domain.causes.recording import monitors_nothing as judged_unmonitored
from app.threecx.client import PbxClient
from app.threecx.errors import ThreeCXError
from app.threecx.v20.client import V20Client


async def visible_dns(client: V20Client) -> list[VisibleDn]:
    """Every DN the snapshot shows; raises ``Unsupported`` when Call Control is off."""
    snapshot = await client.call_control_snapshot()
    return [
        VisibleDn(str(row.get("dn")), str(row.get("type") or ""))
        for row in snapshot
        if row.get("dn")
    ]


async def monitored(client: V20Client) -> tuple[str, ...]:
    """The monitored DNs, without the route point every client sees."""
    return monitored_dns(await visible_dns(client))


async def monitors_nothing(client: PbxClient) -> bool:
    """Call Control answers but watches no extension: a setup-form trap (API-NOTES §8.10).

    False without Call Control at all (v18, or not enabled): calls are polled instead then.
    """
    if not isinstance(client, V20Client):
        return False
    try:
        return judged_unmonitored(await visible_dns(client))
    except ThreeCXError:
        return False
