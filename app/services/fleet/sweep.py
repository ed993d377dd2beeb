"""The sweep: the doctor (no watch) against many PBXs at once, each within its own deadline.

``sweep`` is one async function a CLI or a Qt pane awaits: it reports each PBX as it finishes
(``on_progress``), and cancelling the task that awaits it cancels every doctor still running.
At most ``concurrency`` doctors run at a time (a semaphore), so open sockets stay bounded;
each PBX's time limit starts when its turn comes, so a dead or slow PBX holds up no other.

A PBX that cannot be checked (no key, an address that does not resolve, an answer that is not
3CX's, a doctor that did not finish) is a row with a finding, never an exception of the sweep.
"""

from __future__ import annotations

import asyncio
import logging
import shlex
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime

from app.domain.clock import Clock, utc_now
from app.domain.connection import CheckStatusSummary, LastCheck
from app.domain.deadlines import DEFAULT_DOCTOR_DEADLINE_S, seconds
from app.domain.diagnosis import CheckId, CheckStatus, Diagnosis
from app.domain.fleet.changes import Change
from app.domain.fleet.facts import RunFacts, facts_of
from app.services.connections.store import ConnectionStore, ConnectionStoreError, last_check_of
from app.services.doctor import Doctor
from app.services.facts.connection_options import options_for_connection
from app.services.facts.options import DoctorOptions
from app.services.fleet.history import FleetHistory, FleetHistoryError, NewRun
from app.services.fleet.monitored_probe import monitored_dns, monitored_on
from app.services.fleet.targets import FleetTarget
from app.services.fleet.tracking import record_run
from app.services.known_certificates import KnownCertificates
from app.services.session import connection_params
from app.threecx.connect import ConnectionParams
from app.threecx.transport import Timeouts

log = logging.getLogger(__name__)

DEFAULT_CONCURRENCY = 20
# Past the doctor's own deadline (which reports what it has as "not verified"): the outer limit
# that frees the PBX's turn even if something under the doctor ignores cancellation for a while.
GRACE_S = 5.0
DEFAULT_KEY_WARNING_DAYS = 180
# Enough for the doctor's fan-out to overlap its round trips; each more costs a TLS handshake.
DEFAULT_CONNECTIONS_PER_PBX = 4


@dataclass(frozen=True)
class SweepSettings:
    concurrency: int = DEFAULT_CONCURRENCY
    deadline_s: float = DEFAULT_DOCTOR_DEADLINE_S  # each PBX's whole doctor run
    timeouts: Timeouts = field(default_factory=Timeouts)  # each request
    options: DoctorOptions = field(default_factory=DoctorOptions)  # the base: never a watch
    key_warning_days: int = DEFAULT_KEY_WARNING_DAYS
    source: str = "sweep"
    # Read Call Control's monitored list after each doctor run (v20, reached): one more request
    # per PBX on the doctor's client, for the "monitored list emptied" change.
    probe_call_control: bool = True
    # Each PBX's connection pool: its doctor's requests (and the monitored list after it) share
    # this many kept-alive connections, so sockets stay at most about concurrency x this.
    connections_per_pbx: int = DEFAULT_CONNECTIONS_PER_PBX

    def __post_init__(self) -> None:
        if self.concurrency < 1:
            raise ValueError("concurrency must be at least 1")
        if self.connections_per_pbx < 1:
            raise ValueError("connections_per_pbx must be at least 1")


@dataclass(frozen=True)
class FleetRow:
    """One connection's part of a sweep: its doctor result (None: it could not be checked)."""

    connection_id: str
    name: str
    customer: str
    url: str
    outcome: CheckStatusSummary
    finding: str
    diagnosis: Diagnosis | None
    changes: tuple[Change, ...] = ()
    baseline_at: datetime | None = None  # the last good run the changes are against
    notes: tuple[str, ...] = ()
    checked_at: datetime | None = None
    duration_s: float = 0.0
    monitored: tuple[str, ...] | None = None  # Call Control's monitored DNs; None: not known
    tags: tuple[str, ...] = ()  # the connection's, for an RMM grouping the results by shard

    @property
    def reached(self) -> bool:
        """False when the PBX could not be checked at all (exit code 3)."""
        return self.outcome not in (CheckStatusSummary.UNREACHABLE, CheckStatusSummary.NEVER)

    @property
    def failed(self) -> bool:
        return self.diagnosis is not None and self.diagnosis.failed


