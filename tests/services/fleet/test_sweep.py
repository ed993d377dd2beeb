"""The sweep against real simulated PBXs: each row names the first failing cause exactly as the
doctor does for that PBX alone, and a PBX that cannot be checked is a row with a finding."""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import AsyncIterator, Callable
from dataclasses import replace
from typing import Any

import pytest
from aiohttp import web

from app.domain.connection import CheckStatusSummary, ConnectionProfile
from app.domain.diagnosis import CheckId
from app.services.doctor import Doctor
from app.services.fleet.monitored_probe import monitored_dns
from app.services.fleet.sweep import FleetRow, SweepProgress, SweepSettings, sweep
from app.services.fleet.targets import FleetTarget
from app.services.known_certificates import KnownCertificates
from app.services.session import connection_params
from app.sim import Simulator
from tests.conftest import SimFactory

# One simulated PBX per fault preset the doctor names as a cause, and two healthy ones.
PRESETS: dict[str, tuple[list[str], CheckId | None]] = {
    "healthy-a": ([], None),
    "licence": (["licence-expired"], CheckId.LICENCE),
    "roles": (["missing-recording-role"], CheckId.API_ROLES),
    "recording": (["extension-not-recording"], CheckId.EXTENSION_RECORDING),
    "contacts": (["unnormalised-contacts"], CheckId.CONTACT_MATCH),
    "retention": (["retention-deleted"], CheckId.RETENTION),
    "key": (["bad-key"], CheckId.REACHABILITY),
    "healthy-b": ([], None),
}
SETTINGS = SweepSettings(concurrency=4, deadline_s=30)


def target_of(name: str, sim: Simulator, **changes: object) -> FleetTarget:
    profile = ConnectionProfile(
        id=f"id-{name}",
        name=name,
        url=sim.url,
        client_id=sim.client_id,
        customer="Harbour" if name.startswith("healthy") else "",
        ca_file=sim.ca_file,
    )
    return FleetTarget(replace(profile, **changes), sim.client_secret)  # type: ignore[arg-type]


@pytest.fixture
async def garbage_server() -> AsyncIterator[str]:
    """Something at the address that answers every request with a web page, not 3CX's API."""

    async def page(_: web.Request) -> web.Response:
        return web.Response(text="<html><body>Router login</body></html>", content_type="text/html")

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", page)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    yield f"http://127.0.0.1:{port}"
    await runner.cleanup()


def by_name(rows: tuple[FleetRow, ...]) -> dict[str, FleetRow]:
    return {row.name: row for row in rows}


async def test_each_pbx_is_named_by_its_first_failing_cause_and_bad_input_is_a_row(
    make_sim: SimFactory, garbage_server: str
) -> None:
    sims = {name: await make_sim(tls=True, faults=faults) for name, (faults, _) in PRESETS.items()}
    targets = [target_of(name, sim) for name, sim in sims.items()]
    nowhere = ConnectionProfile(
        id="id-nowhere", name="nowhere", url="https://pbx.invalid:5001", client_id="900"
    )
    garbage = ConnectionProfile(id="id-garbage", name="garbage", url=garbage_server, client_id="9")
    no_key = ConnectionProfile(
        id="id-nokey", name="no key", url=sims["healthy-a"].url, client_id="9"
    )
    targets += [
        FleetTarget(nowhere, "k" * 32),
        FleetTarget(garbage, "k" * 32),
        FleetTarget(no_key, key_problem="No key is stored for no key in Secret Service."),
    ]
    heard: list[SweepProgress] = []

    result = await sweep(
        targets, SETTINGS, known_certificates=KnownCertificates(), on_progress=heard.append
    )

    rows = by_name(result.rows)
    assert [row.name for row in result.rows] == [t.profile.name for t in targets]
    for name, (_, cause) in PRESETS.items():
        diagnosis = rows[name].diagnosis
        assert diagnosis is not None, name
        assert diagnosis.first_failure is cause, name
    assert rows["healthy-a"].outcome in (CheckStatusSummary.PASS, CheckStatusSummary.WARN)
    assert rows["key"].outcome is CheckStatusSummary.UNREACHABLE
    # Bad input: each a row with a finding that says what is wrong, never an exception.
    assert rows["nowhere"].outcome is CheckStatusSummary.UNREACHABLE
    assert rows["nowhere"].finding.startswith("Unreachable: ")
    assert "pbx.invalid" in rows["nowhere"].finding
    assert rows["garbage"].outcome is CheckStatusSummary.UNREACHABLE
    assert rows["garbage"].diagnosis is not None
    assert rows["no key"].outcome is CheckStatusSummary.NEVER
    assert rows["no key"].diagnosis is None
    assert "No key is stored" in rows["no key"].finding
    assert not rows["no key"].reached and not rows["nowhere"].reached
    assert sims["retention"].client_secret not in repr(targets[5]) + repr(rows["retention"])
    # One progress report per PBX, counting up to the total.
    assert [p.done for p in heard] == list(range(1, len(targets) + 1))
    assert {p.row.name for p in heard} == set(rows)

    # The same doctor on one PBX alone gives the same seven verdicts.
    alone = await Doctor(
        connection_params(targets[5].profile),
        sims["retention"].client_secret,
        SETTINGS.options,
        known_certificates=KnownCertificates(),
    ).run()
    swept = rows["retention"].diagnosis
    assert swept is not None
    assert [r.status for r in alone.checks] == [r.status for r in swept.checks]
    assert alone.first_failure is swept.first_failure is CheckId.RETENTION


