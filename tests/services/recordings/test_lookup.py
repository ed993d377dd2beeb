"""The recording lookup against the simulator: search, statuses, retention, play and save."""

from __future__ import annotations

import asyncio
import os
import re
import stat
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from app.domain.causes.recording import SETTLE_AFTER_HANG_UP
from app.domain.clock import utc_now
from app.domain.connection import ConnectionProfile
from app.services.recordings.lookup import (
    QueryError,
    RecordingLookup,
    RecordingLookupError,
    RecordingQuery,
    RecordingRow,
    RecordingStatus,
    SearchResult,
)
from app.services.session import PbxSession
from app.sim import Simulator
from app.sim.records import CallRecord as SimCall
from tests.conftest import SimFactory

MOBILE = "+61412345678"
LANDLINE = "+61298765432"
WAIT_S = 10.0

Lookups = Callable[..., Awaitable[RecordingLookup]]


def profile(sim: Simulator) -> ConnectionProfile:
    return ConnectionProfile(
        id="sim",
        name="Simulated PBX",
        url=sim.url,
        client_id=sim.client_id,
        ca_file=sim.ca_file,
    )


@pytest.fixture
async def lookup_for() -> AsyncIterator[Lookups]:
    """A lookup (and its session) on a simulator; both closed after the test."""
    opened: list[tuple[PbxSession, RecordingLookup]] = []

    async def factory(sim: Simulator, **kwargs: object) -> RecordingLookup:
        session = PbxSession(profile(sim), sim.client_secret)
        lookup = RecordingLookup(session, **kwargs)  # type: ignore[arg-type]
        opened.append((session, lookup))
        return lookup

    yield factory
    for session, lookup in opened:
        await lookup.aclose()
        await session.aclose()


def recording_extension(sim: Simulator) -> str:
    """An extension that records external calls, so a placed call gets a recording."""
    return next(
        e.number for e in sim.tenant.external_staff() if sim.tenant.records_call(e, True, False)
    )


async def recorded_call(sim: Simulator, kind: str = "inbound", **kwargs: object) -> SimCall:
    call = await sim.place_call(kind, extension=recording_extension(sim), **kwargs)  # type: ignore[arg-type]
    async with asyncio.timeout(WAIT_S):
        # The simulator signals nothing when it writes a recording: look at its state.
        while call.recording_id is None:  # noqa: ASYNC110
            await asyncio.sleep(0.05)
    return call


def row_of(result: SearchResult, call: SimCall) -> RecordingRow:
    rows = [row for row in result.rows if row.call.call_id == call.history_id]
    assert len(rows) == 1, f"call {call.call_id} not found once in {len(result.rows)} rows"
    return rows[0]


def today() -> RecordingQuery:
    return RecordingQuery(since=utc_now() - timedelta(hours=1))


# ---- search ----------------------------------------------------------------------------------
async def test_a_number_in_any_format_finds_the_same_calls(
    make_sim: SimFactory, lookup_for: Lookups
) -> None:
    sim = await make_sim(tls=True)
    inbound = await recorded_call(sim, "inbound", number=MOBILE)
    outbound = await recorded_call(sim, "outbound", number=MOBILE)
    landline = await recorded_call(sim, "inbound", number=LANDLINE)
    lookup = await lookup_for(sim)

    found: dict[str, set[str]] = {}
    for typed in ("0412 345 678", "+61 412 345 678", "61412345678", "0412-345-678"):
        result = await lookup.search(RecordingQuery(number=typed))
        assert result.number_e164 == MOBILE
        assert all(row.number_e164 == MOBILE for row in result.rows)
        found[typed] = {row.key for row in result.rows}
    assert len(set(map(frozenset, found.values()))) == 1, found
    assert {inbound.history_id, outbound.history_id} <= found["0412 345 678"]
    assert landline.history_id not in found["0412 345 678"]

    by_landline = await lookup.search(RecordingQuery(number="(02) 9876-5432"))
    assert landline.history_id in {row.key for row in by_landline.rows}
    assert row_of(by_landline, landline).number_raw == LANDLINE


