"""The webhook receiver's journal: what the real receiver delivers lands on disk, one row per
event, with no secret; a damaged, newer or failing journal warns once and the feed goes on."""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiohttp
import pytest

from app.domain.live import LiveState
from app.services import paths
from app.services.feed import webhook_journal_schema
from app.services.feed.webhook_journal import (
    FILE_NAME,
    JournalKind,
    JournalRow,
    WebhookJournal,
    journal_path,
)
from app.services.feed.webhook_receiver import DEFAULT_PATH, WebhookReceiver
from tests.services.feed.test_webhook_receiver import Inbox

JOURNAL_LOG = "app.services.feed.webhook_journal"
T0 = datetime(2026, 11, 18, 0, 30, tzinfo=UTC)
CALL = "261118110003_2246"
CALLER = "0412345678"
TOKEN = "s3cret-webhook-token-4d1f"


class StepClock:
    """A clock the test moves by hand."""

    def __init__(self, now: datetime = T0) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@dataclass
class Running:
    receiver: WebhookReceiver
    journal: WebhookJournal
    inbox: Inbox
    url: str
    http: aiohttp.ClientSession

    async def hook(self, **params: str) -> None:
        async with self.http.get(self.url, params=params) as response:
            assert response.status == 200, await response.text()

    async def links(self, call_id: str, *links: str) -> None:
        async with self.http.post(self.url, data={"id": call_id, "link": "\n".join(links)}) as r:
            assert r.status == 200, await r.text()


async def start(journal: WebhookJournal, token: str | None = None) -> tuple[WebhookReceiver, Inbox]:
    inbox = Inbox()
    receiver = WebhookReceiver(
        on_event=inbox.event, on_recording=inbox.recording, token=token, journal=journal
    )
    await receiver.start()
    return receiver, inbox


@pytest.fixture
async def running() -> AsyncIterator[Running]:
    journal = WebhookJournal()
    receiver, inbox = await start(journal, token=TOKEN)
    try:
        async with aiohttp.ClientSession() as http:
            yield Running(receiver, journal, inbox, receiver.url, http)
    finally:
        await receiver.stop()


async def answered_call(run: Running, call: str = CALL, caller: str = CALLER) -> None:
    """What the add-on sends for an answered queue call, then its recording post."""
    for params in (
        {"event": "ringing", "user": "800", "usertype": "queue", "did": "0881234500"},
        {"event": "ringing", "user": "101", "usertype": "ext", "did": "0881234500"},
        {"event": "hangupincoming", "user": "101", "trtype": "NotDef"},
        {"event": "incoming", "user": "101", "finishtype": "Ok", "transfer": "false"},
    ):
        link = "1" if params["event"] != "ringing" else "0"
        await run.hook(id=f"{call}-{link}", callerid=caller, **params)
    await run.links(
        f"{call}-1",
        f"https://pbx.example.com/records/{call}-a.mp3?sig=LINKSECRET1",
        f"https://pbx.example.com/records/{call}-b.mp3?sig=LINKSECRET2",
    )


def rows(path: Path, sql: str = "SELECT * FROM events ORDER BY id") -> list[sqlite3.Row]:
    db = sqlite3.connect(path)
    db.row_factory = sqlite3.Row
    try:
        return db.execute(sql).fetchall()
    finally:
        db.close()


def file_bytes(path: Path) -> bytes:
    """The journal and its WAL and shared-memory files, as they lie on disk."""
    return b"".join(p.read_bytes() for p in path.parent.iterdir() if p.name.startswith(path.name))


# ---- what is kept ------------------------------------------------------------------------------
def test_the_journal_lives_in_the_apps_data_folder(_private_app_home: Path) -> None:
    assert journal_path() == paths.data_dir() / FILE_NAME
    assert journal_path().is_relative_to(_private_app_home)


