"""Reading JSON from a PBX without a traceback, a runaway number or an endless string.

Every JSON text the client reads (HTTP answers and websocket frames alike) goes through
``read_json_text``: NaN and Infinity, absurdly long numbers, nesting past a limit and more
objects than any 3CX answer holds become ``UnreadableAnswer`` naming what was wrong; strings
past a limit are cut with "…". The checks walk the parsed value with a stack, never by
recursion, so a deep value cannot exhaust Python's stack either.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

from app.domain.limits import (
    MAX_JSON_CONTAINERS,
    MAX_JSON_DEPTH,
    MAX_NUMBER_DIGITS,
    MAX_STRING_CHARS,
)
from app.threecx.errors import UnreadableAnswer

ELLIPSIS = "…"
# A JSON string token, or an opening bracket outside one (to count containers exactly).
_TOKEN = re.compile(r'"(?:[^"\\]|\\.)*"|[\[{]', re.DOTALL)


class _Refused(ValueError):
    """Raised inside the parser's hooks; turned into ``UnreadableAnswer`` at the edge."""


def _parse_int(text: str) -> int:
    digits = len(text.lstrip("-"))
    if digits > MAX_NUMBER_DIGITS:
        raise _Refused(f"a number {digits} digits long")
    return int(text)


def _parse_float(text: str) -> float:
    if len(text) > MAX_NUMBER_DIGITS + 8:  # digits, sign, point and a short exponent
        raise _Refused(f"a number {len(text)} characters long")
    value = float(text)
    if not math.isfinite(value):
        raise _Refused(f"a number too large to hold ({text[:20]})")
    return value


def _parse_constant(name: str) -> Any:
    raise _Refused(f"{name}, which is not a JSON number")


def _decoder() -> json.JSONDecoder:
    return json.JSONDecoder(
        parse_int=_parse_int, parse_float=_parse_float, parse_constant=_parse_constant
    )


_DECODER = _decoder()


def _absent(text: str) -> None:
    return None


def _int_or_absent(text: str) -> int | None:
    return None if len(text.lstrip("-")) > MAX_NUMBER_DIGITS else int(text)


def _float_or_absent(text: str) -> float | None:
    value = float(text)
    return value if math.isfinite(value) else None


# For answers whose numbers are all optional (the token's expires_in): an absurd number is an
# absent one, so the rest of the answer (the token itself) can still be used.
_LENIENT_DECODER = json.JSONDecoder(
    parse_int=_int_or_absent, parse_float=_float_or_absent, parse_constant=_absent
)


def _containers(text: str) -> int:
    """Objects and lists in a JSON text; the quick count of brackets is exact unless some sit
    inside strings, and only then are the strings skipped to count exactly."""
    rough = text.count("{") + text.count("[")
    if rough <= MAX_JSON_CONTAINERS:
        return rough
    return sum(1 for match in _TOKEN.finditer(text) if len(match.group()) == 1)


def _clamp(text: str) -> str:
    if len(text) <= MAX_STRING_CHARS:
        return text
    return text[: MAX_STRING_CHARS - 1] + ELLIPSIS


def _settle(value: Any) -> Any:
    """Checks the depth and cuts long strings, with an explicit stack (no recursion).

    ``value`` is fresh from the decoder, so its containers are exactly dict and list and its
    keys str: exact type tests keep this walk cheap on answers of thousands of rows."""
    if isinstance(value, str):
        return _clamp(value)
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > MAX_JSON_DEPTH:
            raise _Refused(f"nesting deeper than {MAX_JSON_DEPTH} levels")
        if type(node) is dict:
            if node and max(map(len, node)) > MAX_STRING_CHARS:
                clamped = {_clamp(k): v for k, v in node.items()}
                node.clear()
                node.update(clamped)
            for key, item in node.items():
                kind = type(item)
                if kind is str:
                    if len(item) > MAX_STRING_CHARS:
                        node[key] = _clamp(item)
                elif kind is dict or kind is list:
                    stack.append((item, depth + 1))
        elif type(node) is list:
            for index, item in enumerate(node):
                kind = type(item)
                if kind is str:
                    if len(item) > MAX_STRING_CHARS:
                        node[index] = _clamp(item)
                elif kind is dict or kind is list:
                    stack.append((item, depth + 1))
    return value


def read_json_text(
    text: str | bytes, endpoint: str | None = None, *, absurd_numbers_absent: bool = False
) -> Any:
    """Parse one JSON text from a PBX (an HTTP body or a websocket frame).

    Raises ``UnreadableAnswer`` naming what was wrong: not JSON at all, NaN or Infinity, a
    number with absurdly many digits, nesting deeper than ``MAX_JSON_DEPTH``, more than
    ``MAX_JSON_CONTAINERS`` objects and lists. Strings longer than ``MAX_STRING_CHARS`` come
    back cut, ending in "…". Never raises anything else. With ``absurd_numbers_absent`` an
    absurd number, NaN or Infinity reads as null instead.
    """
    if isinstance(text, str):
        decoded = text
    else:
        try:
            decoded = bytes(text).decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise UnreadableAnswer(
                f"The answer is not UTF-8 text (byte {exc.start}).", endpoint=endpoint
            ) from None
    count = _containers(decoded)
    if count > MAX_JSON_CONTAINERS:
        raise UnreadableAnswer(
            f"The answer holds {count:,} objects and lists in {len(decoded):,} characters, more than any 3CX answer (limit {MAX_JSON_CONTAINERS:,}).",
            endpoint=endpoint,
        )
    try:
        value = (_LENIENT_DECODER if absurd_numbers_absent else _DECODER).decode(decoded)
        return _settle(value)
    except _Refused as exc:
        raise UnreadableAnswer(f"The answer holds {exc}.", endpoint=endpoint) from None
    except RecursionError:
        raise UnreadableAnswer(
            f"The answer holds nesting deeper than {MAX_JSON_DEPTH} levels.", endpoint=endpoint
        ) from None
    except json.JSONDecodeError as exc:
        snippet = decoded[max(0, exc.pos - 20) : exc.pos + 20].replace("\n", " ")
        raise UnreadableAnswer(
            f"The answer is not valid JSON ({exc.msg} at character {exc.pos}: {snippet!r}).",
            endpoint=endpoint,
        ) from None
    except (ValueError, TypeError, OverflowError, MemoryError) as exc:
        # int() past its digit limit and other conversions the hooks leave to Python.
        raise UnreadableAnswer(
            f"The answer could not be read as JSON ({type(exc).__name__}).", endpoint=endpoint
        ) from None
