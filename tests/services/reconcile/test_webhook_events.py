"""The webhook add-on's events of a period, read back from the receiver's journal as bridge-side
evidence: what the real receiver got comes back as BridgeEvents, late links are kept for the
period's calls only, and a missing or unreadable journal is an empty result that says so."""

from __future__ import annotations

import asyncio
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from app.domain.calls import CallDirection
from app.domain.clock import utc_now
from app.domain.phones import to_e164
from app.domain.reconcile.ledger import reconcile
from app.domain.reconcile.records import BridgeSource, PbxCall, PbxRecording
from app.services.feed.webhook_journal import (
    FILE_NAME,
    JournalKind,
    JournalRow,
    WebhookJournal,
    journal_path,
)
from app.services.feed.webhook_receiver import WebhookReceiver, call_key
from app.services.reconcile.webhook_events import (
    LATE_MARGIN,
    WebhookEvents,
    read_webhook_events,
    tie_to_calls,
)
from tests.conftest import SimFactory
from tests.services.feed.test_webhook_receiver import Inbox

T0 = datetime(2026, 11, 18, 0, 30, tzinfo=UTC)
HOUR = timedelta(hours=1)
READ_LOG = "app.services.reconcile.webhook_events"


class StepClock:
    def __init__(self, now: datetime = T0) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


async def write(path: Path, clock: StepClock, *rows: JournalRow, listen: timedelta = HOUR) -> None:
    """A receiver run from the clock's time, ``listen`` long, that got ``rows``."""
    journal = WebhookJournal(path, clock=clock)
    assert await journal.open("/3cx-webhook")
    for row in rows:
        journal.record(row)
    clock.now += listen
    await journal.close()


def row(at: datetime, key: str, kind: JournalKind, **kw: object) -> JournalRow:
    return JournalRow(at, f"{key}-1", key, kind, **kw)  # type: ignore[arg-type]


# ---- from the real receiver --------------------------------------------------------------------
async def test_a_call_the_receiver_got_comes_back_as_bridge_events_of_the_period(
    make_sim: SimFactory,
) -> None:
    inbox = Inbox()
    journal = WebhookJournal()
    receiver = WebhookReceiver(
        on_event=inbox.event, on_recording=inbox.recording, token="tok-31337", journal=journal
    )
    since = utc_now() - timedelta(minutes=1)
    url = await receiver.start()
    try:
        sim = await make_sim(webhook_url=url, recording_delay_s=0.05)
        ext = sim.tenant.external_staff()[0].number
        call = await sim.place_call("inbound", extension=ext, ring_s=0.05, talk_s=0.05)
        await inbox.until(lambda: bool(inbox.recordings))
        await journal.flush()
        until = utc_now() + timedelta(minutes=1)
        # Read while the receiver still runs: the journal is in WAL mode, the reader read-only.
        read = await asyncio.to_thread(read_webhook_events, since, until)
    finally:
        await receiver.stop()

    (call_id,) = {e.call_id for e in inbox.events}
    assert [(e.call_id, e.text) for e in read.events] == [
        (call_id, "the add-on reported the call ringing"),
        (call_id, "the add-on reported the call answered"),
        (call_id, "the add-on reported the call ended"),
        (call_id, "the add-on sent the recording link (1 link)"),
    ]
    assert {e.source for e in read.events} == {BridgeSource.WEBHOOK}
    assert [e.at for e in read.events[:3]] == [e.at for e in inbox.events]
    assert all(e.status is None and not e.asks_for_recording for e in read.events)
    assert read.exists and read.journal == journal_path()
    assert (read.read, read.calls) == (4, 1)
    assert read.numbers == {call_id: call.src.caller_id}
    assert read.last_run is not None and read.last_run.stopped_at is None, "still listening then"
    assert 0 < read.covered < 1, "listening from the start until the read, within the period"
    assert "4 event(s) of 1 call(s)" in read.summary()

    # Tied to the PBX's own call (its call history id) by the number and the time.
    pbx = PbxCall(
        call_id=sim.history_id(call),
        started_at=call.start,
        ended_at=call.ended,
        direction=CallDirection.INBOUND,
        external_number=to_e164(call.src.caller_id, "AU"),
        answered=True,
        extension=ext,
        recording=PbxRecording.PRESENT,
    )
    tied = tie_to_calls(read, [pbx], region="AU")
    assert {e.call_id for e in tied} == {pbx.call_id}
    ledger = reconcile([pbx], [], tied, period=(since, until))
    (entry,) = ledger.entries
    assert [e.text for e in entry.bridge][-1] == "the add-on sent the recording link (1 link)"


# ---- the period --------------------------------------------------------------------------------
async def test_late_links_count_for_the_periods_calls_only(tmp_path: Path) -> None:
    path = tmp_path / FILE_NAME
    since, until = T0 + HOUR, T0 + 2 * HOUR
    clock = StepClock(T0)
    await write(
        path,
        clock,
        row(since - timedelta(minutes=1), "261118103000_1", JournalKind.MISSED),
        row(since, "261118113000_2", JournalKind.RINGING, external_number="0412000002"),
        row(until - timedelta(minutes=1), "261118122900_3", JournalKind.ENDED),
        row(until + timedelta(minutes=2), "261118122900_3", JournalKind.RECORDING_LINK, links=2),
        row(until + timedelta(minutes=2), "261118123200_4", JournalKind.RINGING),
        row(until + LATE_MARGIN, "261118113000_2", JournalKind.RECORDING_LINK, links=1),
        listen=3 * HOUR,
    )

    read = read_webhook_events(since, until, path=path, clock=clock)

    assert [(e.call_id, e.text) for e in read.events] == [
        ("261118113000_2", "the add-on reported the call ringing"),
        ("261118122900_3", "the add-on reported the call ended"),
        ("261118122900_3", "the add-on sent the recording link (2 links)"),
    ]
    assert [e.line for e in read.events] == [2, 3, 4], "the journal's rows, to find them again"
    assert read.read_until == until + LATE_MARGIN
    assert read.numbers == {"261118113000_2": "0412000002"}
    assert read.covered == 1.0 and read.listened == HOUR