async def test_search_by_extension_and_by_call_id(
    make_sim: SimFactory, lookup_for: Lookups
) -> None:
    sim = await make_sim(tls=True)
    extension = recording_extension(sim)
    call = await recorded_call(sim, "inbound")
    other = next(e.number for e in sim.tenant.external_staff() if e.number != extension)
    elsewhere = await sim.place_call("inbound", extension=other)
    lookup = await lookup_for(sim)

    by_ext = await lookup.search(RecordingQuery(extension=extension))
    assert by_ext.rows
    assert all(
        extension in (row.extension, row.call.caller, row.call.callee) for row in by_ext.rows
    )
    assert call.history_id in {row.key for row in by_ext.rows}
    assert elsewhere.history_id not in {row.key for row in by_ext.rows}
    assert {
        row.key for row in (await lookup.search(RecordingQuery(extension="Ext. " + extension))).rows
    } == {row.key for row in by_ext.rows}

    by_id = await lookup.search(RecordingQuery(call_id=f" {call.history_id} "))
    assert [row.key for row in by_id.rows] == [call.history_id]
    assert row_of(by_id, call).status is RecordingStatus.READY


async def test_search_keeps_to_the_date_range(make_sim: SimFactory, lookup_for: Lookups) -> None:
    sim = await make_sim(tls=True)
    recent = await sim.place_call("inbound")
    lookup = await lookup_for(sim)
    now = utc_now()
    since, until = now - timedelta(days=10), now - timedelta(days=3)

    result = await lookup.search(RecordingQuery(since=since, until=until))
    assert result.rows, "a week of simulated history has calls"
    assert all(
        row.started_at is not None and since <= row.started_at <= until for row in result.rows
    )
    assert recent.history_id not in {row.key for row in result.rows}
    assert all(row.age_days is not None and 3 <= row.age_days <= 10 for row in result.rows)

    default = await lookup.search(RecordingQuery())
    assert default.until - default.since == timedelta(days=30)
    assert recent.history_id in {row.key for row in default.rows}


@pytest.mark.parametrize(
    ("query", "field", "words"),
    [
        (RecordingQuery(number="12ab"), "number", "Number: '12ab' is not a phone number"),
        (RecordingQuery(number="0412 345"), "number", "Number: '0412 345' is not a phone number"),
        (RecordingQuery(extension="reception"), "extension", "Extension: 'reception' is not"),
        (
            RecordingQuery(
                since=datetime(2026, 5, 10, tzinfo=UTC), until=datetime(2026, 5, 1, tzinfo=UTC)
            ),
            "dates",
            "'To' (2026-05-01 00:00) is before 'From' (2026-05-10 00:00)",
        ),
        (
            RecordingQuery(
                since=datetime(2024, 1, 1, tzinfo=UTC), until=datetime(2025, 6, 1, tzinfo=UTC)
            ),
            "dates",
            "at most 366 days",
        ),
        (RecordingQuery(since=datetime(2026, 5, 10)), "dates", "needs a time zone"),
    ],
)
async def test_bad_input_names_the_field(
    make_sim: SimFactory, lookup_for: Lookups, query: RecordingQuery, field: str, words: str
) -> None:
    lookup = await lookup_for(await make_sim(tls=True))
    with pytest.raises(QueryError) as caught:
        await lookup.search(query)
    assert caught.value.field == field
    assert words in str(caught.value)


# ---- statuses --------------------------------------------------------------------------------
async def test_ready_missing_and_no_audio(make_sim: SimFactory, lookup_for: Lookups) -> None:
    sim = await make_sim(tls=True)
    ready = await recorded_call(sim, "inbound", number=MOBILE)
    lost = await recorded_call(sim, "outbound", number=MOBILE)
    assert lost.recording_id is not None
    del sim.tenant.recordings[lost.recording_id]  # deleted by hand: the call log still points
    missed = await sim.place_call("missed", number=MOBILE)
    voicemail = await sim.place_call("voicemail", number=MOBILE)
    lookup = await lookup_for(sim)

    result = await lookup.search(RecordingQuery(number=MOBILE))
    ok = row_of(result, ready)
    assert ok.status is RecordingStatus.READY
    assert ok.recording_id == ready.recording_id and ok.recording is not None
    assert ok.days_left is None and ok.days_left_text == "never auto-deleted"
    assert "kept until it is archived" in ok.retention_text
    assert ok.check == "", "a listed recording is not downloaded by a search"

    gone = row_of(result, lost)
    assert gone.status is RecordingStatus.MISSING
    assert "real problem" in gone.explanation and "Auto-delete is off" in gone.explanation
    assert "file not found" in gone.check, "an absent recording is confirmed by a download"
    assert gone.fix

    for call, words in ((missed, "Nobody answered"), (voicemail, "voicemail")):
        row = row_of(result, call)
        assert row.status is RecordingStatus.NO_AUDIO
        assert row.recording_id is None
        assert words in row.explanation


