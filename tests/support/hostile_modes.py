"""What each hostile mode does to an answer: pure functions over bodies and frames.

The server (hostile_pbx.py) forwards every request to a healthy simulator and hands the answer
to these. Large bodies are never built in memory: the gzip bomb and the huge strings are
written as they are produced, from small pieces computed once.
"""

from __future__ import annotations

import json
import re
import zlib
from collections.abc import Iterator
from typing import Any

# ---- the modes ----------------------------------------------------------------------------
TOKEN_LIFETIMES = {
    # mode -> the raw JSON text sent as expires_in (the JWT's own exp keeps the real lifetime)
    "token-lifetime-1e400": "1e400",
    "token-lifetime-0": "0",
    "token-lifetime-negative": "-5",
    "token-lifetime-nan": "NaN",
    "token-lifetime-string": '"soon"',
}
HTTP_MODES = (
    "nextlink-loop",
    "skip-ignored",
    "gzip-bomb",
    "huge-strings",
    "huge-numbers",
    *TOKEN_LIFETIMES,
    "licence-null",
    "html-login",
    "html-401",
    "one-token",
    "slow-drip",
    "hang",
)
WS_MODES = ("ws-close-at-once", "ws-deep-frame", "ws-garbage")
# "healthy" forwards untouched: the control that proves the proxy itself is sound.
MODES = ("healthy", *HTTP_MODES, *WS_MODES)

# ---- sizes --------------------------------------------------------------------------------
MB = 1 << 20
BOMB_INFLATED_MB = 6 * 1024  # what a client that inflates everything would hold: 6 GB
HUGE_STRING_BYTES = 10 * MB
HUGE_STRINGS_PER_BODY = 40  # at most 400 MB a body: enough to hurt, bounded for the machine
HUGE_DIGITS = 400
PAD_ROWS_MAX = 1000
DRIP_EVERY_S = 2.0
DEEP_LEVELS = 100_000

HTML_LOGIN = (
    "<!DOCTYPE html><html><head><title>Sign in - Contoso Remote Access</title></head><body>"
    '<form method="post" action="/my.policy"><input name="username"><input name="password" '
    'type="password"><button>Log on</button></form></body></html>'
)
HTML_401 = (
    "<html><head><title>401 Authorization Required</title></head><body>"
    "<center><h1>401 Authorization Required</h1></center><hr><center>nginx</center>"
    "</body></html>"
)


def is_api(path: str) -> bool:
    """The PBX's API paths (what a reverse proxy or a broken upgrade would garble)."""
    return path.startswith(("/xapi/", "/callcontrol"))


def is_collection(body: Any) -> bool:
    return isinstance(body, dict) and isinstance(body.get("value"), list)


# ---- paging -------------------------------------------------------------------------------
def with_next_link_to_itself(body: dict[str, Any], own_url: str) -> dict[str, Any]:
    """nextlink-loop: every page says the next page is this very page."""
    return {**body, "@odata.nextLink": own_url}


def without_skip(query: dict[str, str]) -> dict[str, str]:
    """skip-ignored: what the upstream is asked, whatever $skip the client sent."""
    return {k: v for k, v in query.items() if k not in ("$skip", "$count")}


def first_page_padded(body: dict[str, Any], top: str | None) -> dict[str, Any]:
    """skip-ignored: the first page again, filled up to $top with rows that do not map, no
    count and no nextLink: a client that pages until a short page never sees one."""
    rows = list(body["value"])
    wanted = min(int(top), PAD_ROWS_MAX) if top is not None and top.isdigit() else len(rows) + 3
    rows += [
        {"Hostile": n, "Note": "a row that maps to nothing"} for n in range(wanted - len(rows))
    ]
    out = {k: v for k, v in body.items() if k not in ("@odata.count", "@odata.nextLink")}
    out["value"] = rows
    return out


# ---- overflowing values -------------------------------------------------------------------
_HUGE_INT = int("9" * HUGE_DIGITS)
_ISO_DURATION = re.compile(r"^-?P(?:\d|T\d)")


def _huge_value(key: str, value: Any) -> Any:
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float) and (
        key.lower().endswith("id") or "duration" in key.lower() or "seconds" in key.lower()
    ):
        return _HUGE_INT
    if isinstance(value, str) and _ISO_DURATION.match(value):
        return f"PT{'9' * HUGE_DIGITS}S"
    return value


def with_huge_numbers(body: Any) -> Any:
    """huge-numbers: ids, durations and @odata.count become 400-digit numbers."""
    if isinstance(body, list):
        return [with_huge_numbers(item) for item in body]
    if not isinstance(body, dict):
        return body
    out = {k: with_huge_numbers(_huge_value(k, v)) for k, v in body.items()}
    if is_collection(body):
        out["@odata.count"] = _HUGE_INT
    return out


_SENTINEL = "\u0000hostile-huge-string\u0000"


