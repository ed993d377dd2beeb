"""The guided setup, driven end to end on a healthy simulator: both ways of making the API user.

Real widgets on the qasync loop, the simulator over real TLS, and the real Secret Service where
the test is about where the key ends up.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
from keyring.backend import KeyringBackend
from PySide6.QtWidgets import QLineEdit, QMessageBox

from app.services.connections.store import ConnectionStore
from app.services.settings.file import settings_path
from app.sim import Simulator
from app.ui.context import UiContext
from app.ui.setup.step import StepStatus
from app.ui.setup.wizard import SetupWizard
from tests.conftest import SimFactory
from tests.support.waiting import until
from tests.support.widget_text import digit_runs, visible_texts
from tests.ui.setup.test_wizard_driver import (
    STEP_S,
    admin_sign_in,
    at_admin_sign_in,
    checklist_text,
    enter_address,
    line_edit_texts,
    message,
    paste_key,
    press_next,
    session_store,
    settled,
    to_verified,
    wizard_on,
)


async def finish_from_verified(wizard: SetupWizard) -> None:
    """Steps 6 to 9 on a healthy PBX, then Save."""
    await press_next(wizard, wizard.reachability)
    await settled(wizard.reachability)
    await press_next(wizard, wizard.recording_audit)
    await settled(wizard.recording_audit)
    await press_next(wizard, wizard.contacts)
    await settled(wizard.contacts)
    await press_next(wizard, wizard.finish)
    wizard.finish.save_button.click()
    await settled(wizard.finish)
    assert wizard.ctx.saved, message(wizard.finish)


@pytest.mark.keyring
async def test_guided_path_saves_a_connection_whose_key_is_only_in_the_keyring(
    ui: UiContext, sim: Simulator, keyring_backend: KeyringBackend
) -> None:
    store = await ConnectionStore.open()
    assert not store.session_only and store.key_backend == "Secret Service"
    finished: list[str] = []
    async with wizard_on(ui, store) as wizard:
        wizard.finished.connect(finished.append)
        assert not wizard.next_button.isEnabled()  # nothing pasted yet
        assert "Paste the PBX address" in wizard.blocked_label.text()
        await enter_address(wizard, sim)
        assert wizard.address.status is StepStatus.OK
        assert wizard.ctx.detection is not None and wizard.ctx.detection.generation == "v20"
        assert "20.0.10.1116" in wizard.address.version_value.text()

        await press_next(wizard, wizard.api_user)
        assert wizard.api_user.guided_radio.isChecked()
        guided = wizard.api_user.guided_text()
        assert "Integrations" in guided and "Reports User" in guided
        assert "Recording Manager" in guided and "shown only once" in guided

        await press_next(wizard, wizard.key)
        assert not wizard.next_button.isEnabled()  # no key yet
        await paste_key(wizard, sim.client_id, f"  {sim.client_secret}\n")
        assert wizard.key.key_edit.text() == ""  # out of the widget once stored
        assert sim.client_secret not in line_edit_texts(wizard)
        staged = await store.staged_key(wizard.ctx.connection_id)
        assert staged == sim.client_secret  # trimmed, in the Secret Service
        assert keyring_backend.get_password("pbx-companion", wizard.ctx.connection_id) == staged

        await press_next(wizard, wizard.verify)
        await settled(wizard.verify)
        results = wizard.verify.checklist.results
        assert results["token"].text() == "Pass"
        assert results["call_history"].text() == "Pass"
        assert results["recording_list"].text() == "Pass"
        assert wizard.verify.status is StepStatus.OK

        await finish_from_verified(wizard)
        assert wizard.finish.name_edit.text() == "127.0.0.1"  # prefilled from the PBX address
        connection_id = wizard.ctx.connection_id
        assert wizard.next_button.text() == "Done"
        wizard.next_button.click()
        assert finished == [connection_id]

    saved = store.get(connection_id)
    assert saved is not None and saved.client_id == sim.client_id and saved.url == sim.url
    assert saved.ca_file == sim.ca_file and saved.version == "20.0.10.1116"
    assert await store.secret(connection_id) == sim.client_secret
    settings_text = await asyncio.to_thread(settings_path().read_text, "utf-8")
    assert connection_id in settings_text
    assert sim.client_secret not in settings_text
    await store.remove(connection_id)


async def test_automatic_path_creates_the_api_client_and_never_shows_its_key(
    ui: UiContext, sim: Simulator
) -> None:
    store = await session_store()
    async with wizard_on(ui, store) as wizard:
        await enter_address(wizard, sim)
        await press_next(wizard, wizard.api_user)
        step = wizard.api_user
        assert step.automatic_radio.isEnabled()
        await admin_sign_in(wizard, sim)
        assert step.signed_in, message(step)
        assert step.client_id_edit.text() == "901"  # 900 is taken by the existing client
        assert sim.admin_password not in " ".join(line_edit_texts(wizard))

        step.create_button.click()
        await settled(step)
        assert step.status is StepStatus.OK, message(step)
        # The app finished the job: department, role and the extensions to monitor.
        assert message(step).startswith("Done: client 901 in department ")
        assert "role System Owner, monitoring " in message(step)
        assert "Left by hand" not in message(step)
        assert wizard.ctx.key_origin == "created" and wizard.ctx.client_id == "901"
        assert not step.signed_in  # signed out once the key was stored
        key = await store.staged_key(wizard.ctx.connection_id)
        assert key is not None
        principal = sim.principal_by_number("901")
        assert principal is not None and principal["_secret"] == key
        seen = " ".join(t.text for t in visible_texts(step)) + " ".join(line_edit_texts(wizard))
        assert key not in seen and sim.admin_password not in seen

        await press_next(wizard, wizard.key)
        assert wizard.key.client_id_edit.text() == "901"
        assert "created by the app" in wizard.key.key_state.text()
        await press_next(wizard, wizard.verify)
        await settled(wizard.verify)
        assert wizard.ctx.capabilities_green, checklist_text(wizard.verify)
        await finish_from_verified(wizard)
        connection_id = wizard.ctx.connection_id
    assert await store.secret(connection_id) == key
    assert store.get(connection_id) is not None
    settings_text = await asyncio.to_thread(settings_path().read_text, "utf-8")
    assert connection_id in settings_text and key not in settings_text
    assert sim.admin_password not in settings_text


async def test_a_refused_role_is_named_as_left_by_hand_and_the_key_is_kept(
    ui: UiContext, make_sim: SimFactory
) -> None:
    sim = await make_sim(
        tls=True,
        faults=["departments=Main office:12,Support:3", "api-client-settings-refused=role"],
    )
    store = await session_store()
    async with wizard_on(ui, store) as wizard:
        await at_admin_sign_in(wizard, sim)
        step = wizard.api_user
        step.create_button.click()
        await settled(step)
        said = message(step)
        assert step.status is StepStatus.WARN, said
        assert "Done: client 901 in department Main office" in said
        assert "Left by hand: Role (refused by the PBX: HTTP 403)" in said
        assert "set Role to System Owner" in said
        assert "9 extensions in other departments (6 in DEFAULT and 3 in Support)" in said
        assert step.summary() == "API client 901 created automatically; left by hand: Role."
        assert wizard.ctx.key_staged  # the key is kept: the role is one edit away


async def test_wrong_admin_password_is_named_and_not_kept(ui: UiContext, sim: Simulator) -> None:
    store = await session_store()
    async with wizard_on(ui, store) as wizard:
        await at_admin_sign_in(wizard, sim, password="not-the-password")
        step = wizard.api_user
        assert not step.signed_in
        assert step.status is StepStatus.FAIL
        assert "rejected the admin sign-in" in message(step)
        assert step.password_edit.text() == ""


async def test_a_taken_client_id_gets_a_clear_message(ui: UiContext, sim: Simulator) -> None:
    store = await session_store()
    async with wizard_on(ui, store) as wizard:
        await at_admin_sign_in(wizard, sim)
        step = wizard.api_user
        step.client_id_edit.setText(sim.client_id)  # 900: the existing client's
        step.create_button.click()
        await settled(step)
        assert "already used" in message(step)
        assert not wizard.ctx.key_staged
        assert step.signed_in  # still signed in, to try another number


async def test_cancel_removes_the_staged_key(ui: UiContext, sim: Simulator) -> None:
    store = await session_store()
    cancelled: list[bool] = []
    async with wizard_on(ui, store) as wizard:
        wizard.cancelled.connect(lambda: cancelled.append(True))
        await enter_address(wizard, sim)
        await press_next(wizard, wizard.api_user)
        await press_next(wizard, wizard.key)
        await paste_key(wizard, sim.client_id, sim.client_secret)
        connection_id = wizard.ctx.connection_id
        assert await store.staged_key(connection_id) == sim.client_secret
        assert await wizard.cancel_setup()
        assert cancelled == [True]
    assert await store.staged_key(connection_id) is None
    assert await store.secret(connection_id) is None
    assert store.get(connection_id) is None


async def test_key_field_names_a_broken_paste_and_hides_show_in_presenter_mode(
    ui: UiContext, sim: Simulator
) -> None:
    store = await session_store()
    async with wizard_on(ui, store) as wizard:
        await enter_address(wizard, sim)
        await press_next(wizard, wizard.api_user)
        await press_next(wizard, wizard.key)
        step = wizard.key
        assert step.key_edit.echoMode() is QLineEdit.EchoMode.Password
        assert step.reveal_button.isVisible()
        ui.presenter.set_enabled(True)
        assert not step.reveal_button.isVisible()
        ui.presenter.set_enabled(False)

        await paste_key(wizard, sim.client_id, "abc def")
        assert "API key" in message(step) and "space or line break inside" in message(step)
        assert "abc" not in message(step)  # the key is never echoed
        assert not wizard.ctx.key_staged and not wizard.next_button.isEnabled()

        await paste_key(wizard, "", sim.client_secret)
        assert "Client ID" in message(step)
        assert not wizard.ctx.key_staged


async def test_address_is_normalised_and_bad_input_is_named(ui: UiContext, sim: Simulator) -> None:
    store = await session_store()
    async with wizard_on(ui, store) as wizard:
        step = wizard.address
        step.address_edit.setText("pbx example.com")
        assert "contains spaces" in step.preview.text()
        assert not wizard.next_button.isEnabled()
        step.address_edit.setText("PBX.Example.com:5001/#/office/dashboard")
        assert step.preview.text() == "Connects to https://pbx.example.com:5001"
        assert wizard.next_button.isEnabled()
        assert not wizard.reachable(1)  # later steps wait for the address


async def test_presenter_mode_masks_numbers_and_names_in_the_tables(
    ui: UiContext, make_sim: SimFactory
) -> None:
    sim = await make_sim(tls=True, faults=["extension-not-recording", "unnormalised-contacts"])
    store = await session_store()
    ui.presenter.set_enabled(True)
    async with wizard_on(ui, store) as wizard:
        await to_verified(wizard, sim)
        await press_next(wizard, wizard.reachability)
        await settled(wizard.reachability)
        await press_next(wizard, wizard.recording_audit)
        await settled(wizard.recording_audit)
        await press_next(wizard, wizard.contacts)
        await settled(wizard.contacts)
        assert wizard.contacts.rows, message(wizard.contacts)
        callers = {
            "".join(ch for ch in r.raw_caller_id if ch.isdigit()) for r in wizard.contacts.rows
        }
        shown = visible_texts(wizard.contacts)
        runs = {run for item in shown for run in digit_runs(item.text)}
        assert not runs & {c for c in callers if len(c) >= 7}
        audit = wizard.recording_audit.model
        names = {r.name for r in wizard.recording_audit.rows if len(r.name) > 3}
        cells = {
            str(audit.index(row, col).data())
            for row in range(audit.rowCount())
            for col in range(audit.columnCount())
        }
        assert names and not names & cells


async def test_setup_report_runs_the_doctor_and_opens_the_preview(
    ui: UiContext, sim: Simulator, tmp_path: Path
) -> None:
    store = await session_store()
    async with wizard_on(ui, store) as wizard:
        await to_verified(wizard, sim)
        await finish_from_verified(wizard)
        finish = wizard.finish
        assert finish.report_button.isVisible()
        finish.report_button.click()
        await until(lambda: finish.report_dialog is not None, "the report preview", STEP_S)
        dialog = finish.report_dialog
        assert dialog is not None
        await dialog.prepared()
        saved = await dialog.save_to(tmp_path / "setup.json")
        assert saved is not None
        body = json.loads(saved.read_text("utf-8"))
        assert sim.client_secret not in saved.read_text("utf-8")
        assert body["connection"] == wizard.finish.name_edit.text()
        assert len(body["checks"]) == 7
        assert body["pbx"]["version"] == "20.0.10.1116"
        dialog.reject()
        await until(lambda: finish.report_dialog is None, "the preview to close", 5)
        profile = store.get(wizard.ctx.connection_id)
        assert profile is not None and profile.last_check is not None


async def test_cancel_button_asks_once_a_key_is_stored(ui: UiContext, sim: Simulator) -> None:
    store = await session_store()
    cancelled: list[bool] = []
    async with wizard_on(ui, store) as wizard:
        wizard.cancelled.connect(lambda: cancelled.append(True))
        await enter_address(wizard, sim)
        await press_next(wizard, wizard.api_user)
        await press_next(wizard, wizard.key)
        await paste_key(wizard, sim.client_id, sim.client_secret)
        connection_id = wizard.ctx.connection_id

        wizard.cancel_button.click()
        box = await until_message_box(wizard)
        assert "removed from the keyring" in box.text()
        stay = box.button(QMessageBox.StandardButton.Cancel)
        assert stay is not None and stay.text() == "Keep going"
        stay.click()
        await until(lambda: not box.isVisible(), "the question to close", 5)
        assert not cancelled and await store.staged_key(connection_id) == sim.client_secret

        wizard.cancel_button.click()
        box = await until_message_box(wizard)
        leave = next(b for b in box.buttons() if b.text() == "Stop setup")
        leave.click()
        await until(lambda: bool(cancelled), "the wizard to cancel", 10)
    assert await store.staged_key(connection_id) is None


async def until_message_box(wizard: SetupWizard) -> QMessageBox:
    def shown() -> QMessageBox | None:
        return next((b for b in wizard.findChildren(QMessageBox) if b.isVisible()), None)

    await until(lambda: shown() is not None, "the question", 5)
    box = shown()
    assert box is not None
    return box
