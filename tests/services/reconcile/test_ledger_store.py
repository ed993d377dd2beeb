"""The reconcile ledger kept in SQLite: runs saved and read back, their inputs' fingerprints, before
and after a fix for the same period, and a file that is newer, damaged or foreign never lost."""

from __future__ import annotations

import asyncio
import hashlib
import sqlite3
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from app.domain.calls import CallDirection
from app.domain.diagnosis import CheckId
from app.domain.reconcile.ledger import Ledger, Summary, reconcile
from app.domain.reconcile.records import (
    CallState,
    CrmActivity,
    LedgerEntry,
    PbxCall,
    PbxRecording,
)
from app.services.reconcile import ledger_store_schema
from app.services.reconcile.bridge_log import BridgeLogCounts
from app.services.reconcile.crm_activities import ActivityCounts
from app.services.reconcile.ledger_store import (
    FILE_NAME,
    LedgerStore,
    LedgerStoreError,
    ledger_path,
)
from app.services.reconcile.ledger_store_compare import Change
from app.services.reconcile.ledger_store_rows import InputKind
from app.services.reconcile.run import ReconcileInputs, ReconcileResult
from tests.conftest import SimFactory
from tests.services.reconcile.test_run import DEMO, reconciled
from tests.ui.conftest import profile_for

T0 = datetime(2026, 11, 18, 0, 30, tzinfo=UTC)
PERIOD = (T0, T0 + timedelta(days=1))
CONNECTION = "conn-harbour"
STORE_LOG = "app.services.reconcile.ledger_store"


def call(n: int, **kw: object) -> PbxCall:
    start = T0 + timedelta(minutes=10 * n)
    fields: dict[str, object] = {
        "call_id": f"00000000-01dc-0000-0000-{n:012x}",
        "started_at": start,
        "ended_at": start + timedelta(minutes=2),
        "direction": CallDirection.INBOUND,
        "external_number": f"+6149876{n:04d}",
        "answered": True,
        "extension": "101",
        "recording": PbxRecording.PRESENT,
        "recording_ids": (100 + n,),
    }
    fields.update(kw)
    return PbxCall(**fields)  # type: ignore[arg-type]


def logged(c: PbxCall, row: int) -> CrmActivity:
    return CrmActivity(
        row=row,
        at=c.started_at + timedelta(seconds=3),
        phone=c.external_number,
        phone_e164=c.external_number,
        contact="Alan Turing",
        recording_link=f"https://crm.example.com/rec/{row}",
        call_id=c.call_id,
    )


def result_of(ledger: Ledger) -> ReconcileResult:
    crm = ActivityCounts("crm-activities.csv", rows=7, activities=6, problem_rows=1, dropped=1)
    bridge = BridgeLogCounts("bridge.log", lines=40, events=12, other=25, unreadable=3)
    return ReconcileResult(ledger, crm, (bridge,), ("1 row with problems",))


def result(calls: list[PbxCall], crm: list[CrmActivity]) -> ReconcileResult:
    return result_of(reconcile(calls, crm, [], period=PERIOD))


@pytest.fixture
def inputs(tmp_path: Path) -> ReconcileInputs:
    crm = tmp_path / "crm-activities.csv"
    crm.write_text("Call ID,Phone\nabc,+61498765432\n", encoding="utf-8")
    bridge = tmp_path / "bridge.log"
    bridge.write_bytes(b"2026-11-18T00:31:00Z GET /recording 404\n" * 50_000)
    return ReconcileInputs(crm, (bridge,))


@pytest.fixture
def store(tmp_path: Path) -> Iterator[LedgerStore]:
    with LedgerStore.open(tmp_path / FILE_NAME) as opened:
        yield opened


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_the_ledger_lives_in_the_apps_own_folder() -> None:
    with LedgerStore.open() as opened:
        assert opened.path == ledger_path()
        assert ledger_path().name == FILE_NAME and ledger_path().is_file()
        assert not opened.problems