async def test_archived_recordings_say_they_are_in_the_archive(
    make_sim: SimFactory, lookup_for: Lookups
) -> None:
    sim = await make_sim(tls=True)
    lookup = await lookup_for(sim)
    now = utc_now()
    result = await lookup.search(
        RecordingQuery(since=now - timedelta(days=120), until=now - timedelta(days=61))
    )
    archived = [row for row in result.rows if row.status is RecordingStatus.ARCHIVED]
    assert archived, "the simulator archives some recordings older than 60 days"
    row = archived[0]
    assert row.recording is not None and row.recording.archived_url
    assert row.recording.archived_url in row.explanation
    assert "archive" in row.fix and row.days_left_text == "in the archive"
    assert not row.playable

    with pytest.raises(RecordingLookupError, match="moved to the archive"):
        await lookup.fetch_to_temp(row)
    checked = await lookup.verify(row)
    assert checked.status is RecordingStatus.ARCHIVED
    assert "file not found" in checked.check and "archive" in checked.check


async def test_retention_deleted_recordings_and_days_left(
    make_sim: SimFactory, lookup_for: Lookups
) -> None:
    sim = await make_sim(tls=True, faults=["retention-deleted=30"])
    fresh = await recorded_call(sim, "inbound", number=MOBILE)
    lookup = await lookup_for(sim, auto_verify=2)
    now = utc_now()

    result = await lookup.search(RecordingQuery(since=now - timedelta(days=60)))
    assert result.retention is not None and result.retention.auto_delete_days == 30
    assert result.retention_text == "Auto-delete after 30 days"
    deleted = [r for r in result.rows if r.status is RecordingStatus.DELETED_BY_RETENTION]
    assert deleted
    assert all(r.age_days is not None and r.age_days >= 30 for r in deleted)
    assert all(r.days_left_text == "gone" and not r.playable for r in deleted)
    assert "deleted by the retention policy" in deleted[0].explanation
    assert "System, Settings, Storage" in deleted[0].fix
    assert sum("file not found" in r.check for r in deleted) == 2, "only a few are downloaded"

    ready = [r for r in result.rows if r.status is RecordingStatus.READY]
    assert ready and all(r.age_days is not None and r.age_days < 30 for r in ready)
    for row in ready:
        assert row.started_at is not None
        assert row.days_left == result.retention.days_left(row.started_at, now)
        assert row.days_left == 30 - (row.age_days or 0)
    assert row_of(result, fresh).days_left == 30
    assert row_of(result, fresh).days_left_text == "30 days"
    assert not any(r.status is RecordingStatus.MISSING for r in result.rows)

    with pytest.raises(RecordingLookupError, match="retention"):
        await lookup.fetch_to_temp(deleted[0])


async def test_a_listed_recording_that_no_longer_downloads_is_reclassified(
    make_sim: SimFactory, lookup_for: Lookups
) -> None:
    sim = await make_sim(tls=True)
    call = await recorded_call(sim, number=MOBILE)
    lookup = await lookup_for(sim)
    row = row_of(await lookup.search(RecordingQuery(number=MOBILE)), call)
    assert row.status is RecordingStatus.READY
    assert "kB" in (await lookup.verify(row)).check

    assert call.recording_id is not None
    del sim.tenant.recordings[call.recording_id]
    with pytest.raises(RecordingLookupError) as caught:
        await lookup.fetch_to_temp(row)
    assert caught.value.row is not None
    assert caught.value.row.status is RecordingStatus.MISSING
    assert "real problem" in caught.value.what


