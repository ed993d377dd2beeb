"""Which calls a recording search picks: the engineer's extension, number and call id.

Also reads v18's recordings list, whose internal parties carry their DN only in their names.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from app.domain.calls import CallDirection, CallRecord
from app.domain.phones import to_e164
from app.domain.recordings import Recording
from app.services.recordings.results import QueryError

# A recording starts when the call is answered, a little after the call: look past both ends.
MATCH_TOLERANCE = timedelta(minutes=2)
MAX_EXTENSION_DIGITS = 8


def call_matches(
    call: CallRecord,
    e164: str | None,
    extension: str | None,
    call_id: str | None,
    region: str,
) -> bool:
    if call_id is not None and call.call_id != call_id:
        return False
    if extension is not None:
        parties = {call.extension}
        if call.direction is CallDirection.INTERNAL:
            parties |= {digits(call.caller), digits(call.callee)}
        if extension not in parties:
            return False
    if e164 is not None:
        raw = call.external_number
        if not raw or to_e164(raw, region) != e164:
            return False
    return True


def with_dns(rec: Recording) -> Recording:
    """A v18 recording with its internal parties' DNs, read from "Name (101)" or "101".

    v18's list names internal parties that way and leaves the DN fields empty, which
    ``recording_for_call`` needs to match an internal call (it has no outside number).
    """
    if rec.from_dn is not None or rec.to_dn is not None:
        return rec
    return replace(rec, from_dn=dn_in(rec.from_number), to_dn=dn_in(rec.to_number))


def dn_in(party: str) -> str | None:
    text = party.strip()
    if text.endswith(")") and "(" in text:
        text = text[text.rindex("(") + 1 : -1]
    return text if text.isdigit() and len(text) <= MAX_EXTENSION_DIGITS else None


def digits(text: str | None) -> str:
    return "".join(ch for ch in text or "" if ch.isdigit())


def checked_extension(raw: str | None) -> str | None:
    text = (raw or "").strip()
    if not text:
        return None
    if text.lower().startswith("ext"):
        text = text[3:].lstrip(". ")
    if not text.isdigit() or len(text) > MAX_EXTENSION_DIGITS:
        raise QueryError(
            "extension",
            f"Extension: {raw!r} is not an extension number (digits only, e.g. 101).",
        )
    return text
