"""The app's embedded SQLite files (the reconcile ledger, the webhook journal, the fleet's run
history): one way to version, open, upgrade and set aside a damaged file, so the three never
drift apart in how they treat a customer's data.

A file's schema version is ``PRAGMA user_version``. Version 0 is an empty file; each entry of a
schema's ``migrations`` turns version N into N+1, so creating a file and upgrading an old one
run the same code, in one transaction: a failure leaves the file at the version it had. A file
of a newer version, or another program's file, is inspected read-only and never touched.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

from app.domain.clock import utc_now
from app.services.atomic_files import free_sibling

Migration = Callable[[sqlite3.Connection], None]
SIDECARS: Final = ("-wal", "-shm")  # WAL mode's companions: they move with the file
_STAMP_FORMAT: Final = "%Y%m%dT%H%M%SZ"


class NewerSchemaError(Exception):
    """The file was written by a newer app: it is left untouched."""

    def __init__(self, kind: str, version: int, understood: int) -> None:
        super().__init__(f"{kind} schema {version}")
        self.kind = kind
        self.version = version
        self.understood = understood


class ForeignFileError(Exception):
    """An SQLite file that is not this kind of file (or is missing its tables)."""


class DamagedFile(Exception):
    """Not a usable file of this kind (damaged, not a database, another program's): the owner
    sets it aside and starts afresh. The message says what was wrong."""


class CannotOpen(Exception):
    """The file cannot be opened or read (permissions, locked): the owner leaves it as it is."""

    def __init__(self, message: str, *, busy: bool = False) -> None:
        super().__init__(message)
        self.busy = busy  # another connection held a lock SQLite would not wait for


# Opening races another connection opening the same file (the first turning on WAL, another
# reading the schema): SQLite then answers "locked" at once rather than wait, to avoid a
# deadlock. Both are done within milliseconds, so the opening is simply tried again.
BUSY_ATTEMPTS: Final = 40
BUSY_PAUSE_S: Final = 0.05


@dataclass
class VersionedSchema:
    """What a file of one kind holds, and how an older one is brought up to date."""

    kind: str  # in words: "reconcile ledger"
    version: int
    tables: tuple[str, ...]
    # version N -> the function that turns a version-N file into a version-(N+1) one. A new
    # schema adds an entry and raises ``version``; opening runs the chain from the file's one.
    migrations: dict[int, Migration] = field(default_factory=dict)

    def file_version(self, db: sqlite3.Connection) -> int:
        return int(db.execute("PRAGMA user_version").fetchone()[0])

    def inspect(self, db: sqlite3.Connection) -> int:
        """The file's version, after checking (reading only) that this app may open it.

        Raises ``NewerSchemaError`` or ``ForeignFileError``; call it before anything that
        writes, such as switching the journal to WAL.
        """
        version = self.file_version(db)
        if version > self.version:
            raise NewerSchemaError(self.kind, version, self.version)
        if version == 0 and db.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]:
            raise ForeignFileError(f"an SQLite file that is not a {self.kind}")
        if version > 0:
            self.check_tables(db)
        return version

    def upgrade(self, db: sqlite3.Connection) -> int:
        """Bring the file up to ``version`` in one transaction; return the version it had.

        ``db`` is in autocommit mode (``isolation_level=None``). Raises as ``inspect`` does,
        without writing anything.
        """
        if self.inspect(db) == self.version:
            return self.version
        db.execute("BEGIN IMMEDIATE")
        try:
            # Again under the write lock: another process may have upgraded it meanwhile.
            current = self.inspect(db)
            for version in range(current, self.version):
                self.migrations[version](db)
                db.execute(f"PRAGMA user_version = {version + 1:d}")
            self.check_tables(db)
            db.execute("COMMIT")
        except BaseException:
            with contextlib.suppress(sqlite3.Error):  # a damaged file may refuse even this
                db.execute("ROLLBACK")
            raise
        return current

    def check_tables(self, db: sqlite3.Connection) -> None:
        found = {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        missing = [name for name in self.tables if name not in found]
        if missing:
            raise ForeignFileError(f"missing its {', '.join(missing)} table")


def open_current(
    path: Path, schema: VersionedSchema, *, foreign_keys: bool = False
) -> sqlite3.Connection:
    """An open connection to ``path`` at ``schema``'s version, in WAL mode (blocking).

    Autocommit (transactions are begun and ended explicitly) and usable from any worker thread
    of ``asyncio.to_thread``: the owner's lock serialises the calls. Raises ``NewerSchemaError``
    (left untouched), ``DamagedFile`` (to set aside) or ``CannotOpen`` (left as it is).
    """
    for attempt in range(1, BUSY_ATTEMPTS + 1):
        try:
            return _open_current_once(path, schema, foreign_keys=foreign_keys)
        except CannotOpen as exc:
            if not exc.busy or attempt == BUSY_ATTEMPTS:
                raise
            time.sleep(BUSY_PAUSE_S * min(attempt, 4))
    raise AssertionError("unreachable")  # the loop returns or raises


def _open_current_once(
    path: Path, schema: VersionedSchema, *, foreign_keys: bool
) -> sqlite3.Connection:
    if not path.exists():
        _create_whole(path, schema)
    inspect_read_only(path, schema)
    try:
        db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    except sqlite3.Error as exc:
        raise CannotOpen(str(exc)) from exc
    try:
        with opening():
            schema.inspect(db)  # again: another process may have changed it since
            db.execute("PRAGMA journal_mode = WAL")
            # In WAL mode a crash may lose the last commit, never the file's consistency.
            db.execute("PRAGMA synchronous = NORMAL")
            if foreign_keys:
                db.execute("PRAGMA foreign_keys = ON")
            schema.upgrade(db)
    except BaseException:
        db.close()
        raise
    return db


def _create_whole(path: Path, schema: VersionedSchema) -> None:
    """Create the file with its tables under another name, then link it into place: two
    processes creating it at once would otherwise each see the other's half-made file (no
    tables yet) and take it for another program's. The loser's copy is simply dropped."""
    draft = path.with_name(f"{path.name}.new-{os.getpid()}-{threading.get_ident()}")
    try:
        db = sqlite3.connect(draft, isolation_level=None)
        try:
            with opening():
                schema.upgrade(db)
        finally:
            db.close()
        try:
            os.link(draft, path)
        except FileExistsError:
            pass  # another got there first: use theirs
        except OSError:
            if not path.exists():  # a file system without hard links: the next best thing
                os.replace(draft, path)
    except OSError as exc:
        raise CannotOpen(str(exc)) from exc
    finally:
        with contextlib.suppress(OSError):
            draft.unlink()


def connect_read_only(path: Path) -> sqlite3.Connection:
    """A connection that can neither create, change nor delete anything (``CannotOpen``)."""
    try:
        return sqlite3.connect(path.resolve().as_uri() + "?mode=ro", uri=True)
    except sqlite3.Error as exc:
        raise CannotOpen(str(exc)) from exc


def inspect_read_only(path: Path, schema: VersionedSchema) -> int:
    """The file's version, writing nothing: a newer file or another program's stays byte for
    byte as it was, and a damaged one keeps its WAL (a writable connection would delete it)."""
    db = connect_read_only(path)
    try:
        with opening():
            return schema.inspect(db)
    finally:
        db.close()


@contextlib.contextmanager
def opening() -> Iterator[None]:
    """SQLite's errors while opening, as ``DamagedFile`` or ``CannotOpen`` (a newer schema
    passes through as ``NewerSchemaError``)."""
    try:
        yield
    except ForeignFileError as exc:
        raise DamagedFile(str(exc)) from exc
    except sqlite3.DatabaseError as exc:
        name = getattr(exc, "sqlite_errorname", "") or ""
        if name.startswith(("SQLITE_CORRUPT", "SQLITE_NOTADB")):
            raise DamagedFile(f"damaged ({exc})") from exc
        busy = name.startswith(("SQLITE_BUSY", "SQLITE_LOCKED"))
        raise CannotOpen(str(exc), busy=busy) from exc


def set_aside(path: Path) -> Path:
    """Rename a damaged file to ``<name>.corrupt-<UTC time>``, with its WAL (which must never
    be replayed into a fresh file); returns the new name. Raises ``OSError``."""
    target = free_sibling(path, "corrupt", utc_now().strftime(_STAMP_FORMAT))
    path.rename(target)
    for suffix in SIDECARS:
        sidecar = path.with_name(path.name + suffix)
        if sidecar.exists():
            sidecar.rename(target.with_name(target.name + suffix))
    return target


@contextlib.contextmanager
def transaction(db: sqlite3.Connection) -> Iterator[None]:
    """``BEGIN IMMEDIATE`` … ``COMMIT``, rolled back on any error (autocommit connections)."""
    db.execute("BEGIN IMMEDIATE")
    try:
        yield
        db.execute("COMMIT")
    except BaseException:
        with contextlib.suppress(sqlite3.Error):
            db.execute("ROLLBACK")
        raise
