"""A CRM's activity export (calls, tasks, SMS, emails as CSV) read into ``CrmActivity`` rows.

HubSpot, Salesforce, Zoho, GoHighLevel or any sheet: the columns are detected from the header
(``activity_columns``) or taken from the mapping the engineer corrected. The file is streamed
with the contacts import's CSV reader (encoding, BOM, delimiter and "sep=" sniffing, rows that
break the CSV): only the header, a row at a time and the activities the caller keeps are held.
A broken row is counted with its row and line numbers and why; nothing in the content is fatal.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Generator, Iterator
from dataclasses import dataclass, field
from datetime import tzinfo

from app.domain.reconcile.records import CrmActivity
from app.services.contacts.crm_import import (
    MAX_PROBLEMS_KEPT,
    ContactsFileError,
    CrmFlavour,
    CsvTable,
)
from app.services.contacts.csv_stream import BrokenRow, CsvFileError, CsvLines, open_csv
from app.services.reconcile.activity_columns import (
    ActivityColumns,
    ActivityColumnsError,
    activity_flavour,
    detect_activity_columns,
)
from app.services.reconcile.activity_rows import ActivityRowReader
from app.services.reconcile.redaction import redact
from app.services.reconcile.stopping import check_stop
from app.services.reconcile.streams import ClosingStream

STOP_CHECK_ROWS = 1024  # rows between looks at whether the run was cancelled

Path = str | os.PathLike[str]


class ActivitiesFileError(Exception):
    """The file cannot be read as an activity export; the message says why and what to do."""


@dataclass(frozen=True)
class ActivityProblem:
    row: int  # 1-based data row, as ``CrmActivity.row``
    line: int  # 1-based line of the file where the row starts
    message: str
    kind: str  # what it is counted as: "wrong number of fields", "unreadable time", ...
    kept: bool  # the row is still read (its time or number left empty), else it was dropped


@dataclass
class ActivityCounts:
    """What a read of one export has found so far: updated while its rows are read."""

    source: str
    encoding: str = "text"  # as the file was read: "utf-8", "cp1252", "utf-16"
    rows: int = 0  # data rows, blank lines not counted
    activities: int = 0  # rows read into an activity (with or without a problem)
    problem_rows: int = 0  # every row with a problem, kept or dropped
    dropped: int = 0
    problems: list[ActivityProblem] = field(default_factory=list)  # the first MAX_PROBLEMS_KEPT
    problem_kinds: dict[str, int] = field(default_factory=dict)

    def note(self, line: int, found: list[BrokenRow], kept: bool) -> None:
        self.problem_rows += 1
        self.dropped += not kept
        for problem in found:
            self.problem_kinds[problem.kind] = self.problem_kinds.get(problem.kind, 0) + 1
        # A file of nothing but broken rows must not cost a record per row.
        if len(self.problems) < MAX_PROBLEMS_KEPT:
            message = "; ".join(problem.message for problem in found)
            self.problems.append(ActivityProblem(self.rows, line, message, found[0].kind, kept))

    def problem_summary(self) -> str | None:
        """One line for the engineer: how many rows had problems, which, and where."""
        if not self.problem_rows:
            return None
        kinds = ", ".join(
            f"{n:,} {kind}" for kind, n in sorted(self.problem_kinds.items(), key=lambda kv: -kv[1])
        )
        rows = ", ".join(str(p.row) for p in self.problems[:5])
        more = " and more" if self.problem_rows > min(5, len(self.problems)) else ""
        noun = "row" if self.problem_rows == 1 else "rows"
        return (
            f"{self.problem_rows:,} {noun} with problems ({kinds}), {self.dropped:,} of them "
            f"skipped: row {rows}{more}."
        )


class CrmActivities(ClosingStream[CrmActivity]):
    """The export's activities, one at a time, with ``counts`` up to date as they are read."""

    def __init__(
        self,
        activities: Generator[CrmActivity],
        close: contextlib.ExitStack,
        columns: ActivityColumns,
        flavour: CrmFlavour,
        counts: ActivityCounts,
    ) -> None:
        super().__init__(activities, close.close)
        self.columns = columns
        self.flavour = flavour
        self.counts = counts


