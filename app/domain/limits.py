"""How much of a PBX's answer PBX Companion reads: the numeric limits, each with its reason.

A misbehaving PBX, or something in front of it, must never make us read, inflate or build
without end (issue 18). Every reader asks these; none hard-codes its own.
"""

from __future__ import annotations

from typing import Final

MB: Final = 1024 * 1024

# A JSON answer. The largest real one is a 500-row call-history page (a few hundred KB); 8 MB
# leaves room for wide rows while a gzip bomb is refused long before it hurts. Reading one costs
# about five times its size at the peak (bytes, text, values) and the doctor reads several at
# once: 16 MB answers of 10 MB strings took a doctor to 320 MB, 8 MB keeps it near 200.
JSON_ANSWER_LIMIT: Final = 8 * MB

# A recording download (audio/x-wav, 8 kHz 16-bit mono: about 58 MB an hour). 192 MB is over
# three hours of one call, and stays well inside the 400 MB the whole doctor may use.
BINARY_ANSWER_LIMIT: Final = 192 * MB

# Stacked Content-Encodings ("gzip, gzip") multiply a bomb's ratio; no web server stacks more
# than one, two already is generous.
MAX_CONTENT_ENCODINGS: Final = 2

# JSON nesting. 3CX's deepest answer (a call-control participant inside a DN inside a list) is
# under ten levels; deeper is not a 3CX answer, and CPython's parser recurses on each level.
MAX_JSON_DEPTH: Final = 64

# Digits in one JSON number. The largest real value (a 64-bit id, a phone number read as a
# number) has at most 20 digits; a 400-digit number only makes int() and float() misbehave.
MAX_NUMBER_DIGITS: Final = 30

# Characters kept of one JSON string (and key); longer is cut with "…". No 3CX field comes near
# 64 K characters; a 10 MB string is a misbehaviour and must not be copied around.
MAX_STRING_CHARS: Final = 64 * 1024

# Objects and lists in one JSON answer. A 500-row page of calls holds a few thousand; an 8 MB
# body of "[{},{},…]" would otherwise build millions of dicts (hundreds of MB).
MAX_JSON_CONTAINERS: Final = 500_000

# How long the check "does this port speak TLS / plain HTTP?" may take, after a request to it
# failed in a way that suggests the address's http:// or https:// is the wrong one.
SCHEME_PROBE_TIMEOUT_S: Final = 3.0


def describe_size(size: int) -> str:
    """A byte count as a person reads it: "16 MB", "512 KB", "900 bytes"."""
    if size >= MB:
        return f"{size / MB:.4g} MB"
    if size >= 1024:
        return f"{size / 1024:.4g} KB"
    return f"{size} bytes"
