"""The reconcile ledger kept between runs: an embedded SQLite database, so a re-run after a fix
shows before and after for the same period (issue 21, "Storage").

``reconcile.sqlite3`` lives in ``paths.state_dir()`` (platformdirs; ``PBX_COMPANION_HOME`` in
tests and portable installs). It holds each run (connection id, period, when, the app's
version, the counts), its input files' fingerprints (name, size, SHA-256) and every call's
state, cause and evidence. It never holds a secret: no key, token or password has a column,
and the evidence is redacted again on its way in.

What can go wrong with the file is reported, as for the settings file, never silently lost:

- not a database, damaged, or an SQLite file that is not a ledger: it is renamed
  ``reconcile.sqlite3.corrupt-<timestamp>`` (with its ``-wal`` and ``-shm``), a fresh ledger
  is created, and ``LedgerStore.problems`` says where the old file went;
- written by a newer app (a higher schema version): ``open`` raises ``LedgerStoreError`` and
  the file is left untouched;
- cannot be opened (permissions, locked): ``LedgerStoreError``, the file left as it is.

Every method blocks on the disk (``save`` also reads each input file once to fingerprint it):
run them off the event loop with ``asyncio.to_thread``. One store may be used from any thread,
one call at a time (a lock serialises them); the connection is in WAL mode so another process
reading the ledger does not block a save.
"""

from __future__ import annotations

import contextlib
import logging
import sqlite3
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from types import TracebackType
from typing import Final

from app import __version__
from app.domain.clock import utc_now
from app.domain.diagnosis import CheckId
from app.domain.reconcile.records import CallState
from app.services import paths
from app.services.reconcile.ledger_store_compare import Comparison, StateAndCause, compare_states
from app.services.reconcile.ledger_store_rows import (
    InputFingerprint,
    InputKind,
    RunInfo,
    StoredCall,
    call_rows,
    fingerprint,
    input_fingerprint,
    run_info,
    stored_call,
    summary_json,
    utc_text,
)
from app.services.reconcile.ledger_store_schema import SCHEMA
from app.services.reconcile.run import ReconcileInputs, ReconcileResult
from app.services.sqlite_files import (
    CannotOpen,
    DamagedFile,
    NewerSchemaError,
    open_current,
    set_aside,
    transaction,
)

log = logging.getLogger(__name__)

FILE_NAME: Final = "reconcile.sqlite3"
_RUN_COLUMNS: Final = "id, connection_id, period_from, period_to, ran_at, app_version, summary"
# Looked up by value: 150,000 calls a run make the enums' own constructors count.
_STATES: Final = {state.value: state for state in CallState}
_CAUSES: Final = {cause.value: cause for cause in CheckId}
_CALL_COLUMNS: Final = (
    "call_id, started_at, direction, external_number, answered, extension, state, cause, evidence"
)


def ledger_path() -> Path:
    # Resolved when opened, so PBX_COMPANION_HOME set after import still counts.
    return paths.data_dir() / FILE_NAME


class LedgerStoreError(Exception):
    """The ledger could not be opened, read or written; the message says why and what to do."""


@dataclass(frozen=True)
class LedgerStoreProblem:
    """Something found wrong with the file when it was opened, in words for the engineer."""

    message: str
    moved_to: Path | None = None


class _Damaged(Exception):
    """The file is not a usable ledger: it is set aside and a fresh one started."""