def _mark_strings(body: Any, left: list[int]) -> Any:
    if isinstance(body, list):
        return [_mark_strings(item, left) for item in body]
    if isinstance(body, dict):
        out: dict[str, Any] = {}
        for key, value in body.items():
            if isinstance(value, str) and not key.startswith("@") and left[0] > 0:
                left[0] -= 1
                out[key] = _SENTINEL
            else:
                out[key] = _mark_strings(value, left)
        return out
    return body


def huge_string_pieces(body: Any) -> Iterator[bytes]:
    """huge-strings: the body with its string values made 10 MB long, in pieces of 1 MB."""
    text = json.dumps(_mark_strings(body, [HUGE_STRINGS_PER_BODY]), separators=(",", ":"))
    parts = text.split(json.dumps(_SENTINEL))
    filler = b"x" * MB
    for n, part in enumerate(parts):
        if n:
            yield b'"'
            for _ in range(HUGE_STRING_BYTES // MB):
                yield filler
            yield b'"'
        yield part.encode()


# ---- the gzip bomb ------------------------------------------------------------------------
_BOMB_HEAD = b'{"@odata.context":"hostile","value":['
_BOMB_TAIL = b"]}"
_SPACES = b" " * MB  # whitespace: what it inflates to is valid JSON, only enormous


def _bomb_parts() -> tuple[bytes, bytes, bytes]:
    """Deflate pieces: the head, one MB of spaces (the same bytes every time, since a full
    flush resets the compressor), and the tail."""
    deflate = zlib.compressobj(9, zlib.DEFLATED, -15)
    head = deflate.compress(_BOMB_HEAD) + deflate.flush(zlib.Z_FULL_FLUSH)
    deflate.compress(_SPACES)
    deflate.flush(zlib.Z_FULL_FLUSH)
    block = deflate.compress(_SPACES) + deflate.flush(zlib.Z_FULL_FLUSH)
    tail = deflate.compress(_BOMB_TAIL) + deflate.flush(zlib.Z_FINISH)
    return head, block, tail


_BOMB = _bomb_parts()
GZIP_HEADER = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x02\xff"


def gzip_bomb_pieces(inflated_mb: int = BOMB_INFLATED_MB) -> Iterator[bytes]:
    """A gzip body of about 1 KB per inflated MB (6 MB for 6 GB), produced as it is sent."""
    head, block, tail = _BOMB
    yield GZIP_HEADER + head
    batch = block * 64
    for _ in range(inflated_mb // 64):
        yield batch
    for _ in range(inflated_mb % 64):
        yield block
    # The trailer is only reached by a client that inflated it all: its CRC costs then.
    crc = zlib.crc32(_BOMB_HEAD)
    for _ in range(inflated_mb):
        crc = zlib.crc32(_SPACES, crc)
    crc = zlib.crc32(_BOMB_TAIL, crc)
    size = len(_BOMB_HEAD) + inflated_mb * MB + len(_BOMB_TAIL)
    yield tail + crc.to_bytes(4, "little") + (size & 0xFFFFFFFF).to_bytes(4, "little")


# ---- the token answer ---------------------------------------------------------------------
_EXPIRES_IN = re.compile(rb'"expires_in"\s*:\s*[-+0-9.eE]+')


def with_expires_in(body: bytes, literal: str) -> bytes:
    """token-lifetime-*: expires_in replaced by a raw literal (1e400 and NaN are not JSON a
    serialiser would write, so the text is edited)."""
    return _EXPIRES_IN.sub(b'"expires_in":' + literal.encode(), body, count=1)


def access_token_of(body: bytes) -> str | None:
    try:
        parsed = json.loads(body)
    except ValueError:
        return None
    token = parsed.get("access_token") if isinstance(parsed, dict) else None
    return token if isinstance(token, str) else None


# ---- websocket frames ---------------------------------------------------------------------
def deep_frames() -> list[str]:
    """ws-deep-frame: nested 100,000 levels (an array, then an object) before the real ones."""
    arrays = "[" * DEEP_LEVELS + "]" * DEEP_LEVELS
    objects = '{"event":' * DEEP_LEVELS + "null" + "}" * DEEP_LEVELS
    return [arrays, objects]


GARBAGE_TEXT = (
    "this is not JSON {",
    "42",
    "[1, 2, 3]",
    "null",
    '"a string"',
    '{"sequence": "seven", "event": []}',
    '{"sequence": 1e400, "event": {"entity": 5, "event_type": "upsert"}}',
    '{"event": {"entity": "/callcontrol/100/participants/not-a-number", "event_type": 0}}',
    '{"event": {"entity": "/callcontrol/100/participants/' + "9" * HUGE_DIGITS + '", '
    '"event_type": 0}}',
    '{"event": {"entity": ["/callcontrol"], "event_type": {"a": 1}}}',
)
GARBAGE_BINARY = (b"\x00\xff\xfe\x00garbage", b"\x89PNG\r\n\x1a\n")
GARBAGE_FRAME_COUNT = len(GARBAGE_TEXT) + len(GARBAGE_BINARY)
