"""A PBX whose certificate comes from a private CA the app was not given: the engineer trusts it
(by pin or with the CA file) on the step where it stops them, and carries on from there.

The real wizard against the simulator over real TLS; the simulator's CA is never handed to the
app except through the trust panel's own "Choose CA file…" path.
"""

from __future__ import annotations

from app.sim import Simulator
from app.ui.context import UiContext
from app.ui.setup.step import StepStatus
from app.ui.setup.wizard import SetupWizard
from app.ui.widgets.certificate_trust import CertificateTrustPanel
from tests.conftest import SimFactory
from tests.support.waiting import until
from tests.ui.setup.test_wizard_driver import (
    STEP_S,
    message,
    paste_key,
    press_next,
    session_store,
    settled,
    wizard_on,
)

RAW_SSL = ("CERTIFICATE_VERIFY_FAILED", "_ssl.c", "[SSL")
BLAMES_THE_KEY = ("did not accept the key", "refused the key", "rejected the client id or key")


def shown_words(step: object, panel: CertificateTrustPanel) -> str:
    """What the engineer reads without opening Details."""
    texts = [message(step)]  # type: ignore[arg-type]
    texts += [panel.what.text(), panel.warnings.text() if panel.warnings.isVisibleTo(panel) else ""]
    return "\n".join(texts)


def assert_plain(words: str) -> None:
    lowered = words.lower()
    assert not any(raw.lower() in lowered for raw in RAW_SSL), words
    assert not any(blame in lowered for blame in BLAMES_THE_KEY), words


async def untrusted_address(wizard: SetupWizard, sim: Simulator) -> CertificateTrustPanel:
    """Step 1 with no CA file: the check stops on the certificate and shows it."""
    step = wizard.address
    step.address_edit.setText(sim.url)
    step.check_button.click()
    await settled(step)
    panel = step.trust.panel
    assert panel.isVisibleTo(step), message(step)
    return panel


async def key_to_verify(wizard: SetupWizard, sim: Simulator) -> None:
    await press_next(wizard, wizard.prerequisites)
    await press_next(wizard, wizard.api_user)
    await press_next(wizard, wizard.key)
    await paste_key(wizard, sim.client_id, sim.client_secret)
    await press_next(wizard, wizard.verify)
    await settled(wizard.verify)


async def test_trusting_the_certificate_at_step_1_carries_the_setup_through(
    ui: UiContext, make_sim: SimFactory
) -> None:
    sim = await make_sim(tls=True)
    async with wizard_on(ui, await session_store()) as wizard:
        panel = await untrusted_address(wizard, sim)
        step = wizard.address
        trouble = wizard.ctx.detection.certificate_trouble if wizard.ctx.detection else None
        assert trouble is not None and trouble.certificate is not None
        fingerprint = trouble.certificate.sha256
        assert panel.subject.text() == trouble.certificate.subject
        assert panel.issuer.text() == trouble.certificate.issuer
        assert panel.expires.text() and "expired" not in panel.expires.text()
        assert panel.fingerprint.text().replace("\n", ":").replace(":", "").lower() == fingerprint
        assert panel.trust_button.isEnabled() and panel.trust_button.text() == (
            "Trust this certificate"
        )
        assert "did not answer as a 3CX PBX" not in step.version_value.text()
        assert "reachability step" not in shown_words(step, panel)
        assert_plain(shown_words(step, panel))
        assert not panel.details.isVisibleTo(panel)
        panel.details_toggle.click()
        assert panel.details.isVisibleTo(panel)
        assert "CERTIFICATE_VERIFY_FAILED" in panel.details.text()

        panel.trust_button.click()
        await until(lambda: step.status is StepStatus.OK, "step 1 with the pin", STEP_S)
        assert wizard.current is step  # the same step, checked again
        assert wizard.ctx.pin_sha256 == fingerprint and wizard.ctx.ca_file is None
        assert wizard.ctx.detection is not None and wizard.ctx.detection.generation == "v20"
        assert not panel.isVisibleTo(step)

        await key_to_verify(wizard, sim)
        assert wizard.verify.status is StepStatus.OK, message(wizard.verify)
        assert wizard.ctx.capabilities_green
        profile = wizard.finish.build_profile()
        assert profile.pin_sha256 == fingerprint


