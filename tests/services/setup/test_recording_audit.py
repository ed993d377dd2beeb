"""Step 7: the extension recording audit agrees with the doctor's cause 3."""

from __future__ import annotations

import pytest

from app.domain.causes.extension_recording import ExtensionRecordingDetails, cause_sentence
from app.domain.diagnosis import CheckId, CheckStatus
from app.services.doctor import Doctor
from app.services.setup.recording_audit import RecordingAuditRow, audit_recording
from app.sim import Simulator
from app.threecx.client import PbxClient
from app.threecx.errors import ThreeCXError
from tests.conftest import SimFactory
from tests.threecx.conftest import ClientFactory, params_for


async def audit(connect: ClientFactory, sim: Simulator) -> tuple[RecordingAuditRow, ...]:
    client: PbxClient = await connect(sim)
    await client.authenticate()
    return await audit_recording(client)


async def doctor_cause_3(sim: Simulator):
    diagnosis = await Doctor(params_for(sim), sim.client_secret).run()
    return next(r for r in diagnosis.checks if r.id is CheckId.EXTENSION_RECORDING)


async def test_healthy_pbx_records_on_every_extension(
    make_sim: SimFactory, connect: ClientFactory
) -> None:
    sim = await make_sim()
    rows = await audit(connect, sim)
    extensions = [r for r in rows if r.kind == "extension"]
    assert [r.number for r in extensions] == [e.number for e in sim.tenant.extensions]
    assert all(r.will_record and r.fix is None for r in extensions)
    assert {r.mode for r in extensions} <= {"all calls", "external calls only"}
    queues = {r.number: r for r in rows if r.kind == "queue"}
    assert set(queues) == {q.number for q in sim.tenant.queues}
    off = [q for q in queues.values() if q.mode == "queue recording off"]
    assert off and all(not q.will_record and "answering agent's extension" in q.why for q in off)
    assert all(q.fix and "edit the queue" in q.fix for q in off)


async def test_extensions_that_will_not_record_are_marked_as_the_doctor_does(
    make_sim: SimFactory, connect: ClientFactory
) -> None:
    sim = await make_sim(faults=["extension-not-recording"])
    rows = await audit(connect, sim)
    silent = [r for r in rows if r.kind == "extension" and not r.will_record]
    assert silent
    # On demand does not reliably record a bridge's calls: marked like off and forbidden.
    assert {r.mode for r in silent} <= {"off", "forbidden", "on demand (the user starts it)"}
    assert any(r.mode.startswith("on demand") for r in silent)
    for row in silent:
        assert row.fix is not None
        assert "tick Record calls" in row.fix and row.number in row.fix
    lost = [r for r in silent if r.unrecorded_calls]
    assert lost

    cause_3 = await doctor_cause_3(sim)
    assert cause_3.status is CheckStatus.FAIL
    details = ExtensionRecordingDetails.from_json(cause_3.details)
    assert {r.number for r in silent} == {r.number for r in details.silent}
    # The doctor's sentence naming the cause, word for word, on every row it names.
    sentence = cause_sentence(details)
    assert sentence and cause_3.finding.startswith(sentence)
    for row in lost:
        assert row.number in sentence
        assert sentence in row.why
    counts = {r.number: r.unrecorded for r in details.extensions}
    assert {r.number: r.unrecorded_calls for r in rows if r.kind == "extension"} == counts


async def test_v18_marks_the_extensions_whose_calls_went_unrecorded(
    make_sim: SimFactory, connect: ClientFactory
) -> None:
    sim = await make_sim(pbx_version="18.0.11.200", faults=["extension-not-recording"])
    rows = await audit(connect, sim)
    assert rows and all(r.kind == "extension" for r in rows)  # v18 lists no queues
    assert {r.mode for r in rows} == {"not reported by v18"}
    silent = [r for r in rows if not r.will_record]
    assert silent and all(r.unrecorded_calls > 0 for r in silent)
    assert all(r.fix and "set Recording to All Calls" in r.fix for r in silent)
    cause_3 = await doctor_cause_3(sim)
    assert cause_3.status is CheckStatus.FAIL
    assert all(r.number in cause_3.finding for r in silent)


async def test_unreadable_extensions_raise(make_sim: SimFactory, connect: ClientFactory) -> None:
    sim = await make_sim()
    client = await connect(sim)
    await client.authenticate()
    sim.faults.enable("garbage-body")
    with pytest.raises(ThreeCXError):
        await audit_recording(client)