class LedgerStore:
    """The saved runs of every connection. Open with ``LedgerStore.open()``; close when done."""

    def __init__(
        self, path: Path, db: sqlite3.Connection, problems: tuple[LedgerStoreProblem, ...] = ()
    ) -> None:
        self.path = path
        self.problems = problems
        self._db = db
        self._lock = threading.Lock()

    @classmethod
    def open(cls, path: Path | None = None) -> LedgerStore:
        """Open (or create) the ledger, upgrading an older schema (blocking).

        A damaged file is set aside and a fresh ledger started (see ``problems``); a newer or
        unopenable one raises ``LedgerStoreError`` and is left as it is.
        """
        path = path or ledger_path()
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise LedgerStoreError(
                f"The folder for the reconcile ledger, {path.parent}, cannot be created ({exc})."
            ) from exc
        try:
            return cls(path, _connect(path))
        except _Damaged as exc:
            problem = _set_aside(path, str(exc))
        try:
            return cls(path, _connect(path), (problem,))
        except _Damaged as exc:  # the fresh file too: the disk or the folder is at fault
            raise LedgerStoreError(
                f"A fresh reconcile ledger could not be created at {path} ({exc})."
            ) from exc

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def __enter__(self) -> LedgerStore:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # ---- writing -------------------------------------------------------------------------------
    def save(
        self,
        result: ReconcileResult,
        *,
        connection_id: str,
        inputs: ReconcileInputs,
        contacts: Path | None = None,
        ran_at: datetime | None = None,
    ) -> int:
        """Keep one run and every call of its ledger in one transaction; return the run's id.

        Blocking (it also reads each input file once to fingerprint it): run it off the event
        loop. ``contacts`` is the CRM contacts export the run used, when there was one.
        """
        files = [fingerprint(InputKind.CRM, inputs.crm_activities)]
        files += [fingerprint(InputKind.BRIDGE, p) for p in inputs.bridge_logs]
        if contacts is not None:
            files.append(fingerprint(InputKind.CONTACTS, contacts))
        ledger = result.ledger
        run = (
            connection_id,
            utc_text(ledger.period_from),
            utc_text(ledger.period_to),
            utc_text(ran_at or utc_now()),
            __version__,
            summary_json(result),
        )
        with self._lock, self._transaction("save the run"):
            cursor = self._db.execute(
                "INSERT INTO runs (connection_id, period_from, period_to, ran_at, app_version, "
                "summary) VALUES (?, ?, ?, ?, ?, ?)",
                run,
            )
            run_id = cursor.lastrowid
            if run_id is None:  # only after an INSERT that failed, which raised already
                raise LedgerStoreError("The reconcile ledger did not give the new run an id.")
            self._db.executemany(
                "INSERT INTO inputs (run_id, kind, file_name, size, sha256) VALUES (?, ?, ?, ?, ?)",
                [(run_id, f.kind.value, f.file_name, f.size, f.sha256) for f in files],
            )
            self._db.executemany(
                f"INSERT INTO calls (run_id, {_CALL_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                call_rows(run_id, ledger.entries),
            )
        log.info("Reconcile ledger: run %d saved with %d calls", run_id, len(ledger.entries))
        return run_id

    # ---- reading -------------------------------------------------------------------------------
    def runs(self, connection_id: str) -> list[RunInfo]:
        """The connection's saved runs, newest first (blocking)."""
        with self._lock, self._reading("list the runs"):
            rows = self._db.execute(
                f"SELECT {_RUN_COLUMNS} FROM runs WHERE connection_id = ? "
                "ORDER BY ran_at DESC, id DESC",
                (connection_id,),
            ).fetchall()
            return [run_info(row, self._inputs(row[0])) for row in rows]

    def run(self, run_id: int) -> RunInfo:
        """One saved run (blocking); ``LedgerStoreError`` when there is none with that id."""
        with self._lock, self._reading("read the run"):
            return self._run(run_id)

    def latest_for_period(
        self, connection_id: str, since: datetime, until: datetime
    ) -> RunInfo | None:
        """The newest run of the connection over exactly [since, until], if any (blocking).

        The instants are compared, whatever zone they are given in.
        """
        with self._lock, self._reading("find the period's last run"):
            row = self._db.execute(
                f"SELECT {_RUN_COLUMNS} FROM runs WHERE connection_id = ? AND period_from = ? "
                "AND period_to = ? ORDER BY ran_at DESC, id DESC LIMIT 1",
                (connection_id, utc_text(since), utc_text(until)),
            ).fetchone()
            return None if row is None else run_info(row, self._inputs(row[0]))

    def calls(self, run_id: int) -> list[StoredCall]:
        """The run's calls in time order (blocking)."""
        with self._lock, self._reading("read the run's calls"):
            self._run(run_id)
            rows = self._db.execute(
                f"SELECT {_CALL_COLUMNS} FROM calls WHERE run_id = ? ORDER BY started_at, call_id",
                (run_id,),
            )
            return [stored_call(row) for row in rows]

    def compare(self, before_run_id: int, after_run_id: int) -> Comparison:
        """Each call's state before and after, and the counts per state of both (blocking).

        Both runs must belong to one connection; ``Comparison.same_period`` says whether they
        cover the same period.
        """
        with self._lock, self._reading("compare the runs"):
            before, after = self._run(before_run_id), self._run(after_run_id)
            if before.connection_id != after.connection_id:
                raise LedgerStoreError(
                    f"Runs {before.id} and {after.id} belong to different connections; only "
                    "runs of one connection can be compared."
                )
            return compare_states(before, after, self._states(before.id), self._states(after.id))

    # ---- inside the lock -----------------------------------------------------------------------
    def _run(self, run_id: int) -> RunInfo:
        row = self._db.execute(
            f"SELECT {_RUN_COLUMNS} FROM runs WHERE id = ?", (run_id,)
        ).fetchone()
        if row is None:
            raise LedgerStoreError(f"The reconcile ledger has no run {run_id}.")
        return run_info(row, self._inputs(run_id))

    def _inputs(self, run_id: int) -> tuple[InputFingerprint, ...]:
        rows = self._db.execute(
            "SELECT kind, file_name, size, sha256 FROM inputs WHERE run_id = ? ORDER BY rowid",
            (run_id,),
        )
        return tuple(input_fingerprint(row) for row in rows)

    def _states(self, run_id: int) -> dict[str, StateAndCause]:
        rows = self._db.execute(
            "SELECT call_id, state, cause FROM calls WHERE run_id = ? ORDER BY started_at, call_id",
            (run_id,),
        )
        return {
            call_id: (_STATES[state], _CAUSES[cause] if cause else None)
            for call_id, state, cause in rows
        }

    @contextlib.contextmanager
    def _transaction(self, doing: str) -> Iterator[None]:
        """One write transaction: all of it is kept, or none of it."""
        with self._reading(doing), transaction(self._db):
            yield

    @contextlib.contextmanager
    def _reading(self, doing: str) -> Iterator[None]:
        try:
            yield
        except sqlite3.Error as exc:
            raise LedgerStoreError(
                f"Could not {doing} in the reconcile ledger {self.path} ({exc}). Nothing "
                "already saved was changed."
            ) from exc
        except (ValueError, KeyError) as exc:  # a stored value this version does not know
            raise LedgerStoreError(
                f"The reconcile ledger {self.path} holds a value this version cannot read "
                f"({exc}); it was left as it is."
            ) from exc