async def test_each_delivered_event_is_one_row_in_the_journal(running: Running) -> None:
    await answered_call(running)
    await running.journal.flush()

    found = rows(journal_path())
    assert [(r["kind"], r["call_id"]) for r in found] == [
        ("ringing", f"{CALL}-0"),  # the second ringing (another agent) was not delivered
        ("connected", f"{CALL}-1"),
        ("ended", f"{CALL}-1"),
        ("recording_link", f"{CALL}-1"),
    ], "one row per event delivered to the feed, with the id as the add-on sent it"
    assert running.inbox.states() == [LiveState.RINGING, LiveState.CONNECTED, LiveState.ENDED]
    assert {r["call_key"] for r in found} == {CALL}
    assert [r["external_number"] for r in found] == [CALLER] * 3 + [None]
    assert [r["links"] for r in found] == [0, 0, 0, 2]
    assert {r["path"] for r in found} == {DEFAULT_PATH}
    received = [datetime.fromisoformat(r["received_at"]) for r in found]
    assert all(t.utcoffset() == timedelta(0) for t in received)
    assert received == sorted(received)
    delivered = [e.at for e in running.inbox.events]
    assert received[:3] == delivered, "the row's time is the time the feed was given"
    assert running.journal.written == 4 and running.journal.problem is None


async def test_the_receivers_runs_are_kept_with_their_start_and_stop() -> None:
    clock = StepClock()
    journal = WebhookJournal(clock=clock)
    for _ in range(2):
        receiver, _inbox = await start(journal)
        clock.now += timedelta(hours=1)
        await receiver.stop()
        clock.now += timedelta(hours=1)
    runs = rows(journal_path(), "SELECT * FROM receiver_runs ORDER BY id")
    hours = [(r["started_at"], r["stopped_at"], r["path"]) for r in runs]
    assert hours == [(stamp(0), stamp(1), DEFAULT_PATH), (stamp(2), stamp(3), DEFAULT_PATH)]


def stamp(hours: float) -> str:
    return (T0 + timedelta(hours=hours)).isoformat(timespec="microseconds")


async def test_no_journal_by_default_and_nothing_written(_private_app_home: Path) -> None:
    inbox = Inbox()
    receiver = WebhookReceiver(on_event=inbox.event, on_recording=inbox.recording)
    url = await receiver.start()
    try:
        async with (
            aiohttp.ClientSession() as http,
            http.get(url, params={"event": "ringing", "id": CALL}) as response,
        ):
            assert response.status == 200
    finally:
        await receiver.stop()
    assert inbox.states() == [LiveState.RINGING]
    assert not journal_path().exists()


# ---- nothing secret ----------------------------------------------------------------------------
async def test_the_token_and_the_links_never_reach_the_file(running: Running) -> None:
    assert TOKEN in running.url
    await answered_call(running)
    await running.journal.flush()
    path = journal_path()
    while_running = file_bytes(path)  # the rows are in the WAL until a checkpoint
    await running.receiver.stop()
    after_stop = file_bytes(path)

    assert len(rows(path)) == 4
    for stored in (while_running, after_stop):
        for secret in (TOKEN, "LINKSECRET", "sig=", "records/", "pbx.example.com", "token"):
            assert secret.encode() not in stored, secret
        assert CALL.encode() in stored, "the check reads the right bytes"


# ---- never in the feed's way -------------------------------------------------------------------
async def test_a_journal_held_by_another_writer_does_not_hold_up_the_receiver(
    running: Running,
) -> None:
    """The disk is busy (another connection holds the write lock): every webhook is answered and
    delivered at once, and the rows are written in a batch once the disk is free."""
    path = journal_path()
    blocker = sqlite3.connect(path, isolation_level=None)
    try:
        blocker.execute("BEGIN IMMEDIATE")
        for n in range(20):
            await running.hook(event="ringing", id=f"261118110003_{3000 + n}-0", user="101")
        assert len(running.inbox.events) == 20, "the feed got every event meanwhile"
        assert blocker.execute("SELECT count(*) FROM events").fetchone()[0] == 0
        blocker.execute("COMMIT")
    finally:
        blocker.close()
    await running.journal.flush()
    assert running.journal.written == 20 and running.journal.problem is None
    assert len(rows(path)) == 20


