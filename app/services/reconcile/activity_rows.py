"""One row of a CRM activity export read into a ``CrmActivity``, through the mapped columns.

A row whose cells do not line up with the header is dropped. A row whose time or number
cannot be read is kept (it may still match its call by id) with that field empty, and each
problem is given back for the engineer to see.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, tzinfo

from app.domain.calls import CallDirection
from app.domain.phones import to_e164_uncached, validate_region
from app.domain.reconcile.records import ActivityKind, CrmActivity
from app.services.contacts.crm_import import (
    MAX_CELL_CHARS,
    MAX_PHONE_CHARS,
    clamp_cell,
    squash_header,
)
from app.services.contacts.csv_stream import BrokenRow, field_count_problem
from app.services.reconcile.activity_columns import ActivityColumns
from app.services.reconcile.call_ids import find_call_id
from app.services.reconcile.redaction import redact
from app.services.reconcile.timestamps import MONTH_FIRST_REGIONS, has_date_only, parse_sheet_time

MAX_TIME_CHARS = 100
MAX_CALL_ID_CHARS = 100
NOTES_CHARS = 2_000  # where a bridge writes "3CX call id: ..." into a note: near its start
_SHARED_STRINGS = 100_000

_DIRECTIONS = {
    **dict.fromkeys(
        ("inbound", "incoming", "in", "received", "missed", "missedcall"), CallDirection.INBOUND
    ),
    **dict.fromkeys(("outbound", "outgoing", "out", "dialed", "dialled"), CallDirection.OUTBOUND),
    "internal": CallDirection.INTERNAL,
}
_KINDS = {
    **dict.fromkeys(
        ("call", "calls", "phonecall", "loggedcall", "inboundcall", "outboundcall", "missedcall"),
        ActivityKind.CALL,
    ),
    **dict.fromkeys(("task", "tasks", "todo", "followup"), ActivityKind.TASK),
    **dict.fromkeys(("sms", "text", "textmessage", "mms", "whatsapp"), ActivityKind.SMS),
    **dict.fromkeys(("email", "emails", "mail", "listemail", "emailmessage"), ActivityKind.EMAIL),
}
_YES = frozenset({"yes", "y", "true", "1", "x", "new", "created"})


def day_first_in(region: str) -> bool:
    """Whether "03/04/2026" is 3 April where the CRM's users are (the US writes April 3)."""
    return region.upper() not in MONTH_FIRST_REGIONS


