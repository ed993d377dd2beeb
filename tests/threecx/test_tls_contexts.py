"""TLS contexts are built once per trust and shared: a fleet sweep does not read a CA file (or
the OS store) again for every connection, and an edited CA file is read again."""

from __future__ import annotations

import os
import ssl
from pathlib import Path

import pytest
import trustme

from app.threecx.tls import TlsOptions, build_ssl_context, unverified_context


def _ca_file(folder: Path, name: str) -> str:
    path = folder / name
    trustme.CA().cert_pem.write_to_path(str(path))
    return str(path)


def test_one_context_per_ca_file_until_the_file_changes(tmp_path: Path) -> None:
    first = _ca_file(tmp_path, "a.pem")
    other = _ca_file(tmp_path, "b.pem")
    shared = build_ssl_context(TlsOptions(ca_file=first))
    assert build_ssl_context(TlsOptions(ca_file=first)) is shared
    assert build_ssl_context(TlsOptions(ca_file=other)) is not shared
    assert shared.verify_mode is ssl.CERT_REQUIRED and shared.check_hostname

    trustme.CA().cert_pem.write_to_path(first)  # a new CA in the same place
    stat = os.stat(first)
    os.utime(first, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
    assert build_ssl_context(TlsOptions(ca_file=first)) is not shared


def test_an_unreadable_ca_file_is_refused_every_time(tmp_path: Path) -> None:
    missing = str(tmp_path / "gone.pem")
    for _ in range(2):
        with pytest.raises(ValueError, match="cannot be read"):
            build_ssl_context(TlsOptions(ca_file=missing))
    garbage = tmp_path / "garbage.pem"
    garbage.write_text("not a certificate", encoding="utf-8")
    with pytest.raises(ValueError, match="cannot be read"):
        build_ssl_context(TlsOptions(ca_file=str(garbage)))


def test_the_os_store_and_the_unverified_context_are_built_once() -> None:
    assert build_ssl_context(TlsOptions()) is build_ssl_context(TlsOptions())
    looking = unverified_context()
    assert looking is unverified_context()
    assert looking.verify_mode is ssl.CERT_NONE and not looking.check_hostname
    # It never loads the OS trust store it would not consult.
    assert looking.cert_store_stats()["x509_ca"] == 0