@pytest.mark.expect_log(JOURNAL_LOG, r"^Webhook journal: .* was damaged \(file is not a database\)")
async def test_a_garbage_journal_is_set_aside_and_the_feed_goes_on(_private_app_home: Path) -> None:
    path = journal_path()
    path.parent.mkdir(parents=True)
    junk = b"\x00\xffnot a journal at all\x13\x37" * 300
    path.write_bytes(junk)
    journal = WebhookJournal()
    receiver, inbox = await start(journal)
    try:
        async with (
            aiohttp.ClientSession() as http,
            http.get(
                receiver.url, params={"event": "ringing", "id": CALL, "callerid": CALLER}
            ) as response,
        ):
            assert response.status == 200
        await journal.flush()
    finally:
        await receiver.stop()

    assert inbox.states() == [LiveState.RINGING]
    assert journal.set_aside is not None and journal.set_aside.read_bytes() == junk
    assert journal.set_aside.name.startswith(f"{FILE_NAME}.corrupt-")
    assert journal.problem is not None and str(journal.set_aside) in journal.problem
    assert [r["kind"] for r in rows(path)] == ["ringing"], "a fresh journal took over"


@pytest.mark.expect_log(JOURNAL_LOG, r"newer PBX Companion \(journal schema 7.*goes on without")
async def test_a_newer_journal_is_left_untouched_and_the_feed_goes_on(
    _private_app_home: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = journal_path()
    path.parent.mkdir(parents=True)
    db = sqlite3.connect(path)
    db.execute("PRAGMA user_version = 7")
    db.execute("CREATE TABLE future (x TEXT)")
    db.commit()
    db.close()
    before = path.read_bytes()
    journal = WebhookJournal()
    receiver, inbox = await start(journal)
    try:
        async with aiohttp.ClientSession() as http:
            for event in ("ringing", "hangupincoming"):
                params = {"event": event, "id": CALL, "user": "101"}
                async with http.get(receiver.url, params=params) as response:
                    assert response.status == 200
            await receiver.stop()
            await receiver.start()  # restarted: the journal is tried again, quietly
            params = {"event": "incoming", "id": CALL, "user": "101", "finishtype": "Ok"}
            async with http.get(receiver.url, params=params) as response:
                assert response.status == 200
    finally:
        await receiver.stop()
    assert inbox.states() == [LiveState.RINGING, LiveState.CONNECTED, LiveState.ENDED]
    assert path.read_bytes() == before
    assert journal.dropped == 3 and journal.written == 0
    warned = [r for r in caplog.records if r.name == JOURNAL_LOG and r.levelname == "WARNING"]
    assert len(warned) == 1, "one warning, however often the receiver starts"
    assert journal.problem is not None and "journal schema 7" in journal.problem


@pytest.mark.expect_log(JOURNAL_LOG, r"cannot be written \(no such table: events\)")
async def test_a_journal_that_fails_while_running_warns_once_and_the_feed_goes_on(
    running: Running,
) -> None:
    await running.hook(event="ringing", id=f"{CALL}-0", callerid=CALLER)
    await running.journal.flush()
    other = sqlite3.connect(journal_path())
    other.execute("DROP TABLE events")  # the file changed under the receiver's feet
    other.commit()
    other.close()
    for params in (
        {"event": "hangupincoming", "user": "101"},
        {"event": "incoming", "user": "101", "finishtype": "Ok"},
    ):
        await running.hook(id=f"{CALL}-1", callerid=CALLER, **params)
        await running.journal.flush()
    await running.links(f"{CALL}-1", "https://pbx.example.com/records/a.mp3")

    inbox = running.inbox
    assert inbox.states() == [LiveState.RINGING, LiveState.CONNECTED, LiveState.ENDED]
    assert len(inbox.recordings) == 1
    assert running.journal.written == 1 and running.journal.dropped == 3
    assert not running.journal.is_open


# ---- schema and bounds -------------------------------------------------------------------------
async def test_the_schema_version_is_recorded_and_an_older_journal_migrates(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / FILE_NAME
    journal = WebhookJournal(path, clock=StepClock())
    assert await journal.open("/3cx-webhook")
    journal.record(JournalRow(T0, f"{CALL}-0", CALL, JournalKind.RINGING, CALLER))
    await journal.close()
    assert rows(path, "PRAGMA user_version")[0][0] == webhook_journal_schema.SCHEMA.version == 1
    assert rows(path, "PRAGMA journal_mode")[0][0] == "wal"

    def add_extension(db: sqlite3.Connection) -> None:
        db.execute("ALTER TABLE events ADD COLUMN extension TEXT")

    monkeypatch.setattr(webhook_journal_schema.SCHEMA, "version", 2)
    monkeypatch.setitem(webhook_journal_schema.SCHEMA.migrations, 1, add_extension)
    journal = WebhookJournal(path, clock=StepClock())
    assert await journal.open("/3cx-webhook")
    await journal.close()
    assert rows(path, "PRAGMA user_version")[0][0] == 2
    (kept,) = rows(path)
    assert (kept["call_id"], kept["extension"]) == (f"{CALL}-0", None), "the rows were kept"


async def test_opening_prunes_old_rows_and_keeps_the_row_cap(tmp_path: Path) -> None:
    path = tmp_path / FILE_NAME
    clock = StepClock()
    journal = WebhookJournal(path, clock=clock, keep=timedelta(days=90), max_rows=5)
    assert await journal.open("/3cx-webhook")
    for n in range(12):
        at = T0 + timedelta(days=n * 10)  # rows from day 0 to day 110
        journal.record(
            JournalRow(at, f"261118110003_{n}-0", f"261118110003_{n}", JournalKind.ENDED)
        )
    await journal.close()
    assert len(rows(path)) == 12, "a running journal is pruned on opening, not on each write"

    clock.now = T0 + timedelta(days=100)
    journal = WebhookJournal(path, clock=clock, keep=timedelta(days=90), max_rows=5)
    assert await journal.open("/3cx-webhook")
    await journal.close()
    kept = [r["call_key"] for r in rows(path)]
    assert kept == [f"261118110003_{n}" for n in range(7, 12)], "the five newest, within 90 days"

    clock.now = T0 + timedelta(days=195)
    journal = WebhookJournal(path, clock=clock, keep=timedelta(days=90), max_rows=5)
    assert await journal.open("/3cx-webhook")
    await journal.close()
    assert [r["call_key"] for r in rows(path)] == [f"261118110003_{n}" for n in (11,)]
    runs = rows(path, "SELECT started_at FROM receiver_runs")
    assert [r[0] for r in runs] == [
        (T0 + timedelta(days=d)).isoformat(timespec="microseconds") for d in (195,)
    ], "runs older than the bound go too"


def test_a_journal_needs_room_for_one_row() -> None:
    with pytest.raises(ValueError, match="max_rows"):
        WebhookJournal(max_rows=0)


async def test_a_receiver_that_runs_for_months_stays_bounded_and_keeps_its_own_run(
    tmp_path: Path,
) -> None:
    path = tmp_path / FILE_NAME
    clock = StepClock()
    journal = WebhookJournal(path, clock=clock, max_rows=100)
    assert await journal.open("/3cx-webhook")
    clock.now = T0 + timedelta(days=200)  # still listening, long past the bound
    for n in range(10_050):  # queued at once: one batch, then the running journal prunes
        at = clock.now + timedelta(seconds=n)
        journal.record(
            JournalRow(at, f"261118110003_{n}-0", f"261118110003_{n}", JournalKind.ENDED)
        )
    await journal.close()

    kept = [r["call_key"] for r in rows(path)]
    assert kept == [f"261118110003_{n}" for n in range(9_950, 10_050)]
    (run,) = rows(path, "SELECT started_at, stopped_at FROM receiver_runs")
    assert (run[0], run[1]) == (stamp(0), stamp(200 * 24)), "its own run kept, and its stop"
    assert journal.written == 10_050
