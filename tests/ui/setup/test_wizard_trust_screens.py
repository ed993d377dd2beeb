"""Screenshots of the certificate trust panel in the setup, on a 1366 x 768 laptop screen."""

from __future__ import annotations

import contextlib

import pytest
from PySide6.QtWidgets import QApplication, QWidget

from app.services.connections.store import ConnectionStore
from app.sim import SimConfig, Simulator
from app.ui.context import UiContext
from app.ui.setup.wizard import SetupWizard
from app.ui.theme import apply_theme
from tests.support.screenshots import distinct_colours, png_size, render_scene
from tests.support.xvfb import XvfbDisplay
from tests.ui.setup.test_wizard_driver import QUICK
from tests.ui.setup.test_wizard_trust import key_to_verify, untrusted_address
from tests.ui.test_customer_clock_screens import LAPTOP_SCREEN, laptop_display, on_laptop_screen


async def _wizard(stack: contextlib.AsyncExitStack, ui: UiContext) -> tuple[SetupWizard, Simulator]:
    app = QApplication.instance()
    assert isinstance(app, QApplication)
    apply_theme(app, large_type=ui.presenter.large_type)
    sim = Simulator(SimConfig(tls=True, calls_per_minute=0, recording_delay_s=0.2))
    await sim.start()
    stack.push_async_callback(sim.stop)
    store = await ConnectionStore.open()
    store.use_session_only()
    wizard = SetupWizard(ui, store, timeouts=QUICK)
    on_laptop_screen(wizard)
    return wizard, sim


async def address_trust_scene(stack: contextlib.AsyncExitStack, ui: UiContext) -> QWidget:
    wizard, sim = await _wizard(stack, ui)
    await untrusted_address(wizard, sim)
    return wizard


async def verify_trust_scene(stack: contextlib.AsyncExitStack, ui: UiContext) -> QWidget:
    wizard, sim = await _wizard(stack, ui)
    await untrusted_address(wizard, sim)
    await key_to_verify(wizard, sim)
    wizard.verify.trust.panel.details_toggle.click()
    return wizard


__all__ = ["laptop_display"]  # the 1366 x 768 display fixture, shared

SCENES = (
    ("setup-1-address-trust", "address_trust_scene"),
    ("setup-5-verify-trust-details", "verify_trust_scene"),
)


@pytest.mark.display
@pytest.mark.parametrize(("name", "scene"), SCENES)
def test_trust_panel_screenshots(laptop_display: XvfbDisplay, name: str, scene: str) -> None:
    png = render_scene(laptop_display, f"{__name__}:{scene}", name)
    assert distinct_colours(png) > 20
    assert png_size(png) == LAPTOP_SCREEN
