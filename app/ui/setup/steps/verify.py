"""Step 5: prove the key: a token, the call history, and a recording listed and downloaded;
then read the customer's clock (time zone and office hours) for the engineer to confirm.

Both capabilities must be green to move on ("Reports User": call history; "Recording Manager":
recording fetch). A refused key (401) or a missing capability (403) shows the exact fix under
its tick. When the key works but a capability is missing, the engineer may still go on after a
clear warning (some customers do not record by policy); the Finish step repeats the warning.
The customer's zone and hours come from the PBX (v20 OfficeHours) or, failing that, the
region's usual zone flagged for confirmation; the connection keeps what is shown here.
A certificate the connection does not trust is not the key's fault: the key was never sent, so
the certificate is shown here to trust (or its CA file chosen) and the key is verified again.
"""

from __future__ import annotations

import logging

from PySide6.QtWidgets import QHBoxLayout, QPushButton, QVBoxLayout

from app.domain.business_hours import HoursSource, describe_hours
from app.domain.diagnosis import CheckStatus
from app.services.connections.store import ConnectionStoreError
from app.services.pbx_access import ThreeCXError
from app.services.setup.capabilities import CapabilityReport, verify_capabilities
from app.services.setup.detect import refine_region
from app.services.setup.office_hours import read_customer_clock
from app.ui.dialogs import confirm
from app.ui.setup.checklist import CheckList, CheckRow
from app.ui.setup.context import SetupContext
from app.ui.setup.hours import SOURCE_WORDS, CustomerClockBox
from app.ui.setup.step import SetupStep, StepStatus, error_text
from app.ui.setup.trust import TrustOffer

log = logging.getLogger(__name__)

WAIVE_WARNING = (
    "The key works, but not both capabilities are proven. A bridge with this API user will "
    'miss what failed: without "Recording Manager" calls reach the CRM without their '
    'recordings; without "Reports User" no call history is synced. Continue only if the '
    "customer does not want that part."
)


