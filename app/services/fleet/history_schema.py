"""The fleet run history's schema and its migrations (``SCHEMA``); versioning, opening and
upgrading are the app's one way for its SQLite files (``app.services.sqlite_files``).

Nothing secret has a column here: the doctor's result and the facts never hold a key.
"""

from __future__ import annotations

import sqlite3
from typing import Final

from app.services.sqlite_files import VersionedSchema


def _create_v1(db: sqlite3.Connection) -> None:
    """0 -> 1: one row per doctor run of one connection."""
    # Times are UTC ISO 8601, so text order is time order; ``id`` order is the order recorded.
    db.execute(
        """
        CREATE TABLE runs (
            id INTEGER PRIMARY KEY,
            connection_id TEXT NOT NULL,
            connection_name TEXT NOT NULL,
            ran_at TEXT NOT NULL,
            source TEXT NOT NULL,
            outcome TEXT NOT NULL,
            good INTEGER NOT NULL CHECK (good IN (0, 1)),
            first_failure TEXT,
            finding TEXT NOT NULL,
            diagnosis TEXT,
            facts TEXT NOT NULL,
            app_version TEXT NOT NULL
        )
        """
    )
    db.execute("CREATE INDEX runs_by_connection ON runs (connection_id, id)")
    db.execute("CREATE INDEX good_runs_by_connection ON runs (connection_id, good, id)")


SCHEMA: Final = VersionedSchema("fleet run history", 1, ("runs",), {0: _create_v1})
