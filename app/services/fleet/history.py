"""Every doctor run of every connection, kept in an embedded SQLite file beside the reconcile
ledger (``fleet.sqlite3`` in the app's data folder), so a sweep can say what changed since a
connection's last good run.

A run is stored with its doctor result (the ``pbx-companion/doctor/1`` object) and the facts
the change rules compare. "Good" means no check failed. Calls are blocking: the async callers
use ``asyncio.to_thread``; a lock serialises them on the one connection.

Nothing secret is stored: the doctor's result never holds the key.
"""

from __future__ import annotations

import json
import logging
import sqlite3
import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final

from app import __version__
from app.domain.connection import CheckStatusSummary
from app.domain.diagnosis import CheckId, Diagnosis, DiagnosisFormatError
from app.domain.fleet.facts import RunFacts
from app.services import paths
from app.services.fleet.history_schema import SCHEMA
from app.services.sqlite_files import CannotOpen, DamagedFile, NewerSchemaError, open_current

log = logging.getLogger(__name__)

FILE_NAME: Final = "fleet.sqlite3"
_COLUMNS: Final = (
    "id, connection_id, connection_name, ran_at, source, outcome, good, first_failure, finding, "
    "diagnosis, facts"
)


def history_path() -> Path:
    # Resolved when opened, so PBX_COMPANION_HOME set after import still counts.
    return paths.data_dir() / FILE_NAME


class FleetHistoryError(Exception):
    """The run history could not be opened, read or written; the message says what to do."""


@dataclass(frozen=True)
class StoredRun:
    id: int
    connection_id: str
    connection_name: str
    ran_at: datetime
    source: str  # "sweep", "doctor" (the CLI) or "app"
    outcome: CheckStatusSummary
    good: bool
    first_failure: CheckId | None
    finding: str  # why there is no diagnosis, or the doctor's one-line summary
    diagnosis: Diagnosis | None
    facts: RunFacts


@dataclass(frozen=True)
class NewRun:
    """A run to store; ``diagnosis`` None when the doctor could not run (no key, say)."""

    connection_id: str
    connection_name: str
    ran_at: datetime
    source: str
    outcome: CheckStatusSummary
    finding: str
    diagnosis: Diagnosis | None
    facts: RunFacts

    @property
    def good(self) -> bool:
        return self.diagnosis is not None and not self.diagnosis.failed


class FleetHistory:
    """The stored runs. Open with ``FleetHistory.open()``; close when done."""

    def __init__(self, path: Path, db: sqlite3.Connection) -> None:
        self.path = path
        self._db = db
        self._lock = threading.Lock()

    @classmethod
    def open(cls, path: Path | None = None) -> FleetHistory:
        """Open (or create) the history, upgrading an older schema (blocking).

        Raises FleetHistoryError for a newer, foreign or unreadable file, which is left as it is.
        """
        path = path or history_path()
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            db = open_current(path, SCHEMA)
        except OSError as exc:
            raise _cannot_open(path, exc) from exc
        except NewerSchemaError as exc:
            raise FleetHistoryError(
                f"The fleet run history {path} was written by a newer PBX Companion (schema "
                f"{exc.version}; this version understands {exc.understood}). It was left "
                "untouched: install the newer version, or move the file away to start afresh."
            ) from exc
        except DamagedFile as exc:
            # Refused, not set aside as the ledger does: sweeps in several processes open it
            # at once, and one must not rename the file under another.
            raise FleetHistoryError(
                f"{path} is not a fleet run history ({exc}). It was left as it is: move it "
                "away and run the sweep again to start a new history."
            ) from exc
        except CannotOpen as exc:
            raise _cannot_open(path, exc) from exc
        return cls(path, db)

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def __enter__(self) -> FleetHistory:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    # ---- writing -----------------------------------------------------------------------------
    def record(self, run: NewRun) -> int:
        """Store one run; returns its id."""
        first = run.diagnosis.first_failure if run.diagnosis else None
        document = json.dumps(run.diagnosis.as_json()) if run.diagnosis else None
        row = (
            run.connection_id,
            run.connection_name,
            _when(run.ran_at),
            run.source,
            run.outcome.value,
            int(run.good),
            first.value if first else None,
            run.finding,
            document,
            json.dumps(run.facts.as_json()),
            __version__,
        )
        with self._lock:
            try:
                cursor = self._db.execute(
                    "INSERT INTO runs (connection_id, connection_name, ran_at, source, outcome, "
                    "good, first_failure, finding, diagnosis, facts, app_version) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    row,
                )
            except sqlite3.Error as exc:
                raise FleetHistoryError(
                    f"The run of {run.connection_name} was not stored in {self.path} ({exc})."
                ) from exc
        return int(cursor.lastrowid or 0)

    # ---- reading -----------------------------------------------------------------------------
    def latest(self, connection_id: str) -> StoredRun | None:
        return self._one(
            f"SELECT {_COLUMNS} FROM runs WHERE connection_id = ? ORDER BY id DESC LIMIT 1",
            (connection_id,),
        )

    def last_good_before(self, connection_id: str, run_id: int) -> StoredRun | None:
        """The latest good run recorded before ``run_id``: the baseline its changes are against."""
        return self._one(
            f"SELECT {_COLUMNS} FROM runs WHERE connection_id = ? AND good = 1 AND id < ? "
            "ORDER BY id DESC LIMIT 1",
            (connection_id, run_id),
        )

    def runs(self, connection_id: str) -> list[StoredRun]:
        """The connection's runs, oldest first."""
        return self._all(
            f"SELECT {_COLUMNS} FROM runs WHERE connection_id = ? ORDER BY id", (connection_id,)
        )

    def _one(self, sql: str, args: tuple[Any, ...]) -> StoredRun | None:
        found = self._all(sql, args)
        return found[0] if found else None

    def _all(self, sql: str, args: tuple[Any, ...]) -> list[StoredRun]:
        with self._lock:
            try:
                rows = self._db.execute(sql, args).fetchall()
            except sqlite3.Error as exc:
                raise FleetHistoryError(
                    f"The fleet run history {self.path} could not be read ({exc})."
                ) from exc
        try:
            return [_stored(row) for row in rows]
        except (ValueError, DiagnosisFormatError) as exc:
            raise FleetHistoryError(
                f"The fleet run history {self.path} holds a run this version cannot read ({exc})."
            ) from exc


def _stored(row: tuple[Any, ...]) -> StoredRun:
    (id_, conn, name, ran_at, source, outcome, good, first, finding, document, facts) = row
    return StoredRun(
        id=int(id_),
        connection_id=conn,
        connection_name=name,
        ran_at=datetime.fromisoformat(ran_at),
        source=source,
        outcome=CheckStatusSummary(outcome),
        good=bool(good),
        first_failure=CheckId(first) if first else None,
        finding=finding,
        diagnosis=Diagnosis.from_json(json.loads(document)) if document else None,
        facts=RunFacts.from_json(json.loads(facts)),
    )


def _when(value: datetime) -> str:
    return value.astimezone(UTC).isoformat(timespec="microseconds")


def _cannot_open(path: Path, exc: Exception) -> FleetHistoryError:
    log.warning("Fleet run history %s cannot be opened: %s", path, exc)
    return FleetHistoryError(
        f"The fleet run history {path} cannot be opened ({exc}). It was left as it is; check "
        "that the file can be read and written, then try again."
    )
