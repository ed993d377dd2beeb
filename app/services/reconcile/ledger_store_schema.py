"""The reconcile ledger database's schema and its migrations (``SCHEMA``); versioning, opening
and upgrading are the app's one way for its SQLite files (``app.services.sqlite_files``).

Nothing secret has a column here: no key, no token, no password. Phone numbers are stored as the
PBX gave them (E.164): they are the customer's data, on the engineer's own machine.
"""

from __future__ import annotations

import sqlite3
from typing import Final

from app.services.sqlite_files import VersionedSchema


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


SCHEMA: Final = VersionedSchema("reconcile ledger", 1, ("runs", "inputs", "calls"), {0: _create_v1})
