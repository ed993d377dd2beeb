"""Answer helpers shared by the simulator's routes: JSON and OData error bodies, query reads."""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web

from app.sim.odata import error_body


def json_response(body: Any, status: int = 200) -> web.Response:
    return web.Response(
        status=status,
        text=json.dumps(body, separators=(",", ":")),
        content_type="application/json",
        charset="utf-8",
    )


def odata_error(status: int, message: str, detail: str = "", target: str = "") -> web.Response:
    return json_response(error_body(message, detail, target), status)


def not_found(target: str) -> web.Response:
    return odata_error(404, "Not Found", "WARNINGS.XAPI.NOT_FOUND", target)


def row_keys(rows: list[dict[str, Any]]) -> set[str] | None:
    """The fields a collection's $select may name: those of its first row."""
    return set(rows[0]) if rows else None


def query_int(q: Any, name: str, default: int) -> int:
    raw = q.get(name, "")
    return int(raw) if str(raw).isdigit() else default


async def json_body(request: web.Request) -> dict[str, Any]:
    """The request's JSON object, or {} for no body, bad JSON or anything but an object."""
    if not request.can_read_body:
        return {}
    try:
        body = await request.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}
