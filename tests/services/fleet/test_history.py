"""The run history (SQLite, versioned) and the changes a second sweep finds against the last
good run, on a real simulated PBX that was upgraded, renewed its certificate, had its key
rotated, lost a capability, stopped recording on an extension and lowered retention."""

from __future__ import annotations

import sqlite3
import threading
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest

from app.domain.clock import utc_now
from app.domain.connection import CheckStatusSummary, ConnectionProfile
from app.domain.diagnosis import CheckId
from app.domain.fleet.changes import ChangeKind
from app.domain.fleet.facts import RunFacts
from app.services.fleet.history import FleetHistory, FleetHistoryError, NewRun, history_path
from app.services.fleet.history_schema import SCHEMA
from app.services.fleet.since import NEVER_SWEPT, rows_since_last_good
from app.services.fleet.sweep import SweepSettings, sweep
from app.services.fleet.targets import FleetTarget
from app.services.known_certificates import KnownCertificates
from tests.conftest import SimFactory

SETTINGS = SweepSettings(concurrency=2, deadline_s=30, key_warning_days=180)


def run(name: str, *, good: bool, facts: RunFacts | None = None) -> NewRun:
    return NewRun(
        connection_id=f"id-{name}",
        connection_name=name,
        ran_at=utc_now(),
        source="sweep",
        outcome=CheckStatusSummary.PASS if good else CheckStatusSummary.NEVER,
        finding="All seven checks passed" if good else "No key",
        diagnosis=None,
        facts=facts or RunFacts(),
    )


def test_the_file_is_created_beside_the_ledger_and_reads_back() -> None:
    with FleetHistory.open() as history:
        first = history.record(run("a", good=False, facts=RunFacts(version="20.0.10.1")))
        assert history.latest("id-a") is not None
        assert history.last_good_before("id-a", first + 1) is None  # a run without a doctor
        stored = history.runs("id-a")
    assert history_path().name == "fleet.sqlite3"
    assert history_path().parent.name == "data"
    assert [(r.id, r.good, r.facts.version, r.outcome) for r in stored] == [
        (first, False, "20.0.10.1", CheckStatusSummary.NEVER)
    ]
    db = sqlite3.connect(history_path())
    try:
        assert db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA.version
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    finally:
        db.close()


def test_a_newer_or_foreign_file_is_refused_and_left_as_it_is(tmp_path: Path) -> None:
    newer = tmp_path / "newer.sqlite3"
    db = sqlite3.connect(newer)
    db.execute(f"PRAGMA user_version = {SCHEMA.version + 1}")
    db.close()
    before = newer.read_bytes()
    with pytest.raises(FleetHistoryError, match="newer PBX Companion"):
        FleetHistory.open(newer)
    assert newer.read_bytes() == before
    foreign = tmp_path / "foreign.sqlite3"
    db = sqlite3.connect(foreign)
    db.execute("CREATE TABLE notes (text TEXT)")
    db.close()
    with pytest.raises(FleetHistoryError, match="not a fleet run history"):
        FleetHistory.open(foreign)