def test_a_saved_run_reads_back_call_for_call(
    store: LedgerStore, inputs: ReconcileInputs, tmp_path: Path
) -> None:
    first, second, third = call(1), call(2), call(3, answered=False, recording=PbxRecording.NONE)
    saved = result([first, second, third], [logged(first, 1)])
    contacts = tmp_path / "contacts.csv"
    contacts.write_text("Name,Phone\nAlan,+61498765432\n", encoding="utf-8")
    ran_at = T0 + timedelta(days=1, hours=2)

    run_id = store.save(
        saved, connection_id=CONNECTION, inputs=inputs, contacts=contacts, ran_at=ran_at
    )

    (run,) = store.runs(CONNECTION)
    assert run.id == run_id and run.connection_id == CONNECTION
    assert (run.period_from, run.period_to, run.ran_at) == (*PERIOD, ran_at)
    assert run.app_version
    assert run.by_state == saved.ledger.summary.by_state
    assert run.summary["calls"] == 3
    assert run.summary["crm"] == {"rows": 7, "activities": 6, "problem_rows": 1, "dropped": 1}
    assert run.summary["bridge"] == [{"lines": 40, "events": 12, "other": 25, "unreadable": 3}]
    assert [(f.kind, f.file_name, f.size, f.sha256) for f in run.inputs] == [
        (kind, path.name, path.stat().st_size, sha256(path))
        for kind, path in [
            (InputKind.CRM, inputs.crm_activities),
            (InputKind.BRIDGE, inputs.bridge_logs[0]),
            (InputKind.CONTACTS, contacts),
        ]
    ]
    stored = store.calls(run_id)
    expected = saved.ledger.entries
    assert [c.call_id for c in stored] == [e.call.call_id for e in expected]
    for got, entry in zip(stored, expected, strict=True):
        assert (got.started_at, got.direction, got.external_number) == (
            entry.call.started_at,
            entry.call.direction,
            entry.call.external_number,
        )
        assert (got.answered, got.extension) == (entry.call.answered, entry.call.extension)
        assert (got.state, got.cause, got.evidence) == (entry.state, entry.cause, entry.evidence)
    assert stored[0].state is CallState.LOGGED and stored[1].state is CallState.MISSING
    assert store.runs("another-connection") == []
    assert store.run(run_id) == run


def test_the_periods_last_run_is_found_whatever_zone_the_period_is_given_in(
    store: LedgerStore, inputs: ReconcileInputs
) -> None:
    saved = result([call(1)], [])
    older = store.save(saved, connection_id=CONNECTION, inputs=inputs, ran_at=T0)
    newer = store.save(saved, connection_id=CONNECTION, inputs=inputs, ran_at=T0 + timedelta(1))
    store.save(saved, connection_id="other", inputs=inputs, ran_at=T0 + timedelta(2))
    adelaide = ZoneInfo("Australia/Adelaide")
    since, until = (moment.astimezone(adelaide) for moment in PERIOD)

    latest = store.latest_for_period(CONNECTION, since, until)

    assert latest is not None and latest.id == newer
    assert [r.id for r in store.runs(CONNECTION)] == [newer, older]
    assert store.latest_for_period(CONNECTION, PERIOD[0], PERIOD[1] + timedelta(hours=1)) is None


def test_fingerprints_change_when_an_input_file_changes(
    store: LedgerStore, inputs: ReconcileInputs
) -> None:
    saved = result([call(1)], [])
    before = store.run(store.save(saved, connection_id=CONNECTION, inputs=inputs))
    with inputs.crm_activities.open("a", encoding="utf-8") as crm:
        crm.write("def,+61498765433\n")
    after = store.run(store.save(saved, connection_id=CONNECTION, inputs=inputs))

    crm_before, bridge_before = before.inputs
    crm_after, bridge_after = after.inputs
    assert crm_before.sha256 != crm_after.sha256 and crm_after.sha256 == sha256(
        inputs.crm_activities
    )
    assert crm_before.size is not None and crm_after.size == crm_before.size + 17
    assert bridge_before == bridge_after


def test_a_missing_input_is_kept_by_name_without_a_fingerprint(
    store: LedgerStore, inputs: ReconcileInputs
) -> None:
    inputs.bridge_logs[0].unlink()
    run = store.run(store.save(result([call(1)], []), connection_id=CONNECTION, inputs=inputs))
    assert [(f.file_name, f.size, f.sha256) for f in run.inputs][1] == ("bridge.log", None, None)