@dataclass(frozen=True)
class SweepProgress:
    done: int
    total: int
    row: FleetRow


@dataclass(frozen=True)
class FleetSweep:
    rows: tuple[FleetRow, ...]
    started_at: datetime
    duration_s: float
    history_problem: str | None = None


async def sweep(
    targets: Sequence[FleetTarget],
    settings: SweepSettings | None = None,
    *,
    history: FleetHistory | None = None,
    store: ConnectionStore | None = None,
    known_certificates: KnownCertificates | None = None,
    on_progress: Callable[[SweepProgress], None] | None = None,
    clock: Clock = utc_now,
) -> FleetSweep:
    """Doctor every target at once (at most ``settings.concurrency`` at a time).

    Each run is stored in ``history`` (when given) and compared with the connection's last good
    run; with ``store`` it also becomes the connection's last check, as ``doctor --connection``
    does. Rows come back in the targets' order.
    """
    settings = settings or SweepSettings()
    started, begun = clock(), time.perf_counter()
    gate = asyncio.Semaphore(settings.concurrency)
    done = 0
    problems: list[str] = []
    rows: list[FleetRow | None] = [None] * len(targets)

    async def one(index: int, target: FleetTarget) -> None:
        nonlocal done
        async with gate:
            row = await _check(target, settings, known_certificates, clock)
        row = await remember(row, target, settings, history, store, clock, problems)
        rows[index] = row
        done += 1
        if on_progress is not None:
            on_progress(SweepProgress(done, len(targets), row))

    async with asyncio.TaskGroup() as group:
        for index, target in enumerate(targets):
            group.create_task(one(index, target))
    return FleetSweep(
        tuple(row for row in rows if row is not None),
        started,
        time.perf_counter() - begun,
        problems[0] if problems else None,
    )


async def _check(
    target: FleetTarget,
    settings: SweepSettings,
    known: KnownCertificates | None,
    clock: Clock,
) -> FleetRow:
    profile = target.profile
    row = FleetRow(
        profile.id,
        profile.name,
        profile.customer,
        profile.url,
        CheckStatusSummary.NEVER,
        target.key_problem,
        None,
        checked_at=clock(),
        tags=profile.tags,
    )
    if target.secret is None:
        return row
    begun = time.perf_counter()
    limit = settings.deadline_s + GRACE_S
    alone = f"pbx-companion doctor --connection {shlex.quote(profile.name)}"
    doctor: Doctor | None = None
    try:
        try:
            async with asyncio.timeout(limit):
                doctor, notes = await _doctor(target, target.secret, settings, known, clock)
                diagnosis = await doctor.run()
        except TimeoutError:
            return replace(
                row,
                outcome=CheckStatusSummary.UNREACHABLE,
                finding=f"The doctor did not finish within {seconds(limit)}: the PBX is too "
                f"slow or does not answer. Run `{alone}` on it alone.",
                duration_s=time.perf_counter() - begun,
            )
        except Exception as exc:  # one PBX's bug must not end the sweep of the others
            log.exception("The doctor failed unexpectedly on %s", profile.name)
            return replace(
                row,
                finding=f"Not checked: the doctor itself failed on this PBX "
                f"({type(exc).__name__}). Run `{alone}` on it alone and send the log to support "
                "if it repeats.",
                duration_s=time.perf_counter() - begun,
            )
        try:
            # Its own limit: a slow answer here must not cost the doctor's result.
            async with asyncio.timeout(settings.timeouts.total):
                watched = await _monitored(target, target.secret, settings, doctor, diagnosis)
        except TimeoutError:
            watched = None
    finally:
        if doctor is not None:
            await doctor.aclose()  # the PBX's pool: its sockets end with its turn
    last = last_check_of(diagnosis)
    return replace(
        row,
        outcome=last.status,
        finding=_finding(diagnosis, last),
        diagnosis=diagnosis,
        notes=notes,
        checked_at=diagnosis.started_at,
        duration_s=time.perf_counter() - begun,
        monitored=watched,
    )


def _finding(diagnosis: Diagnosis, last: LastCheck) -> str:
    """The connection list's one line; for a PBX that could not be reached, why not."""
    if last.status is CheckStatusSummary.UNREACHABLE:
        return f"Unreachable: {diagnosis.result(CheckId.REACHABILITY).finding}"
    return last.summary