async def test_not_recorded_extension_and_a_call_just_ended(
    make_sim: SimFactory, lookup_for: Lookups
) -> None:
    sim = await make_sim(tls=True, faults=["extension-not-recording"], recording_delay_s=30)
    silent = sim.tenant.not_recording[0]
    history = await lookup_for(sim)
    result = await history.search(RecordingQuery(extension=silent))
    unrecorded = [r for r in result.rows if r.status is RecordingStatus.NOT_RECORDED]
    assert unrecorded, "the extension's answered calls of the last 30 days have no recording"
    # v20's own menu path, not v18's "set Recording to All Calls".
    assert f"extension {silent}" in unrecorded[0].fix
    assert "Admin console > Users" in unrecorded[0].fix and "All Calls" not in unrecorded[0].fix
    # Only an internal call may be recorded, by the other extension.
    assert not any(r.status is RecordingStatus.READY and r.call.is_external for r in result.rows)

    call = await sim.place_call("inbound", extension=recording_extension(sim), number=MOBILE)
    just_now = row_of(await history.search(RecordingQuery(number=MOBILE)), call)
    assert just_now.status is RecordingStatus.PENDING
    assert "Search again" in just_now.fix

    # The doctor's settle window, no other: still pending just before it, lost once past it.
    almost = await lookup_for(
        sim, now=lambda: utc_now() + SETTLE_AFTER_HANG_UP - timedelta(seconds=10)
    )
    assert row_of(await almost.search(RecordingQuery(number=MOBILE)), call).status is (
        RecordingStatus.PENDING
    )
    later = await lookup_for(sim, now=lambda: utc_now() + SETTLE_AFTER_HANG_UP)
    after_window = row_of(await later.search(RecordingQuery(number=MOBILE)), call)
    assert after_window.status is RecordingStatus.NOT_RECORDED


async def test_v18_matches_recordings_without_retention(
    make_sim: SimFactory, lookup_for: Lookups
) -> None:
    sim = await make_sim(tls=True, pbx_version="18.0.11.200")
    call = await recorded_call(sim, "inbound", number=MOBILE)
    # v18 rows carry no call id: the client derives one from the start second and the caller,
    # so two calls from one number within a second would read as one.
    await asyncio.sleep(1.1)
    missed = await sim.place_call("missed", number=MOBILE)
    lookup = await lookup_for(sim)

    result = await lookup.search(RecordingQuery(number="0412 345 678"))
    assert result.generation == "v18"
    assert result.retention is None
    assert result.retention_text == "v18 does not report retention"
    ready = [r for r in result.rows if r.status is RecordingStatus.READY]
    assert [r.recording_id for r in ready] == [call.recording_id]
    assert ready[0].days_left is None and ready[0].days_left_text == "v18: not reported"
    missed_rows = [r for r in result.rows if r.call.answered is False]
    assert missed_rows and all(r.status is RecordingStatus.NO_AUDIO for r in missed_rows)
    assert any(r.started_at == missed.start for r in missed_rows)

    path = await lookup.fetch_to_temp(ready[0])
    assert (await asyncio.to_thread(path.read_bytes))[:4] == b"RIFF"


# ---- play and save ---------------------------------------------------------------------------
async def test_fetch_to_temp_is_private_and_removed_on_close(
    make_sim: SimFactory, lookup_for: Lookups
) -> None:
    sim = await make_sim(tls=True)
    call = await recorded_call(sim, number=MOBILE)
    lookup = await lookup_for(sim)
    row = row_of(await lookup.search(RecordingQuery(number=MOBILE)), call)

    path = await lookup.fetch_to_temp(row)
    audio = path.read_bytes()
    assert audio[:4] == b"RIFF" and audio[8:12] == b"WAVE"
    folder = lookup.temp_dir
    assert folder is not None and path.parent == folder
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert MOBILE not in path.name and "412" not in path.name
    assert await lookup.fetch_to_temp(row) == path, "a second play reuses the file"

    await lookup.aclose()
    assert not folder.exists()