@dataclass(frozen=True)
class ActivitiesRead:
    activities: tuple[CrmActivity, ...]
    columns: ActivityColumns  # as used: detected, or the engineer's
    flavour: CrmFlavour
    counts: ActivityCounts


@dataclass(frozen=True)
class ActivitiesPreview:
    """What the mapping step shows: the headers, a few rows and the columns detected."""

    headers: tuple[str, ...]
    sample_rows: tuple[tuple[str, ...], ...]
    detected: ActivityColumns
    flavour: CrmFlavour
    problem: str | None  # why the detected columns cannot be used, for the engineer to map


def iter_crm_activities(
    path: Path, *, zone: tzinfo, region: str, columns: ActivityColumns | None = None
) -> CrmActivities:
    """The activities of an export, streamed (blocking: run it off the GUI loop).

    ``zone`` is the CRM's: times written without a zone are read in it. ``region`` reads
    numbers written without a country code (and, unless ``columns.day_first`` says, whether
    dates are day/month). ``columns`` None detects them. Raises ``ActivitiesFileError`` when the
    file cannot be read as CSV, ``ActivityColumnsError`` when the columns cannot be used (the
    engineer maps them), and ``NumberError`` for a region phonenumbers does not know.
    """
    stack = contextlib.ExitStack()
    try:
        lines = stack.enter_context(_opened(path))
        table = _table(lines)
        chosen = columns if columns is not None else detect_activity_columns(table.headers)
        chosen.check(table.headers)
        reader = ActivityRowReader(table.headers, chosen, zone=zone, region=region)
    except BaseException:
        stack.close()
        raise
    counts = ActivityCounts(os.fspath(path), encoding=lines.encoding)
    flavour = activity_flavour(table.headers)
    return CrmActivities(_activities(table, reader, counts), stack, chosen, flavour, counts)


def read_crm_activities(
    path: Path, *, zone: tzinfo, region: str, columns: ActivityColumns | None = None
) -> ActivitiesRead:
    """Every activity of an export and the counts (blocking); see ``iter_crm_activities``."""
    with iter_crm_activities(path, zone=zone, region=region, columns=columns) as activities:
        kept = tuple(activities)
        return ActivitiesRead(kept, activities.columns, activities.flavour, activities.counts)


def preview_crm_activities(path: Path, *, sample: int = 5) -> ActivitiesPreview:
    """The header row, the first ``sample`` rows and the detected mapping (blocking)."""
    with _opened(path) as lines:
        table = _table(lines)
        # Shown on screen: a signed recording link or a pasted key is masked like everywhere.
        rows = [tuple(redact(cell) for cell in row) for row in table.sample_rows(sample)]
    detected = detect_activity_columns(table.headers)
    try:
        detected.check(table.headers)
        problem = None
    except ActivityColumnsError as exc:
        problem = str(exc)
    headers = tuple(table.headers)
    return ActivitiesPreview(headers, tuple(rows), detected, activity_flavour(headers), problem)


def _activities(
    table: CsvTable, reader: ActivityRowReader, counts: ActivityCounts
) -> Generator[CrmActivity]:
    for seen, (line, fields, broken) in enumerate(table.rows, 1):
        if seen % STOP_CHECK_ROWS == 0:
            check_stop()  # a cancelled run stops here
        if broken is None and not "".join(fields).strip():
            continue  # blank lines, and the rows of empty cells Excel leaves at the end
        counts.rows += 1
        activity, found = (
            (None, [broken]) if broken is not None else reader.read(counts.rows, fields)
        )
        if found:
            counts.note(line, found, kept=activity is not None)
        if activity is not None:
            counts.activities += 1
            yield activity


@contextlib.contextmanager
def _opened(path: Path) -> Iterator[CsvLines]:
    try:
        with open_csv(path) as lines:
            yield lines
    except CsvFileError as exc:
        raise ActivitiesFileError(str(exc)) from exc


def _table(lines: CsvLines) -> CsvTable:
    try:
        return CsvTable(lines, what="activities")
    except ContactsFileError as exc:
        raise ActivitiesFileError(str(exc)) from exc
