"""What a recording lookup is asked and what it answers: the query, each row and the result.

The rows' words are written in ``recording_verdicts``; the lookup itself (reading the PBX,
downloading, saving) is in ``recording_lookup``.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from app.domain.calls import CallRecord
from app.domain.extensions import Extension
from app.domain.recordings import Recording, RetentionPolicy
from app.threecx.errors import ThreeCXError

DEFAULT_WINDOW = timedelta(days=30)
MAX_WINDOW = timedelta(days=366)  # 3CX's call report times out (504) past a year


class RecordingStatus(enum.StrEnum):
    READY = "ready"
    ARCHIVED = "archived"
    DELETED_BY_RETENTION = "deleted by retention"
    MISSING = "missing"
    PENDING = "not written yet"
    NOT_RECORDED = "not recorded"
    NO_AUDIO = "nothing to record"
    NO_ACCESS = "no access"
    UNKNOWN = "not checked"


class QueryError(ValueError):
    """Search input that cannot be used; ``field`` names the form field ("number", ...)."""

    def __init__(self, field: str, message: str) -> None:
        self.field = field
        super().__init__(message)


class RecordingLookupError(Exception):
    """A search, download or save that failed: what happened and what to do next.

    ``row`` is the row as the failure showed it to be (e.g. now known to be deleted), if any.
    """

    def __init__(self, what: str, fix: str = "", *, row: RecordingRow | None = None) -> None:
        self.what = what
        self.fix = fix
        self.row = row
        super().__init__(f"{what} {fix}".strip())


@dataclass(frozen=True)
class RecordingQuery:
    """What the engineer typed. Empty fields do not filter; dates default to the last 30 days."""

    number: str | None = None  # any format: "0412 345 678", "+61 412 345 678", "61412345678"
    extension: str | None = None
    since: datetime | None = None  # timezone-aware
    until: datetime | None = None
    call_id: str | None = None

    def window(self, now: datetime) -> tuple[datetime, datetime]:
        """The date range to read, checked: both ends aware, in order, at most a year."""
        for name, value in (("From", self.since), ("To", self.until)):
            if value is not None and value.tzinfo is None:
                raise QueryError("dates", f"{name}: the date needs a time zone.")
        until = self.until or now
        since = self.since or min(until, now) - DEFAULT_WINDOW
        if until < since:
            raise QueryError(
                "dates",
                f"Dates: 'To' ({until:%Y-%m-%d %H:%M}) is before 'From' "
                f"({since:%Y-%m-%d %H:%M}). Swap them or pick a later 'To' date.",
            )
        if since > now:
            raise QueryError(
                "dates", f"Dates: 'From' ({since:%Y-%m-%d}) is in the future: no calls yet."
            )
        if until - since > MAX_WINDOW:
            raise QueryError(
                "dates",
                f"Dates: {(until - since).days} days is too long a range; 3CX's call report "
                f"answers at most {MAX_WINDOW.days} days at a time.",
            )
        return since, until


@dataclass(frozen=True)
class RecordingRow:
    """One call and where its recording stands."""

    call: CallRecord
    number_raw: str | None  # the outside party as the PBX stored it
    number_e164: str | None
    status: RecordingStatus
    recording_id: int | None  # the recording to play: referenced by the call log or matched
    recording: Recording | None  # as listed by the PBX, when it is listed
    age_days: int | None
    days_left: int | None  # before auto-delete; None when not applicable or not known
    days_left_text: str  # short, for a table cell
    retention_text: str  # a sentence for the details
    explanation: str  # the status in plain words
    fix: str  # what to do, in the field docs' words; "" when nothing is wrong
    check: str = ""  # the outcome of the last download check, if one was made

    @property
    def key(self) -> str:
        return self.call.call_id

    @property
    def started_at(self) -> datetime | None:
        return self.call.started_at

    @property
    def extension(self) -> str | None:
        return self.call.extension

    @property
    def duration(self) -> timedelta | None:
        return self.call.talking

    @property
    def playable(self) -> bool:
        """Worth trying to download: the PBX may have it (Verify re-checks the others)."""
        return self.recording_id is not None and self.status in (
            RecordingStatus.READY,
            RecordingStatus.UNKNOWN,
            RecordingStatus.NO_ACCESS,
        )


@dataclass(frozen=True)
class SearchResult:
    query: RecordingQuery
    since: datetime
    until: datetime
    number_e164: str | None
    rows: tuple[RecordingRow, ...]
    generation: str  # "v20" or "v18"
    retention: RetentionPolicy | None
    retention_text: str
    calls_read: int
    calls_limit_hit: bool
    recordings_read: int
    recordings_limit_hit: bool
    notes: tuple[str, ...]  # limits hit and lists that could not be read, in plain words

    @property
    def incomplete(self) -> bool:
        return self.calls_limit_hit or self.recordings_limit_hit

    def counts(self) -> dict[RecordingStatus, int]:
        out: dict[RecordingStatus, int] = {}
        for row in self.rows:
            out[row.status] = out.get(row.status, 0) + 1
        return out


@dataclass(frozen=True)
class LookupFacts:
    """What one search read from the PBX, shared by every row."""

    generation: str
    now: datetime
    retention: RetentionPolicy | None
    retention_error: ThreeCXError | None
    recordings: dict[int, Recording] | None  # None: the list could not be read
    recordings_error: ThreeCXError | None
    oldest_listed_trusted: datetime | None  # absence proves nothing before this (list cut)
    # Each extension's recording setting; empty when it could not be read.
    extensions: dict[str, Extension] = field(default_factory=dict)

    @property
    def is_v20(self) -> bool:
        return self.generation == "v20"
