"""The doctor's overall deadline: a PBX that stops answering becomes findings, never a hang.

Each run gets a deadline of two seconds and ROOMY per-request limits, so only the deadline can
end it; the tests assert what the returned diagnosis says, never how long it took.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator

import pytest
from aiohttp import web

from app.domain.deadlines import OUT_OF_TIME, ran_out_of_time
from app.domain.diagnosis import CHECK_ORDER, TITLES, CheckId, CheckResult, CheckStatus, Diagnosis
from app.services.doctor import Doctor
from app.services.facts.options import DoctorOptions
from app.threecx.connect import ConnectionParams
from tests.conftest import SimFactory
from tests.support.timeouts import ROOMY
from tests.threecx.conftest import params_for

DEADLINE_S = 2.0
# Only against a PBX that never answers does the deadline end the run; this bounds the test.
BOUND_S = 60


def assert_not_verified(result: CheckResult, pending: set[CheckId]) -> None:
    assert result.status is CheckStatus.WARN
    assert result.finding == (
        "Not verified: the PBX did not finish answering within the doctor's 2 s deadline."
    )
    assert "--deadline" in result.fix and "reverse proxy" in result.fix
    assert result.details[OUT_OF_TIME] is True
    assert set(result.details["pending"]) == {p.value for p in pending}
    waiting = next(line for line in result.evidence if line.startswith("Still waiting"))
    for check in pending:
        assert f"{check.order}. {TITLES[check]}" in waiting


@pytest.mark.expect_log(
    "app.services.doctor.runner", r"^The doctor's 2 s deadline passed; still waiting for: "
)
async def test_a_pbx_that_stops_answering_after_sign_in(make_sim: SimFactory) -> None:
    sim = await make_sim(tls=True)
    heard: list[CheckResult] = []

    def hear(result: CheckResult) -> None:
        heard.append(result)
        if result.id is CheckId.REACHABILITY:
            sim.faults.enable("hang")  # signed in; from now on every request hangs

    doctor = Doctor(
        params_for(sim, timeouts=ROOMY),
        sim.client_secret,
        DoctorOptions(deadline_s=DEADLINE_S),
        on_result=hear,
    )
    diagnosis = await asyncio.wait_for(doctor.run(), BOUND_S)

    reach = diagnosis.result(CheckId.REACHABILITY)
    assert reach.status is CheckStatus.PASS
    assert diagnosis.pbx.version == sim.version
    # Without a watch, check 4 needs nothing from the PBX: it stands as "not watched".
    assert diagnosis.result(CheckId.LATE_RECORDING).status is CheckStatus.SKIP
    asked = set(CHECK_ORDER) - {CheckId.REACHABILITY, CheckId.LATE_RECORDING}
    for check in asked:
        assert_not_verified(diagnosis.result(check), asked)
    assert ran_out_of_time(diagnosis)
    assert not diagnosis.failed  # unverified is a warning: nothing was shown to be broken
    # Every check was heard once: the pane's rows and the CLI's progress lines end too.
    assert sorted(r.id for r in heard) == sorted(CHECK_ORDER)
    # The document reads back, so `doctor --json > file` then `report --from file` works.
    again = Diagnosis.from_json(json.loads(json.dumps(diagnosis.as_json())))
    assert ran_out_of_time(again)


@pytest.fixture
async def silent_pbx() -> AsyncIterator[str]:
    """A real HTTP server that accepts every request and never answers it."""
    released = asyncio.Event()

    async def never(_request: web.Request) -> web.StreamResponse:
        await released.wait()
        raise web.HTTPServiceUnavailable()

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", never)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        released.set()
        await runner.cleanup()


@pytest.mark.expect_log(
    "app.services.doctor.runner", r"^The doctor's 2 s deadline passed; still waiting for: "
)
async def test_a_pbx_that_never_answers_at_all(silent_pbx: str) -> None:
    params = ConnectionParams(url=silent_pbx, client_id="900", timeouts=ROOMY)
    options = DoctorOptions(deadline_s=DEADLINE_S)
    diagnosis = await asyncio.wait_for(Doctor(params, "k" * 32, options).run(), BOUND_S)

    everything = set(CHECK_ORDER)
    for check in CHECK_ORDER:
        assert_not_verified(diagnosis.result(check), everything)
    assert diagnosis.pbx.url == silent_pbx and diagnosis.pbx.version is None


async def test_a_watch_gets_its_own_time_on_top_of_the_deadline() -> None:
    plain = DoctorOptions(deadline_s=30)
    watching = DoctorOptions(deadline_s=30, watch_s=60, bridge_window_s=120)
    assert plain.run_deadline_s == 30
    # The watch, then the wait past the bridge's window, then the deadline for the PBX itself.
    assert watching.run_deadline_s == 30 + 60 + watching.watch_limit_s


async def test_a_healthy_pbx_inside_the_deadline_is_not_marked(make_sim: SimFactory) -> None:
    sim = await make_sim(tls=True)
    doctor = Doctor(params_for(sim, timeouts=ROOMY), sim.client_secret, DoctorOptions())
    diagnosis = await asyncio.wait_for(doctor.run(), BOUND_S)
    assert not ran_out_of_time(diagnosis)
    assert all(OUT_OF_TIME not in r.details for r in diagnosis.checks)
