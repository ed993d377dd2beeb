"""Secrets removed from a bridge log line or a CRM cell before anything keeps or shows it.

The app's own redactor (registered keys, bearer tokens, JWTs) runs last; before it, what a
bridge's HTTP client logs: an Authorization header whatever its scheme, and the value of any
field named like a secret (``client_secret=``, ``"password": "…"``, ``key=``, a signed URL's
``X-Amz-Signature=``), in logfmt, JSON, a query string or plain text.
"""

from __future__ import annotations

import re

from app.services.logs.setup import REDACTOR

MASK = "***"
_ELLIPSIS = "…"
# Only the start of a very long line is shown; redacting it all would cost time for nothing.
_REDACT_CHARS = 2_000

_VALUE = r"(\"[^\"]*\"?|'[^']*'?|[^\s\"',;&}\])]+)"
_AUTHORIZATION = re.compile(
    r"(?i)((?:proxy-)?authorization[\"']?\s*[:=]\s*[\"']?)"
    r"(?:(?:bearer|basic|digest|token|negotiate)\s+)?[^\s\"',;}&]+"
)
_SECRET_FIELD = re.compile(
    r"(?i)((?<![\w-])(?:[\w.-]*(?:secret|token|passw(?:or)?d|pwd|signature|credential|"
    r"api[_-]?key|apikey|private[_-]?key)[\w.-]*|key|sig|auth|pass)[\"']?\s*[:=]\s*)" + _VALUE
)
# A cheap test first, on the lowered text: most lines name no secret, and the substitutions
# cost more than a search.
_MAYBE_SECRET = re.compile(r"auth|secret|token|pass|pwd|sig|credential|key")


def redact(text: str) -> str:
    """``text`` with every secret it holds replaced by ``***``."""
    if _MAYBE_SECRET.search(text.lower()):
        text = _AUTHORIZATION.sub(rf"\g<1>{MASK}", text)
        text = _SECRET_FIELD.sub(_masked_value, text)
    return REDACTOR.redact(text)


def shown(text: str, limit: int) -> str:
    """A line as kept for the engineer: redacted, stripped, and cut to ``limit`` characters."""
    clean = redact(text[:_REDACT_CHARS]).strip()
    return clean if len(clean) <= limit else clean[: limit - 1] + _ELLIPSIS


def _masked_value(found: re.Match[str]) -> str:
    value = found.group(2)
    quote = value[0] if value[:1] in ("'", '"') else ""
    return f"{found.group(1)}{quote}{MASK}{quote}"
