"""Writing a file whole or not at all: a temporary file beside it, fsync, then a rename.

A reader (or a crash) never sees half a file, and a failed write leaves the old file as it was
and no temporary behind. Each write gets its own temporary (``mkstemp``), so two writers to the
same path never write into each other's; the last rename wins.

Permissions: ``mkstemp`` makes the file readable by this user only (0600), which is what a
private file keeps when ``mode`` is None. An ordinary document passes ``mode`` (e.g. 0o644);
with ``keep_mode`` the mode of the file being replaced wins. Every function blocks: call it
through ``asyncio.to_thread``. Failures raise ``OSError`` for the caller to word.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import TextIO


def write_bytes_atomically(
    path: Path,
    data: bytes,
    *,
    mode: int | None = None,
    keep_mode: bool = False,
    suffix: str = ".tmp",
) -> None:
    """Replace ``path`` with ``data``."""
    with (
        _temporary_beside(path, mode=mode, keep_mode=keep_mode, suffix=suffix) as fd,
        os.fdopen(fd, "wb") as out,
    ):
        out.write(data)
        out.flush()
        os.fsync(out.fileno())


def write_text_atomically(
    path: Path,
    text: str,
    *,
    encoding: str = "utf-8",
    mode: int | None = None,
    suffix: str = ".tmp",
    sync_folder: bool = False,
) -> None:
    """Replace ``path`` with ``text`` (newlines translated as ``open`` does by default).

    ``sync_folder`` also makes the rename itself durable, where the OS can sync a folder.
    """
    with atomic_text_file(
        path, encoding=encoding, mode=mode, suffix=suffix, sync_folder=sync_folder
    ) as handle:
        handle.write(text)


@contextlib.contextmanager
def atomic_text_file(
    path: Path,
    *,
    encoding: str = "utf-8",
    newline: str | None = None,
    mode: int | None = None,
    keep_mode: bool = False,
    suffix: str = ".tmp",
    sync_folder: bool = False,
) -> Iterator[TextIO]:
    """A text file to stream into; it replaces ``path`` only when the block ends normally.

    An exception in the block removes the temporary and leaves ``path`` untouched.
    """
    with (
        _temporary_beside(
            path, mode=mode, keep_mode=keep_mode, suffix=suffix, sync_folder=sync_folder
        ) as fd,
        os.fdopen(fd, "w", encoding=encoding, newline=newline) as handle,
    ):
        yield handle
        handle.flush()
        os.fsync(handle.fileno())


@contextlib.contextmanager
def _temporary_beside(
    path: Path,
    *,
    mode: int | None,
    keep_mode: bool,
    suffix: str,
    sync_folder: bool = False,
) -> Iterator[int]:
    """An open descriptor of a new temporary in ``path``'s folder; the block owns and closes it
    (``os.fdopen``), and it replaces ``path`` when the block ends normally."""
    if keep_mode and path.is_file():
        mode = path.stat().st_mode & 0o777
    fd, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=suffix, dir=path.parent)
    try:
        yield fd
        if mode is not None:
            os.chmod(temporary, mode)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    if sync_folder:
        _sync_folder(path.parent)


def _sync_folder(folder: Path) -> None:
    """Make a rename durable where the OS allows syncing a directory."""
    if os.name != "posix":
        return
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def free_sibling(path: Path, tag: str, stamp: str) -> Path:
    """A name beside ``path`` that is not taken: ``name.tag-stamp`` (then ``-1``, ``-2``…), for
    setting a damaged file aside without ever overwriting an earlier one."""
    target = path.with_name(f"{path.name}.{tag}-{stamp}")
    counter = 1
    while target.exists():
        target = path.with_name(f"{path.name}.{tag}-{stamp}-{counter}")
        counter += 1
    return target