class ActivityRowReader:
    """Reads rows of one export: its header row, its mapping (checked against that row with
    ``ActivityColumns.check``), the CRM's zone and its region."""

    def __init__(
        self, headers: Sequence[str], columns: ActivityColumns, *, zone: tzinfo, region: str
    ) -> None:
        self._region = validate_region(region)
        self._zone = zone
        self._day_first = (
            day_first_in(self._region) if columns.day_first is None else columns.day_first
        )
        self._width = len(headers)
        position: dict[str, int] = {}
        for i, header in enumerate(headers):
            position.setdefault(header.strip(), i)
        self._columns = columns
        self._headers = columns.headers()
        self._at = {name: position[h.strip()] for name, h in self._headers.items()}
        # Contact names repeat across an export: one string each, not one per row.
        self._shared: dict[str, str] = {}

    def read(self, row: int, fields: list[str]) -> tuple[CrmActivity | None, list[BrokenRow]]:
        """The row's activity (None: dropped) and what could not be read in it."""
        wrong = field_count_problem(fields, self._width)
        if wrong is not None:
            return None, [wrong]
        problems: list[BrokenRow] = []
        at = self._time(fields, problems)
        direction = _DIRECTIONS.get(squash_header(self._cell(fields, "direction") or ""))
        phone, e164 = self._phone(fields, direction, problems)
        activity = CrmActivity(
            row=row,
            at=at,
            phone=phone,
            phone_e164=e164,
            direction=direction,
            contact=self._kept(fields, "contact"),
            recording_link=self._recording(fields),
            call_id=self._call_id(fields),
            kind=self._kind(fields),
            new_contact=self._new_contact(fields),
        )
        return activity, problems

    def _cell(self, fields: list[str], name: str) -> str | None:
        index = self._at.get(name)
        return (fields[index].strip() or None) if index is not None else None

    def _kept(self, fields: list[str], name: str) -> str | None:
        text = self._cell(fields, name)
        if text is None:
            return None
        text = clamp_cell(text)
        if len(self._shared) >= _SHARED_STRINGS:
            return self._shared.get(text, text)
        return self._shared.setdefault(text, text)

    def _time(self, fields: list[str], problems: list[BrokenRow]) -> datetime | None:
        columns = self._columns
        if columns.time is None and columns.date is None:
            return None  # matched by call id only
        clock = self._cell(fields, "clock")
        parts = (self._cell(fields, "time"), self._cell(fields, "date"), clock)
        text = " ".join(part for part in parts if part)
        header = columns.time or columns.date
        if not text:
            problems.append(BrokenRow(f"the {header!r} cell is empty", "no time"))
            return None
        at = self._parse(text)
        if at is None and clock is not None:
            at = self._parse(clock)  # a "time" column that holds the date too
        if at is None:
            shown = text[:MAX_TIME_CHARS]
            if has_date_only(text):
                message, kind = f"{shown!r} is a date without a time of day", "date without time"
            else:
                message, kind = f"the time {shown!r} cannot be read", "unreadable time"
            problems.append(BrokenRow(message, kind))
        return at

    def _parse(self, text: str) -> datetime | None:
        if len(text) > MAX_TIME_CHARS:
            return None
        return parse_sheet_time(text, self._zone, day_first=self._day_first)

    def _phone(
        self, fields: list[str], direction: CallDirection | None, problems: list[BrokenRow]
    ) -> tuple[str | None, str | None]:
        """The other party's number: the phone column, else From (inbound) or To (outbound)."""
        if direction is CallDirection.INBOUND:
            sides: tuple[str, ...] = ("from_number",)
        elif direction is CallDirection.OUTBOUND:
            sides = ("to_number",)
        else:
            sides = ("from_number", "to_number")
        for name in ("phone", *sides):
            raw = self._cell(fields, name)
            if raw is not None:
                return self._number(raw, name, problems)
        return None, None

    def _number(
        self, raw: str, name: str, problems: list[BrokenRow]
    ) -> tuple[str | None, str | None]:
        header = self._headers[name]
        if len(raw) > MAX_PHONE_CHARS:
            problems.append(
                BrokenRow(f"the {header!r} cell is not a phone number", "unreadable number")
            )
            return None, None
        e164 = to_e164_uncached(raw, self._region)
        if e164 is None:
            problems.append(
                BrokenRow(
                    f"the number {raw!r} in {header!r} is not a phone number", "unreadable number"
                )
            )
        # One string when the CRM stored the number in E.164 already (150,000 rows add up).
        return raw, (raw if e164 == raw else e164)

    def _recording(self, fields: list[str]) -> str | None:
        link = self._cell(fields, "recording")
        # A signed link is a key to the file: its signature must not reach a report.
        return clamp_cell(redact(link[:MAX_CELL_CHARS])) if link else None

    def _call_id(self, fields: list[str]) -> str | None:
        written = self._cell(fields, "call_id")
        if written is not None and len(written) <= MAX_CALL_ID_CHARS:
            return written.lower()  # as the log's ids are given: case means nothing in them
        notes = self._cell(fields, "notes")
        return find_call_id(notes[:NOTES_CHARS], call_label=False) if notes else None

    def _kind(self, fields: list[str]) -> ActivityKind:
        written = self._cell(fields, "kind")
        if written is None:
            return ActivityKind.CALL  # a calls export names no kind
        return _KINDS.get(squash_header(written), ActivityKind.OTHER)

    def _new_contact(self, fields: list[str]) -> bool:
        written = (self._cell(fields, "new_contact") or "").lower()
        return written in _YES or "3cx" in written or "bridge" in written
