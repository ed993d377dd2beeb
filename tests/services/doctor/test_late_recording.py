"""Cause 4, timed for real: a call is placed on the simulator while the doctor watches."""

from __future__ import annotations

import asyncio
import io
from typing import Any

import pytest

from app.domain.diagnosis import CheckId, CheckResult, CheckStatus, Diagnosis
from app.services.doctor import Doctor
from app.services.facts.options import DoctorOptions
from app.sim import Simulator
from tests.conftest import SimFactory
from tests.support.timeouts import ROOMY
from tests.threecx.conftest import params_for


async def watch_one_call(
    sim: Simulator,
    *,
    window_s: float,
    watch_s: float = 3.0,
    place: bool = True,
    call_control: bool = True,
    extension: str | None = None,
) -> Diagnosis:
    reached = asyncio.Event()

    def progress(result: CheckResult) -> None:
        if result.id is CheckId.REACHABILITY:
            reached.set()

    options = DoctorOptions(watch_s=watch_s, bridge_window_s=window_s, required_retention_days=7)
    params = params_for(sim, timeouts=ROOMY)
    run = asyncio.create_task(Doctor(params, sim.client_secret, options, on_result=progress).run())
    try:
        await asyncio.wait_for(reached.wait(), 10)
        if place:
            if call_control:
                await asyncio.wait_for(sim.wait_for_call_control_client(), 10)
            kwargs: dict[str, Any] = {"ring_s": 0.2, "talk_s": 0.3}
            if extension:
                kwargs["extension"] = extension
            await sim.place_call("inbound", **kwargs)
        # Generous: the check itself ends within watch + 1.5 x window; this only guards a hang,
        # and then says where every task was stuck.
        done, _ = await asyncio.wait({run}, timeout=60)
        if not done:
            stacks = io.StringIO()
            for task in asyncio.all_tasks():
                task.print_stack(limit=8, file=stacks)
            pytest.fail(f"The doctor did not finish within 60 s. Tasks:\n{stacks.getvalue()}")
        return run.result()
    finally:
        run.cancel()


def recording_extension(sim: Simulator) -> str:
    return next(
        e.number
        for e in sim.tenant.external_staff()
        if e.record_calls and not e.record_external_only
    )


async def test_recording_later_than_the_window_fails(make_sim: SimFactory) -> None:
    sim = await make_sim(tls=True, faults=["late-recording=2.5"])
    diagnosis = await watch_one_call(sim, window_s=1.0, extension=recording_extension(sim))
    result = diagnosis.result(CheckId.LATE_RECORDING)
    assert result.status is CheckStatus.FAIL, result.finding
    assert diagnosis.first_failure is CheckId.LATE_RECORDING
    assert "later than the bridge's 1 s retry window" in result.finding
    journey = result.details["journeys"][0]
    assert journey["state"] == "ready"
    assert 2.5 <= journey["ready_after_s"] <= 4.0
    assert [a["found"] for a in journey["attempts"]][-1] is True
    assert "retry for longer" in result.fix


async def test_recording_that_never_appears_fails(make_sim: SimFactory) -> None:
    sim = await make_sim(tls=True, faults=["late-recording=never"])
    diagnosis = await watch_one_call(sim, window_s=1.0, extension=recording_extension(sim))
    result = diagnosis.result(CheckId.LATE_RECORDING)
    assert result.status is CheckStatus.FAIL
    assert "No recording appeared within 3 s of hang-up" in result.finding
    assert result.details["journeys"][0]["state"] == "missing"


async def test_recording_within_the_window_passes_with_the_retry_note(
    make_sim: SimFactory,
) -> None:
    sim = await make_sim(tls=True, recording_delay_s=0.8)
    diagnosis = await watch_one_call(sim, window_s=5.0, extension=recording_extension(sim))
    result = diagnosis.result(CheckId.LATE_RECORDING)
    assert result.status is CheckStatus.PASS, result.finding
    assert "does not retry would miss it" in result.finding
    assert 0.8 <= result.details["journeys"][0]["ready_after_s"] <= 5.0


async def test_polled_call_log_is_used_without_call_control(make_sim: SimFactory) -> None:
    sim = await make_sim(tls=True, faults=["no-call-control"], recording_delay_s=0.5)
    diagnosis = await watch_one_call(
        sim, window_s=10.0, call_control=False, extension=recording_extension(sim)
    )
    result = diagnosis.result(CheckId.LATE_RECORDING)
    assert result.status is CheckStatus.PASS, result.finding
    assert any("call log (polling)" in line for line in result.evidence)


async def test_no_call_during_the_watch_skips_and_says_how_to_test(make_sim: SimFactory) -> None:
    sim = await make_sim(tls=True)
    diagnosis = await watch_one_call(sim, window_s=1.0, watch_s=0.5, place=False)
    result = diagnosis.result(CheckId.LATE_RECORDING)
    assert result.status is CheckStatus.SKIP
    assert "place a test call" in result.fix


async def test_without_the_recording_role_the_watch_is_blocked(make_sim: SimFactory) -> None:
    sim = await make_sim(tls=True, faults=["missing-recording-role"])
    diagnosis = await watch_one_call(sim, window_s=1.0, extension=recording_extension(sim))
    result = diagnosis.result(CheckId.LATE_RECORDING)
    assert result.status is CheckStatus.SKIP
    assert "blocked by check 2" in result.finding
    assert diagnosis.first_failure is CheckId.API_ROLES


async def test_v18_recording_is_found_by_number_and_time(make_sim: SimFactory) -> None:
    sim = await make_sim(tls=True, pbx_version="18.0.11.200", recording_delay_s=0.5)
    # The call ends before the watch starts; the polled log still reports it (it looks two
    # minutes back), so no race with the watch. watch_one_call bounds the whole run.
    diagnosis = await watch_one_call(
        sim, window_s=10.0, call_control=False, extension=recording_extension(sim)
    )
    result = diagnosis.result(CheckId.LATE_RECORDING)
    assert result.status is CheckStatus.PASS, result.evidence
    # v18's call log names no recording: the one found by number and time is the very file
    # the simulator wrote for this call.
    (placed,) = sim.tenant.calls
    assert placed.recording_id is not None, "the simulator wrote no recording for the call"
    (journey,) = result.details["journeys"]
    assert journey["state"] == "ready", result.evidence
    assert journey["recording_id"] == placed.recording_id, result.evidence


async def test_recording_found_at_the_window_itself_is_in_time(make_sim: SimFactory) -> None:
    # The watcher looks exactly at the bridge's deadline, so a file that lands just before it
    # is not reported late because the next backoff step came after the window.
    sim = await make_sim(tls=True, recording_delay_s=0.6)
    diagnosis = await watch_one_call(sim, window_s=1.0, extension=recording_extension(sim))
    result = diagnosis.result(CheckId.LATE_RECORDING)
    journey = result.details["journeys"][0]
    looks = [a["after_s"] for a in journey["attempts"]]
    assert any(abs(look - 1.0) < 0.1 for look in looks), looks
    assert result.status is CheckStatus.PASS, result.evidence


async def test_call_control_monitoring_nothing_is_named(make_sim: SimFactory) -> None:
    sim = await make_sim(tls=True, faults=["monitored=none"])
    diagnosis = await watch_one_call(sim, window_s=1.0, watch_s=1.0, call_control=False)
    result = diagnosis.result(CheckId.LATE_RECORDING)
    assert result.status is CheckStatus.SKIP
    assert "Extensions to Monitor" in result.finding
    assert "Integrations > API" in result.fix
