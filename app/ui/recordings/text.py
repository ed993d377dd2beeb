"""The recordings lookup's words: status labels and colours, durations, ages, file names, and
the summary above the results.

Pure functions of the lookup's rows and results and the presenter (masking), shared by the
results table, the details box and the pane.
"""

from __future__ import annotations

import html
import re
from datetime import timedelta, tzinfo

from app.domain.business_hours import BusinessHours, HoursSource
from app.services.recordings.lookup import RecordingRow, RecordingStatus, SearchResult
from app.ui.presenter import Presenter
from app.ui.theme import Mark, colours

DASH = "—"
_UNSAFE_IN_FILE_NAMES = re.compile(r'[<>:"/\\|?*\x00-\x1f]')

STATUS_LABELS = {status: status.value[0].upper() + status.value[1:] for status in RecordingStatus}
# The statuses that are a verdict on the recording, shown with a drawn mark; the rest get a dot.
STATUS_MARKS = {
    RecordingStatus.READY: Mark.PASS,
    RecordingStatus.MISSING: Mark.FAIL,
    RecordingStatus.NO_ACCESS: Mark.FAIL,
    RecordingStatus.NOT_RECORDED: Mark.WARN,
}
# Statuses that need the engineer's attention sort before the rest on the Recording column.
STATUS_ORDER = {
    RecordingStatus.MISSING: 0,
    RecordingStatus.NO_ACCESS: 1,
    RecordingStatus.NOT_RECORDED: 2,
    RecordingStatus.DELETED_BY_RETENTION: 3,
    RecordingStatus.UNKNOWN: 4,
    RecordingStatus.PENDING: 5,
    RecordingStatus.ARCHIVED: 6,
    RecordingStatus.READY: 7,
    RecordingStatus.NO_AUDIO: 8,
}


def status_colour_of(status: RecordingStatus) -> str:
    """The status's colour in the current scheme (read when shown: dark mode changes it)."""
    c = colours()
    return {
        RecordingStatus.READY: c.passed,
        RecordingStatus.ARCHIVED: c.accent,
        RecordingStatus.DELETED_BY_RETENTION: c.purple,
        RecordingStatus.MISSING: c.fail,
        RecordingStatus.PENDING: c.teal,  # waiting for 3CX to finish the file
        RecordingStatus.NOT_RECORDED: c.warn,
        RecordingStatus.NO_AUDIO: c.muted,
        RecordingStatus.NO_ACCESS: c.fail,
        RecordingStatus.UNKNOWN: c.muted,
    }[status]


def zone_phrase(hours: BusinessHours) -> str:
    """Which clock the times are on, and how sure that is: the customer says "Tuesday at ten"."""
    zone = hours.timezone
    if hours.source is HoursSource.PBX:
        return f"Times in {zone}, the customer's time zone (read from the PBX)."
    if hours.source is HoursSource.ENGINEER:
        return f"Times in {zone}, the customer's time zone (set by the engineer)."
    if hours.source is HoursSource.REGION:
        return f"Times in {zone}: the region's usual zone, not read from the PBX."
    return (
        f"Times in {zone}: the customer's time zone is not known (set it with Edit on the "
        "connection)."
    )


def duration_text(value: timedelta | None) -> str:
    if value is None or value.total_seconds() <= 0:
        return DASH
    total = round(value.total_seconds())
    hours, rest = divmod(total, 3600)
    minutes, seconds = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{seconds:02d}" if hours else f"{minutes}:{seconds:02d}"


def age_text(days: int | None) -> str:
    if days is None:
        return DASH
    return "today" if days <= 0 else ("1 day" if days == 1 else f"{days} days")


def default_file_name(row: RecordingRow, zone: tzinfo, *, presenter: bool) -> str:
    """ "2026-11-21 1015 +61412345678 ext 101.wav"; in presenter mode no number (on screen)."""
    parts = []
    if row.started_at is not None:
        parts.append(f"{row.started_at.astimezone(zone):%Y-%m-%d %H%M}")
    if not presenter and (row.number_e164 or row.number_raw):
        parts.append(row.number_e164 or row.number_raw or "")
    if row.extension:
        parts.append(f"ext {row.extension}")
    if presenter or not parts:
        parts.append(f"call {row.key}")
    return _UNSAFE_IN_FILE_NAMES.sub("-", " ".join(parts)) + ".wav"


def nothing_found_text(result: SearchResult, presenter: Presenter, zone: tzinfo) -> str:
    """What an empty result says instead of a table: what was searched, and what to try."""
    what = []
    if result.number_e164:
        what.append(f"with {presenter.number(result.number_e164)}")
    if result.query.extension:
        what.append(f"on extension {result.query.extension}")
    if result.query.call_id:
        what.append(f"with call id {result.query.call_id}")
    since = result.since.astimezone(zone)
    until = result.until.astimezone(zone)
    found = " ".join(["No calls", *what, f"between {since:%Y-%m-%d} and {until:%Y-%m-%d}."])
    return found + "\nWiden the dates, or check the number and extension."


def summary_html(
    result: SearchResult, presenter: Presenter, hours: BusinessHours, zone: tzinfo
) -> str:
    """The counts in bold, then the number, dates, retention and clock the search used."""
    counts = result.counts()
    parts = [f"{len(result.rows)} call{'s' if len(result.rows) != 1 else ''}"]
    parts.extend(
        f"{counts[status]} {status.value}"
        for status in RecordingStatus
        if counts.get(status) and status is not RecordingStatus.NO_AUDIO
    )
    since = result.since.astimezone(zone)
    until = result.until.astimezone(zone)
    facts = [
        presenter.number(result.number_e164) if result.number_e164 else "",
        f"{since:%Y-%m-%d} to {until:%Y-%m-%d}",
        result.retention_text,
        f"times in {hours.timezone} ({hours.source})",
    ]
    return (
        f"<b>{html.escape(', '.join(parts))}</b><br><span style='color:{colours().muted}'>"
        + html.escape(" · ".join(fact for fact in facts if fact))
        + "</span>"
    )
