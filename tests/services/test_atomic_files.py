"""Whole or not at all: the one atomic write every service uses."""

from __future__ import annotations

import os
import stat
import threading
from pathlib import Path

import pytest

from app.services.atomic_files import (
    atomic_text_file,
    write_bytes_atomically,
    write_text_atomically,
)

posix_only = pytest.mark.skipif(os.name != "posix", reason="file modes are POSIX")


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_bytes_replace_the_file_and_leave_no_temporary(tmp_path: Path) -> None:
    target = tmp_path / "call.wav"
    target.write_bytes(b"old")
    write_bytes_atomically(target, b"new audio", suffix=".part")
    assert target.read_bytes() == b"new audio"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["call.wav"]


def test_text_is_written_in_the_encoding_asked(tmp_path: Path) -> None:
    target = tmp_path / "settings.json"
    write_text_atomically(target, "Zoë\n", sync_folder=True)
    assert target.read_bytes().decode("utf-8") == "Zoë" + os.linesep


def test_a_streamed_writer_keeps_newline_and_encoding(tmp_path: Path) -> None:
    target = tmp_path / "fixes.csv"
    with atomic_text_file(target, encoding="utf-8-sig", newline="") as out:
        for row in ("a,b\r\n", "c,d\r\n"):
            out.write(row)
        # Nothing replaces the target until the block ends.
        assert not target.exists()
    assert target.read_bytes() == b"\xef\xbb\xbfa,b\r\nc,d\r\n"


def test_a_failing_writer_leaves_the_old_file_and_no_temporary(tmp_path: Path) -> None:
    target = tmp_path / "report.html"
    target.write_text("the old report", encoding="utf-8")
    with pytest.raises(RuntimeError, match="disk gone"), atomic_text_file(target) as out:
        out.write("half a new rep")
        raise RuntimeError("disk gone")
    assert target.read_text(encoding="utf-8") == "the old report"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report.html"]


def test_a_missing_folder_raises_oserror_and_creates_nothing(tmp_path: Path) -> None:
    with pytest.raises(OSError):
        write_bytes_atomically(tmp_path / "missing" / "x.bin", b"x")
    assert list(tmp_path.iterdir()) == []


def test_a_failed_rename_removes_the_temporary(tmp_path: Path) -> None:
    folder = tmp_path / "report.pdf"
    folder.mkdir()  # a folder cannot be replaced by a file
    with pytest.raises(OSError):
        write_bytes_atomically(folder, b"%PDF")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report.pdf"]
    assert list(folder.iterdir()) == []


@posix_only
def test_no_mode_means_private(tmp_path: Path) -> None:
    target = tmp_path / "known-certificates.json"
    write_text_atomically(target, "{}")
    assert _mode(target) == 0o600


@posix_only
def test_a_mode_is_set(tmp_path: Path) -> None:
    target = tmp_path / "fixes.csv"
    with atomic_text_file(target, mode=0o644) as out:
        out.write("x")
    assert _mode(target) == 0o644


@posix_only
def test_keep_mode_keeps_the_replaced_files_mode(tmp_path: Path) -> None:
    target = tmp_path / "report.html"
    target.write_bytes(b"old")
    target.chmod(0o640)
    write_bytes_atomically(target, b"new", mode=0o644, keep_mode=True)
    assert _mode(target) == 0o640
    fresh = tmp_path / "fresh.html"
    write_bytes_atomically(fresh, b"new", mode=0o644, keep_mode=True)
    assert _mode(fresh) == 0o644


def test_concurrent_writers_never_share_a_temporary(tmp_path: Path) -> None:
    """Each writer streams into its own temporary: the file ends as one writer's whole text."""
    target = tmp_path / "staged-keys.json"
    writers = 8
    inside = threading.Barrier(writers)
    errors: list[BaseException] = []

    def write(n: int) -> None:
        try:
            with atomic_text_file(target) as out:
                out.write(f"writer {n} ")
                inside.wait(timeout=10)  # every writer has its temporary open at once
                out.write(f"{n}" * 1000)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(n,)) for n in range(writers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=20)
    assert errors == []
    text = target.read_text(encoding="utf-8")
    n = int(text.split()[1])
    assert text == f"writer {n} " + f"{n}" * 1000
    assert sorted(p.name for p in tmp_path.iterdir()) == ["staged-keys.json"]
