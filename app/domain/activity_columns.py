"""Which column of a CRM activity export holds what, as the engineer mapped it or detection
guessed it; the connection keeps the engineer's mapping (``ConnectionProfile.activity_columns``).

Only the data and its rules live here: detection from the headers is the services' work.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final


class ActivityColumnsError(ValueError):
    """A mapping that cannot be used with a file, or a saved one that cannot be read back;
    the message names the field or the column."""


@dataclass(frozen=True)
class ActivityColumns:
    """Each field's column, by its header as written in the file (None: not in the export)."""

    time: str | None = None  # date and time in one column
    date: str | None = None  # or the date here ...
    clock: str | None = None  # ... and the time of day here
    phone: str | None = None  # the other party's number
    from_number: str | None = None  # or the caller's and the called numbers, read by direction
    to_number: str | None = None
    direction: str | None = None
    contact: str | None = None
    recording: str | None = None
    call_id: str | None = None
    notes: str | None = None  # searched for a call id ("3CX call id: ...") when call_id is empty
    kind: str | None = None  # call, task, SMS, email
    new_contact: str | None = None  # "Contact created by" or a "New contact" yes/no column
    day_first: bool | None = None  # "03/04" is 3 April; None: as the region writes dates

    def headers(self) -> dict[str, str]:
        """Each mapped field's header, by field name."""
        return {
            name: value
            for name, value in dataclasses.asdict(self).items()
            if isinstance(value, str)
        }

    def as_json(self) -> dict[str, str | bool | None]:
        return dataclasses.asdict(self)

    @classmethod
    def from_json(cls, data: object, where: str = "activity_columns") -> ActivityColumns:
        """A saved mapping; keys it does not know are ignored (a newer app's file)."""
        if not isinstance(data, Mapping):
            raise ActivityColumnsError(f"{where} must be an object")
        day_first = data.get("day_first")
        if day_first is not None and not isinstance(day_first, bool):
            raise ActivityColumnsError(f"{where}.day_first must be true, false or null")

        columns: dict[str, Any] = {}  # checked one by one: text or null
        for name in COLUMN_FIELDS:
            value = data.get(name)
            if value is not None and not isinstance(value, str):
                raise ActivityColumnsError(f"{where}.{name} must be a column name or null")
            columns[name] = value or None
        return cls(**columns, day_first=day_first)

    def missing(self) -> str | None:
        """What a usable mapping still lacks, in words, or None: an activity is tied to a call
        by its call id (or notes naming it), or by its time and a phone number."""
        timed = self.time is not None or self.date is not None
        numbered = any(c is not None for c in (self.phone, self.from_number, self.to_number))
        if self.call_id is not None or self.notes is not None or (timed and numbered):
            return None
        return (
            "Nothing to match the activities to calls by: choose a call id column, or a time "
            "column and a phone number column."
        )

    def fits(self, headers: Sequence[str]) -> bool:
        """Every mapped column is one of ``headers`` (a saved mapping still fits the file)."""
        known = {h.strip() for h in headers}
        return all(h.strip() in known for h in self.headers().values())

    def check(self, headers: Sequence[str]) -> None:
        """Raise ``ActivityColumnsError`` naming a mapped column that is not in the file, or
        when the mapping gives nothing to tie an activity to a call by."""
        known = {h.strip() for h in headers}
        found = ", ".join(repr(h) for h in headers if h) or "none"
        for name, header in self.headers().items():
            if header.strip() not in known:
                field = name.replace("_", " ")
                raise ActivityColumnsError(
                    f"The {field} column {header!r} is not in the file; its columns are {found}."
                )
        missing = self.missing()
        if missing is not None:
            raise ActivityColumnsError(f"{missing} The columns found are {found}.")


COLUMN_FIELDS: Final = tuple(
    f.name for f in dataclasses.fields(ActivityColumns) if f.name != "day_first"
)
