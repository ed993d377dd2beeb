"""What the webhook receiver accepted, kept on disk: an embedded SQLite journal, so a later
reconciliation can show the add-on's events as evidence of each call (issue 21).

``webhook-journal.sqlite3`` lives in ``paths.data_dir()`` (platformdirs; ``PBX_COMPANION_HOME``
in tests and portable installs). One row per event the receiver delivered (ringing, connected,
ended, missed, voicemail, recording link): when it was received (UTC), the call id as the add-on
sent it and as one id per call, the kind, the external number when the add-on sent one, how
many recording links a recording post carried, and the path the receiver listened on. Never
the receiver's token, a link, or a link's query string. Each start and stop of the receiver is
kept too, so "no event" can be told from "not listening".

Bounded: on opening, rows older than ``KEEP`` and all but the newest ``MAX_ROWS`` are pruned.

The journal must never slow the live feed: ``record`` only queues a row on the event loop; a
task writes the queue in batches through ``asyncio.to_thread`` (rows that come while a batch is
written go in the next one). A journal that cannot be opened or written logs one WARNING,
says why in ``problem``, and drops its rows from then on; the receiver goes on as before. A
damaged file is set aside (``….corrupt-<timestamp>``) and a fresh journal started, as the
reconcile ledger does.
"""

from __future__ import annotations

import asyncio
import enum
import logging
import sqlite3
import threading
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Final

from app.domain.clock import Clock, utc_now
from app.domain.live import LiveState
from app.services import paths
from app.services.feed.webhook_journal_schema import SCHEMA
from app.services.sqlite_files import (
    CannotOpen,
    DamagedFile,
    ForeignFileError,
    NewerSchemaError,
    connect_read_only,
    open_current,
    set_aside,
    transaction,
)

log = logging.getLogger(__name__)

FILE_NAME: Final = "webhook-journal.sqlite3"
KEEP: Final = timedelta(days=90)
MAX_ROWS: Final = 500_000  # a busy PBX's 90 days: ~1,000 calls a day, five events each
_PRUNE_EVERY: Final = 10_000  # rows written between prunes while the receiver runs for days
_MAX_TEXT: Final = 120  # a sender's id or number is kept this long at most (rows stay small)
_EVENT_COLUMNS: Final = "id, received_at, call_id, call_key, kind, external_number, links, path"


class JournalKind(enum.StrEnum):
    """What one journal row says happened."""

    RINGING = "ringing"
    CONNECTED = "connected"
    ENDED = "ended"
    MISSED = "missed"
    VOICEMAIL = "voicemail"
    RECORDING_LINK = "recording_link"

    @classmethod
    def of_state(cls, state: LiveState) -> JournalKind:
        return cls(state.value)


@dataclass(frozen=True, slots=True)
class JournalRow:
    """One accepted event, as the receiver hands it to the journal."""

    received_at: datetime  # aware
    call_id: str  # as the add-on sent it
    call_key: str  # one id per call (the receiver's ``call_key``)
    kind: JournalKind
    external_number: str | None = None
    links: int = 0  # recording links in a recording post


@dataclass(frozen=True, slots=True)
class StoredEvent:
    """A journal row read back."""

    id: int
    received_at: datetime
    call_id: str
    call_key: str
    kind: JournalKind
    external_number: str | None
    links: int
    path: str


@dataclass(frozen=True, slots=True)
class ReceiverRun:
    """One time the receiver listened; ``stopped_at`` None: still listening, or the app quit
    without stopping it."""

    started_at: datetime
    stopped_at: datetime | None
    path: str


@dataclass(frozen=True)
class JournalContents:
    """The events of a time range, and every run of the receiver that the journal keeps."""

    events: list[StoredEvent]
    runs: list[ReceiverRun]


class JournalUnreadable(Exception):
    """The journal exists but cannot be read; the message says why."""


def journal_path() -> Path:
    # Resolved when opened, so PBX_COMPANION_HOME set after import still counts.
    return paths.data_dir() / FILE_NAME


def utc_text(value: datetime) -> str:
    """One text form for every stored time: equal instants compare equal and sort in order."""
    if value.tzinfo is None:
        raise ValueError("the webhook journal stores aware datetimes only")
    return value.astimezone(UTC).isoformat(timespec="microseconds")


class _Damaged(Exception):
    """The file is not a usable journal: it is set aside and a fresh one started."""


class _Unusable(Exception):
    """The journal cannot be used this time (newer, locked, unwritable); the file is left."""