async def test_a_second_sweep_names_what_changed_against_the_last_good_run(
    make_sim: SimFactory,
) -> None:
    sim = await make_sim(tls=True, faults=["monitored=all"])
    now = utc_now()
    profile = ConnectionProfile(
        id="id-harbour",
        name="Harbour Dental",
        url=sim.url,
        client_id=sim.client_id,
        ca_file=sim.ca_file,
        key_rotated_at=now - timedelta(days=200),
    )
    target = FleetTarget(profile, sim.client_secret)
    known = KnownCertificates()
    with FleetHistory.open() as history:
        first = await sweep([target], SETTINGS, history=history, known_certificates=known)
        [row] = first.rows
        assert row.diagnosis is not None and not row.diagnosis.failed
        assert row.baseline_at is None
        assert [c.kind for c in row.changes] == [ChangeKind.KEY_OLD]  # 200 days, past 180

        # Overnight: an upgrade, a renewed certificate, a rotated key, a role taken away, an
        # extension's recording turned off, retention lowered to 30 days and Call Control's
        # Extensions to Monitor cleared.
        sim.version = "20.0.11.2001"
        for fault in (
            "tls-renewed",
            "missing-recording-role",
            "extension-not-recording",
            "retention-deleted=30",
            "monitored=none",
        ):
            sim.faults.enable(fault)
        rotated = FleetTarget(replace(profile, key_rotated_at=utc_now()), sim.client_secret)
        second = await sweep([rotated], SETTINGS, history=history, known_certificates=known)
        [after] = second.rows
        kinds = {c.kind: c for c in after.changes}
        assert after.baseline_at == row.checked_at
        assert {
            ChangeKind.VERSION,
            ChangeKind.CERTIFICATE_CHANGED,
            ChangeKind.KEY_ROTATED,
            ChangeKind.CAPABILITY_LOST,
            ChangeKind.STOPPED_RECORDING,
            ChangeKind.RETENTION_LOWERED,
            ChangeKind.MONITORED_EMPTIED,
        } <= set(kinds)
        assert ChangeKind.KEY_OLD not in kinds
        assert "upgraded from 20.0.10.1116 to 20.0.11.2001" in kinds[ChangeKind.VERSION].finding
        assert kinds[ChangeKind.STOPPED_RECORDING].threatens is CheckId.EXTENSION_RECORDING
        assert (
            "stopped recording since the last good run"
            in kinds[ChangeKind.STOPPED_RECORDING].finding
        )
        assert "lowered to 30 days" in kinds[ChangeKind.RETENTION_LOWERED].finding
        assert kinds[ChangeKind.CAPABILITY_LOST].threatens is CheckId.API_ROLES

        # `fleet changes` reads the same from the history alone, for both connections.
        never = replace(profile, id="id-never", name="Never swept")
        rows = rows_since_last_good(history, [profile, never], now=utc_now(), key_warning_days=180)
    assert [c.kind for c in rows[0].changes] == [c.kind for c in after.changes]
    assert rows[1].finding == NEVER_SWEPT and rows[1].changes == ()
    # The key never reaches the history file.
    for path in history_path().parent.iterdir():
        assert sim.client_secret.encode() not in path.read_bytes()


async def test_a_doctor_run_of_a_saved_connection_is_kept_too(make_sim: SimFactory) -> None:
    """``doctor --connection`` and the app keep their runs in the same history as a sweep."""
    from app.services.doctor import Doctor
    from app.services.fleet.tracking import record_doctor_run
    from app.services.session import connection_params

    sim = await make_sim(tls=True, faults=["retention-deleted"])
    profile = ConnectionProfile(
        id="id-bay", name="Bayside", url=sim.url, client_id=sim.client_id, ca_file=sim.ca_file
    )
    diagnosis = await Doctor(connection_params(profile), sim.client_secret).run()
    kept = await record_doctor_run(
        profile, diagnosis, source="doctor", key_warning_days=180, now=utc_now()
    )
    assert kept is None
    with FleetHistory.open() as history:
        [stored] = history.runs("id-bay")
    assert (stored.source, stored.good, stored.first_failure) == (
        "doctor",
        False,
        CheckId.RETENTION,
    )
    assert stored.diagnosis is not None
    assert stored.diagnosis.as_json() == diagnosis.as_json()  # as JSON keeps it (ms rounded)


def test_processes_opening_a_new_history_at_once_all_get_it(tmp_path: Path) -> None:
    # Sweeps in several processes (and the Fleet tab beside them) open it at once: none may
    # take another's half-made file for a foreign one, nor give up on a lock held a moment.
    for round_ in range(10):
        path = tmp_path / f"round-{round_}" / "fleet.sqlite3"
        problems: list[str] = []

        def open_it(path: Path = path, problems: list[str] = problems) -> None:
            try:
                FleetHistory.open(path).close()
            except FleetHistoryError as exc:
                problems.append(str(exc))

        threads = [threading.Thread(target=open_it) for _ in range(6)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert problems == []
        left = {p.name for p in path.parent.iterdir()} - {"fleet.sqlite3-shm", "fleet.sqlite3-wal"}
        assert left == {"fleet.sqlite3"}  # no draft left behind