async def test_the_verify_step_offers_the_certificate_instead_of_blaming_the_key(
    ui: UiContext, make_sim: SimFactory
) -> None:
    sim = await make_sim(tls=True)
    async with wizard_on(ui, await session_store()) as wizard:
        await untrusted_address(wizard, sim)
        await key_to_verify(wizard, sim)  # past step 1 without trusting anything
        verify = wizard.verify
        panel = verify.trust.panel
        assert panel.isVisibleTo(verify), message(verify)
        assert verify.status is StepStatus.FAIL and not wizard.next_button.isEnabled()
        assert "key has not been tried" in message(verify)
        assert_plain(shown_words(verify, panel) + wizard.blocked_label.text())
        assert not verify.checklist.details  # no red tick under the key

        panel.trust_button.click()
        await until(lambda: verify.status is StepStatus.OK, "the key verified", STEP_S)
        await settled(verify)  # it reads the customer's clock after the ticks
        assert wizard.current is verify and wizard.ctx.capabilities_green
        assert wizard.ctx.key_staged  # the key stayed where it was
        await until(lambda: wizard.address.status is StepStatus.OK, "step 1 again", STEP_S)
        assert wizard.ctx.detection is not None and wizard.ctx.detection.generation == "v20"
        await press_next(wizard, wizard.reachability)  # step 6 opens
        await settled(wizard.reachability)
        assert wizard.reachability.checklist.results["tls"].text() == "Pass"


async def test_choosing_the_ca_file_at_step_5_keeps_the_key_and_verifies_it(
    ui: UiContext, make_sim: SimFactory
) -> None:
    sim = await make_sim(tls=True)
    assert sim.ca_file is not None
    async with wizard_on(ui, await session_store()) as wizard:
        await untrusted_address(wizard, sim)
        await key_to_verify(wizard, sim)
        verify = wizard.verify
        assert verify.trust.panel.isVisibleTo(verify)
        verify.trust.use_ca_file(sim.ca_file)  # what "Choose CA file…" does with the chosen file
        await until(lambda: verify.status is StepStatus.OK, "the key verified", STEP_S)
        await settled(verify)  # it reads the customer's clock after the ticks
        assert wizard.current is verify and wizard.ctx.key_staged
        assert wizard.ctx.ca_file == sim.ca_file and wizard.ctx.pin_sha256 is None
        assert wizard.address.ca_row.edit.text() == sim.ca_file
        await until(lambda: wizard.address.status is StepStatus.OK, "step 1 again", STEP_S)
        profile = wizard.finish.build_profile()
        assert profile.ca_file == sim.ca_file


async def test_cancel_leaves_the_step_as_it_was(ui: UiContext, make_sim: SimFactory) -> None:
    sim = await make_sim(tls=True)
    async with wizard_on(ui, await session_store()) as wizard:
        panel = await untrusted_address(wizard, sim)
        panel.cancel_button.click()
        assert not panel.isVisibleTo(wizard.address)
        assert wizard.ctx.pin_sha256 is None and wizard.ctx.ca_file is None
        assert wizard.address.status is StepStatus.FAIL


async def test_an_expired_certificate_is_shown_with_its_warning_and_no_pin(
    ui: UiContext, make_sim: SimFactory
) -> None:
    sim = await make_sim(tls=True, faults=["tls-expired"])
    async with wizard_on(ui, await session_store()) as wizard:
        panel = await untrusted_address(wizard, sim)
        assert "expired" in panel.warnings.text() and panel.warnings.isVisibleTo(panel)
        assert "does not get past that" in panel.warnings.text()
        assert not panel.trust_button.isEnabled()  # a pin would fail the same way
        assert panel.ca_button.isEnabled()
        assert_plain(shown_words(wizard.address, panel))