class WebhookJournal:
    """The receiver's journal. ``open`` when the receiver starts, ``record`` each accepted event
    (on the event loop, never blocking), ``close`` when it stops; it may be opened again."""

    def __init__(
        self,
        path: Path | None = None,
        *,
        keep: timedelta = KEEP,
        max_rows: int = MAX_ROWS,
        clock: Clock = utc_now,
    ) -> None:
        if max_rows < 1:
            raise ValueError(f"max_rows must be at least 1, not {max_rows}")
        self._path = path
        self._keep = keep
        self._max_rows = max_rows
        self._clock = clock
        self._db: sqlite3.Connection | None = None
        self._lock = threading.Lock()  # the connection is used from worker threads, one at a time
        self._run_id: int | None = None
        self._listening_path = ""
        self._pending: list[JournalRow] = []
        self._writer: asyncio.Task[None] | None = None  # a strong reference to the running task
        self._since_prune = 0
        self.problem: str | None = None  # why the journal is off (or was started afresh)
        self._warned = False
        self.set_aside: Path | None = None  # where a damaged file went
        self.written = 0
        self.dropped = 0

    @property
    def path(self) -> Path:
        return self._path or journal_path()

    @property
    def is_open(self) -> bool:
        return self._db is not None

    # ---- lifecycle -----------------------------------------------------------------------
    async def open(self, listening_path: str) -> bool:
        """Open (or create) the file off the loop, prune it, and note that the receiver started
        listening on ``listening_path``. Never raises: False (and one WARNING) when the journal
        cannot be used."""
        if self._db is not None:
            return True
        self._listening_path = listening_path.split("?", 1)[0]
        try:
            await asyncio.to_thread(self._open_blocking)
        except _Unusable as exc:
            self._give_up(str(exc))
            return False
        except Exception as exc:  # the receiver must start whatever state the file is in
            self._give_up(f"{self.path} cannot be opened ({exc})")
            return False
        return True

    def record(self, row: JournalRow) -> None:
        """Queue one accepted event; a task writes the queue off the loop. Returns at once."""
        if self._db is None:
            self.dropped += 1
            return
        self._pending.append(row)
        if self._writer is None or self._writer.done():
            self._writer = asyncio.get_running_loop().create_task(
                self._write_pending(), name="webhook journal writer"
            )

    async def flush(self) -> None:
        """Wait until every queued row is written (or dropped, if the journal failed)."""
        while self._writer is not None and not self._writer.done():
            await self._writer

    async def close(self) -> None:
        """Write what is queued, note that the receiver stopped, and close the file."""
        await self.flush()
        # Taken on the loop, with no await since the flush: no batch is in flight, and a row
        # recorded from now on is dropped rather than written to a closing file.
        db, self._db = self._db, None
        if db is not None:
            await asyncio.to_thread(self._close_blocking, db)

    # ---- on the worker thread ------------------------------------------------------------
    def _open_blocking(self) -> None:
        path = self.path
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise _Unusable(f"its folder {path.parent} cannot be created ({exc})") from exc
        try:
            db = _connect(path)
        except _Damaged as exc:
            self.set_aside = _set_aside(path)
            why = f"{path} was {exc}; it was set aside as {self.set_aside}"
            try:
                db = _connect(path)
            except (_Damaged, _Unusable) as again:
                raise _Unusable(f"{why}, and a fresh one could not be made ({again})") from again
            self.problem = f"{why} and a fresh journal started"
            log.warning("Webhook journal: %s", self.problem)  # once per damaged file
        now = self._clock()
        with self._lock:
            try:
                self._prune(db, now)
                cursor = db.execute(
                    "INSERT INTO receiver_runs (started_at, path) VALUES (?, ?)",
                    (utc_text(now), self._listening_path),
                )
            except sqlite3.Error as exc:
                db.close()
                raise _Unusable(f"{path} cannot be written ({exc})") from exc
            self._run_id = cursor.lastrowid
            self._db = db

    def _write_batch(self, batch: list[JournalRow]) -> None:
        with self._lock:
            db = self._db
            if db is None:
                raise sqlite3.OperationalError("the journal was closed")
            with transaction(db):
                db.executemany(
                    "INSERT INTO events (received_at, call_id, call_key, kind, external_number, "
                    "links, path) VALUES (?, ?, ?, ?, ?, ?, ?)",
                    [
                        (
                            utc_text(r.received_at),
                            r.call_id[:_MAX_TEXT],
                            r.call_key[:_MAX_TEXT],
                            r.kind.value,
                            r.external_number[:_MAX_TEXT] if r.external_number else None,
                            r.links,
                            self._listening_path,
                        )
                        for r in batch
                    ],
                )
            self._since_prune += len(batch)
            if self._since_prune >= _PRUNE_EVERY:
                self._prune(db, self._clock())

    def _close_blocking(self, db: sqlite3.Connection) -> None:
        with self._lock:
            try:
                if self._run_id is not None:
                    db.execute(
                        "UPDATE receiver_runs SET stopped_at = ? WHERE id = ?",
                        (utc_text(self._clock()), self._run_id),
                    )
            except sqlite3.Error as exc:
                self._warn(f"{self.path} could not note that the receiver stopped ({exc})")
            finally:
                db.close()
                self._run_id = None

    def _prune(self, db: sqlite3.Connection, now: datetime) -> None:
        """Keep ``KEEP`` of time and at most ``max_rows`` events; the caller holds the lock."""
        cutoff = utc_text(now - self._keep)
        with transaction(db):
            db.execute("DELETE FROM events WHERE received_at < ?", (cutoff,))
            db.execute(
                "DELETE FROM events WHERE id IN (SELECT id FROM events "
                "ORDER BY received_at DESC, id DESC LIMIT -1 OFFSET ?)",
                (self._max_rows,),
            )
            db.execute(  # never the run going on now, however long it has been listening
                "DELETE FROM receiver_runs WHERE coalesce(stopped_at, started_at) < ? "
                "AND id IS NOT ?",
                (cutoff, self._run_id),
            )
        self._since_prune = 0

    # ---- on the loop ---------------------------------------------------------------------
    async def _write_pending(self) -> None:
        while self._pending and self._db is not None:
            batch, self._pending = self._pending, []
            try:
                await asyncio.to_thread(self._write_batch, batch)
            except Exception as exc:  # the feed must not suffer: note it once and stop writing
                self.dropped += len(batch)
                self._give_up(f"{self.path} cannot be written ({exc})")
                return
            self.written += len(batch)

    def _give_up(self, why: str) -> None:
        self.dropped += len(self._pending)
        self._pending = []
        db, self._db = self._db, None
        if db is not None:
            with self._lock:
                db.close()
        self._warn(f"{why}; the receiver goes on without its journal")

    def _warn(self, message: str) -> None:
        if not self._warned:  # one warning per journal: a failing disk must not flood the log
            log.warning("Webhook journal: %s", message)
            self._warned = True
        self.problem = message


