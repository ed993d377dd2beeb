"""The doctor pane meets a PBX whose certificate the saved connection does not trust.

The simulator's certificate comes from a private CA the connection was not given: the
reachability check fails on it, the pane shows the certificate to trust, and trusting it saves
the pin on the connection and runs the doctor again, which then gets through. Real TLS, a real
store (keys in memory for the session), the real pane.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

from app.domain.connection import ConnectionProfile
from app.domain.diagnosis import CheckId, CheckStatus
from app.services.connections.store import ConnectionStore
from app.services.session import PbxSession
from app.sim import Simulator
from app.ui.context import UiContext
from app.ui.doctor.pane import DoctorPane
from tests.support.waiting import until
from tests.ui.conftest import profile_for
from tests.ui.doctor.test_pane import RUN_TIMEOUT_S, make_pane, run_to_end, screen_text

RAW_SSL = ("CERTIFICATE_VERIFY_FAILED", "_ssl.c", "[SSL")
BLAMES_THE_KEY = ("did not accept the key", "refused the key", "rejected the client id or key")


@dataclass
class Untrusted:
    pane: DoctorPane
    store: ConnectionStore
    profile: ConnectionProfile
    session: PbxSession


@contextlib.asynccontextmanager
async def untrusted_doctor(
    ui: UiContext, sim: Simulator, tmp_path: Path
) -> AsyncIterator[Untrusted]:
    """The simulator saved with no CA file; the doctor pane given the store and its session."""
    store = await ConnectionStore.open()
    store.use_session_only()
    profile = await store.add(profile_for(sim, ca_file=None), sim.client_secret)
    session = await store.open_session(profile.id)
    pane = make_pane(ui, tmp_path)
    pane.trust.store = store
    pane.set_session(session)
    try:
        yield Untrusted(pane, store, profile, session)
    finally:
        await pane.aclose()
        await session.aclose()


async def offered(pane: DoctorPane) -> None:
    await until(lambda: pane.trust.panel.isVisibleTo(pane), "the certificate panel", RUN_TIMEOUT_S)


async def test_the_doctor_offers_the_certificate_and_trusting_it_passes_reachability(
    ui: UiContext, sim: Simulator, tmp_path: Path
) -> None:
    async with untrusted_doctor(ui, sim, tmp_path) as opened:
        pane, store = opened.pane, opened.store
        first = await run_to_end(pane)
        assert first.result(CheckId.REACHABILITY).status is CheckStatus.FAIL
        await offered(pane)
        panel = pane.trust.panel
        assert panel.trust_button.isEnabled() and not panel.warnings.isVisibleTo(panel)
        fingerprint = panel.fingerprint.text().replace("\n", ":").replace(":", "").lower()
        assert len(fingerprint) == 64 and panel.subject.text()
        shown = f"{panel.what.text()}\n{screen_text(panel)}".lower()
        assert not any(raw.lower() in shown for raw in RAW_SSL), shown
        assert not any(blame in shown for blame in BLAMES_THE_KEY), shown
        panel.details_toggle.click()
        assert "unable to get local issuer certificate" in panel.details.text()

        saved: list[ConnectionProfile] = []
        pane.trustSaved.connect(saved.append)
        runs: list[object] = []
        pane.diagnosed.connect(runs.append)
        panel.trust_button.click()
        await until(lambda: bool(runs), "the doctor run again", RUN_TIMEOUT_S)
        await until(lambda: not pane.running, "the second run's end", RUN_TIMEOUT_S)

        again = pane.diagnosis
        assert again is not None and again is not first
        assert again.result(CheckId.REACHABILITY).status is not CheckStatus.FAIL
        assert not panel.isVisibleTo(pane)
        stored = store.get(opened.profile.id)
        assert stored is not None and stored.pin_sha256 == fingerprint
        assert stored.ca_file is None and saved == [stored]
        assert opened.session.secret not in screen_text(pane)


async def test_a_ca_file_chosen_in_the_doctor_is_saved_and_gets_through(
    ui: UiContext, sim: Simulator, tmp_path: Path
) -> None:
    async with untrusted_doctor(ui, sim, tmp_path) as opened:
        pane = opened.pane
        await run_to_end(pane)
        await offered(pane)
        assert sim.ca_file is not None
        await pane.trust.save_trust(ca_file=sim.ca_file)  # what "Choose CA file…" ends with
        await until(lambda: pane.running, "the doctor run again", RUN_TIMEOUT_S)
        assert pane._task is not None
        again = await asyncio.wait_for(pane._task, RUN_TIMEOUT_S)
        assert again is not None
        assert again.result(CheckId.REACHABILITY).status is not CheckStatus.FAIL
        stored = opened.store.get(opened.profile.id)
        assert stored is not None and stored.ca_file == sim.ca_file and stored.pin_sha256 is None


async def test_a_reopened_connection_runs_again_with_the_pin(
    ui: UiContext, sim: Simulator, tmp_path: Path
) -> None:
    """The window may reopen the connection when the trust is saved: the run starts again."""
    async with untrusted_doctor(ui, sim, tmp_path) as opened:
        pane, store = opened.pane, opened.store
        reopened: list[PbxSession] = []

        def reopen(saved: ConnectionProfile) -> None:
            pane.set_session(None)
            reopened.append(PbxSession(saved, opened.session.secret))
            pane.set_session(reopened[0])

        pane.trustSaved.connect(reopen)
        await run_to_end(pane)
        await offered(pane)
        pane.trust.panel.trust_button.click()
        await until(lambda: bool(reopened) and pane.running, "the run on the reopened session")
        assert pane._task is not None
        again = await asyncio.wait_for(pane._task, RUN_TIMEOUT_S)
        assert again is not None
        assert again.result(CheckId.REACHABILITY).status is not CheckStatus.FAIL
        assert reopened[0].profile == store.get(opened.profile.id)
        await reopened[0].aclose()


async def test_without_a_store_nothing_is_offered(
    ui: UiContext, sim: Simulator, tmp_path: Path
) -> None:
    pane = make_pane(ui, tmp_path)
    session = PbxSession(profile_for(sim, ca_file=None), sim.client_secret)
    pane.set_session(session)
    try:
        diagnosis = await run_to_end(pane)
        assert diagnosis.result(CheckId.REACHABILITY).status is CheckStatus.FAIL
        await asyncio.sleep(0.5)
        assert not pane.trust.panel.isVisibleTo(pane)
    finally:
        await pane.aclose()
        await session.aclose()