async def test_the_period_covered_is_when_the_receiver_listened(tmp_path: Path) -> None:
    path = tmp_path / FILE_NAME
    clock = StepClock(T0)
    await write(path, clock, listen=HOUR)  # T0 .. T0+1h
    clock.now += HOUR
    await write(path, clock, listen=timedelta(minutes=30))  # T0+2h .. T0+2h30

    read = read_webhook_events(T0 - HOUR, T0 + 3 * HOUR, path=path, clock=clock)
    assert read.listened == timedelta(minutes=90) and read.covered == pytest.approx(90 / 240)
    assert read.read == 0 and read.exists
    assert read.last_run is not None and read.last_ran_at == T0 + timedelta(hours=2.5)

    later = read_webhook_events(T0 + 5 * HOUR, T0 + 6 * HOUR, path=path, clock=clock)
    assert later.listened == timedelta() and later.read == 0
    assert later.summary() == (
        "The app's webhook receiver was not listening in this period (it last ran "
        "2026-11-18 03:00 UTC)."
    )


async def test_a_run_that_never_stopped_ends_where_the_next_began(tmp_path: Path) -> None:
    path = tmp_path / FILE_NAME
    clock = StepClock(T0)
    await write(path, clock, listen=HOUR)
    db = sqlite3.connect(path)
    db.execute("UPDATE receiver_runs SET stopped_at = NULL")  # the app died: no stop noted
    db.commit()
    db.close()
    clock.now = T0 + 2 * HOUR
    await write(path, clock, listen=HOUR)

    read = read_webhook_events(T0, T0 + 4 * HOUR, path=path, clock=clock)
    assert read.listened == 3 * HOUR, "the crashed run until the next start, then the next run"


# ---- no journal, or a bad one ------------------------------------------------------------------
def test_no_journal_is_an_empty_result_that_says_so() -> None:
    read = read_webhook_events(T0, T0 + HOUR)
    assert read == WebhookEvents((), journal_path(), False, T0, T0 + HOUR, T0 + HOUR + LATE_MARGIN)
    assert read.summary() == (
        "No webhook journal: the app's webhook receiver has not run on this machine."
    )
    assert not journal_path().exists(), "reading never creates the journal"


@pytest.mark.expect_log(READ_LOG, r"^Webhook journal not read: .* cannot be read \(file is not a")
def test_a_garbage_journal_is_an_empty_result_with_the_reason(tmp_path: Path) -> None:
    path = tmp_path / FILE_NAME
    junk = b"\x00\xffnot a journal\x13\x37" * 200
    path.write_bytes(junk)
    read = read_webhook_events(T0, T0 + HOUR, path=path)
    assert read.events == () and read.exists
    assert read.problem is not None and "file is not a database" in read.problem
    assert read.summary().startswith("The webhook journal could not be read: ")
    assert path.read_bytes() == junk, "the reader leaves it for the receiver to set aside"


def test_naive_times_are_refused() -> None:
    with pytest.raises(ValueError, match="aware"):
        read_webhook_events(datetime(2026, 11, 18), T0)


# ---- tying the add-on's calls to the PBX's -----------------------------------------------------
def pbx_call(n: int, at: datetime, number: str) -> PbxCall:
    return PbxCall(
        call_id=f"00000000-01dc-0000-0000-{n:012x}",
        started_at=at,
        ended_at=at + timedelta(minutes=2),
        direction=CallDirection.INBOUND,
        external_number=number,
        answered=True,
        extension="101",
    )


async def test_add_on_calls_are_tied_by_number_and_time_else_left_alone(tmp_path: Path) -> None:
    path = tmp_path / FILE_NAME
    clock = StepClock(T0)
    at = T0 + timedelta(minutes=10)
    await write(
        path,
        clock,
        # national, as the PBX wrote it: tied to the call of +61412000001 that started then
        row(at, "261118110000_1", JournalKind.RINGING, external_number="0412 000 001"),
        row(at + timedelta(minutes=3), "261118110000_1", JournalKind.RECORDING_LINK, links=1),
        # the same caller an hour later: no PBX call then, so it stays the add-on's
        row(at + HOUR, "261118120000_2", JournalKind.MISSED, external_number="0412000001"),
        # no number at all
        row(at, "261118110000_3", JournalKind.ENDED),
        listen=2 * HOUR,
    )
    calls = [
        pbx_call(1, at - timedelta(seconds=4), "+61412000001"),
        pbx_call(2, at + timedelta(minutes=40), "+61412000001"),
    ]
    read = read_webhook_events(T0, T0 + 2 * HOUR, path=path, clock=clock)

    tied = tie_to_calls(read, calls, region="AU")
    assert [e.call_id for e in tied] == [  # in the order received
        calls[0].call_id,
        "261118110000_3",
        calls[0].call_id,
        "261118120000_2",
    ]
    untied = tie_to_calls(read, calls, region=None)
    assert [e.call_id for e in untied] == [e.call_id for e in read.events], (
        "a national number without the region matches nothing"
    )
    assert call_key("261118110000_1-1") == "261118110000_1"
