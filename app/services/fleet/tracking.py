"""A doctor run stored in the history, and its changes against the connection's last good run."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import datetime

from app.domain.clock import utc_now
from app.domain.connection import ConnectionProfile
from app.domain.diagnosis import CheckId, Diagnosis
from app.domain.fleet.changes import Change, changes_since
from app.domain.fleet.facts import facts_of
from app.services.connections.store import last_check_of
from app.services.doctor.text import summary_line
from app.services.fleet.history import FleetHistory, FleetHistoryError, NewRun, StoredRun

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Compared:
    """A stored run, the good run before it (None: there is none) and what changed between."""

    run: StoredRun
    baseline: StoredRun | None
    changes: tuple[Change, ...]


def fixes_of(diagnosis: Diagnosis | None) -> dict[CheckId, str]:
    """This run's fix per check, for a check that newly fails."""
    if diagnosis is None:
        return {}
    return {r.id: r.fix for r in diagnosis.checks if r.fix}


def compare(
    history: FleetHistory, run: StoredRun, *, now: datetime, key_warning_days: int
) -> Compared:
    """``run`` against the last good run recorded before it (blocking)."""
    baseline = history.last_good_before(run.connection_id, run.id)
    found = changes_since(
        baseline.facts if baseline else None,
        run.facts,
        now=now,
        key_warning_days=key_warning_days,
        fixes=fixes_of(run.diagnosis),
    )
    return Compared(run, baseline, tuple(found))


def record_and_compare(
    history: FleetHistory, new: NewRun, *, now: datetime, key_warning_days: int
) -> Compared:
    """Store ``new`` and compare it with the last good run before it (blocking)."""
    run_id = history.record(new)
    stored = StoredRun(
        id=run_id,
        connection_id=new.connection_id,
        connection_name=new.connection_name,
        ran_at=new.ran_at,
        source=new.source,
        outcome=new.outcome,
        good=new.good,
        first_failure=new.diagnosis.first_failure if new.diagnosis else None,
        finding=new.finding,
        diagnosis=new.diagnosis,
        facts=new.facts,
    )
    return compare(history, stored, now=now, key_warning_days=key_warning_days)


async def record_run(
    history: FleetHistory, new: NewRun, *, now: datetime, key_warning_days: int
) -> Compared:
    """``record_and_compare`` in a worker thread: for the app and the CLI's own doctor runs."""
    return await asyncio.to_thread(
        record_and_compare, history, new, now=now, key_warning_days=key_warning_days
    )


async def record_doctor_run(
    profile: ConnectionProfile,
    diagnosis: Diagnosis,
    *,
    source: str,
    key_warning_days: int,
    now: datetime,
) -> str | None:
    """Keep one doctor run of a saved connection (``doctor --connection``, the app's doctor
    pane) in the fleet history. Returns why it was not kept, or None."""
    new = NewRun(
        connection_id=profile.id,
        connection_name=profile.name,
        ran_at=diagnosis.started_at,
        source=source,
        outcome=last_check_of(diagnosis).status,
        finding=summary_line(diagnosis),
        diagnosis=diagnosis,
        facts=facts_of(diagnosis, key_rotated_at=profile.key_rotated_at),
    )

    def keep() -> None:
        with FleetHistory.open() as history:
            record_and_compare(history, new, now=now, key_warning_days=key_warning_days)

    try:
        await asyncio.to_thread(keep)
    except FleetHistoryError as exc:
        return str(exc)
    return None


async def keep_app_run(
    profile: ConnectionProfile, diagnosis: Diagnosis, key_warning_days: int
) -> None:
    """The desktop doctor's run of a saved connection, kept in the history (``source="app"``);
    a history that cannot be written is a warning in the log, never the pane's problem."""
    problem = await record_doctor_run(
        profile, diagnosis, source="app", key_warning_days=key_warning_days, now=utc_now()
    )
    if problem is not None:
        log.warning("The doctor run was not kept in the run history: %s", problem)
