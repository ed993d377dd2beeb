"""Drives the setup wizard the way an engineer does (helpers only: no tests in this module).

Shared by the wizard's tests and its screenshot scenes. Every wait has a deadline; nothing
sleeps for a fixed time.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any

from PySide6.QtWidgets import QLineEdit, QWidget

from app.services.connections.store import ConnectionStore
from app.sim import Simulator
from app.ui.context import UiContext
from app.ui.setup.context import SetupTimeouts
from app.ui.setup.step import SetupStep
from app.ui.setup.wizard import SetupWizard
from tests.support.waiting import until

STEP_S = 30.0
QUICK = SetupTimeouts(detect_s=3.0, sign_in_s=5.0, verify_s=5.0, reach_s=3.0, audit_s=10.0)


@contextlib.asynccontextmanager
async def wizard_on(
    ui: UiContext, store: ConnectionStore, *, timeouts: SetupTimeouts = QUICK
) -> AsyncIterator[SetupWizard]:
    """A shown wizard, closed (and its unsaved key discarded) at the end of the block."""
    wizard = SetupWizard(ui, store, timeouts=timeouts)
    wizard.resize(1150, 780)
    wizard.show()
    try:
        yield wizard
    finally:
        await wizard.aclose()
        # hide(), not close(): closing the last window would quit the app and stop the loop.
        wizard.hide()
        wizard.deleteLater()


async def settled(step: SetupStep, seconds: float = STEP_S) -> None:
    """Wait until the step's work is done."""
    await until(lambda: not step.busy, f"{step.title} to finish", seconds)


async def press_next(wizard: SetupWizard, expect: SetupStep) -> None:
    await until(wizard.next_button.isEnabled, f"Next on {wizard.current.title}", STEP_S)
    wizard.next_button.click()
    await until(lambda: wizard.current is expect, f"the {expect.title} step", STEP_S)


async def enter_address(wizard: SetupWizard, sim: Simulator) -> None:
    """Step 1 with the simulator's private CA; Next detects and moves on."""
    step = wizard.address
    if sim.ca_file:
        step.ca_row.set_path(sim.ca_file)
    step.address_edit.setText(sim.url)
    await press_next(wizard, wizard.prerequisites)
    await settled(wizard.prerequisites)


async def paste_key(wizard: SetupWizard, client_id: str, key: str) -> None:
    step = wizard.key
    step.client_id_edit.setText(client_id)
    step.key_edit.setText(key)
    step.store_button.click()
    await settled(step)


async def to_verified(wizard: SetupWizard, sim: Simulator, *, key: str | None = None) -> None:
    """Steps 1 to 5 on the guided path, pasting the simulator's key (or ``key``)."""
    await enter_address(wizard, sim)
    await press_next(wizard, wizard.api_user)
    await press_next(wizard, wizard.key)
    await paste_key(wizard, sim.client_id, key or sim.client_secret)
    await press_next(wizard, wizard.verify)
    await settled(wizard.verify)


def line_edit_texts(root: QWidget) -> list[str]:
    return [edit.text() for edit in root.findChildren(QLineEdit)]


def message(step: SetupStep) -> str:
    return step.message.text() if step.message.isVisibleTo(step) else ""


def checklist_text(step: Any) -> str:
    """Every detail and fix a step's checklist shows."""
    checklist = step.checklist
    parts = [label.text() for label in checklist.details.values()]
    parts += [label.text() for label in checklist.fixes.values()]
    return "\n".join(parts)


async def session_store() -> ConnectionStore:
    """A connection store whose keys stay in this session (no keyring needed)."""
    store = await ConnectionStore.open()
    store.use_session_only()
    return store


async def admin_sign_in(wizard: SetupWizard, sim: Simulator, password: str | None = None) -> None:
    """Step 3's automatic path: sign in as the simulator's admin (or with ``password``)."""
    step = wizard.api_user
    step.automatic_radio.setChecked(True)
    step.username_edit.setText(sim.admin_username)
    step.password_edit.setText(sim.admin_password if password is None else password)
    step.sign_in_button.click()
    assert step.password_edit.text() == ""  # gone from the widget at once
    await settled(step)


async def at_admin_sign_in(
    wizard: SetupWizard, sim: Simulator, password: str | None = None
) -> None:
    """Steps 1 and 2, then step 3's admin sign-in."""
    await enter_address(wizard, sim)
    await press_next(wizard, wizard.api_user)
    await admin_sign_in(wizard, sim, password)
