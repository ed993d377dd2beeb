"""The key rotation dialog against a real simulated PBX, with keys in a real store.

Every rotation goes through ``ConnectionStore.rotate_key`` and the simulator's own sign-in:
a pasted key the PBX generated, a wrong key, and a key generated through the admin API.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from html import escape

import pytest
from keyring.backend import KeyringBackend
from PySide6.QtWidgets import QLineEdit, QWidget

from app.domain.causes.api_answers import KEY_FIX
from app.domain.clock import utc_now
from app.domain.connection import ConnectionProfile
from app.services.connections.store import ConnectionStore
from app.services.session import connection_params
from app.services.settings.file import save_settings
from app.services.setup.capabilities import verify_capabilities
from app.sim import Simulator
from app.sim.config import SimConfig
from app.threecx.v20.admin import admin_sign_in
from app.ui.connections.key_rotation_dialog import KeyRotationDialog
from app.ui.context import UiContext
from app.ui.dialogs import run_dialog
from tests.conftest import SimFactory
from tests.support.screenshots import distinct_colours, render_fitting
from tests.support.waiting import until
from tests.support.widget_text import visible_texts
from tests.support.xvfb import XvfbDisplay
from tests.ui.conftest import profile_for

WRONG_KEY = "Wr0ngKeyWr0ngKeyWr0ngKey1234"


@dataclass
class Opened:
    dialog: KeyRotationDialog
    task: asyncio.Task[int]
    store: ConnectionStore
    profile: ConnectionProfile


async def saved_store(
    sim: Simulator, *, session_only: bool = True, key_age_days: int = 0
) -> ConnectionStore:
    """A store with the simulator saved as a connection (keys in memory or the Secret
    Service); with ``key_age_days`` the key was stored that long ago (Secret Service only)."""
    store = await ConnectionStore.open()
    if session_only:
        store.use_session_only()
    profile = await store.add(profile_for(sim), sim.client_secret)
    if key_age_days:
        assert not session_only, "a key in memory does not outlive its store"
        aged = dataclasses.replace(profile, key_rotated_at=utc_now() - timedelta(days=key_age_days))
        await asyncio.to_thread(save_settings, store.settings.with_connection(aged), store.path)
        store = await ConnectionStore.open()
    assert await store.secret(profile.id) == sim.client_secret
    return store


async def open_dialog(ui: UiContext, store: ConnectionStore, host: QWidget) -> Opened:
    profile = store.connections()[0]
    dialog = KeyRotationDialog(ui, store, profile, host)
    task = ui.tasks.start(run_dialog(dialog), name="rotation dialog")
    await until(dialog.isVisible, "the rotation dialog")
    return Opened(dialog, task, store, profile)


@contextlib.asynccontextmanager
async def rotation_dialog(
    ui: UiContext, sim: Simulator, *, session_only: bool = True, key_age_days: int = 0
) -> AsyncIterator[Opened]:
    host = QWidget()
    store = await saved_store(sim, session_only=session_only, key_age_days=key_age_days)
    opened = await open_dialog(ui, store, host)
    try:
        yield opened
    finally:
        if opened.dialog.isVisible():
            opened.dialog.done(0)
        await opened.task
        host.deleteLater()


async def generate_in_console(sim: Simulator) -> str:
    """What the engineer does in the 3CX admin console: regenerate the API client's key."""
    async with await admin_sign_in(
        sim.url,
        sim.admin_username,
        sim.admin_password,
        tls=connection_params(profile_for(sim)).tls,
    ) as admin:
        principal = next(p for p in await admin.service_principals() if p.number == sim.client_id)
        return await admin.generate_app_token(principal.id)


async def signs_in(sim: Simulator, key: str) -> bool:
    report = await verify_capabilities(connection_params(profile_for(sim)), key)
    return report.key_accepted


async def finished(dialog: KeyRotationDialog) -> None:
    await until(
        lambda: not dialog._busy and dialog.outcome.isVisible(), "the rotation's outcome", 20
    )


