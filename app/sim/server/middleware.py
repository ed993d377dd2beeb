"""What happens around every PBX route: the transport faults, latency, paging variants and the
version header. The add-on's routes (/_sim/, /webhooks/) are a web service of their own."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable

from aiohttp import web
from aiohttp.typedefs import Middleware

from app.sim.server.pbx import Pbx
from app.sim.server.responses import json_response, odata_error

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
GARBAGE = "<html><head><title>3CX</title></head><body>Loading…</body></html>"


def pbx_middleware(pbx: Pbx, closing: asyncio.Event) -> Middleware:
    """The middleware; a ``hang`` holds each request until ``closing`` is set."""

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        faults = pbx.faults
        # The add-on's MP3 folder is its own web service: the PBX's faults do not reach it.
        if request.path.startswith(("/_sim/", "/webhooks/")):
            return await handler(request)
        if faults.active("hang"):
            await closing.wait()
            if request.transport is not None:
                request.transport.close()
            raise web.HTTPServiceUnavailable()
        if pbx.config.latency_ms > 0:
            await asyncio.sleep(pbx.config.latency_ms / 1000)
        if faults.take_flaky():
            resp: web.StreamResponse = web.Response(
                status=503, text="Service Unavailable", headers={"Retry-After": "1"}
            )
        elif faults.active("drop-connection") and request.path != "/callcontrol/ws":
            return await _drop(pbx, request)
        else:
            resp = _garbled(pbx, request, await handler(request))
        if isinstance(resp, web.Response) and request.path.startswith("/xapi/"):
            resp = collection_variants(pbx, request, resp)
        if pbx.is_v20 and not resp.prepared and not faults.active("no-version-header"):
            resp.headers["X-3CX-Version"] = pbx.version
        return resp

    return middleware


def _garbled(pbx: Pbx, request: web.Request, resp: web.StreamResponse) -> web.StreamResponse:
    """Under ``garbage-body``, an XAPI JSON answer replaced by the web client's HTML page."""
    if (
        pbx.faults.active("garbage-body")
        and request.method == "GET"
        and request.path.startswith("/xapi/")
        and resp.status == 200
        and isinstance(resp, web.Response)
        and resp.content_type == "application/json"
    ):
        return web.Response(text=GARBAGE, content_type="text/html")
    return resp


def collection_variants(pbx: Pbx, request: web.Request, resp: web.Response) -> web.Response:
    """Server-driven paging and silent $top caps, as some OData servers do."""
    faults = pbx.faults
    query = request.rel_url.query
    if faults.active("top-limit") and query.get("$top", "").isdigit():
        limit = int(faults.float_value("top-limit", 50))
        if int(query["$top"]) > limit and resp.status == 200:
            return odata_error(
                400,
                f"The limit of '{limit}' for Top query has been exceeded. "
                f"The value from the incoming request is '{query['$top']}'.",
                "WARNINGS.XAPI.INVALID_QUERY",
                "$top",
            )
    paging = faults.active("server-paging")
    capped = faults.active("silent-top-cap")
    if not (paging or capped) or resp.status != 200 or resp.content_type != "application/json":
        return resp
    body = json.loads(resp.body) if isinstance(resp.body, bytes) else None
    if not isinstance(body, dict) or not isinstance(body.get("value"), list):
        return resp
    rows = body["value"]
    top = int(query["$top"]) if query.get("$top", "").isdigit() else None
    if capped:
        cap = int(faults.float_value("silent-top-cap", 50))
        if top is not None and top > cap:
            body["value"] = rows[:cap]
    elif paging:
        size = int(faults.float_value("server-paging", 50))
        if len(rows) > size:
            skip = int(query.get("$skip", "0") or 0) + size
            rest = dict(query, **{"$skip": str(skip)})
            if top is not None:
                rest["$top"] = str(top - size)
            body["value"] = rows[:size]
            body["@odata.nextLink"] = str(request.url.with_query(rest))
    return json_response(body)


async def _drop(pbx: Pbx, request: web.Request) -> web.StreamResponse:
    """Promise 4 KB of JSON, send a few bytes, then cut the connection."""
    resp = web.StreamResponse(status=200, headers={"Content-Type": "application/json"})
    resp.content_length = 4096
    if pbx.is_v20:
        resp.headers["X-3CX-Version"] = pbx.version
    await resp.prepare(request)
    await resp.write(b'{"@odata.context":"')
    if request.transport is not None:
        request.transport.abort()
    return resp
