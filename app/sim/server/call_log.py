"""The XAPI call log, ReportCallLogData/Pbx.GetCallLogData(...): its strict argument list."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

from aiohttp import web

from app.sim import wire_v20
from app.sim.odata import collection
from app.sim.records import Segment
from app.sim.server.pbx import Pbx
from app.sim.server.responses import json_response, not_found, odata_error, row_keys
from app.sim.timefmt import parse_iso
from app.sim.wire_quirks import WireQuirk, renumber_per_response

CALL_LOG_FUNCTION = "ReportCallLogData/Pbx.GetCallLogData("
CALL_LOG_PARAMS = (
    "periodFrom",
    "periodTo",
    "sourceType",
    "sourceFilter",
    "destinationType",
    "destinationFilter",
    "callsType",
    "callTimeFilterType",
    "callTimeFilterFrom",
    "callTimeFilterTo",
    "hidePcalls",
)


def rec_visible(s: Segment, visible: set[int]) -> bool:
    # Once written, a recording stays referenced by its call-log row, even after retention
    # deleted the file: that is exactly the field symptom.
    del visible
    return s.recording is not None


def _split_args(text: str) -> list[str]:
    parts, cur, quoted = [], "", False
    for ch in text:
        if ch == "'":
            quoted = not quoted
        if ch == "," and not quoted:
            parts.append(cur)
            cur = ""
        else:
            cur += ch
    parts.append(cur)
    return parts


def _parse_args(inner: str) -> dict[str, str] | None:
    """The function's arguments, or None when the PBX would not know the function (404)."""
    if not inner.endswith(")"):
        return None
    args: dict[str, str] = {}
    for part in _split_args(inner[:-1]):
        key, sep, value = part.partition("=")
        if not sep or key.strip() not in CALL_LOG_PARAMS or key.strip() in args:
            return None
        args[key.strip()] = value.strip()
    if set(args) != set(CALL_LOG_PARAMS):
        return None
    for name in ("sourceFilter", "destinationFilter", "callTimeFilterFrom", "callTimeFilterTo"):
        v = args[name]
        # A string literal, or null: live clients send callTimeFilterFrom=null.
        if v == "null":
            args[name] = "''"
        elif not (len(v) >= 2 and v[0] == v[-1] == "'"):
            return None
    for name in ("sourceType", "destinationType", "callsType", "callTimeFilterType"):
        if not re.fullmatch(r"-?\d+", args[name]):
            return None
    if args["hidePcalls"] not in ("true", "false"):
        return None
    return args


def call_log(pbx: Pbx, tail: str, q: Any, base: str) -> web.Response:
    args = _parse_args(tail[len(CALL_LOG_FUNCTION) :])
    if args is None:
        return not_found("ReportCallLogData")
    try:
        start = parse_iso(args["periodFrom"])
        end = parse_iso(args["periodTo"])
    except ValueError:
        return odata_error(500, "An error has occurred.")
    if end - start > timedelta(days=366):
        return web.Response(status=504, text="Gateway Time-out")
    src_f = args["sourceFilter"][1:-1].lower()
    dst_f = args["destinationFilter"][1:-1].lower()
    visible = pbx.visible_recording_ids()
    shape = pbx.call_log_shape()
    segs = [s for s in pbx.tenant.segments if start <= s.start <= end]
    ignores_order = shape.has(WireQuirk.ORDERBY_IGNORED)
    # Newest first unless asked; a PBX that ignores $orderby answers oldest first.
    segs.sort(key=lambda s: (s.start, s.segment_id), reverse=not ignores_order)
    if ignores_order:
        q = {k: v for k, v in q.items() if k != "$orderby"}
    rows = [
        wire_v20.call_log_row(s, rec_visible(s, visible), shape)
        for s in segs
        if (not src_f or src_f in f"{s.src.dn} {s.src.caller_id} {s.src.name}".lower())
        and (not dst_f or dst_f in f"{s.dst.dn} {s.dst.caller_id} {s.dst.name}".lower())
    ]
    body = collection(rows, q, context=f"{base}Pbx.CallLogData", fields=row_keys(rows))
    if shape.has(WireQuirk.CALL_IDS_PER_RESPONSE):
        renumber_per_response(body["value"])
    return json_response(body)
