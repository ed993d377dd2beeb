"""The reconcile ledger database's schema: its version in ``PRAGMA user_version``, and the chain
of migrations that brings an older file up to this app's version.

Version 0 is an empty file; each entry of ``MIGRATIONS`` turns version N into N+1, so creating a
new ledger and upgrading an old one run the same code. The chain runs in one transaction: a
failure leaves the file at the version it had. A file of a newer version is never touched.

Nothing secret has a column here: no key, no token, no password. Phone numbers are stored as the
PBX gave them (E.164): they are the customer's data, on the engineer's own machine.
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Callable
from typing import Final

SCHEMA_VERSION: Final = 1
TABLES: Final = ("runs", "inputs", "calls")

Migration = Callable[[sqlite3.Connection], None]


def _create_v1(db: sqlite3.Connection) -> None:
    """0 -> 1: runs, the fingerprints of their input files, and each call's decided state."""
    # Times are UTC ISO 8601 with microseconds, so text order is time order.
    db.execute(
        """
        CREATE TABLE runs (
            id INTEGER PRIMARY KEY,
            connection_id TEXT NOT NULL,
            period_from TEXT NOT NULL,
            period_to TEXT NOT NULL,
            ran_at TEXT NOT NULL,
            app_version TEXT NOT NULL,
            summary TEXT NOT NULL
        )
        """
    )
    db.execute("CREATE INDEX runs_by_period ON runs (connection_id, period_from, period_to)")
    db.execute(
        """
        CREATE TABLE inputs (
            run_id INTEGER NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
            kind TEXT NOT NULL CHECK (kind IN ('crm', 'bridge', 'contacts')),
            file_name TEXT NOT NULL,
            size INTEGER,
            sha256 TEXT
        )
        """
    )
    db.execute("CREATE INDEX inputs_by_run ON inputs (run_id)")
    db.execute(
        """
        CREATE TABLE calls (
            run_id INTEGER NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
            call_id TEXT NOT NULL,
            started_at TEXT NOT NULL,
            direction TEXT NOT NULL,
            external_number TEXT,
            answered INTEGER NOT NULL,
            extension TEXT,
            state TEXT NOT NULL,
            cause TEXT,
            evidence TEXT NOT NULL
        )
        """
    )
    db.execute("CREATE INDEX calls_by_run ON calls (run_id, call_id)")


# version N -> the function that turns a version-N file into a version-(N+1) one. A new schema
# adds an entry here and raises SCHEMA_VERSION; opening runs the chain from the file's version.
MIGRATIONS: Final[dict[int, Migration]] = {0: _create_v1}


class NewerSchemaError(Exception):
    """The file was written by a newer app; ``version`` is its schema version."""

    def __init__(self, version: int) -> None:
        super().__init__(f"ledger schema {version}")
        self.version = version


class ForeignFileError(Exception):
    """An SQLite file that is not a reconcile ledger (or is missing its tables)."""


def file_version(db: sqlite3.Connection) -> int:
    version = db.execute("PRAGMA user_version").fetchone()[0]
    return int(version)


def inspect(db: sqlite3.Connection) -> int:
    """The file's version, after checking (reading only) that it is a ledger this app may open.

    Raises ``NewerSchemaError`` for a newer file and ``ForeignFileError`` for one that is not a
    ledger; call it before anything that writes, such as switching the journal to WAL.
    """
    version = file_version(db)
    if version > SCHEMA_VERSION:
        raise NewerSchemaError(version)
    if version == 0 and db.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]:
        raise ForeignFileError("an SQLite file that is not a reconcile ledger")
    if version > 0:
        check_tables(db)
    return version


def upgrade(db: sqlite3.Connection) -> int:
    """Bring the file up to ``SCHEMA_VERSION`` in one transaction; return the version it had.

    ``db`` is in autocommit mode (``isolation_level=None``). Raises as ``inspect`` does, without
    writing anything.
    """
    if inspect(db) == SCHEMA_VERSION:
        return SCHEMA_VERSION
    db.execute("BEGIN IMMEDIATE")
    try:
        # Again under the write lock: another process may have upgraded it meanwhile.
        current = inspect(db)
        for version in range(current, SCHEMA_VERSION):
            MIGRATIONS[version](db)
            db.execute(f"PRAGMA user_version = {version + 1:d}")
        check_tables(db)
        db.execute("COMMIT")
    except BaseException:
        with contextlib.suppress(sqlite3.Error):  # a damaged file may refuse even this
            db.execute("ROLLBACK")
        raise
    return current


def check_tables(db: sqlite3.Connection) -> None:
    found = {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    missing = [name for name in TABLES if name not in found]
    if missing:
        raise ForeignFileError(f"missing its {', '.join(missing)} table")