def test_a_rerun_after_a_fix_shows_before_and_after_for_the_same_period(
    store: LedgerStore, inputs: ReconcileInputs
) -> None:
    c1, c2, c3, c4, c5 = (call(n) for n in range(1, 6))
    # Before: the bridge's key was wrong for c1 and c3; c2 and c4 landed.
    before = result([c1, c2, c3, c4], [logged(c2, 1), logged(c4, 2)])
    # After the fix: c1 landed, c3 still did not, c4 now lands twice, and c5 is a new call.
    crm_after = [logged(c1, 1), logged(c2, 2), logged(c4, 3), logged(c4, 4), logged(c5, 5)]
    after = result([c1, c2, c3, c4, c5], crm_after)
    first = store.save(before, connection_id=CONNECTION, inputs=inputs, ran_at=T0)
    second = store.save(after, connection_id=CONNECTION, inputs=inputs, ran_at=T0 + timedelta(1))

    comparison = store.compare(first, second)

    assert comparison.same_period
    assert [(c.call_id, c.change, c.before, c.after) for c in comparison.calls] == [
        (c1.call_id, Change.FIXED, CallState.MISSING, CallState.LOGGED),
        (c2.call_id, Change.STILL_FINE, CallState.LOGGED, CallState.LOGGED),
        (c3.call_id, Change.STILL_BROKEN, CallState.MISSING, CallState.MISSING),
        (c4.call_id, Change.NEWLY_BROKEN, CallState.LOGGED, CallState.DUPLICATED),
        (c5.call_id, Change.NEW_CALL, None, CallState.LOGGED),
    ]
    assert comparison.by_change() == {
        Change.FIXED: 1,
        Change.STILL_BROKEN: 1,
        Change.NEWLY_BROKEN: 1,
        Change.STILL_FINE: 1,
        Change.NEW_CALL: 1,
        Change.GONE: 0,
    }
    assert comparison.counts_before == before.ledger.summary.by_state
    assert comparison.counts_after == after.ledger.summary.by_state
    assert comparison.counts_before[CallState.MISSING] == 2
    assert comparison.counts_after[CallState.MISSING] == 1
    # Backwards, c5 is gone: it was never in the earlier run.
    backwards = store.compare(second, first)
    assert [c.call_id for c in backwards.with_change(Change.GONE)] == [c5.call_id]


def test_runs_of_different_connections_are_not_compared(
    store: LedgerStore, inputs: ReconcileInputs
) -> None:
    saved = result([call(1)], [])
    ours = store.save(saved, connection_id=CONNECTION, inputs=inputs)
    theirs = store.save(saved, connection_id="other", inputs=inputs)
    with pytest.raises(LedgerStoreError, match="different connections"):
        store.compare(ours, theirs)
    with pytest.raises(LedgerStoreError, match="no run 999"):
        store.compare(ours, 999)


def test_150000_calls_are_saved_in_one_transaction(
    store: LedgerStore, inputs: ReconcileInputs
) -> None:
    entries = tuple(
        LedgerEntry(
            call(n, started_at=T0 + timedelta(seconds=n)),
            CallState.NO_RECORDING,
            CheckId.LATE_RECORDING,
            evidence=("404 at +5 s, no retry",),
        )
        for n in range(150_000)
    )
    summary = Summary(
        calls=len(entries),
        by_state={s: len(entries) if s is CallState.NO_RECORDING else 0 for s in CallState},
        by_cause={"late_recording": len(entries)},
        missed_in_pbx=0,
        missed_triggers_fired=0,
        matched=len(entries),
        unmatched_crm=0,
    )
    statements: list[str] = []
    store._db.set_trace_callback(statements.append)

    run_id = store.save(
        result_of(Ledger(*PERIOD, entries, summary)), connection_id=CONNECTION, inputs=inputs
    )

    store._db.set_trace_callback(None)
    # Statements as SQLite ran them (an executemany runs its statement once per row).
    ran = Counter(" ".join(s.split()[:3]) for s in statements)
    assert ran == {
        "BEGIN IMMEDIATE": 1,
        "INSERT INTO runs": 1,
        "INSERT INTO inputs": 2,
        "INSERT INTO calls": 150_000,
        "COMMIT": 1,
    }
    assert statements[0] == "BEGIN IMMEDIATE" and statements[-1] == "COMMIT"
    with sqlite3.connect(store.path) as reader:
        count = reader.execute("SELECT count(*) FROM calls WHERE run_id = ?", (run_id,))
        assert count.fetchone()[0] == 150_000


# ---- the file ----------------------------------------------------------------------------------
@pytest.mark.expect_log(STORE_LOG, r"has schema 2 \(newer than 1\)")
def test_a_ledger_from_a_newer_app_is_refused_and_left_untouched(
    tmp_path: Path, inputs: ReconcileInputs
) -> None:
    path = tmp_path / FILE_NAME
    with LedgerStore.open(path) as opened:
        opened.save(result([call(1)], []), connection_id=CONNECTION, inputs=inputs)
    with sqlite3.connect(path) as db:
        db.execute("PRAGMA user_version = 2")
    db.close()
    files = {p.name: p.read_bytes() for p in tmp_path.iterdir() if p.name.startswith(FILE_NAME)}

    with pytest.raises(LedgerStoreError, match=r"newer PBX Companion.*schema 2.*left untouched"):
        LedgerStore.open(path)

    assert {p.name: p.read_bytes() for p in tmp_path.iterdir() if p.name in files} == files
    assert not [p for p in tmp_path.iterdir() if ".corrupt-" in p.name]