async def test_save_writes_atomically_where_the_engineer_chose(
    make_sim: SimFactory, lookup_for: Lookups, tmp_path: Path
) -> None:
    sim = await make_sim(tls=True)
    call = await recorded_call(sim, number=MOBILE)
    lookup = await lookup_for(sim)
    row = row_of(await lookup.search(RecordingQuery(number=MOBILE)), call)
    target = tmp_path / "2026-11-21 1015 +61412345678 ext 101.wav"
    target.write_bytes(b"an older file")

    assert await lookup.save(row, target) == target
    saved = target.read_bytes()
    assert saved[:4] == b"RIFF"
    assert os.listdir(tmp_path) == [target.name], "no partial file is left beside it"
    assert lookup.temp_dir is None, "saving copies nothing to a temporary folder"

    with pytest.raises(RecordingLookupError, match="Could not save the recording") as caught:
        await lookup.save(row, tmp_path / "no such folder" / "call.wav")
    assert "folder you can write to" in caught.value.fix

    assert call.recording_id is not None
    del sim.tenant.recordings[call.recording_id]
    with pytest.raises(RecordingLookupError):
        await lookup.save(row, target)
    assert target.read_bytes() == saved, "a failed download leaves the saved file as it was"


async def test_a_missing_recording_role_gives_the_recording_manager_fix(
    make_sim: SimFactory, lookup_for: Lookups
) -> None:
    sim = await make_sim(tls=True)
    call = await recorded_call(sim, number=MOBILE)
    lookup = await lookup_for(sim)
    row = row_of(await lookup.search(RecordingQuery(number=MOBILE)), call)
    assert row.status is RecordingStatus.READY

    sim.faults.enable("missing-recording-role")
    with pytest.raises(RecordingLookupError) as caught:
        await lookup.fetch_to_temp(row)
    assert "403" in caught.value.what and "Recording Manager" in caught.value.what
    assert "assign both the Recording Manager and Reports User" in caught.value.fix
    assert caught.value.row is not None
    assert caught.value.row.status is RecordingStatus.NO_ACCESS

    result = await lookup.search(RecordingQuery(number=MOBILE))
    blocked = row_of(result, call)
    assert blocked.status is RecordingStatus.NO_ACCESS
    assert "Recording Manager" in blocked.fix
    assert any("may not list recordings" in note for note in result.notes)


async def test_missing_history_role_is_a_clear_error(
    make_sim: SimFactory, lookup_for: Lookups
) -> None:
    lookup = await lookup_for(await make_sim(tls=True, faults=["missing-history-role"]))
    with pytest.raises(RecordingLookupError) as caught:
        await lookup.search(RecordingQuery())
    assert "Reports User" in caught.value.what
    assert "Reports User" in caught.value.fix


async def test_limits_hit_say_the_result_may_be_incomplete(
    make_sim: SimFactory, lookup_for: Lookups
) -> None:
    sim = await make_sim(tls=True)
    lookup = await lookup_for(sim, call_limit=5, recording_limit=3, auto_verify=1)
    result = await lookup.search(RecordingQuery())
    assert result.incomplete
    assert result.calls_limit_hit and result.recordings_limit_hit
    assert any("limit of 5 calls" in n and "may be incomplete" in n for n in result.notes)
    assert any("limit of 3" in n and "may still exist" in n for n in result.notes)

    unproven = [r for r in result.rows if r.status is RecordingStatus.UNKNOWN]
    verified = [r for r in result.rows if "kB" in r.check]
    assert len(verified) == 1, "one absent recording was downloaded, and it is there"
    assert verified[0].status is RecordingStatus.READY
    assert unproven, "absent from a cut list is not called missing"
    assert all("Verify" in r.fix for r in unproven)
    assert (await lookup.verify(unproven[0])).status is RecordingStatus.READY


async def test_the_limit_note_speaks_on_the_customers_clock(
    make_sim: SimFactory, lookup_for: Lookups
) -> None:
    sim = await make_sim(tls=True)
    lookup = await lookup_for(sim, call_limit=5)
    auckland = ZoneInfo("Pacific/Auckland")
    since = utc_now().astimezone(auckland) - timedelta(days=20)
    result = await lookup.search(RecordingQuery(since=since))
    note = next(n for n in result.notes if "limit of 5 calls" in n)
    assert re.search(r"back to \d{4}-\d\d-\d\d \d\d:\d\d NZDT\)", note), note
