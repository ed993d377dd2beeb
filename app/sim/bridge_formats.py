"""How a bridge writes its log (JSON lines, logfmt, plain text, or all three mixed) and how
the CRM exports its activities (HubSpot's calls export), as the reconcile formats describe."""

from __future__ import annotations

import csv
import io
import json
import zlib
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo

from app.sim.timefmt import iso

LOG_FORMATS = ("json", "logfmt", "text", "mixed")
_SINGLE_FORMATS = LOG_FORMATS[:3]
_TEXT_LEVELS = {"info": "INFO", "warn": "WARNING", "error": "ERROR"}

Value = str | int | float | bool

CRM_HEADERS = [
    "Activity date",
    "Activity type",
    "Call direction",
    "Phone number",
    "Associated Contact",
    "Contact created by",
    "Call recording URL",
    "Call notes",
]


@dataclass(frozen=True)
class LogLine:
    """One line the bridge wrote about a call; ``fields`` keep the order it wrote them in."""

    at: datetime
    level: str  # info | warn | error
    msg: str
    call_id: str
    fields: tuple[tuple[str, Value], ...] = ()


@dataclass(frozen=True)
class CrmRow:
    """One row of the CRM's activity export."""

    at: datetime
    kind: str  # Call | Task | SMS | Email
    direction: str  # INBOUND | OUTBOUND, or "" for a workflow's row
    phone: str
    contact: str
    created_by: str  # who created the contact, when the bridge did
    recording_url: str
    notes: str
    call_id: str  # the call it belongs to (written into the notes, as bridges do)


def check_format(fmt: str) -> str:
    if fmt not in LOG_FORMATS:
        raise ValueError(f"unknown bridge log format {fmt!r}; choose one of {LOG_FORMATS}")
    return fmt


def render_line(line: LogLine, fmt: str, *, host: str, zone: tzinfo) -> str:
    """The line as written; ``zone`` is the bridge host's, for the zone-less text format."""
    if fmt == "mixed":
        # Chosen by the line itself, so a fault on one call never reshuffles the others.
        key = f"{line.call_id}|{line.at.isoformat()}|{line.msg}".encode()
        fmt = _SINGLE_FORMATS[zlib.crc32(key) % len(_SINGLE_FORMATS)]
    if fmt == "json":
        return _json_line(line)
    if fmt == "logfmt":
        return _logfmt_line(line)
    return _text_line(line, host, zone)


def _utc_ms(at: datetime) -> str:
    utc = at.astimezone(UTC)
    return f"{utc:%Y-%m-%dT%H:%M:%S}.{utc.microsecond // 1000:03d}Z"


def _json_line(line: LogLine) -> str:
    head: dict[str, Value] = {
        "ts": _utc_ms(line.at),
        "level": line.level,
        "msg": line.msg,
        "call_id": line.call_id,
    }
    return json.dumps({**head, **dict(line.fields)})


def _logfmt_value(value: Value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    text = str(value)
    # Quoted as go-logfmt quotes: empty, or holding a space, "=", a quote or a control char.
    if not text or any(ch <= " " or ch in '="' for ch in text):
        return json.dumps(text)
    return text


def _logfmt_line(line: LogLine) -> str:
    pairs: list[tuple[str, Value]] = [
        ("ts", _utc_ms(line.at)),
        ("level", line.level),
        ("call_id", line.call_id),
        *line.fields,
        ("msg", line.msg),
    ]
    return " ".join(f"{key}={_logfmt_value(value)}" for key, value in pairs)


def _text_line(line: LogLine, host: str, zone: tzinfo) -> str:
    local = line.at.astimezone(zone)
    stamp = f"{local:%Y-%m-%d %H:%M:%S},{local.microsecond // 1000:03d}"
    fields = dict(line.fields)
    if "method" in fields:
        extra = [f"call {line.call_id}"]
        if "recording_id" in fields:
            extra.append(f"recording {fields['recording_id']}")
        if "attempt" in fields:
            extra.append(f"attempt {fields['attempt']}")
        body = (
            f"{fields['method']} https://{host}{fields['path']} -> {fields['status']} "
            f"({', '.join(extra)})"
        )
    else:
        said = "".join(f", {key} {_text_value(value)}" for key, value in line.fields)
        body = f"{line.msg} (call {line.call_id}{said})"
    return f"{stamp} {_TEXT_LEVELS[line.level]} {body}"


def _text_value(value: Value) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


def crm_csv(rows: Iterable[CrmRow], zone: tzinfo | None = None) -> str:
    """The export; times in UTC with Z, or zone-less in the CRM's ``zone`` when given."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CRM_HEADERS)
    for row in rows:
        writer.writerow(
            [
                _crm_time(row.at, zone),
                row.kind,
                row.direction,
                row.phone,
                row.contact,
                row.created_by,
                row.recording_url,
                row.notes,
            ]
        )
    return out.getvalue()


def _crm_time(at: datetime, zone: tzinfo | None) -> str:
    if zone is None:
        return iso(at) or ""
    return f"{at.astimezone(zone):%Y-%m-%d %H:%M:%S}"
