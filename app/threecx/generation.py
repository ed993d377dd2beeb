"""Which 3CX API a PBX speaks: v20's XAPI, or v18's older ``/api``.

Apart from ``connect`` so that the v20 admin sign-in can ask it without importing the module
that builds both clients (which would be a cycle).
"""

from __future__ import annotations

from urllib.parse import urlsplit

from app.threecx.errors import AuthRejected, Forbidden, MalformedResponse, NotFound, ThreeCXError
from app.threecx.transport import Transport


async def detect_generation(transport: Transport) -> str:
    """v20 answers the XAPI probe (401 without a token); v18 only has the older ``/api``."""
    try:
        response = await transport.request(
            "GET", "/xapi/v1/Defs", params={"$select": "Id"}, label="/Defs"
        )
        if "json" in response.headers.get("content-type", ""):
            return "v20"  # an open XAPI (a login page served with 200 is not one)
    except (AuthRejected, Forbidden):
        return "v20"
    except (NotFound, MalformedResponse):
        pass
    try:
        await transport.request("GET", "/api/SystemStatus", label="/api/SystemStatus")
        return "v18"
    except (AuthRejected, Forbidden):
        return "v18"
    except NotFound as exc:
        host = urlsplit(transport.base_url).netloc
        raise MalformedResponse(
            f"Neither the v20 XAPI nor the v18 API answers at {host}: is this a 3CX PBX?"
        ) from exc
    except ThreeCXError:
        raise
