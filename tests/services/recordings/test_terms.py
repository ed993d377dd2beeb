"""One truth about recording: the doctor, the setup's audit, the recordings lookup and the live
feed say the same about the same PBX (the simulator, over real loopback sockets).

The issue's case: extensions 104 and 107 record only on demand and lost calls. Every surface
names them as the cause, in the same words, with the same fix, and every count it states is
the length of the list it names.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from datetime import datetime, timedelta

import pytest

from app.domain.causes.extension_recording import ExtensionRecordingDetails
from app.domain.causes.recording import SETTLE_AFTER_HANG_UP, recording_fix
from app.domain.clock import utc_now
from app.domain.diagnosis import CheckId, CheckStatus, Diagnosis
from app.domain.live import LiveState
from app.domain.report import Report, ReportMeta
from app.services.doctor import Doctor
from app.services.doctor.text import render_text
from app.services.feed.live_feed import LiveFeed
from app.services.pbx_summary import summarise
from app.services.recordings.lookup import RecordingLookup, RecordingQuery, RecordingStatus
from app.services.session import PbxSession
from app.services.setup.recording_audit import audit_recording
from app.sim import Simulator
from app.threecx.connect import open_client
from tests.conftest import SimFactory
from tests.services.feed.test_live_feed import Watched, profile_of
from tests.services.recordings.test_lookup import MOBILE, recording_extension
from tests.support.timeouts import ROOMY
from tests.support.waiting import until
from tests.threecx.conftest import params_for

ON_DEMAND = ("104", "107")
CALLS_EACH = 3  # six lost calls, as in the issue


def later(seconds: float) -> Callable[[], datetime]:
    """A clock ``seconds`` past the settle window from now."""
    at = utc_now() + SETTLE_AFTER_HANG_UP + timedelta(seconds=seconds)
    return lambda: at


@pytest.fixture
async def on_demand_pbx(make_sim: SimFactory) -> AsyncIterator[Simulator]:
    """104 and 107 record only on demand, and three answered calls each just went unrecorded."""
    sim = await make_sim(tls=True, faults=[f"on-demand-recording={','.join(ON_DEMAND)}"])
    for extension in ON_DEMAND:
        for _ in range(CALLS_EACH):
            placed = await sim.place_call("inbound", extension=extension, number=MOBILE)
            assert placed.answered and placed.recording_id is None
    yield sim


@pytest.fixture
async def sessions() -> AsyncIterator[list[PbxSession]]:
    opened: list[PbxSession] = []
    yield opened
    for session in opened:
        await session.aclose()


def label(sim: Simulator, number: str) -> str:
    ext = sim.tenant.ext(number)
    assert ext is not None
    return f"{number} ({ext.display_name})"


async def cause_3(sim: Simulator, clock: Callable[[], datetime]) -> Diagnosis:
    return await Doctor(params_for(sim, timeouts=ROOMY), sim.client_secret, clock=clock).run()


async def test_on_demand_extensions_that_lost_calls_are_the_cause_everywhere(
    on_demand_pbx: Simulator, sessions: list[PbxSession]
) -> None:
    sim = on_demand_pbx
    clock = later(5)
    who = f"{label(sim, '104')} and {label(sim, '107')}"

    # The doctor, and its JSON document read back.
    diagnosis = await cause_3(sim, clock)
    result = diagnosis.result(CheckId.EXTENSION_RECORDING)
    details = ExtensionRecordingDetails.from_json(result.details)
    lost = {row.number: row.unrecorded for row in details.extensions if row.unrecorded}
    assert set(lost) == set(ON_DEMAND)
    assert all(count >= CALLS_EACH for count in lost.values())
    total = sum(lost.values())
    sentence = (
        f"{who} record only on demand: {total} answered external calls in the "
        f"{details.recent} have no recording (a call the user does not record has no file), "
        "and no bridge can recover them."
    )
    assert result.status is CheckStatus.FAIL
    assert result.finding == sentence
    fix = recording_fix(True, who)
    assert result.fix == fix
    assert result.evidence[0].endswith(
        "extensions read; 2 do not record external calls (0 not set to record, 2 only on demand)"
    )
    assert [line for line in result.evidence if line.startswith("Extension ")] == [
        f"Extension {label(sim, n)}: on demand (records only when the user starts recording)"
        for n in ON_DEMAND
    ]

    document = json.loads(json.dumps(diagnosis.as_json()))
    check = Diagnosis.from_json(document).result(CheckId.EXTENSION_RECORDING)
    assert (check.finding, check.fix) == (sentence, fix)
    rows = {row["number"]: row for row in document["checks"][2]["details"]["extensions"]}
    for number in ON_DEMAND:
        assert rows[number]["recording"] == "on demand"
        assert rows[number]["records_external_calls"] is False
        assert rows[number]["answered_external_without_recording"] == lost[number]
    text = render_text(diagnosis)
    assert sentence in text and f"Fix: {fix}" in text

    # The report: the same table, the same count.
    report = Report.build(diagnosis, ReportMeta(generated_at=clock()))
    table = {row.number: row for row in report.extensions}
    assert {n: table[n].calls_without_recording for n in ON_DEMAND} == lost
    assert all(table[n].records_external_calls is False for n in ON_DEMAND)

    # The setup's recording audit: the same sentence on each row it names, the same fix.
    client = await open_client(params_for(sim), sim.client_secret)
    try:
        await client.authenticate()
        audit = {row.number: row for row in await audit_recording(client, now=clock())}
    finally:
        await client.aclose()
    for number in ON_DEMAND:
        row = audit[number]
        assert not row.will_record
        assert sentence in row.why
        assert row.unrecorded_calls == lost[number]
        assert row.fix == recording_fix(True, label(sim, number))
    marked = {n for n, row in audit.items() if row.kind == "extension" and not row.will_record}
    assert marked == set(ON_DEMAND)

    # The recordings lookup: not "not written yet", whether the call just ended or not.
    session = PbxSession(profile_of(sim), sim.client_secret)
    sessions.append(session)
    for now in (utc_now, clock):
        lookup = RecordingLookup(session, now=now)
        found = await lookup.search(RecordingQuery(extension="104"))
        await lookup.aclose()
        answered = [r for r in found.rows if r.call.answered and r.call.is_external]
        assert len(answered) >= CALLS_EACH
        for row in answered:
            assert row.status is RecordingStatus.NOT_RECORDED
            assert row.explanation.startswith(
                "Extension 104 does not record (on demand): no file was written."
            )
            assert row.fix == recording_fix(True, "extension 104")


async def test_the_live_feed_says_a_call_on_an_on_demand_extension_will_have_no_recording(
    make_sim: SimFactory, sessions: list[PbxSession]
) -> None:
    sim = await make_sim(tls=True, faults=["on-demand-recording=104,107"])
    session = PbxSession(profile_of(sim), sim.client_secret, poll_interval_s=0.3)
    sessions.append(session)
    feed = LiveFeed(session)
    watched = Watched(feed)
    feed.start()
    try:
        await until(lambda: feed.status.source == "Call Control websocket", "the source")
        await until(lambda: feed.recording_modes_known, "the extensions' recording modes")
        placed = await sim.place_call("inbound", extension="104", number=MOBILE)
        call = await watched.state(placed.call_id, LiveState.ENDED)
        await until(lambda: call.journey_note is not None, "the recording column")
        assert call.journey is None  # nothing to follow: no file is coming
        assert call.journey_note is not None
        assert call.journey_note.startswith(
            "extension 104 does not record (on demand): no recording expected"
        )
        assert feed.watching == 0
    finally:
        await feed.stop()


async def test_the_settle_window_is_the_same_in_the_lookup_and_the_doctor(
    make_sim: SimFactory, sessions: list[PbxSession]
) -> None:
    # 3CX never writes this recording: it is late until the settle window passes, then lost.
    sim = await make_sim(tls=True, faults=["late-recording=never"])
    extension = recording_extension(sim)
    placed = await sim.place_call("inbound", extension=extension, number=MOBILE)
    session = PbxSession(profile_of(sim), sim.client_secret)
    sessions.append(session)

    async def both(seconds: float) -> tuple[int, RecordingStatus]:
        clock = later(seconds)
        result = (await cause_3(sim, clock)).result(CheckId.EXTENSION_RECORDING)
        details = ExtensionRecordingDetails.from_json(result.details)
        counted = next(r.unrecorded for r in details.extensions if r.number == extension)
        lookup = RecordingLookup(session, now=clock)
        found = await lookup.search(RecordingQuery(number=MOBILE))
        await lookup.aclose()
        row = next(r for r in found.rows if r.key == placed.history_id)
        return counted, row.status

    assert await both(-10) == (0, RecordingStatus.PENDING)
    assert await both(+10) == (1, RecordingStatus.NOT_RECORDED)


async def test_the_summary_counts_on_demand_extensions_as_not_recording(
    make_sim: SimFactory,
) -> None:
    sim = await make_sim(tls=True, faults=["on-demand-recording=104,107"])
    client = await open_client(params_for(sim), sim.client_secret)
    try:
        await client.authenticate()
        lines = (await summarise(client)).lines()
    finally:
        await client.aclose()
    extensions = next(line for line in lines if line.startswith("Extensions:"))
    names = ", ".join(f"{n} {sim.tenant.ext(n).display_name} (on demand)" for n in ON_DEMAND)  # type: ignore[union-attr]
    assert extensions == (
        f"Extensions: {len(sim.tenant.extensions)}, 2 not recording external calls: {names}"
    )