@pytest.fixture
async def sim(make_sim: SimFactory) -> Simulator:
    return await make_sim(tls=True)


async def test_a_pasted_key_is_checked_then_replaces_the_old_one(
    ui: UiContext, sim: Simulator
) -> None:
    old_key = sim.client_secret
    async with rotation_dialog(ui, sim) as opened:
        dialog, store = opened.dialog, opened.store
        assert "set today" in dialog.age.text() and "⚠" not in dialog.age.text()
        rotated: list[ConnectionProfile] = []
        dialog.rotated.connect(rotated.append)
        new_key = await generate_in_console(sim)
        assert dialog.key_edit.echoMode() == QLineEdit.EchoMode.Password
        dialog.key_edit.setText(f"  {new_key}\n")  # pasted with stray whitespace
        dialog.rotate_button.click()
        await finished(dialog)

        assert dialog.rotation is not None
        assert await store.secret(opened.profile.id) == new_key
        saved = store.get(opened.profile.id)
        assert saved is not None and saved.key_rotated_at is not None
        assert utc_now() - saved.key_rotated_at < timedelta(minutes=5)
        assert rotated == [saved]
        result = dialog.outcome.text()
        assert "New key in use since" in result
        assert "every bridge" in result.lower() and "401" in result
        assert all(check.ok is not False for check in dialog.rotation.report.checks)
        assert not dialog.rotate_button.isVisible()
        assert not await signs_in(sim, old_key)  # 3CX retired it when it made the new one
        shown = " ".join(seen.text for seen in visible_texts(dialog))
        assert new_key not in shown and old_key not in shown


async def test_a_rejected_key_leaves_the_old_one_in_place_and_says_what_to_do(
    ui: UiContext, sim: Simulator
) -> None:
    old_key = sim.client_secret
    async with rotation_dialog(ui, sim) as opened:
        dialog, store = opened.dialog, opened.store
        dialog.key_edit.setText(WRONG_KEY)
        dialog.rotate_button.click()
        await finished(dialog)

        assert dialog.rotation is None
        assert await store.secret(opened.profile.id) == old_key
        assert await signs_in(sim, old_key)
        saved = store.get(opened.profile.id)
        assert saved is not None and saved.key_rotated_at == opened.profile.key_rotated_at
        result = dialog.outcome.text()
        assert "The PBX rejected the new key" in result
        assert "Your old key is still in place" in result
        assert escape(KEY_FIX, quote=False) in result  # the report's own fix, word for word
        assert dialog.checks_box.isVisible()
        # Nothing is lost: the engineer can paste another key and try again.
        assert dialog.rotate_button.isEnabled() and dialog.key_edit.isEnabled()
        assert dialog.isVisible()


async def test_a_key_that_cannot_fetch_recordings_is_refused_with_the_role_fix(
    ui: UiContext, sim: Simulator
) -> None:
    async with rotation_dialog(ui, sim) as opened:
        dialog, store = opened.dialog, opened.store
        new_key = await generate_in_console(sim)
        stored_before = await store.secret(opened.profile.id)
        sim.faults.enable("missing-recording-role")
        dialog.key_edit.setText(new_key)
        dialog.rotate_button.click()
        await finished(dialog)

        assert await store.secret(opened.profile.id) == stored_before
        result = dialog.outcome.text()
        assert "signs in, but" in result and "Recording Manager" in result
        assert "Your old key is still in place" in result


async def test_bad_input_is_named_without_a_round_trip(ui: UiContext, sim: Simulator) -> None:
    async with rotation_dialog(ui, sim) as opened:
        dialog = opened.dialog
        dialog.key_edit.setText("   ")
        dialog.rotate_button.click()
        assert dialog.key_error.isVisible() and dialog.key_error.text().startswith("API key:")
        dialog.generate_choice.setChecked(True)
        dialog.username_edit.setText(sim.admin_username)
        dialog.rotate_button.click()
        assert "Password" in dialog.admin_error.text() and dialog.admin_error.isVisible()
        assert not dialog._busy and ui.tasks.running == 1  # only the dialog itself


