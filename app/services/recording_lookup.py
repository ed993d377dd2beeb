"""Find a call's recording and say where it stands: ready, archived, deleted, missing or none.

The engineer types what the customer says ("the call from 0412 345 678 last Tuesday"); the
lookup reads the call history, the recordings list and the retention policy once, matches
calls to recordings and explains each row in the field docs' words. "Exists" comes from the
recordings list; a download proves it, on demand and automatically for only a few rows whose
recording is absent from the list (to confirm it is really gone). Nothing is copied anywhere
unless the engineer asks: playing streams into a private temporary folder that is deleted on
close, saving writes only where the engineer chose. The PBX stays the system of record.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import enum
import functools
import logging
import os
import shutil
import tempfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta, tzinfo
from pathlib import Path

from app.domain.addresses import AddressError
from app.domain.calls import CallDirection, CallOutcome, CallRecord
from app.domain.causes.api_answers import DOWNLOAD_BY_HAND, DOWNLOAD_UNCONFIRMED
from app.domain.causes.recording import (
    Recorder,
    recorder,
    recording_fix,
    settle_words,
    settled,
    unrecorded_reason,
)
from app.domain.causes.wording import plural
from app.domain.clock import utc_now
from app.domain.extensions import Extension
from app.domain.phones import NumberError, to_e164
from app.domain.recordings import Recording, RetentionPolicy, recording_for_call
from app.services.atomic_files import write_bytes_atomically
from app.services.doctor.api_roles import HISTORY, RECORDINGS, roles_fix
from app.services.doctor.common import Outcome, attempt
from app.services.doctor.retention import WHERE as RETENTION_WHERE
from app.services.session import PbxSession
from app.threecx.client import PbxClient
from app.threecx.errors import (
    AuthRejected,
    DownloadUnconfirmed,
    Forbidden,
    RecordingFileMissing,
    ThreeCXError,
    Unsupported,
)

log = logging.getLogger(__name__)

DEFAULT_WINDOW = timedelta(days=30)
MAX_WINDOW = timedelta(days=366)  # 3CX's call report times out (504) past a year
CALL_LIMIT = 2000  # calls read for one search; past it the result may be incomplete
RECORDING_LIMIT = 5000  # recordings listed; past it, absence from the list proves nothing
AUTO_VERIFY = 3  # rows absent from the list confirmed by a download attempt in each search
# A recording starts when the call is answered, a little after the call: look past both ends.
MATCH_TOLERANCE = timedelta(minutes=2)
RECORDING_SLACK = timedelta(hours=2)
# A call's later legs (voicemail, transfers) start after the call; the report's bounds are whole
# seconds. Read a little past the end so a call that just ended comes with all its legs.
LEG_SLACK = timedelta(minutes=5)
MAX_EXTENSION_DIGITS = 8


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
class _Facts:
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


class RecordingLookup:
    """Searches one PBX's calls and recordings; owns a private temporary folder for playback."""

    def __init__(
        self,
        session: PbxSession,
        *,
        call_limit: int = CALL_LIMIT,
        recording_limit: int = RECORDING_LIMIT,
        auto_verify: int = AUTO_VERIFY,
        now: Callable[[], datetime] = utc_now,
    ) -> None:
        self._session = session
        self.call_limit = call_limit
        self.recording_limit = recording_limit
        self.auto_verify = auto_verify
        self._now = now
        self._temp_dir: Path | None = None
        self._remove_at_exit: Callable[[], None] | None = None
        self._region: str | None = None
        self._fetched: dict[int, Path] = {}
        self._facts: _Facts | None = None
        self._fetch_lock = asyncio.Lock()

    # ---- search ----------------------------------------------------------------------------
    async def search(self, query: RecordingQuery) -> SearchResult:
        """Raises ``QueryError`` for bad input, ``RecordingLookupError`` when the PBX says no."""
        now = self._now()
        since, until = query.window(now)
        extension = _checked_extension(query.extension)
        call_id = (query.call_id or "").strip() or None
        client = await self._client()
        number_e164 = await self._checked_number(query.number)

        try:
            async with asyncio.TaskGroup() as group:
                history_t = group.create_task(
                    attempt(client.call_history(since, until + LEG_SLACK, limit=self.call_limit))
                )
                listed_t = group.create_task(
                    attempt(
                        client.recordings(
                            since=since - MATCH_TOLERANCE,
                            until=until + RECORDING_SLACK,
                            limit=self.recording_limit,
                        )
                    )
                )
                policy_t = group.create_task(attempt(client.retention()))
                # Whether an unrecorded call's extension records at all (cause 3's terms).
                extensions_t = group.create_task(attempt(client.extensions()))
        except* Exception as group_error:  # only non-PBX errors reach here; attempt() keeps those
            raise group_error.exceptions[0] from None
        history, listed, policy = history_t.result(), listed_t.result(), policy_t.result()
        extensions = extensions_t.result()
        if extensions.error is not None:
            log.info("Recording lookup: extension recording modes unknown: %s", extensions.error)
        if history.error is not None:
            raise _history_error(history.error, client.generation == "v20")
        calls = history.value or []
        recordings = listed.value
        facts = _Facts(
            generation=client.generation,
            now=now,
            retention=policy.value,
            retention_error=policy.error,
            recordings={r.id: r for r in recordings} if recordings is not None else None,
            recordings_error=listed.error,
            oldest_listed_trusted=_oldest(recordings)
            if recordings is not None and len(recordings) >= self.recording_limit
            else None,
            extensions={e.number: e for e in extensions.value or []},
        )
        self._facts = facts
        region = await self._region_code()
        chosen = [
            call
            for call in calls
            if _matches(call, number_e164, extension, call_id, region)
            and (call.started_at is None or since <= call.started_at <= until)
        ]
        matchable = [] if facts.is_v20 else [_with_dns(r) for r in recordings or []]
        rows = [_row_for(call, facts, matchable, region) for call in chosen]
        rows = await self._confirm_absent(rows)

        result = SearchResult(
            query=query,
            since=since,
            until=until,
            number_e164=number_e164,
            rows=tuple(rows),
            generation=client.generation,
            retention=policy.value,
            retention_text=_policy_text(facts),
            calls_read=len(calls),
            calls_limit_hit=len(calls) >= self.call_limit,
            recordings_read=len(recordings or []),
            recordings_limit_hit=recordings is not None and len(recordings) >= self.recording_limit,
            notes=tuple(
                _notes(
                    facts,
                    listed,
                    calls,
                    self.call_limit,
                    recordings,
                    self.recording_limit,
                    # The dates arrive on the customer's clock: the notes speak in it too.
                    since.tzinfo,
                )
            ),
        )
        # Counts only: the numbers searched for are the customer's and stay out of the log.
        log.info(
            "Recording lookup (%s): %d of %d calls matched, %d recordings listed%s",
            result.generation,
            len(rows),
            result.calls_read,
            result.recordings_read,
            "; a list hit its limit" if result.incomplete else "",
        )
        return result

    async def _client(self) -> PbxClient:
        try:
            return await self._session.client()
        except AddressError as error:
            raise RecordingLookupError(
                f"The PBX address cannot be used: {error}", "Edit the connection's address."
            ) from error
        except ThreeCXError as error:
            raise RecordingLookupError(error.what + _detail(error), error.next_step) from error

    async def _region_code(self) -> str:
        """The session's region, asked once (without a configured one it costs two requests)."""
        if self._region is None:
            self._region = await self._session.region()
        return self._region

    async def _checked_number(self, raw: str | None) -> str | None:
        text = (raw or "").strip()
        if not text:
            return None
        region = await self._region_code()
        try:
            e164 = to_e164(text, region)
        except NumberError as error:  # the connection's region is not a region code
            raise QueryError("number", f"Number: {error}") from error
        if e164 is None:
            raise QueryError(
                "number",
                f"Number: {text!r} is not a phone number (in {region}, e.g. 0412 345 678 or "
                "+61 412 345 678).",
            )
        return e164

    async def _confirm_absent(self, rows: list[RecordingRow]) -> list[RecordingRow]:
        """Download the first few recordings absent from the list: gone, or listed late?"""
        suspects = [
            i
            for i, row in enumerate(rows)
            if row.recording_id is not None
            and row.recording is None
            and row.status
            in (
                RecordingStatus.MISSING,
                RecordingStatus.DELETED_BY_RETENTION,
                RecordingStatus.UNKNOWN,
            )
        ][: self.auto_verify]
        if not suspects:
            return rows
        checked = await asyncio.gather(*(self.verify(rows[i]) for i in suspects))
        out = list(rows)
        for i, row in zip(suspects, checked, strict=True):
            out[i] = row
        return out

    # ---- verify, play, save ----------------------------------------------------------------
    async def verify(self, row: RecordingRow) -> RecordingRow:
        """Download the recording once (discarding the audio) and return the row as it stands."""
        if row.recording_id is None:
            return replace(row, check="No recording to download for this call.")
        try:
            audio = await (await self._client()).download_recording(row.recording_id)
        except RecordingLookupError as error:
            return replace(row, check=f"Not checked: {error.what}")
        except ThreeCXError as error:
            return self._after_failed_download(row, error)
        return self._downloaded(row, len(audio))

    async def fetch_to_temp(self, row: RecordingRow) -> Path:
        """The recording as a WAV file in this lookup's private temporary folder."""
        rec_id = self._downloadable_id(row)
        async with self._fetch_lock:
            cached = self._fetched.get(rec_id)
            if cached is not None and await asyncio.to_thread(cached.exists):
                return cached
            audio = await self._download(row, rec_id)
            folder = await self._private_dir()
            path = folder / f"recording-{rec_id}.wav"
            await asyncio.to_thread(_write_private, path, audio)
            self._fetched[rec_id] = path
            return path

    async def save(self, row: RecordingRow, path: Path) -> Path:
        """Write the recording to ``path`` (the engineer's choice), atomically."""
        rec_id = self._downloadable_id(row)
        cached = self._fetched.get(rec_id)
        audio: bytes | None = None
        if cached is not None:
            with contextlib.suppress(OSError):
                audio = await asyncio.to_thread(cached.read_bytes)
        if audio is None:
            audio = await self._download(row, rec_id)
        try:
            # No mode: the file stays readable by this user only, right for a customer's call.
            await asyncio.to_thread(write_bytes_atomically, path, audio, suffix=".part")
        except OSError as error:
            raise RecordingLookupError(
                f"Could not save the recording to {path}: {error.strerror or error}.",
                "Choose a folder you can write to, with enough free space.",
                row=row,
            ) from error
        return path

    def _downloadable_id(self, row: RecordingRow) -> int:
        if row.recording_id is None:
            raise RecordingLookupError(
                f"This call has no recording ({row.status}).", row.fix, row=row
            )
        if row.status is RecordingStatus.ARCHIVED:
            where = (
                f" It is in the archive at {row.recording.archived_url}."
                if row.recording is not None and row.recording.archived_url
                else ""
            )
            raise RecordingLookupError(
                "This recording was moved to the archive: it no longer downloads from the PBX."
                + where,
                _ARCHIVE_FIX,
                row=row,
            )
        if row.status is RecordingStatus.DELETED_BY_RETENTION:
            raise RecordingLookupError(row.explanation, row.fix, row=row)
        return row.recording_id

    async def _download(self, row: RecordingRow, rec_id: int) -> bytes:
        client = await self._client()
        try:
            return await client.download_recording(rec_id)
        except ThreeCXError as error:
            updated = self._after_failed_download(row, error)
            fix = DOWNLOAD_BY_HAND if isinstance(error, DownloadUnconfirmed) else updated.fix
            raise RecordingLookupError(
                _download_failure(updated, error), fix or error.next_step, row=updated
            ) from error

    def _after_failed_download(self, row: RecordingRow, error: ThreeCXError) -> RecordingRow:
        facts = self._facts
        is_v20 = facts.is_v20 if facts is not None else True
        if isinstance(error, RecordingFileMissing):
            check = "Download: the PBX answers file not found."
            if row.status is RecordingStatus.ARCHIVED:
                return replace(row, check=check + " As expected: the file is in the archive.")
            if facts is not None and _older_than_retention(row.age_days, facts.retention):
                return replace(_as_deleted(row, facts), check=check)
            return replace(_as_missing(row, facts), check=check)
        if isinstance(error, Forbidden):
            return replace(
                row,
                status=RecordingStatus.NO_ACCESS,
                explanation=_NO_ACCESS,
                fix=roles_fix(is_v20, [RECORDINGS]),
                check="Download: refused (403).",
            )
        if isinstance(error, DownloadUnconfirmed):
            # The product's limit on this build: the row keeps what the list said about it.
            return replace(row, check=f"Download not confirmed: {DOWNLOAD_UNCONFIRMED}")
        return replace(row, check=f"Download failed: {error.what}{_detail(error)}")

    def _downloaded(self, row: RecordingRow, size: int) -> RecordingRow:
        check = f"Downloaded {size / 1024:.0f} kB: the file is on the PBX."
        if row.status is RecordingStatus.READY:
            return replace(row, check=check)
        explanation = "The recording is on the PBX: a download just succeeded."
        return replace(_as_ready(row, self._facts, explanation), check=check)

    async def _private_dir(self) -> Path:
        if self._temp_dir is None:
            # mkdtemp makes the folder readable by this user only (0700).
            made = await asyncio.to_thread(tempfile.mkdtemp, prefix="pbx-companion-play-")
            self._temp_dir = Path(made)
            # One callable per lookup, so closing one lookup leaves the others' registered.
            self._remove_at_exit = functools.partial(_remove_dir, self._temp_dir)
            atexit.register(self._remove_at_exit)
        return self._temp_dir

    @property
    def temp_dir(self) -> Path | None:
        """The private folder played recordings stream into (None until the first one)."""
        return self._temp_dir

    async def aclose(self) -> None:
        """Delete every temporary file this lookup wrote."""
        folder, self._temp_dir = self._temp_dir, None
        self._fetched.clear()
        if self._remove_at_exit is not None:
            atexit.unregister(self._remove_at_exit)
            self._remove_at_exit = None
        if folder is not None:
            await asyncio.to_thread(_remove_dir, folder)