class VerifyStep(SetupStep):
    title = "Verify the key"

    def __init__(self, ctx: SetupContext) -> None:
        super().__init__(
            ctx,
            "The app signs in with the key and tries what the bridge will do: read the call "
            'history ("Reports User") and list and download a recording ("Recording '
            "Manager\"). Each tick below must be green. Then it reads the customer's time zone "
            "and office hours for you to confirm.",
        )
        self.checklist = CheckList(ctx.ui.presenter)
        self.checklist.setObjectName("capabilities")
        self.body.addWidget(self.checklist)
        self.again_button = QPushButton("Verify again")
        self.again_button.setObjectName("verifyAgain")
        self.again_button.clicked.connect(self.check)
        self.waive_button = QPushButton("Continue without both…")
        self.waive_button.setObjectName("waiveCapabilities")
        self.waive_button.clicked.connect(self._waive_clicked)
        self.waive_button.hide()
        row = QHBoxLayout()
        row.addWidget(self.again_button)
        row.addWidget(self.waive_button)
        row.addStretch(1)
        self.body.addLayout(row)
        self.clock = CustomerClockBox(ctx)
        self.clock.changed.connect(self.changed)
        # Below the verdict on the key, which is read first.
        outer = self.layout()
        assert isinstance(outer, QVBoxLayout)
        outer.insertWidget(outer.indexOf(self.message) + 1, self.clock)
        self.trust = TrustOffer(ctx, self)
        self.trust.trusted.connect(self.check)
        outer.insertWidget(outer.indexOf(self.message) + 1, self.trust.panel)
        ctx.keyChanged.connect(self._stale)
        ctx.addressChanged.connect(self._stale)
        ctx.trustChanged.connect(self._stale)

    @property
    def report(self) -> CapabilityReport | None:
        return self.ctx.capabilities

    def _stale(self) -> None:
        self.stop_work(quietly=True)
        if self.ctx.capabilities is not None:
            self.ctx.set_capabilities(None)
        self.checklist.set_rows([])
        self.waive_button.hide()
        self.trust.withdraw()
        self.clear_message()
        self.set_status(StepStatus.NOT_STARTED)

    # ---- hooks ---------------------------------------------------------------------------------
    def must_haves_met(self) -> bool:
        report = self.ctx.capabilities
        if report is None or not report.key_accepted or self.clock.error is not None:
            return False
        return report.both_capabilities or self.ctx.capabilities_waived

    def why_blocked(self) -> str:
        report = self.ctx.capabilities
        if report is None:
            return "Verify the key to continue."
        if report.certificate_trouble is not None:
            return "Trust the PBX's certificate or choose its CA file to verify the key."
        if not report.key_accepted and not report.key_refused:
            return "Signing in failed (see what failed), then verify again."
        if not report.key_accepted:
            return "The PBX does not accept the key: fix it (see the fix), then verify again."
        if self.clock.error is not None:
            return f"The customer's office hours cannot be used: {self.clock.error}"
        return "Both capabilities must be green: apply the fix, then verify again."

    def entered(self) -> None:
        if self.ctx.capabilities is None and not self.busy and self.ctx.key_staged:
            self.check()

    def summary(self) -> str:
        report = self.ctx.capabilities
        if report is None:
            return "Not verified."
        if report.certificate_trouble is not None:
            return "Not verified: the PBX's certificate is not trusted."
        if not report.key_accepted and not report.key_refused:
            return "Not verified: signing in failed."
        if not report.key_accepted:
            return "The PBX refused the key."
        if report.both_capabilities:
            text = "Call history and recording fetch both work."
        else:
            missing = [c.label for c in report.checks if c.ok is False]
            text = "Continued without: " + ", ".join(missing) + "."
        hours = self.ctx.customer_hours
        if hours is not None:
            text += f" Customer's clock: {describe_hours(hours)}, {SOURCE_WORDS[hours.source]}."
        return text

    def rerender(self) -> None:
        self.checklist.rebuild()
        if self.ctx.capabilities is not None and not self.busy:
            self._show(self.ctx.capabilities)

    # ---- checking ------------------------------------------------------------------------------
    def check(self) -> None:
        if not self.ctx.key_staged or self.ctx.detection is None:
            self.show_message("Store the API key first (step 4).", "fail")
            return
        limit = self.ctx.timeouts.verify_s * 2
        self.start_work("Verifying the key", self._verify(), limit_s=limit)

    async def _verify(self) -> None:
        try:
            params = self.ctx.params()
            secret = await self.ctx.secret()
        except ConnectionStoreError as exc:
            self.show_message(exc.message, "fail")
            self.set_status(StepStatus.FAIL)
            return
        report = await verify_capabilities(params, secret, timeout_s=self.ctx.timeouts.verify_s)
        del secret
        self.ctx.set_capabilities(report)
        self._show(report)
        if report.key_accepted:
            await self._refine_region()
            await self._read_clock()

    async def _refine_region(self) -> None:
        detection = self.ctx.detection
        if detection is None:
            return
        try:
            refined = await refine_region(detection, await self.ctx.client())
        except (ThreeCXError, ConnectionStoreError) as exc:
            log.info("The PBX's own region is not known: %s", error_text(exc))
            return
        if self.ctx.detection is detection:
            self.ctx.refine_detection(refined)

    async def _read_clock(self) -> None:
        """The customer's zone and hours; what the engineer set here is kept on re-verify."""
        current = self.ctx.customer_hours
        if current is not None and current.source is HoursSource.ENGINEER:
            return
        detection = self.ctx.detection
        region = self.ctx.region_override or (detection.region if detection else None)
        try:
            clock = await read_customer_clock(await self.ctx.client(), region)
        except (ThreeCXError, ConnectionStoreError) as exc:
            log.info("The customer's clock was not read: %s", error_text(exc))
            self.ctx.set_customer_hours(self.ctx.shown_hours(), error_text(exc))
            return
        self.ctx.set_customer_hours(clock.hours, clock.problem)

    def _show(self, report: CapabilityReport) -> None:
        self.trust.offer(report.certificate_trouble)
        if report.certificate_trouble is not None:
            self._show_untrusted()
            return
        self.checklist.set_rows(
            [CheckRow(c.key, c.label, c.ok, c.detail, c.fix) for c in report.checks]
        )
        problem = report.first_problem
        waivable = report.key_accepted and not report.both_capabilities
        self.waive_button.setVisible(waivable and not self.ctx.capabilities_waived)
        if not report.key_accepted:
            self.show_message(
                "The PBX did not accept the key: apply the fix under the red tick, then verify "
                "again."
                if report.key_refused
                else "PBX Companion could not sign in to the PBX: see what failed under the red "
                "tick, then verify again.",
                "fail",
            )
            self.set_status(StepStatus.FAIL)
        elif not report.both_capabilities:
            # The rule's verdict on the answers (cause 2), as the doctor states it.
            assert problem is not None
            verdict = report.verdict
            finding = verdict.finding if verdict.status is CheckStatus.FAIL else ""
            text = f"{problem.label} failed: apply the fix under the red tick, then verify again."
            text = f"{finding} {text}".strip()
            if self.ctx.capabilities_waived:
                text = "Continuing without both capabilities, as chosen. " + text
            self.show_message(text, "fail")
            self.set_status(StepStatus.FAIL)
        elif report.verdict.status is CheckStatus.WARN:
            # Over-privileged, or no recording yet to prove the download: the doctor's warning.
            self.show_message(f"{report.verdict.finding} {report.verdict.fix}", "warn")
            self.set_status(StepStatus.WARN)
        else:
            self.show_message(f"{report.verdict.finding} Press Next.", "pass")
            self.set_status(StepStatus.OK)

    def _show_untrusted(self) -> None:
        """Nothing was asked of the PBX: no ticks, the certificate to judge instead."""
        self.checklist.set_rows([])
        self.waive_button.hide()
        self.show_message(
            "The key has not been tried yet: the PBX's certificate is not trusted, so nothing "
            "was sent. Trust it below or choose the CA file; the key is then verified at once.",
            "warn",
        )
        self.set_status(StepStatus.FAIL)

    def _waive_clicked(self) -> None:
        self.ctx.start(self.waive(ask=True), name="setup: continue without both")

    async def waive(self, *, ask: bool) -> bool:
        """Go on with a key that lacks a capability, after the warning (asked when ``ask``)."""
        report = self.ctx.capabilities
        if report is None or not report.key_accepted or report.both_capabilities:
            return False
        if ask and not await confirm(
            self, "Continue without both capabilities?", WAIVE_WARNING, destructive="Continue"
        ):
            return False
        self.ctx.capabilities_waived = True
        self._show(report)
        self.changed.emit()
        return True