@pytest.mark.expect_log(STORE_LOG, r"is damaged .*; set aside as .*, starting afresh$")
def test_a_damaged_file_is_set_aside_and_a_fresh_ledger_started(
    tmp_path: Path, inputs: ReconcileInputs
) -> None:
    path = tmp_path / FILE_NAME
    junk = b"this was a ledger once\x00\xff" * 400
    path.write_bytes(junk)
    stale_wal = path.with_name(FILE_NAME + "-wal")
    stale_wal.write_bytes(b"frames of the damaged file")

    with LedgerStore.open(path) as opened:
        (problem,) = opened.problems
        assert problem.moved_to is not None and problem.moved_to.read_bytes() == junk
        # Its WAL goes with it: replayed into the fresh ledger it would damage that one too.
        moved_wal = problem.moved_to.with_name(problem.moved_to.name + "-wal")
        assert moved_wal.read_bytes() == b"frames of the damaged file"
        assert problem.moved_to.name.startswith(f"{FILE_NAME}.corrupt-")
        assert str(problem.moved_to) in problem.message and "nothing in it was deleted" in (
            problem.message
        )
        run_id = opened.save(result([call(1)], []), connection_id=CONNECTION, inputs=inputs)
        assert [r.id for r in opened.runs(CONNECTION)] == [run_id]


@pytest.mark.expect_log(STORE_LOG, r"is an SQLite file that is not a reconcile ledger; set aside")
def test_another_programs_sqlite_file_is_set_aside_not_written_into(tmp_path: Path) -> None:
    path = tmp_path / FILE_NAME
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE bookmarks (url TEXT)")
        db.execute("INSERT INTO bookmarks VALUES ('https://example.com')")
    db.close()
    before = path.read_bytes()

    with LedgerStore.open(path) as opened:
        (problem,) = opened.problems
        assert problem.moved_to is not None and problem.moved_to.read_bytes() == before


def test_an_older_ledger_is_migrated_with_its_runs_kept(
    tmp_path: Path, inputs: ReconcileInputs, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / FILE_NAME
    with LedgerStore.open(path) as opened:
        run_id = opened.save(result([call(1)], []), connection_id=CONNECTION, inputs=inputs)

    def add_notes(db: sqlite3.Connection) -> None:
        db.execute("ALTER TABLE runs ADD COLUMN notes TEXT")

    monkeypatch.setattr(ledger_store_schema.SCHEMA, "version", 2)
    monkeypatch.setitem(ledger_store_schema.SCHEMA.migrations, 1, add_notes)
    with LedgerStore.open(path) as opened:
        assert [r.id for r in opened.runs(CONNECTION)] == [run_id]
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA user_version").fetchone()[0] == 2
        assert "notes" in {row[1] for row in db.execute("PRAGMA table_info(runs)")}
    db.close()


# ---- nothing secret ----------------------------------------------------------------------------
def ledger_bytes(path: Path) -> bytes:
    return b"".join(p.read_bytes() for p in path.parent.iterdir() if p.name.startswith(path.name))


async def test_a_run_saved_off_the_loop_holds_no_secret_of_the_session(
    make_sim: SimFactory, tmp_path: Path
) -> None:
    sim = await make_sim(tls=True)
    reconciled_result, _played = await reconciled(sim, tmp_path, DEMO)
    inputs = ReconcileInputs(tmp_path / "crm-activities.csv", (tmp_path / "bridge.log",))
    path = tmp_path / "ledger" / FILE_NAME

    store = await asyncio.to_thread(LedgerStore.open, path)
    try:
        run_id = await asyncio.to_thread(
            lambda: store.save(
                reconciled_result,
                connection_id=profile_for(sim).id,
                inputs=inputs,
                contacts=tmp_path / "contacts.csv",
            )
        )
        stored = await asyncio.to_thread(store.calls, run_id)
        assert len(stored) == reconciled_result.ledger.summary.calls > 0
        assert sim.client_secret.encode() not in ledger_bytes(path)
    finally:
        await asyncio.to_thread(store.close)
    assert sim.client_secret.encode() not in ledger_bytes(path)


def test_a_secret_quoted_in_the_evidence_never_reaches_the_file(
    store: LedgerStore, inputs: ReconcileInputs
) -> None:
    token = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJicmlkZ2UifQ.c2lnbmF0dXJlLXNlY3JldA"
    said = f"the bridge logged: GET /xapi 401 Authorization: Bearer {token} client_secret=hunter22"
    entry = LedgerEntry(call(1), CallState.MISSING, CheckId.API_ROLES, evidence=(said,))
    summary = reconcile([call(1)], [], [], period=PERIOD).summary
    run_id = store.save(
        result_of(Ledger(*PERIOD, (entry,), summary)), connection_id=CONNECTION, inputs=inputs
    )
    (stored,) = store.calls(run_id)
    assert "the bridge logged: GET /xapi 401" in stored.evidence[0]
    raw = ledger_bytes(store.path)
    assert token.encode() not in raw and b"hunter22" not in raw
