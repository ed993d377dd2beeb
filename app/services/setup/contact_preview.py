"""Step 8: which CRM contact each real call would attach to, and why not when it would not.

The verdict is the doctor's own (cause 5): the facts are gathered and judged by the same code,
so the preview and the setup report say the same thing in the same words. Each call is matched
by the same ``BridgeIndex``, as the customer's bridge compares numbers. The stored numbers that
bridge would miss are exported as a CSV the CRM can re-import: the record id and email (when
the export has them) to find each record, and the number's E.164 form.
"""

from __future__ import annotations

import asyncio
import csv
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from app.domain.bridge import BridgeIndex, ContactStore, shown_names
from app.domain.calls import CallDirection, CallRecord
from app.domain.causes.contact_match import ContactMatchFacts, judge_contact_match
from app.domain.clock import utc_now
from app.domain.contact_match import MatchKind, NumberFix
from app.domain.diagnosis import CheckResult
from app.domain.phones import validate_region
from app.services.atomic_files import atomic_text_file
from app.services.contacts.crm_import import ColumnMapping
from app.services.facts.contact_match import gather_contact_match_facts
from app.services.facts.gatherer import Facts
from app.services.facts.options import DoctorOptions
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
PHONEBOOK_ID = "3CX contact ID"
EMAIL = "Email"


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


@dataclass(frozen=True)
class FixColumns:
    """The headers that find each record on re-import: the export's own record id and email
    columns (a CRM's import matches on them). None: the export has no such column; a row
    number is never written, since it identifies nothing in the CRM."""

    record_id: str | None = None
    email: str | None = None


def fix_columns(store: ContactStore, mapping: ColumnMapping | None) -> FixColumns:
    """The columns for fixes to contacts from ``store``; ``mapping``: the CRM export's."""
    if store is ContactStore.PHONEBOOK:
        return FixColumns(PHONEBOOK_ID, EMAIL)
    if mapping is None:
        return FixColumns()
    return FixColumns(mapping.id_column, mapping.email_column)


def csv_header(columns: FixColumns) -> tuple[str, ...]:
    return (
        *((columns.record_id,) if columns.record_id else ()),
        "Contact",
        *((columns.email,) if columns.email else ()),
        "Phone field",
        "Stored number",
        "E.164 number",
    )


@dataclass(frozen=True)
class ContactPreview:
    """The doctor's cause-5 verdict for this PBX, and the last calls as its bridge sees them."""

    verdict: CheckResult
    facts: ContactMatchFacts
    rows: tuple[AttachPreviewRow, ...]

    @property
    def index(self) -> BridgeIndex | None:
        return self.facts.index


async def preview_contacts(
    client: PbxClient, options: DoctorOptions, *, last_n: int = 20, now: datetime | None = None
) -> ContactPreview:
    """Gather and judge cause 5 as the doctor does with ``options``, and preview the last
    ``last_n`` calls against the same index. Without the call history there are no rows, and
    the verdict says why (as the doctor's does); raises ``ThreeCXError`` when the history read
    for the verdict cannot be read again for the rows."""
    now = now or utc_now()
    facts = Facts(client, options, now)
    try:
        gathered = await gather_contact_match_facts(facts, options)
    finally:
        await facts.aclose()
    index = await asyncio.to_thread(lambda: gathered.index)  # a big export takes a while
    verdict = judge_contact_match(gathered)
    rows: tuple[AttachPreviewRow, ...] = ()
    if index is not None and gathered.history_problem is None:
        rows = await preview_contact_attach(client, index, last_n=last_n, now=now)
    return ContactPreview(verdict, gathered, rows)


async def preview_contact_attach(
    client: PbxClient,
    index: BridgeIndex,
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
    client: PbxClient, index: BridgeIndex, *, region: str | None = None
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
    call_id: str, when: datetime, direction: CallDirection, raw: str, index: BridgeIndex
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
    names = shown_names(match.contacts)
    if match.kind is MatchKind.EXACT:
        return row(ATTACHES, match.reason, match.e164, names[0])
    if match.kind is MatchKind.NORMALISED:
        fixed = any(index.needs_fix(entry) for entry in match.stored)
        return row(
            AFTER_NORMALISING,
            f"{match.reason} Store it as {match.e164} and the call attaches."
            if fixed
            else match.reason,
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


def write_normalisation_csv(
    fixes: Iterable[NumberFix], path: Path, columns: FixColumns | None = None
) -> int:
    """Write the stored numbers to change, with their E.164 form, for the CRM's import.

    One row per number: the record id and email under the export's own headers (``columns``),
    the contact's name, the phone field, the number as stored and in E.164. ``fixes`` is read
    once and written as it comes (``BridgeIndex.iter_fixes``: a large export's 300,000 rows are
    never held). Whole or not at all (a temporary file, then a rename); returns the rows
    written. Blocking: call it through ``asyncio.to_thread``. Raises ``NormalisationExportError``.
    """
    columns = columns or FixColumns()
    folder = path.parent
    if not folder.is_dir():
        raise NormalisationExportError(f"{path}: the folder {folder} does not exist.")
    written = 0
    try:
        # The BOM makes Excel read names in UTF-8; CRM importers accept it. The sheet is an
        # ordinary document (0644), not a private file.
        with atomic_text_file(
            path, encoding="utf-8-sig", newline="", mode=0o644, suffix=".part"
        ) as file:
            writer = csv.writer(file, lineterminator="\r\n")
            writer.writerow(csv_header(columns))
            for fix in fixes:
                writer.writerow(
                    (
                        *((_text_cell(fix.contact_id),) if columns.record_id else ()),
                        _text_cell(fix.contact_name),
                        *((_text_cell(fix.email or ""),) if columns.email else ()),
                        _text_cell(fix.label),
                        fix.stored,
                        fix.e164,
                    )
                )
                written += 1
    except OSError as exc:
        raise NormalisationExportError(f"{path}: {exc.strerror or exc}.") from exc
    return written


def _text_cell(value: str) -> str:
    """A name or id that a spreadsheet would run as a formula gets a leading apostrophe."""
    return f"'{value}" if value.startswith(("=", "+", "-", "@", "\t", "\r")) else value


def _check_region(index: BridgeIndex, region: str | None) -> None:
    if region is not None and validate_region(region) != index.region:
        raise ValueError(
            f"The contacts were indexed for region {index.region}, not {region.strip().upper()}: "
            "build the index for the region the calls are read in."
        )