async def test_presenter_mode_never_reveals_the_key(ui: UiContext, sim: Simulator) -> None:
    async with rotation_dialog(ui, sim) as opened:
        dialog = opened.dialog
        dialog.key_edit.setText(WRONG_KEY)
        dialog.reveal_button.setChecked(True)
        assert dialog.key_edit.echoMode() == QLineEdit.EchoMode.Normal
        ui.presenter.set_enabled(True)
        assert dialog.key_edit.echoMode() == QLineEdit.EchoMode.Password
        assert not dialog.reveal_button.isEnabled() and not dialog.reveal_button.isChecked()
        assert WRONG_KEY not in " ".join(seen.text for seen in visible_texts(dialog))


@pytest.mark.keyring
async def test_generate_on_the_pbx_signs_in_as_admin_and_never_shows_the_key(
    ui: UiContext, sim: Simulator, keyring_backend: KeyringBackend
) -> None:
    old_key = sim.client_secret
    async with rotation_dialog(ui, sim, session_only=False, key_age_days=200) as opened:
        dialog, store = opened.dialog, opened.store
        assert store.key_backend == "Secret Service"
        assert "set 200 days ago" in dialog.age.text() and "⚠" in dialog.age.text()
        dialog.generate_choice.setChecked(True)
        dialog.username_edit.setText(sim.admin_username)
        dialog.password_edit.setText(sim.admin_password)
        dialog.rotate_button.click()
        assert dialog.password_edit.text() == ""  # used once, gone from the form at once
        await finished(dialog)

        new_key = sim.client_secret  # what the PBX generated
        assert new_key != old_key and dialog.rotation is not None
        assert await store.secret(opened.profile.id) == new_key
        assert not await signs_in(sim, old_key) and await signs_in(sim, new_key)
        result = dialog.outcome.text()
        assert "retired the old key" in result and "401" in result
        assert "set today" in dialog.age.text() and "⚠" not in dialog.age.text()
        shown = " ".join(seen.text for seen in visible_texts(dialog))
        assert new_key not in shown and sim.admin_password not in shown
        await store.remove(opened.profile.id)


async def test_a_wrong_admin_password_changes_nothing(ui: UiContext, sim: Simulator) -> None:
    old_key = sim.client_secret
    async with rotation_dialog(ui, sim) as opened:
        dialog, store = opened.dialog, opened.store
        dialog.generate_choice.setChecked(True)
        dialog.username_edit.setText(sim.admin_username)
        dialog.password_edit.setText("not-the-password")
        dialog.rotate_button.click()
        await until(dialog.admin_error.isVisible, "the sign-in error", 20)
        assert not dialog._busy
        assert await store.secret(opened.profile.id) == old_key == sim.client_secret
        assert dialog.rotation is None and dialog.rotate_button.isEnabled()


async def test_a_generated_key_missing_a_role_is_kept_because_the_old_one_died(
    ui: UiContext, sim: Simulator
) -> None:
    async with rotation_dialog(ui, sim) as opened:
        dialog, store = opened.dialog, opened.store
        sim.faults.enable("missing-history-role")
        dialog.generate_choice.setChecked(True)
        dialog.username_edit.setText(sim.admin_username)
        dialog.password_edit.setText(sim.admin_password)
        dialog.rotate_button.click()
        await finished(dialog)
        await until(lambda: "saved anyway" in dialog.outcome.text(), "the generated key kept")

        assert await store.secret(opened.profile.id) == sim.client_secret
        result = dialog.outcome.text()
        assert "Reports User" in result and "no longer works" in result
        assert "still in place" not in result


# ---- screenshots ---------------------------------------------------------------------------


