"""Step 8: which CRM contact each real call would attach to, and why not when it would not.

The matching is the doctor's (cause 5): ``ContactIndex`` compares E.164 numbers as a bridge
does. The stored numbers that only match after normalising are exported as a CSV the CRM can
re-import, with their E.164 form.
"""

from __future__ import annotations

import csv
import io
import os
import tempfile
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from app.domain.calls import CallDirection, CallRecord
from app.domain.clock import utc_now
from app.domain.contact_match import ContactIndex, MatchKind, NumberFix, display_name
from app.domain.phones import validate_region
from app.threecx.client import PbxClient

ATTACHES = "attaches"
AFTER_NORMALISING = "attaches-after-normalising"
ORPHAN = "orphan"
AMBIGUOUS = "ambiguous"
INVALID = "invalid-number"
INTERNAL = "internal"

# Look this many days back, a window at a time, until there are enough calls: one huge range
# can time out on a real PBX (504).
WINDOWS_DAYS = (1, 7, 30, 90)
_WITHHELD = frozenset({"", "anonymous", "withheld", "private", "unknown", "restricted"})
_SHORT_DIGITS = 6  # a bare number this short is an extension, not an outside number
_CONTACTS_SHOWN = 3
CSV_HEADER = ("Contact ID", "Contact", "Phone field", "Stored number", "E.164 number")


class NormalisationExportError(Exception):
    """The bulk-fix CSV could not be written; the message names the file and why."""


@dataclass(frozen=True)
class AttachPreviewRow:
    call_id: str
    when: datetime
    raw_caller_id: str  # the outside party's number as the PBX gave it
    e164: str | None
    outcome: (
        str  # attaches, attaches-after-normalising, orphan, ambiguous, invalid-number, internal
    )
    contact: str | None  # who it attaches to (several names when ambiguous)
    reason: str
    direction: str = ""  # "inbound", "outbound", "internal" or "unknown"


async def preview_contact_attach(
    client: PbxClient,
    index: ContactIndex,
    *,
    last_n: int = 20,
    region: str | None = None,
    now: datetime | None = None,
) -> tuple[AttachPreviewRow, ...]:
    """The last ``last_n`` calls, newest first, each against the contacts in ``index``.

    ``region`` (when given) must be the index's: the region local numbers are read in.
    Raises ``ThreeCXError`` when the call history cannot be read.
    """
    _check_region(index, region)
    if last_n < 1:
        raise ValueError(f"last_n must be 1 or more, not {last_n}")
    now = now or utc_now()
    calls: list[CallRecord] = []
    for days in WINDOWS_DAYS:
        calls = await client.call_history(now - timedelta(days=days), now, limit=last_n)
        if len(calls) >= last_n:
            break
    return tuple(
        attach_row(
            call.call_id,
            call.started_at or now,
            call.direction,
            call.external_number or call.caller,
            index,
        )
        for call in calls[:last_n]
    )


async def watch_contact_attach(
    client: PbxClient, index: ContactIndex, *, region: str | None = None
) -> AsyncIterator[AttachPreviewRow]:
    """A row for each new live call, as soon as the PBX reports it, until cancelled."""
    _check_region(index, region)
    seen: set[str] = set()
    async for event in client.watch_calls():
        if event.call_id in seen:
            continue
        seen.add(event.call_id)
        yield attach_row(
            event.call_id, event.at, event.direction, event.external_number or "", index
        )


def attach_row(
    call_id: str, when: datetime, direction: CallDirection, raw: str, index: ContactIndex
) -> AttachPreviewRow:
    """Where a call from (or to) ``raw`` lands in the CRM, in words for the customer."""

    def row(
        outcome: str, reason: str, e164: str | None = None, contact: str | None = None
    ) -> AttachPreviewRow:
        return AttachPreviewRow(
            call_id, when, raw, e164, outcome, contact, reason, direction=str(direction)
        )

    if direction is CallDirection.INTERNAL:
        return row(
            INTERNAL,
            "An internal call between extensions: the bridge attaches nothing to a contact.",
        )
    if raw.strip().lower() in _WITHHELD:
        return row(
            INVALID,
            "The caller withheld their number: nothing to match, so the bridge logs the call "
            "without a contact.",
        )
    match = index.match(raw)
    names = [display_name(c) for c in match.contacts]
    if match.kind is MatchKind.EXACT:
        return row(ATTACHES, match.reason, match.e164, names[0])
    if match.kind is MatchKind.NORMALISED:
        return row(
            AFTER_NORMALISING,
            f"{match.reason} Store it as {match.e164} in the CRM and the call attaches.",
            match.e164,
            names[0],
        )
    if match.kind is MatchKind.AMBIGUOUS:
        shown = ", ".join(names[:_CONTACTS_SHOWN])
        if len(names) > _CONTACTS_SHOWN:
            shown += f" and {len(names) - _CONTACTS_SHOWN} more"
        return row(AMBIGUOUS, match.reason, match.e164, shown)
    if match.kind is MatchKind.ORPHAN:
        return row(ORPHAN, match.reason, match.e164)
    short_dn = raw.strip().isdigit() and len(raw.strip()) <= _SHORT_DIGITS
    if raw.lower().startswith("ext.") or short_dn:
        return row(INTERNAL, "The other party is an internal extension: nothing to match.")
    return row(
        INVALID,
        f"The caller id {raw!r} is not a phone number: nothing to match, so the bridge logs "
        "the call without a contact.",
    )


def write_normalisation_csv(fixes: Sequence[NumberFix], path: Path) -> int:
    """Write the stored numbers to change, with their E.164 form, for the CRM's import.

    Whole or not at all (a temporary file, then a rename); returns the rows written. Blocking:
    call it through ``asyncio.to_thread``. Raises ``NormalisationExportError``.
    """
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_HEADER)
    for fix in fixes:
        names = (_text_cell(fix.contact_id), _text_cell(fix.contact_name), _text_cell(fix.label))
        writer.writerow((*names, fix.stored, fix.e164))
    folder = path.parent
    if not folder.is_dir():
        raise NormalisationExportError(f"{path}: the folder {folder} does not exist.")
    try:
        fd, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=folder)
    except OSError as exc:
        raise NormalisationExportError(f"{path}: {exc.strerror or exc}.") from exc
    try:
        # The BOM makes Excel read names in UTF-8; CRM importers accept it.
        with os.fdopen(fd, "w", encoding="utf-8-sig", newline="") as file:
            file.write(out.getvalue())
            file.flush()
            os.fsync(file.fileno())
        os.chmod(temporary, 0o644)
        os.replace(temporary, path)
    except OSError as exc:
        Path(temporary).unlink(missing_ok=True)
        raise NormalisationExportError(f"{path}: {exc.strerror or exc}.") from exc
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return len(fixes)


def _text_cell(value: str) -> str:
    """A name or id that a spreadsheet would run as a formula gets a leading apostrophe."""
    return f"'{value}" if value.startswith(("=", "+", "-", "@", "\t", "\r")) else value


def _check_region(index: ContactIndex, region: str | None) -> None:
    if region is not None and validate_region(region) != index.region:
        raise ValueError(
            f"The contacts were indexed for region {index.region}, not {region.strip().upper()}: "
            "build the index for the region the calls are read in."
        )
