"""The known-certificates store: round trips, renewals against the simulator, corrupt files."""

from __future__ import annotations

import json
import logging
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from app.domain.clock import utc_now
from app.services import paths
from app.services.known_certificates import KnownCertificates
from app.threecx.probe import CertificateInfo, probe_network
from app.threecx.tls import TlsOptions
from tests.conftest import SimFactory

NOW = datetime(2026, 5, 24, 9, 30, tzinfo=UTC)


def cert(sha: str = "aa" * 32, issuer: str = "CN=R11,O=Let's Encrypt,C=US") -> CertificateInfo:
    return CertificateInfo(
        subject="CN=pbx.example.com",
        issuer=issuer,
        not_before=NOW - timedelta(days=30),
        not_after=NOW + timedelta(days=60),
        sha256=sha,
        names=("pbx.example.com",),
    )


def test_remember_get_changed_round_trip(tmp_path: Path) -> None:
    path = tmp_path / "nested" / "known.json"
    store = KnownCertificates(path)
    assert store.get("pbx.example.com", 5001) is None
    assert store.changed("pbx.example.com", 5001, cert()) is None  # nothing known: no warning

    store.remember("PBX.example.com", 5001, cert(), NOW)
    known = KnownCertificates(path).get("pbx.example.com", 5001)  # read back from the file
    assert known is not None
    assert known.sha256 == "aa" * 32 and known.issuer == "CN=R11,O=Let's Encrypt,C=US"
    assert known.not_after == NOW + timedelta(days=60) and known.seen_at == NOW
    assert store.get("pbx.example.com", 443) is None  # per host *and* port

    assert store.changed("pbx.example.com", 5001, cert()) is None
    assert store.changed("pbx.example.com", 5001, cert("bb" * 32)) == known

    store.remember("pbx.example.com", 5001, cert("bb" * 32), NOW + timedelta(days=1))
    assert store.changed("pbx.example.com", 5001, cert("bb" * 32)) is None
    assert [p.name for p in path.parent.iterdir()] == ["known.json"]  # no temp file left


def test_default_file_lives_in_the_state_folder() -> None:
    store = KnownCertificates()
    store.remember("::1", 5001, cert(), NOW)
    path = paths.state_dir() / "known-certificates.json"
    assert Path(os.environ[paths.HOME_ENV]) in path.parents  # the test's own folder
    body = json.loads(path.read_text(encoding="utf-8"))
    assert list(body["certificates"]) == ["[::1]:5001"]
    assert store.get("::1", 5001) is not None


@pytest.mark.parametrize(
    "content",
    ["{not json", '["a list"]', '{"version": 1, "certificates": {"h:1": {"sha256": 5}}}'],
)
@pytest.mark.expect_log(
    "app.services.known_certificates",
    r"; set aside as known\.json\.corrupt-\S+, starting afresh$",
)
def test_corrupt_file_is_set_aside(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, content: str
) -> None:
    path = tmp_path / "known.json"
    path.write_text(content, encoding="utf-8")
    store = KnownCertificates(path)

    with caplog.at_level(logging.WARNING, logger="app.services.known_certificates"):
        assert store.get("pbx.example.com", 5001) is None
    assert "set aside" in caplog.text
    aside = list(tmp_path.glob("known.json.corrupt-*"))
    assert len(aside) == 1 and aside[0].read_text(encoding="utf-8") == content
    assert not path.exists()

    store.remember("pbx.example.com", 5001, cert(), NOW)
    assert store.get("pbx.example.com", 5001) is not None


async def test_renewal_with_a_new_chain_is_noticed(make_sim: SimFactory) -> None:
    sim = await make_sim(tls=True)
    tls = TlsOptions(ca_file=sim.ca_file)
    store = KnownCertificates()

    before = await probe_network(
        sim.url, tls, timeout_s=10.0
    )  # roomy: a loaded machine is not a fault
    assert before.ok and before.certificate is not None
    store.remember(before.host, before.port, before.certificate, utc_now())

    sim.faults.enable("tls-renewed")
    after = await probe_network(
        sim.url, tls, timeout_s=10.0
    )  # roomy: a loaded machine is not a fault
    assert after.ok and after.certificate is not None  # still valid: only the chain moved

    previous = store.changed(after.host, after.port, after.certificate)
    assert previous is not None
    assert previous.sha256 == before.certificate.sha256 != after.certificate.sha256
    assert previous.issuer == before.certificate.issuer != after.certificate.issuer


def test_the_same_certificate_seen_again_that_day_is_not_written_again(tmp_path: Path) -> None:
    # A fleet sweep meets every PBX's certificate each run: the file is rewritten only when
    # what the warning would say changes (the certificate, or the day it was last seen).
    path = tmp_path / "known.json"
    store = KnownCertificates(path)
    store.remember("pbx.example.com", 5001, cert(), NOW)
    written = os.stat(path).st_ino
    store.remember("pbx.example.com", 5001, cert(), NOW + timedelta(hours=5))
    assert os.stat(path).st_ino == written  # not rewritten
    assert KnownCertificates(path).get("pbx.example.com", 5001).seen_at == NOW  # type: ignore[union-attr]

    store.remember("pbx.example.com", 5001, cert(), NOW + timedelta(days=1))
    assert os.stat(path).st_ino != written
    assert KnownCertificates(path).get("pbx.example.com", 5001).seen_at == NOW + timedelta(days=1)  # type: ignore[union-attr]


def test_a_change_written_by_another_process_is_read(tmp_path: Path) -> None:
    path = tmp_path / "known.json"
    mine, theirs = KnownCertificates(path), KnownCertificates(path)
    mine.remember("a.example.com", 5001, cert(), NOW)
    assert mine.get("b.example.com", 5001) is None
    theirs.remember("b.example.com", 5001, cert("bb" * 32), NOW)  # a shard of the same sweep
    known = mine.get("b.example.com", 5001)
    assert known is not None and known.sha256 == "bb" * 32
    mine.remember("c.example.com", 5001, cert("cc" * 32), NOW)  # keeps the other's entry
    assert KnownCertificates(path).get("b.example.com", 5001) is not None