# ---- rows ------------------------------------------------------------------------------------
_ARCHIVE_FIX = (
    "Play or download it from the archive (3CX admin console, Recordings, the archive "
    "location), not from the PBX. A CRM link that points at the PBX answers 404 for it."
)
# Why a setting that writes no file for an external call loses it for good.
_SETTING_NOTES = {
    Recorder.ON_DEMAND: "On demand records only the calls the user starts recording; the others "
    "reach the CRM without audio, and no bridge can recover them.",
    Recorder.OFF: "Recording is switched off (or forbidden) for this extension, so no bridge can "
    "recover it.",
}
_NO_ACCESS = (
    "The API user may not list or download recordings (403): it lacks the Recording Manager "
    "capability, so no bridge with this key can fetch a recording."
)


def _matches(
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
            parties |= {_digits(call.caller), _digits(call.callee)}
        if extension not in parties:
            return False
    if e164 is not None:
        raw = call.external_number
        if not raw or to_e164(raw, region) != e164:
            return False
    return True


def _row_for(
    call: CallRecord, facts: _Facts, recordings: list[Recording], region: str
) -> RecordingRow:
    raw = call.external_number
    age = (facts.now - call.started_at).days if call.started_at is not None else None
    base = RecordingRow(
        call=call,
        number_raw=raw,
        number_e164=to_e164(raw, region) if raw else None,
        status=RecordingStatus.UNKNOWN,
        recording_id=None,
        recording=None,
        age_days=age,
        days_left=None,
        days_left_text="—",
        retention_text="",
        explanation="",
        fix="",
    )
    if call.answered is not True or _is_voicemail(call):
        return replace(base, status=RecordingStatus.NO_AUDIO, explanation=_no_audio_reason(call))

    listed = facts.recordings
    if facts.is_v20:
        ids = call.recording_ids
        if not ids:
            return _unrecorded(base, call, facts)
        if listed is None:
            return _unlisted(replace(base, recording_id=ids[0]), facts)
        present = [listed[i] for i in ids if i in listed]
        present.sort(key=lambda r: r.archived)  # a playable one first
        if present:
            return _listed(base, present[0], facts)
        if _absence_unproven(call, facts):
            return replace(
                base,
                recording_id=ids[0],
                status=RecordingStatus.UNKNOWN,
                explanation="The call log points at a recording that was not in the "
                "recordings list, but the list was cut at its limit, so that proves nothing.",
                fix="Press Verify to try downloading it.",
            )
        if _older_than_retention(age, facts.retention):
            return _as_deleted(replace(base, recording_id=ids[0]), facts)
        return _as_missing(replace(base, recording_id=ids[0]), facts)

    # v18: the call log carries no reference; match on number and start time.
    if listed is None:
        return _unlisted(base, facts)
    found = recording_for_call(call, recordings, MATCH_TOLERANCE)
    if found is not None:
        return _listed(base, found, facts)
    return _unrecorded(base, call, facts)


def _listed(base: RecordingRow, rec: Recording, facts: _Facts) -> RecordingRow:
    if rec.archived:
        where = f" It is in the archive at {rec.archived_url}." if rec.archived_url else ""
        return replace(
            base,
            status=RecordingStatus.ARCHIVED,
            recording_id=rec.id,
            recording=rec,
            days_left_text="in the archive",
            retention_text="Archived recordings are no longer on the PBX, so its auto-delete "
            "does not count down for them.",
            explanation="3CX moved this recording to the archive: it no longer plays from the "
            "PBX." + where,
            fix=_ARCHIVE_FIX,
        )
    return _as_ready(
        replace(base, recording_id=rec.id, recording=rec),
        facts,
        "The recording is on the PBX (listed by it): play it or save it.",
    )


def _as_ready(row: RecordingRow, facts: _Facts | None, explanation: str) -> RecordingRow:
    """The row with a recording on the PBX, and the days it has left before auto-delete."""
    ready = replace(row, status=RecordingStatus.READY, explanation=explanation, fix="")
    if facts is None:
        return ready
    policy = facts.retention
    if policy is None:
        if not facts.is_v20:
            return replace(
                ready,
                days_left=None,
                days_left_text="v18: not reported",
                retention_text=f"v18 does not report retention: read it in 3CX, {RETENTION_WHERE}.",
            )
        return replace(
            ready,
            days_left=None,
            days_left_text="unknown",
            retention_text="The retention policy could not be read, so the days left are unknown.",
        )
    if policy.auto_delete is False:
        return replace(
            ready,
            days_left=None,
            days_left_text="never auto-deleted",
            retention_text="Auto-delete is off: the recording is kept until it is archived "
            "or deleted by hand.",
        )
    left = policy.days_left(row.started_at, facts.now) if row.started_at is not None else None
    if left is None:
        return replace(
            ready,
            days_left=None,
            days_left_text="unknown",
            retention_text="The PBX did not say after how many days it deletes recordings.",
        )
    short = f"{left} days" if left > 1 else ("1 day" if left == 1 else "due now")
    when = (
        f"this one goes in {plural(left, 'day')}."
        if left > 0
        else "this one is due for deletion at the next clean-up."
    )
    return replace(
        ready,
        days_left=left,
        days_left_text=short,
        retention_text=f"3CX deletes recordings after {policy.auto_delete_days} days: {when}",
    )


def _as_deleted(row: RecordingRow, facts: _Facts) -> RecordingRow:
    days = facts.retention.auto_delete_days if facts.retention else None
    return replace(
        row,
        status=RecordingStatus.DELETED_BY_RETENTION,
        recording=None,
        days_left=None,
        days_left_text="gone",
        retention_text=f"3CX deletes recordings after {days} days.",
        explanation=f"The recording was deleted by the retention policy: the call is "
        f"{_age_phrase(row.age_days)} and 3CX deletes recordings after {days} days. The call log "
        "still points at it, so a CRM link to it answers 404.",
        fix="Deleted audio cannot be recovered from the PBX. To keep future recordings "
        f"longer, open 3CX, {RETENTION_WHERE}, and raise the retention to cover the oldest call "
        "the customer needs (or turn auto-delete off). Increase the number on 3CX rather than "
        "copying recordings to the CRM: the PBX is the system of record for audio.",
    )


def _as_missing(row: RecordingRow, facts: _Facts | None) -> RecordingRow:
    policy = facts.retention if facts is not None else None
    if policy is not None and policy.auto_delete is False:
        why = "Auto-delete is off, so retention did not delete it."
    elif policy is not None and policy.auto_delete and policy.auto_delete_days:
        why = (
            f"The call is {_age_phrase(row.age_days)}, within the {policy.auto_delete_days}-day "
            "retention, so retention did not delete it."
        )
    else:
        why = "The retention policy is not known, so retention may have deleted it."
    return replace(
        row,
        status=RecordingStatus.MISSING,
        recording=None,
        days_left=None,
        days_left_text="gone",
        retention_text=_policy_text(facts) if facts is not None else "",
        explanation="This is a real problem: the call log points at a recording the PBX no "
        f"longer has. {why} It was deleted by hand or lost from storage.",
        fix="Check who deleted recordings (3CX admin console, Recordings, and the audit log) "
        "and the recording storage; restore the file from a backup if one exists. Deleted "
        "audio cannot be recovered from the PBX itself.",
    )


def _unrecorded(base: RecordingRow, call: CallRecord, facts: _Facts) -> RecordingRow:
    # An internal call may be recorded by the other party, so only external calls are judged
    # by the extension's own setting.
    extension = facts.extensions.get(call.extension or "") if call.is_external else None
    reason = unrecorded_reason(extension, external=True)
    if reason is not None and extension is not None:
        # The setting says no file is written: not "later", whatever the call's age.
        return replace(
            base,
            status=RecordingStatus.NOT_RECORDED,
            explanation=f"{reason[0].upper()}{reason[1:]}: no file was written. "
            + _SETTING_NOTES[recorder(extension.recording)],
            fix=recording_fix(facts.is_v20, f"extension {extension.number}"),
        )
    if not settled(call, facts.now):
        return replace(
            base,
            status=RecordingStatus.PENDING,
            explanation="The call ended moments ago: 3CX writes the recording after hang-up, "
            "from a few seconds to about a minute later (longer on busy PBXs), and a bridge "
            f"keeps looking for it; {settle_words()} after hang-up a missing recording is lost.",
            fix="Search again in a minute.",
        )
    explanation = (
        "The call was answered but 3CX recorded nothing: the extension or inbound rule is "
        "not flagged to record (cause 3)."
    )
    if not facts.is_v20:
        explanation += (
            " v18's call log does not point at recordings, so a recording deleted since "
            "would look the same."
        )
    who = f"extension {call.extension}" if call.extension else "the extension"
    return replace(
        base,
        status=RecordingStatus.NOT_RECORDED,
        explanation=explanation,
        fix=recording_fix(facts.is_v20, who),
    )


def _unlisted(base: RecordingRow, facts: _Facts) -> RecordingRow:
    error = facts.recordings_error
    if isinstance(error, (Forbidden, AuthRejected)):
        return replace(
            base,
            status=RecordingStatus.NO_ACCESS,
            explanation=_NO_ACCESS,
            fix=roles_fix(facts.is_v20, [RECORDINGS]),
        )
    what = error.what + _detail(error) if error is not None else "no answer"
    return replace(
        base,
        status=RecordingStatus.UNKNOWN,
        explanation=f"The recordings list could not be read: {what}",
        fix=(error.next_step if error is not None else "") or "Search again in a minute.",
    )


def _is_voicemail(call: CallRecord) -> bool:
    # v18 writes the voicemail leg as its own answered row whose destination is "Voicemail (109)".
    return call.outcome is CallOutcome.VOICEMAIL or "voicemail" in call.callee.lower()


def _with_dns(rec: Recording) -> Recording:
    """A v18 recording with its internal parties' DNs, read from "Name (101)" or "101".

    v18's list names internal parties that way and leaves the DN fields empty, which
    ``recording_for_call`` needs to match an internal call (it has no outside number).
    """
    if rec.from_dn is not None or rec.to_dn is not None:
        return rec
    return replace(rec, from_dn=_dn_in(rec.from_number), to_dn=_dn_in(rec.to_number))


def _dn_in(party: str) -> str | None:
    text = party.strip()
    if text.endswith(")") and "(" in text:
        text = text[text.rindex("(") + 1 : -1]
    return text if text.isdigit() and len(text) <= MAX_EXTENSION_DIGITS else None


def _no_audio_reason(call: CallRecord) -> str:
    if _is_voicemail(call):
        return (
            "The call went to voicemail: nobody talked, so there is no call recording (the "
            "message is in the voicemail box)."
        )
    if call.outcome is CallOutcome.UNANSWERED_OUTBOUND:
        return "The other party did not answer: there was no conversation to record."
    return "Nobody answered (a missed call): there was no conversation to record."


def _absence_unproven(call: CallRecord, facts: _Facts) -> bool:
    cut = facts.oldest_listed_trusted
    return cut is not None and (call.started_at is None or call.started_at < cut)


def _age_phrase(days: int | None) -> str:
    if days is None:
        return "of unknown age"
    if days <= 0:
        return "from today"
    return f"{plural(days, 'day')} old"


def _older_than_retention(age: int | None, policy: RetentionPolicy | None) -> bool:
    return (
        age is not None
        and policy is not None
        and bool(policy.auto_delete)
        and policy.auto_delete_days is not None
        and age >= policy.auto_delete_days
    )


def _oldest(recordings: Iterable[Recording]) -> datetime | None:
    times = [r.started_at for r in recordings if r.started_at is not None]
    return min(times) if times else None


def _policy_text(facts: _Facts) -> str:
    policy = facts.retention
    if policy is None:
        if not facts.is_v20 or isinstance(facts.retention_error, Unsupported):
            return "v18 does not report retention"
        error = facts.retention_error
        return f"Retention not readable: {error.what}" if error else "Retention not readable"
    if policy.auto_delete is False:
        return "Auto-delete off: recordings are kept until archived"
    if policy.auto_delete and policy.auto_delete_days:
        return f"Auto-delete after {policy.auto_delete_days} days"
    return "Auto-delete not reported"


def _notes(
    facts: _Facts,
    listed: Outcome[list[Recording]],
    calls: list[CallRecord],
    call_limit: int,
    recordings: list[Recording] | None,
    recording_limit: int,
    zone: tzinfo | None,
) -> list[str]:
    notes: list[str] = []
    if len(calls) >= call_limit:
        oldest = _oldest_call(calls)
        since = f" back to {oldest.astimezone(zone):%Y-%m-%d %H:%M %Z}" if oldest else ""
        notes.append(
            f"The PBX returned its limit of {call_limit} calls for these dates (newest "
            f"first{since}): older calls were not read, so the result may be incomplete. "
            "Narrow the dates."
        )
    if recordings is not None and len(recordings) >= recording_limit:
        notes.append(
            f"The recordings list stopped at its limit of {recording_limit}: a recording "
            "absent from it may still exist (Verify downloads it to make sure). Narrow the dates."
        )
    if listed.error is not None:
        if listed.denied:
            notes.append(
                "The API user may not list recordings (Recording Manager missing): the calls "
                "are shown without their recordings."
            )
        else:
            notes.append(f"Recordings not read: {listed.error.what}{_detail(listed.error)}")
    if facts.retention is None and facts.is_v20 and facts.retention_error is not None:
        notes.append(f"Retention policy not read: {facts.retention_error.what}")
    return notes


def _oldest_call(calls: list[CallRecord]) -> datetime | None:
    times = [c.started_at for c in calls if c.started_at is not None]
    return min(times) if times else None


def _history_error(error: ThreeCXError, is_v20: bool) -> RecordingLookupError:
    if isinstance(error, Forbidden):
        return RecordingLookupError(
            "The API user may not read the call history (403): it lacks the Reports User "
            "capability, so calls cannot be searched.",
            roles_fix(is_v20, [HISTORY]),
        )
    return RecordingLookupError(
        f"The call history could not be read: {error.what}{_detail(error)}", error.next_step
    )


def _download_failure(row: RecordingRow, error: ThreeCXError) -> str:
    if row.status is RecordingStatus.NO_ACCESS:
        return _NO_ACCESS
    if isinstance(error, RecordingFileMissing):
        return row.explanation
    if isinstance(error, DownloadUnconfirmed):
        return DOWNLOAD_UNCONFIRMED
    return f"The recording could not be downloaded: {error.what}{_detail(error)}"


def _detail(error: ThreeCXError) -> str:
    return f" ({error.detail})" if error.detail else ""


def _digits(text: str | None) -> str:
    return "".join(ch for ch in text or "" if ch.isdigit())


def _checked_extension(raw: str | None) -> str | None:
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


# ---- files -----------------------------------------------------------------------------------
def _write_private(path: Path, audio: bytes) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(audio)


def _remove_dir(folder: Path) -> None:
    shutil.rmtree(folder, ignore_errors=True)
