"""A sweep spread over child processes gives the same rows as one in this process, and the
history and progress stay with the caller."""

from __future__ import annotations

import sys

import pytest

from app.domain.connection import CheckStatusSummary, ConnectionProfile
from app.domain.diagnosis import CheckId
from app.services.fleet import shards
from app.services.fleet.history import FleetHistory
from app.services.fleet.shards import PBXS_PER_PROCESS, processes_for, sweep_in_processes
from app.services.fleet.sweep import SweepProgress, SweepSettings
from app.services.fleet.targets import FleetTarget
from tests.conftest import SimFactory
from tests.services.fleet.test_sweep import target_of


def test_processes_are_started_only_when_worth_it() -> None:
    assert processes_for(PBXS_PER_PROCESS - 1, 8) == 1
    assert processes_for(500, 8) == 4
    assert processes_for(500, 2) == 1  # one CPU is left for the rest of the machine
    assert processes_for(500, None) == 1
    assert processes_for(120, 16) == 2


async def test_two_processes_name_each_first_failure_and_keep_the_history(
    make_sim: SimFactory,
) -> None:
    sims = {
        "healthy-a": await make_sim(tls=True),
        "retention": await make_sim(tls=True, faults=["retention-deleted"]),
        "key": await make_sim(tls=True, faults=["bad-key"]),
    }
    targets = [target_of(name, sim) for name, sim in sims.items()]
    no_key = ConnectionProfile(id="id-nokey", name="no key", url=sims["key"].url, client_id="9")
    targets.append(FleetTarget(no_key, key_problem="No key is stored for no key."))
    heard: list[SweepProgress] = []
    with FleetHistory.open() as history:
        result = await sweep_in_processes(
            targets,
            SweepSettings(concurrency=4, deadline_s=30),
            processes=2,
            history=history,
            on_progress=heard.append,
        )
        kept = {t.profile.id: history.latest(t.profile.id) for t in targets}
    first = {
        row.name: row.diagnosis.first_failure if row.diagnosis else "none" for row in result.rows
    }
    assert first == {
        "healthy-a": None,
        "retention": CheckId.RETENTION,
        "key": CheckId.REACHABILITY,
        "no key": "none",
    }
    assert result.rows[3].outcome is CheckStatusSummary.NEVER
    assert "No key is stored" in result.rows[3].finding
    assert sorted(p.done for p in heard) == [1, 2, 3, 4]
    assert all(run is not None for run in kept.values())
    assert (
        kept["id-retention"] is not None and kept["id-retention"].first_failure is CheckId.RETENTION
    )
    healthy = result.rows[0]
    assert healthy.monitored is not None  # Call Control was read in the child too


async def test_the_frozen_app_sweeps_in_its_own_process(
    make_sim: SimFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    # PyInstaller's executable has no ``-m``: a worker started from it would never run.
    monkeypatch.setattr(sys, "frozen", True, raising=False)
    monkeypatch.setattr(shards, "WORKER", ("/nonexistent/pbx-companion", "-m", "worker"))
    sims = [await make_sim(tls=True), await make_sim(tls=True, faults=["retention-deleted"])]
    targets = [target_of(name, sim) for name, sim in zip(("a", "b"), sims, strict=True)]
    result = await sweep_in_processes(
        targets, SweepSettings(concurrency=2, deadline_s=30), processes=2
    )
    assert [row.diagnosis.first_failure if row.diagnosis else "none" for row in result.rows] == [
        None,
        CheckId.RETENTION,
    ]
