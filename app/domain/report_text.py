"""The report's wording and its last line of defence: status words, the customer's clock,
masked host names and the scrub every renderer runs last."""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import UTC, datetime, tzinfo

from app.domain.business_hours import BusinessHoursError, zone_of
from app.domain.diagnosis import CheckStatus
from app.domain.phones import MASK

REDACTED = "[redacted]"
HIDDEN_LABEL = MASK * 3
# Host labels that say nothing about who the customer is; kept when the FQDN is masked.
GENERIC_LABELS = frozenset(
    {"pbx", "voip", "sip", "phone", "phones", "tel", "3cx", "my3cx", "www", "localhost"}
    | {"com", "co", "net", "org", "gov", "edu", "ac"}
)
STATUS_WORDS = {
    CheckStatus.PASS: "Pass",
    CheckStatus.WARN: "Warning",
    CheckStatus.FAIL: "Failed",
    CheckStatus.SKIP: "Not checked",
}

_JWT = re.compile(r"eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*")
_BEARER = re.compile(r"(?i)\b(bearer\s+)[A-Za-z0-9._~+/=-]{4,}")
_KEY_VALUE = re.compile(
    r"(?i)\b((?:client_?secret|secret|password|passwd|api[_-]?key|access_token|refresh_token)"
    r"[\"']?\s*[=:]\s*[\"']?)[^\s\"'&,;<>]{4,}"
)
_MIN_SECRET = 4


def scrub(text: str, secrets: Iterable[str] = ()) -> str:
    """Remove secrets and anything shaped like a token: the last step of every renderer."""
    for secret in sorted({s for s in secrets if len(s) >= _MIN_SECRET}, key=len, reverse=True):
        text = text.replace(secret, REDACTED)
    text = _BEARER.sub(lambda m: m.group(1) + REDACTED, text)
    text = _KEY_VALUE.sub(lambda m: m.group(1) + REDACTED, text)
    return _JWT.sub(REDACTED, text)


def mask_host(host: str) -> str:
    """ "pbx.harbourdental.com.au" -> "pbx.•••.com.au": labels that could name the customer go.

    The last label (the country or TLD) and generic labels (pbx, 3cx, com, ...) stay, so the
    reader still sees what kind of address it is; an IPv4 address keeps its last octet.
    """
    if not host:
        return host
    if ":" in host:  # IPv6: nothing in it is generic
        return HIDDEN_LABEL
    labels = host.split(".")
    if len(labels) == 1:
        return host if host.lower() in GENERIC_LABELS else HIDDEN_LABEL
    kept = [
        label if (n == len(labels) - 1 or label.lower() in GENERIC_LABELS) else HIDDEN_LABEL
        for n, label in enumerate(labels)
    ]
    return ".".join(kept)


def status_word(status: CheckStatus) -> str:
    return STATUS_WORDS[status]


def customer_zone(time_zone: str | None) -> tzinfo:
    """The customer's zone a diagnosis recorded; UTC (named as such) when it did not."""
    if time_zone:
        try:
            return zone_of(time_zone)
        except BusinessHoursError:
            pass
    return UTC


def on_customer_clock(at: datetime, time_zone: str | None, fmt: str = "%d %B %Y, %H:%M") -> str:
    """``at`` on the customer's clock with the zone's abbreviation: "18 November 2026, 13:30
    NZDT"; in UTC, said so, for a diagnosis that did not record the customer's zone."""
    local = at.astimezone(customer_zone(time_zone))
    return f"{local:{fmt}} {local.tzname() or 'UTC'}"