async def test_a_hung_pbx_holds_up_no_other_and_cancelling_stops_every_doctor(
    make_sim: SimFactory,
) -> None:
    """Two PBXs that never answer (each with a long time limit) and a healthy one behind them:
    the healthy one finishes first; cancelling the sweep then ends the two still waiting."""
    hung = [await make_sim(tls=True, faults=["hang"]) for _ in range(2)]
    healthy = await make_sim(tls=True)
    targets = [target_of(f"hung-{n}", sim) for n, sim in enumerate(hung)]
    targets.append(target_of("healthy-a", healthy))
    finished: list[FleetRow] = []

    def heard(progress: SweepProgress) -> None:
        finished.append(progress.row)
        task.cancel()

    task = asyncio.create_task(
        sweep(targets, SweepSettings(concurrency=3, deadline_s=600), on_progress=heard)
    )
    with pytest.raises(asyncio.CancelledError):
        await task
    assert [row.name for row in finished] == ["healthy-a"]
    assert finished[0].diagnosis is not None
    assert finished[0].diagnosis.first_failure is None


def test_concurrency_below_one_is_refused() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        SweepSettings(concurrency=0)


async def test_each_pbx_is_swept_over_a_few_kept_alive_connections_and_one_sign_in(
    make_sim: SimFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A doctor run and the monitored list after it share one pool and one token: the simulated
    PBXs accept at most the pool's connections and the probe's per PBX (counted where they
    accept them), and the verdicts and the list are what the doctor alone and a sign-in of its
    own give."""
    sims = {
        "healthy-a": await make_sim(tls=True),
        "retention": await make_sim(tls=True, faults=["retention-deleted"]),
    }
    accepted = [0]
    wrap = ssl.SSLContext.wrap_bio

    def counted(self: ssl.SSLContext, *args: Any, **kwargs: Any) -> ssl.SSLObject:
        accepted[0] += bool(kwargs.get("server_side"))
        return wrap(self, *args, **kwargs)

    tokens = [0]
    for sim in sims.values():
        issue = sim.tokens.issue

        def issued(*args: Any, issue: Callable[..., Any] = issue, **kwargs: Any) -> Any:
            tokens[0] += 1
            return issue(*args, **kwargs)

        monkeypatch.setattr(sim.tokens, "issue", issued)
    targets = [target_of(name, sim) for name, sim in sims.items()]
    settings = SweepSettings(concurrency=2, deadline_s=30)

    with monkeypatch.context() as patched:
        patched.setattr(ssl.SSLContext, "wrap_bio", counted)
        result = await sweep(targets, settings)

    assert len(sims) <= accepted[0] <= len(sims) * (settings.connections_per_pbx + 1)
    assert tokens[0] == len(sims)
    rows = by_name(result.rows)
    for name, sim in sims.items():
        alone = await Doctor(
            connection_params(targets[0 if name == "healthy-a" else 1].profile),
            sim.client_secret,
            settings.options,
        ).run()
        swept = rows[name].diagnosis
        assert swept is not None
        assert [r.status for r in swept.checks] == [r.status for r in alone.checks], name
        assert swept.first_failure is alone.first_failure, name
        params = connection_params(targets[0 if name == "healthy-a" else 1].profile)
        assert rows[name].monitored == await monitored_dns(params, sim.client_secret), name
    assert rows["retention"].diagnosis is not None
    assert rows["retention"].diagnosis.first_failure is CheckId.RETENTION
    assert rows["healthy-a"].monitored  # read on the doctor's own client


async def test_a_kept_client_is_closed_by_the_caller_and_never_kept_after_a_failed_sign_in(
    make_sim: SimFactory,
) -> None:
    healthy, refused = await make_sim(tls=True), await make_sim(tls=True, faults=["bad-key"])
    doctor = Doctor(
        connection_params(target_of("a", healthy).profile), healthy.client_secret, keep_client=True
    )
    await doctor.run()
    assert doctor.kept_client is not None
    await doctor.aclose()
    assert doctor.kept_client is None
    doctor = Doctor(
        connection_params(target_of("b", refused).profile), refused.client_secret, keep_client=True
    )
    diagnosis = await doctor.run()
    assert diagnosis.first_failure is CheckId.REACHABILITY
    assert doctor.kept_client is None
