"""Screenshots of the setup wizard's main steps in a real window under Xvfb."""

from __future__ import annotations

import contextlib
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest
from PySide6.QtWidgets import QApplication, QWidget

from app.services.connections.store import ConnectionStore
from app.sim import SimConfig, Simulator
from app.ui.context import UiContext
from app.ui.setup.wizard import SetupWizard
from app.ui.theme import apply_theme
from tests.support.screenshots import distinct_colours, render_fitting
from tests.support.xvfb import XvfbDisplay
from tests.ui.setup.test_wizard_driver import (
    QUICK,
    admin_sign_in,
    enter_address,
    press_next,
    settled,
    to_verified,
)

Drive = Callable[[SetupWizard, Simulator], Awaitable[None]]


async def _scene(
    stack: contextlib.AsyncExitStack, ui: UiContext, faults: list[str], drive: Drive
) -> QWidget:
    app = QApplication.instance()
    assert isinstance(app, QApplication)
    apply_theme(app, large_type=ui.presenter.large_type)
    sim = Simulator(SimConfig(tls=True, calls_per_minute=0, recording_delay_s=0.2, faults=faults))
    await sim.start()
    stack.push_async_callback(sim.stop)
    store = await ConnectionStore.open()
    store.use_session_only()
    wizard = SetupWizard(ui, store, timeouts=QUICK)
    wizard.show()
    await drive(wizard, sim)
    return wizard


async def _address(wizard: SetupWizard, sim: Simulator) -> None:
    await enter_address(wizard, sim)
    wizard.back()


async def _guided(wizard: SetupWizard, sim: Simulator) -> None:
    await enter_address(wizard, sim)
    await press_next(wizard, wizard.api_user)


async def _automatic(wizard: SetupWizard, sim: Simulator) -> None:
    await _guided(wizard, sim)
    await admin_sign_in(wizard, sim)


async def _created(wizard: SetupWizard, sim: Simulator) -> None:
    await _automatic(wizard, sim)
    wizard.api_user.create_button.click()
    await settled(wizard.api_user)


async def _key(wizard: SetupWizard, sim: Simulator) -> None:
    await _guided(wizard, sim)
    await press_next(wizard, wizard.key)
    wizard.key.client_id_edit.setText(sim.client_id)
    wizard.key.key_edit.setText("pasted-but-not-stored-yet")


async def _verify(wizard: SetupWizard, sim: Simulator) -> None:
    await to_verified(wizard, sim)


async def _prerequisites(wizard: SetupWizard, sim: Simulator) -> None:
    await to_verified(wizard, sim)
    await settled(wizard.prerequisites)
    wizard.go_to(1)
    await settled(wizard.prerequisites)


async def _reachability(wizard: SetupWizard, sim: Simulator) -> None:
    await to_verified(wizard, sim)
    await wizard.verify.waive(ask=False)
    await press_next(wizard, wizard.reachability)
    await settled(wizard.reachability)


async def _audit(wizard: SetupWizard, sim: Simulator) -> None:
    await _reachability(wizard, sim)
    await press_next(wizard, wizard.recording_audit)
    await settled(wizard.recording_audit)


async def _contacts(wizard: SetupWizard, sim: Simulator) -> None:
    await _audit(wizard, sim)
    await press_next(wizard, wizard.contacts)
    await settled(wizard.contacts)
    folder = Path(wizard.ctx.store.path).parent
    folder.mkdir(parents=True, exist_ok=True)
    export = folder / "hubspot-contacts.csv"
    export.write_text(sim.crm_export_csv("hubspot"), encoding="utf-8")
    wizard.contacts.csv_edit.setText(str(export))
    wizard.contacts.load_csv()
    await settled(wizard.contacts)


async def _finish(wizard: SetupWizard, sim: Simulator) -> None:
    await _audit(wizard, sim)
    await press_next(wizard, wizard.contacts)
    await settled(wizard.contacts)
    await press_next(wizard, wizard.finish)
    wizard.finish.customer_edit.setText("Harbour Dental")
    wizard.finish.save_button.click()
    await settled(wizard.finish)


async def address_scene(stack: contextlib.AsyncExitStack, ui: UiContext) -> QWidget:
    return await _scene(stack, ui, [], _address)


async def prerequisites_scene(stack: contextlib.AsyncExitStack, ui: UiContext) -> QWidget:
    return await _scene(stack, ui, ["licence-expired"], _prerequisites)


async def guided_scene(stack: contextlib.AsyncExitStack, ui: UiContext) -> QWidget:
    return await _scene(stack, ui, [], _guided)


async def automatic_scene(stack: contextlib.AsyncExitStack, ui: UiContext) -> QWidget:
    return await _scene(stack, ui, [], _automatic)


async def created_scene(stack: contextlib.AsyncExitStack, ui: UiContext) -> QWidget:
    return await _scene(stack, ui, ["departments=Main office:12,Support:3"], _created)


async def key_scene(stack: contextlib.AsyncExitStack, ui: UiContext) -> QWidget:
    return await _scene(stack, ui, [], _key)


async def verify_scene(stack: contextlib.AsyncExitStack, ui: UiContext) -> QWidget:
    return await _scene(stack, ui, ["missing-recording-role"], _verify)


async def reachability_scene(stack: contextlib.AsyncExitStack, ui: UiContext) -> QWidget:
    return await _scene(stack, ui, ["no-call-control"], _reachability)


async def audit_scene(stack: contextlib.AsyncExitStack, ui: UiContext) -> QWidget:
    return await _scene(stack, ui, ["extension-not-recording"], _audit)


async def contacts_scene(stack: contextlib.AsyncExitStack, ui: UiContext) -> QWidget:
    return await _scene(stack, ui, ["unnormalised-contacts"], _contacts)


async def finish_scene(stack: contextlib.AsyncExitStack, ui: UiContext) -> QWidget:
    return await _scene(stack, ui, [], _finish)


SCENES = (
    ("setup-1-address", "address_scene"),
    ("setup-2-prerequisites", "prerequisites_scene"),
    ("setup-3-guided", "guided_scene"),
    ("setup-3-automatic", "automatic_scene"),
    ("setup-3-automatic-created", "created_scene"),
    ("setup-4-key", "key_scene"),
    ("setup-5-verify-missing-role", "verify_scene"),
    ("setup-6-reachability", "reachability_scene"),
    ("setup-7-audit", "audit_scene"),
    ("setup-8-contacts", "contacts_scene"),
    ("setup-9-finish", "finish_scene"),
)
# As an engineer sees it on a 1366 x 768 laptop, and as the customer sees it over a
# screen-share: Larger type and presenter mode together.
LOOKS = {"": {}, "-screen-share": {"large": True, "presenter": True}}


@pytest.mark.display
@pytest.mark.parametrize("look", LOOKS)
@pytest.mark.parametrize(("name", "scene"), SCENES)
def test_setup_wizard_screenshots(
    xvfb_display: XvfbDisplay, name: str, scene: str, look: str
) -> None:
    """Every step at 1366 x 768 with no text cut off (labels, buttons, sideways scrolling)."""
    png = render_fitting(xvfb_display, f"{__name__}:{scene}", name + look, **LOOKS[look])
    assert distinct_colours(png) > 20