async def _doctor(
    target: FleetTarget,
    secret: str,
    settings: SweepSettings,
    known: KnownCertificates | None,
    clock: Clock,
) -> tuple[Doctor, tuple[str, ...]]:
    """The doctor as ``doctor --connection NAME`` runs it: the profile's region, contacts and
    bridge, no watch. It keeps its signed-in client for the monitored list after it."""
    profile = target.profile
    base = replace(settings.options, watch_s=0.0, deadline_s=settings.deadline_s)
    built = await options_for_connection(profile, base)
    doctor = Doctor(
        _params(target, settings),
        secret,
        built.options,
        known_certificates=known,
        clock=clock,
        keep_client=True,
    )
    return doctor, built.notices


def _params(target: FleetTarget, settings: SweepSettings) -> ConnectionParams:
    return replace(
        connection_params(target.profile),
        timeouts=settings.timeouts,
        max_connections=settings.connections_per_pbx,
    )


async def _monitored(
    target: FleetTarget,
    secret: str,
    settings: SweepSettings,
    doctor: Doctor,
    diagnosis: Diagnosis,
) -> tuple[str, ...] | None:
    """Call Control's monitored list, when the doctor got through to a v20 PBX: on the doctor's
    own client (its token and kept-alive connections) when the run finished, else signed in
    again."""
    reached = diagnosis.result(CheckId.REACHABILITY).status is not CheckStatus.FAIL
    if not (settings.probe_call_control and reached and (diagnosis.pbx.major or 0) >= 20):
        return None
    if doctor.kept_client is not None:
        return await monitored_on(doctor.kept_client)
    return await monitored_dns(_params(target, settings), secret)


async def remember(
    row: FleetRow,
    target: FleetTarget,
    settings: SweepSettings,
    history: FleetHistory | None,
    store: ConnectionStore | None,
    clock: Clock,
    problems: list[str],
) -> FleetRow:
    """Store the run, compare it with the last good one, and update the connection's status."""
    profile = target.profile
    notes = list(row.notes)
    if store is not None and row.diagnosis is not None:
        try:
            await store.record_check(
                profile.id,
                last_check_of(row.diagnosis),
                version=row.diagnosis.pbx.version,
                hosting=row.diagnosis.pbx.hosting,
            )
        except ConnectionStoreError as exc:
            notes.append(f"The result was not remembered as the last check: {exc.message}")
    elif store is not None and row.checked_at is not None:
        await _remember_not_checked(store, row, notes)
    if history is None:
        return replace(row, notes=tuple(notes))
    new = NewRun(
        connection_id=profile.id,
        connection_name=profile.name,
        ran_at=row.checked_at or clock(),
        source=settings.source,
        outcome=row.outcome,
        finding=row.finding,
        diagnosis=row.diagnosis,
        facts=facts_of(
            row.diagnosis, key_rotated_at=profile.key_rotated_at, monitored=row.monitored
        )
        if row.diagnosis is not None
        else RunFacts(key_rotated_at=profile.key_rotated_at),
    )
    try:
        compared = await record_run(
            history, new, now=clock(), key_warning_days=settings.key_warning_days
        )
    except FleetHistoryError as exc:
        problems.append(str(exc))
        notes.append(str(exc))
        return replace(row, notes=tuple(notes))
    return replace(
        row,
        changes=compared.changes,
        baseline_at=compared.baseline.ran_at if compared.baseline else None,
        notes=tuple(notes),
    )


async def _remember_not_checked(store: ConnectionStore, row: FleetRow, notes: list[str]) -> None:
    """A PBX the sweep could not check shows so in the connections list, not an old pass."""
    assert row.checked_at is not None
    status = (
        CheckStatusSummary.UNREACHABLE
        if row.outcome is CheckStatusSummary.UNREACHABLE
        else CheckStatusSummary.NEVER
    )
    if status is CheckStatusSummary.NEVER:
        return  # no key: the list already says why when the connection is opened
    try:
        await store.record_check(
            row.connection_id, LastCheck(status, row.checked_at, row.finding[:200])
        )
    except ConnectionStoreError as exc:
        notes.append(f"The result was not remembered as the last check: {exc.message}")
