"""The webhook journal's schema and its migrations (``SCHEMA``); versioning, opening and
upgrading are the app's one way for its SQLite files (``app.services.sqlite_files``).

Nothing secret has a column here: the receiver's token, the links' query strings and the links
themselves are never stored (only how many links a recording post carried).
"""

from __future__ import annotations

import sqlite3
from typing import Final

from app.services.sqlite_files import VersionedSchema

KINDS: Final = ("ringing", "connected", "ended", "missed", "voicemail", "recording_link")


def _create_v1(db: sqlite3.Connection) -> None:
    """0 -> 1: when the receiver listened, and each event it accepted."""
    # Times are UTC ISO 8601 with microseconds, so text order is time order.
    db.execute(
        """
        CREATE TABLE receiver_runs (
            id INTEGER PRIMARY KEY,
            started_at TEXT NOT NULL,
            stopped_at TEXT,
            path TEXT NOT NULL
        )
        """
    )
    db.execute("CREATE INDEX receiver_runs_by_start ON receiver_runs (started_at)")
    kinds = ", ".join(f"'{kind}'" for kind in KINDS)
    db.execute(
        f"""
        CREATE TABLE events (
            id INTEGER PRIMARY KEY,
            received_at TEXT NOT NULL,
            call_id TEXT NOT NULL,
            call_key TEXT NOT NULL,
            kind TEXT NOT NULL CHECK (kind IN ({kinds})),
            external_number TEXT,
            links INTEGER NOT NULL DEFAULT 0,
            path TEXT NOT NULL
        )
        """
    )
    db.execute("CREATE INDEX events_by_time ON events (received_at)")
    # call_id is the id as the add-on sent it ("…_698-2"); call_key is the receiver's one id
    # per call (without the transfer-link number), as the live feed showed it.


SCHEMA: Final = VersionedSchema("webhook journal", 1, ("receiver_runs", "events"), {0: _create_v1})