# ---- opening the file ------------------------------------------------------------------------
def _connect(path: Path) -> sqlite3.Connection:
    """An open, current-schema connection in WAL mode; ``_Damaged`` for a file to set aside."""
    try:
        return open_current(path, SCHEMA)
    except NewerSchemaError as exc:
        raise _Unusable(
            f"{path} was written by a newer PBX Companion (journal schema {exc.version}; this "
            f"version understands {exc.understood}) and was left untouched"
        ) from exc
    except DamagedFile as exc:
        raise _Damaged(str(exc)) from exc
    except CannotOpen as exc:
        raise _Unusable(f"{path} cannot be opened ({exc})") from exc


def _set_aside(path: Path) -> Path:
    try:
        return set_aside(path)
    except OSError as exc:
        raise _Unusable(f"{path} is damaged and could not be moved aside ({exc})") from exc


# ---- reading (for the reconciliation) --------------------------------------------------------
def read_journal(path: Path, since: datetime, until: datetime) -> JournalContents:
    """The events received in [since, until) and every receiver run kept (blocking).

    Opens the file read-only: reading never creates, migrates or prunes it. Raises
    ``JournalUnreadable`` for a file that is not a journal this version can read.
    """
    try:
        db = connect_read_only(path)
    except CannotOpen as exc:
        raise JournalUnreadable(f"{path} cannot be opened ({exc})") from exc
    try:
        version = SCHEMA.inspect(db)
        if version < SCHEMA.version:
            raise JournalUnreadable(
                f"{path} has journal schema {version}; the receiver brings it up to "
                f"{SCHEMA.version} the next time it starts"
            )
        rows = db.execute(
            f"SELECT {_EVENT_COLUMNS} FROM events WHERE received_at >= ? AND received_at < ? "
            "ORDER BY received_at, id",
            (utc_text(since), utc_text(until)),
        ).fetchall()
        runs = db.execute(
            "SELECT started_at, stopped_at, path FROM receiver_runs ORDER BY started_at, id"
        ).fetchall()
        return JournalContents(
            [_stored_event(row) for row in rows],
            [ReceiverRun(_time(a), _time(b) if b else None, p) for a, b, p in runs],
        )
    except NewerSchemaError as exc:
        raise JournalUnreadable(
            f"{path} was written by a newer PBX Companion (journal schema {exc.version})"
        ) from exc
    except (ForeignFileError, sqlite3.Error, ValueError) as exc:
        raise JournalUnreadable(f"{path} cannot be read ({exc})") from exc
    finally:
        db.close()


def _stored_event(row: tuple[object, ...]) -> StoredEvent:
    row_id, received, call_id, key, kind, number, links, path = row
    return StoredEvent(
        id=int(str(row_id)),
        received_at=_time(str(received)),
        call_id=str(call_id),
        call_key=str(key),
        kind=JournalKind(str(kind)),
        external_number=str(number) if number is not None else None,
        links=int(str(links)),
        path=str(path),
    )


def _time(text: str) -> datetime:
    value = datetime.fromisoformat(text)
    if value.tzinfo is None:
        raise ValueError(f"a stored time without a zone: {text!r}")
    return value