async def _scene(stack: contextlib.AsyncExitStack, ui: UiContext, key: str | None) -> QWidget:
    sim = Simulator(SimConfig(tls=True, calls_per_minute=0, recording_delay_s=0.2))
    await sim.start()
    stack.push_async_callback(sim.stop)
    store = await saved_store(sim)
    host = QWidget()
    host.resize(900, 700)
    stack.callback(host.deleteLater)
    dialog = KeyRotationDialog(ui, store, store.connections()[0], host)
    dialog.show()
    dialog.key_edit.setText(key or await generate_in_console(sim))
    dialog.rotate_button.click()
    await finished(dialog)
    return dialog


async def rejected_scene(stack: contextlib.AsyncExitStack, ui: UiContext) -> QWidget:
    return await _scene(stack, ui, WRONG_KEY)


async def rotated_scene(stack: contextlib.AsyncExitStack, ui: UiContext) -> QWidget:
    return await _scene(stack, ui, None)


@pytest.mark.display
@pytest.mark.parametrize("large", [False, True])
@pytest.mark.parametrize("scene", ["rejected_scene", "rotated_scene", "generate_scene"])
def test_screenshots_of_the_rotation_dialog(
    xvfb_display: XvfbDisplay, scene: str, large: bool
) -> None:
    """At its own size, in both type sizes: it grows, and past the screen it scrolls, so no
    check, outcome or hint is cut."""
    name = "key-rotation-" + scene.removesuffix("_scene") + ("-large" if large else "")
    png = render_fitting(
        xvfb_display,
        f"tests.ui.connections.test_key_rotation_dialog:{scene}",
        name,
        large=large,
        size="native",
    )
    assert distinct_colours(png) > 10


async def generate_scene(stack: contextlib.AsyncExitStack, ui: UiContext) -> QWidget:
    """The admin sign-in form, filled in, before anything is sent."""
    sim = Simulator(SimConfig(tls=True, calls_per_minute=0))
    await sim.start()
    stack.push_async_callback(sim.stop)
    store = await saved_store(sim)
    host = QWidget()
    stack.callback(host.deleteLater)
    dialog = KeyRotationDialog(ui, store, store.connections()[0], host)
    dialog.show()
    dialog.generate_choice.setChecked(True)
    dialog.username_edit.setText(sim.admin_username)
    dialog.password_edit.setText(sim.admin_password)
    return dialog


async def test_an_untrusted_certificate_is_offered_not_blamed_on_the_key(
    ui: UiContext, make_sim: SimFactory
) -> None:
    """The connection was saved without the simulator's private CA: the new key is never sent,
    the dialog shows the certificate, and trusting it pins it and rotates the key."""
    sim = await make_sim(tls=True)
    host = QWidget()
    store = await ConnectionStore.open()
    store.use_session_only()
    saved = await store.add(profile_for(sim, ca_file=None), sim.client_secret)
    opened = await open_dialog(ui, store, host)
    dialog, old_key = opened.dialog, sim.client_secret
    try:
        new_key = await generate_in_console(sim)
        dialog.key_edit.setText(new_key)
        dialog.rotate_button.click()
        await finished(dialog)
        panel = dialog.trust_panel
        assert panel.isVisibleTo(dialog) and panel.trust_button.isEnabled()
        assert not panel.ca_button.isVisibleTo(dialog)
        shown = "\n".join(seen.text for seen in visible_texts(dialog)).lower()
        for blame in ("rejected the new key", "did not accept the key", "refused the key"):
            assert blame not in shown, shown
        assert "certificate_verify_failed" not in shown and "not been tried" in shown
        assert await store.secret(saved.id) == old_key  # the old key stays

        panel.trust_button.click()
        await until(lambda: dialog.rotation is not None, "the rotation after the pin", 20)
        pinned = store.get(saved.id)
        assert pinned is not None and pinned.pin_sha256 and pinned.ca_file is None
        assert (
            dialog.rotation is not None and dialog.rotation.profile.pin_sha256 == pinned.pin_sha256
        )
        assert await store.secret(saved.id) == new_key
        assert not panel.isVisibleTo(dialog)
    finally:
        dialog.done(0)
        await opened.task
        host.deleteLater()
