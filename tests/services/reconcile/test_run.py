"""A whole reconciliation against the simulator playing a customer's bridge and CRM: every call
of the period gets the state and cause the injected faults imply, and the summary adds up to the
PBX's own call count (issue 21's "done when")."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from app.domain.clock import utc_now
from app.domain.reconcile.ledger import Ledger
from app.domain.reconcile.records import CallState
from app.services.reconcile.run import ReconcileInputs, ReconcileResult, run_reconcile
from app.services.session import PbxSession
from app.sim import BridgePlayback, Simulator
from tests.conftest import SimFactory
from tests.ui.conftest import profile_for

DAYS = 7
# The mix: late with no retry, 403 on recordings, one call logged twice, one on a new
# contact, one never logged, two missed calls without a trigger.
DEMO = ("demo",)


async def reconciled(
    sim: Simulator, tmp_path: Path, faults: tuple[str, ...], fmt: str = "json"
) -> tuple[ReconcileResult, BridgePlayback]:
    played = sim.bridge_playback(faults, fmt=fmt, days=DAYS)
    played.write(tmp_path)
    contacts = tmp_path / "contacts.csv"
    contacts.write_text(sim.crm_export_csv("hubspot"), encoding="utf-8")
    session = PbxSession(profile_for(sim, contacts_csv=str(contacts)), sim.client_secret)
    until = utc_now()
    inputs = ReconcileInputs(tmp_path / "crm-activities.csv", (tmp_path / "bridge.log",))
    try:
        result = await run_reconcile(session, until - timedelta(days=DAYS), until, inputs)
    finally:
        await session.aclose()
    return result, played


def disagreements(ledger: Ledger, played: BridgePlayback) -> list[str]:
    truth = played.truth()
    found = []
    for entry in ledger.entries:
        expected = truth.get(entry.call.call_id)
        if expected is None:
            found.append(f"{entry.call.call_id}: not in the playback's truth")
            continue
        got = (entry.state.value, entry.cause.value if entry.cause else None)
        if got != (expected.state, expected.cause):
            found.append(
                f"{entry.call.call_id}: {got} != {(expected.state, expected.cause)}: "
                f"{entry.evidence}"
            )
    missing = set(truth) - {e.call.call_id for e in ledger.entries}
    found += [f"{call_id}: in the truth, not in the ledger" for call_id in sorted(missing)]
    return found


@pytest.mark.parametrize("fmt", ["json", "mixed"])
async def test_every_call_gets_the_state_and_cause_its_fault_implies(
    make_sim: SimFactory, tmp_path: Path, fmt: str
) -> None:
    sim = await make_sim(tls=True)
    result, played = await reconciled(sim, tmp_path, DEMO, fmt)
    ledger = result.ledger
    assert not disagreements(ledger, played)
    summary = ledger.summary
    assert summary.calls == len(played.truth()) == sum(summary.by_state.values())
    by_state = summary.by_state
    assert by_state[CallState.DUPLICATED] == 1
    assert by_state[CallState.WRONG_CONTACT] == 1
    assert by_state[CallState.MISSING] == 1
    assert by_state[CallState.MISSED_NOT_TRIGGERED] >= 2
    assert summary.by_cause["late_recording"] >= 1 and summary.by_cause["api_roles"] >= 1
    assert summary.missed_gap == by_state[CallState.MISSED_NOT_TRIGGERED]
    assert not summary.all_fine and not result.exit_fine


async def test_a_revoked_key_is_named_for_every_call_after_it(
    make_sim: SimFactory, tmp_path: Path
) -> None:
    sim = await make_sim(tls=True)
    revoked = (utc_now() - timedelta(days=2)).replace(microsecond=0)
    result, played = await reconciled(sim, tmp_path, (f"key-revoked-at={revoked.isoformat()}",))
    assert not disagreements(result.ledger, played)
    after = [e for e in result.ledger.entries if e.call.started_at >= revoked]
    assert after and all(e.cause is not None and e.cause.value == "reachability" for e in after)
