"""The run's other sources: a bridge log pasted as text reads as its file does, and the app's
own webhook receiver's journal adds the add-on's events to the calls it saw (issue 21)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from app.domain.clock import utc_now
from app.domain.reconcile.records import BridgeSource
from app.services.feed.webhook_journal import WebhookJournal
from app.services.feed.webhook_receiver import WebhookReceiver
from app.services.reconcile.run import ReconcileInputs, ReconcileResult, run_reconcile
from app.services.session import PbxSession
from app.sim import Simulator
from tests.conftest import SimFactory
from tests.services.feed.test_webhook_receiver import Inbox
from tests.services.reconcile.test_run import DAYS, DEMO, disagreements
from tests.ui.conftest import profile_for


async def run(sim: Simulator, inputs: ReconcileInputs, days: int = DAYS) -> ReconcileResult:
    session = PbxSession(profile_for(sim), sim.client_secret)
    until = utc_now() + timedelta(minutes=1)
    try:
        return await run_reconcile(session, until - timedelta(days=days), until, inputs)
    finally:
        await session.aclose()


def states(result: ReconcileResult) -> dict[str, tuple[str, str | None]]:
    return {
        e.call.call_id: (e.state.value, e.cause.value if e.cause else None)
        for e in result.ledger.entries
    }


async def test_a_pasted_log_gives_the_ledger_its_file_gives(
    make_sim: SimFactory, tmp_path: Path
) -> None:
    sim = await make_sim(tls=True)
    played = sim.bridge_playback(DEMO, fmt="mixed", days=DAYS)
    played.write(tmp_path)
    crm = tmp_path / "crm-activities.csv"
    log_text = (tmp_path / "bridge.log").read_text(encoding="utf-8")
    from_file = await run(sim, ReconcileInputs(crm, (tmp_path / "bridge.log",)))
    pasted = await run(sim, ReconcileInputs(crm, bridge_pasted=(log_text + "\nnot a log line\n",)))

    assert states(pasted) == states(from_file) and states(from_file)
    assert not disagreements(pasted.ledger, played)
    (counts,) = pasted.bridge
    assert counts.source == "pasted log" and counts.unreadable == 1
    assert counts.events == from_file.bridge[0].events


async def test_the_webhook_journal_adds_the_add_ons_events_to_the_call_it_saw(
    make_sim: SimFactory, tmp_path: Path
) -> None:
    inbox = Inbox()
    receiver = WebhookReceiver(
        on_event=inbox.event, on_recording=inbox.recording, journal=WebhookJournal()
    )
    url = await receiver.start()
    try:
        sim = await make_sim(webhook_url=url, recording_delay_s=0.05)
        ext = sim.tenant.external_staff()[0].number
        call = await sim.place_call("inbound", extension=ext, ring_s=0.05, talk_s=0.05)
        await inbox.until(lambda: bool(inbox.recordings))
    finally:
        await receiver.stop()  # writes what is queued, and closes the journal
    crm = tmp_path / "crm.csv"
    crm.write_text("Date,Phone,Direction\n", encoding="utf-8")  # the CRM got nothing

    result = await run(sim, ReconcileInputs(crm), days=1)
    entry = next(e for e in result.ledger.entries if e.call.call_id == sim.history_id(call))
    from_add_on = [e for e in entry.bridge if e.source is BridgeSource.WEBHOOK]
    assert [e.text for e in from_add_on][-1] == "the add-on sent the recording link (1 link)"
    assert len(from_add_on) == 4
    assert result.webhook is not None and result.webhook.read == 4
    assert any("webhook" in note.lower() for note in result.notes)

    # Asked not to, the run leaves the journal alone.
    without = await run(sim, ReconcileInputs(crm, use_webhook_journal=False), days=1)
    again = next(e for e in without.ledger.entries if e.call.call_id == sim.history_id(call))
    assert not [e for e in again.bridge if e.source is BridgeSource.WEBHOOK]
    assert without.webhook is None and not any("webhook" in n.lower() for n in without.notes)
