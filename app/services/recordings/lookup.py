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
import functools
import logging
import os
import shutil
import tempfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from pathlib import Path

from app.domain.addresses import AddressError
from app.domain.calls import CallRecord
from app.domain.causes.api_answers import (
    DOWNLOAD_BY_HAND,
    DOWNLOAD_UNCONFIRMED,
    RECORDINGS,
    roles_fix,
)
from app.domain.clock import utc_now
from app.domain.phones import NumberError, to_e164
from app.domain.recordings import Recording
from app.services.atomic_files import write_bytes_atomically
from app.services.facts.outcome import Outcome, attempt
from app.services.recordings.matching import (
    MATCH_TOLERANCE,
    call_matches,
    checked_extension,
    with_dns,
)
from app.services.recordings.results import (
    LookupFacts,
    QueryError,
    RecordingLookupError,
    RecordingQuery,
    RecordingRow,
    RecordingStatus,
    SearchResult,
)
from app.services.recordings.verdicts import (
    ARCHIVE_FIX,
    NO_ACCESS,
    as_deleted,
    as_missing,
    as_ready,
    download_failure,
    error_detail,
    history_error,
    older_than_retention,
    policy_text,
    row_for,
    search_notes,
)
from app.services.session import PbxSession
from app.threecx.client import PbxClient
from app.threecx.errors import (
    DownloadUnconfirmed,
    Forbidden,
    RecordingFileMissing,
    ThreeCXError,
)

# The query, row and result types live in recording_results; callers import them from here.
__all__ = [
    "QueryError",
    "RecordingLookup",
    "RecordingLookupError",
    "RecordingQuery",
    "RecordingRow",
    "RecordingStatus",
    "SearchResult",
]

log = logging.getLogger(__name__)

CALL_LIMIT = 2000  # calls read for one search; past it the result may be incomplete
RECORDING_LIMIT = 5000  # recordings listed; past it, absence from the list proves nothing
AUTO_VERIFY = 3  # rows absent from the list confirmed by a download attempt in each search
# A recording starts when the call is answered, a little after the call: look past both ends.
RECORDING_SLACK = timedelta(hours=2)
# A call's later legs (voicemail, transfers) start after the call; the report's bounds are whole
# seconds. Read a little past the end so a call that just ended comes with all its legs.
LEG_SLACK = timedelta(minutes=5)


@dataclass(frozen=True)
class _PbxRead:
    """What one search read from the PBX."""

    facts: LookupFacts
    calls: list[CallRecord]
    listed: Outcome[list[Recording]]


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
        self._facts: LookupFacts | None = None
        self._fetch_lock = asyncio.Lock()

    # ---- search ----------------------------------------------------------------------------
    async def search(self, query: RecordingQuery) -> SearchResult:
        """Raises ``QueryError`` for bad input, ``RecordingLookupError`` when the PBX says no."""
        now = self._now()
        since, until = query.window(now)
        extension = checked_extension(query.extension)
        call_id = (query.call_id or "").strip() or None
        client = await self._client()
        number_e164 = await self._checked_number(query.number)
        read = await self._read(client, since, until, now)
        facts = read.facts
        self._facts = facts
        region = await self._region_code()
        chosen = [
            call
            for call in read.calls
            if call_matches(call, number_e164, extension, call_id, region)
            and (call.started_at is None or since <= call.started_at <= until)
        ]
        matchable = [] if facts.is_v20 else [with_dns(r) for r in read.listed.value or []]
        rows = [row_for(call, facts, matchable, region) for call in chosen]
        rows = await self._confirm_absent(rows)
        result = self._result(query, since, until, number_e164, rows, read)
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

    async def _read(
        self, client: PbxClient, since: datetime, until: datetime, now: datetime
    ) -> _PbxRead:
        """The calls, recordings, retention and extensions of the dates, read at once."""
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
            raise history_error(history.error, client.generation == "v20")
        recordings = listed.value
        facts = LookupFacts(
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
        return _PbxRead(facts, history.value or [], listed)

    def _result(
        self,
        query: RecordingQuery,
        since: datetime,
        until: datetime,
        number_e164: str | None,
        rows: list[RecordingRow],
        read: _PbxRead,
    ) -> SearchResult:
        facts, calls, recordings = read.facts, read.calls, read.listed.value
        return SearchResult(
            query=query,
            since=since,
            until=until,
            number_e164=number_e164,
            rows=tuple(rows),
            generation=facts.generation,
            retention=facts.retention,
            retention_text=policy_text(facts),
            calls_read=len(calls),
            calls_limit_hit=len(calls) >= self.call_limit,
            recordings_read=len(recordings or []),
            recordings_limit_hit=recordings is not None and len(recordings) >= self.recording_limit,
            notes=tuple(
                search_notes(
                    facts,
                    read.listed,
                    calls,
                    self.call_limit,
                    recordings,
                    self.recording_limit,
                    # The dates arrive on the customer's clock: the notes speak in it too.
                    since.tzinfo,
                )
            ),
        )

    async def _client(self) -> PbxClient:
        try:
            return await self._session.client()
        except AddressError as error:
            raise RecordingLookupError(
                f"The PBX address cannot be used: {error}", "Edit the connection's address."
            ) from error
        except ThreeCXError as error:
            raise RecordingLookupError(error.what + error_detail(error), error.next_step) from error

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
                ARCHIVE_FIX,
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
                download_failure(updated, error), fix or error.next_step, row=updated
            ) from error

    def _after_failed_download(self, row: RecordingRow, error: ThreeCXError) -> RecordingRow:
        facts = self._facts
        is_v20 = facts.is_v20 if facts is not None else True
        if isinstance(error, RecordingFileMissing):
            check = "Download: the PBX answers file not found."
            if row.status is RecordingStatus.ARCHIVED:
                return replace(row, check=check + " As expected: the file is in the archive.")
            if facts is not None and older_than_retention(row.age_days, facts.retention):
                return replace(as_deleted(row, facts), check=check)
            return replace(as_missing(row, facts), check=check)
        if isinstance(error, Forbidden):
            return replace(
                row,
                status=RecordingStatus.NO_ACCESS,
                explanation=NO_ACCESS,
                fix=roles_fix(is_v20, [RECORDINGS]),
                check="Download: refused (403).",
            )
        if isinstance(error, DownloadUnconfirmed):
            # The product's limit on this build: the row keeps what the list said about it.
            return replace(row, check=f"Download not confirmed: {DOWNLOAD_UNCONFIRMED}")
        return replace(row, check=f"Download failed: {error.what}{error_detail(error)}")

    def _downloaded(self, row: RecordingRow, size: int) -> RecordingRow:
        check = f"Downloaded {size / 1024:.0f} kB: the file is on the PBX."
        if row.status is RecordingStatus.READY:
            return replace(row, check=check)
        explanation = "The recording is on the PBX: a download just succeeded."
        return replace(as_ready(row, self._facts, explanation), check=check)

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


def _oldest(recordings: Iterable[Recording]) -> datetime | None:
    times = [r.started_at for r in recordings if r.started_at is not None]
    return min(times) if times else None


# ---- files -----------------------------------------------------------------------------------
def _write_private(path: Path, audio: bytes) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(audio)


def _remove_dir(folder: Path) -> None:
    shutil.rmtree(folder, ignore_errors=True)