# ---- opening the file --------------------------------------------------------------------------
def _connect(path: Path) -> sqlite3.Connection:
    """An open, current-schema connection; ``_Damaged`` for a file to set aside."""
    try:
        return open_current(path, SCHEMA, foreign_keys=True)
    except NewerSchemaError as exc:
        raise _newer(path, exc.version) from exc
    except DamagedFile as exc:
        raise _Damaged(str(exc)) from exc
    except CannotOpen as exc:
        raise _cannot_open(path, exc) from exc


def _newer(path: Path, version: int) -> LedgerStoreError:
    log.warning("Reconcile ledger %s has schema %s (newer than %s)", path, version, SCHEMA.version)
    return LedgerStoreError(
        f"The reconcile ledger {path} was written by a newer PBX Companion (ledger schema "
        f"{version}; this version understands {SCHEMA.version}). It was left untouched. "
        "Install the newer version to see and keep reconcile runs, or move the file away to "
        "start a new ledger."
    )


def _cannot_open(path: Path, exc: Exception) -> LedgerStoreError:
    log.warning("Reconcile ledger %s cannot be opened: %s", path, exc)
    return LedgerStoreError(
        f"The reconcile ledger {path} cannot be opened ({exc}). It was left as it is; check "
        "that the file can be read and written and that no other program holds it, then try "
        "again."
    )


def _set_aside(path: Path, why: str) -> LedgerStoreProblem:
    """Rename the damaged file (and its WAL, which must never be replayed into a fresh one)."""
    try:
        target = set_aside(path)
    except OSError as exc:
        log.warning("Reconcile ledger %s is %s and cannot be set aside (%s)", path, why, exc)
        raise LedgerStoreError(
            f"The reconcile ledger {path} is {why} and could not be moved aside ({exc}). Move "
            "or delete the file, then run the reconciliation again."
        ) from exc
    log.warning("Reconcile ledger %s is %s; set aside as %s, starting afresh", path, why, target)
    return LedgerStoreProblem(
        f"The reconcile ledger was {why}, so a fresh one was started: earlier runs are not "
        f"shown. The old file was kept as {target}: nothing in it was deleted.",
        moved_to=target,
    )
