"""Step 6: can this machine reach the PBX: DNS, TCP, the TLS chain, latency, the websocket.

Informational: a warning here does not stop the setup (the bridge runs elsewhere), but each
failure says what to change. The certificate can be pinned (only that exact certificate is
accepted from then on) or a private CA file chosen; a certificate the connection does not
trust is shown in full, to trust by pin or through its CA file, and checked again at once.
"""

from __future__ import annotations

from PySide6.QtWidgets import QCheckBox, QHBoxLayout, QPushButton

from app.domain.causes.reachability import StepVerdict
from app.domain.clock import system_clock
from app.domain.diagnosis import CheckStatus
from app.services.connections.store import ConnectionStoreError
from app.services.setup.reachability import ReachabilityReport, check_reachability
from app.ui.setup.checklist import CheckList, CheckRow
from app.ui.setup.context import SetupContext
from app.ui.setup.step import FieldGrid, SetupStep, StepStatus, bold, hint_label, text_label
from app.ui.setup.steps.address import CaFileRow
from app.ui.setup.trust import TrustOffer
from app.ui.widgets.certificate_trust import expiry_text, fingerprint_text

STEP_LABELS = {
    "dns": "DNS",
    "tcp": "TCP connection",
    "tls": "TLS certificate",
    "latency": "Latency",
    "websocket": "Websocket (Call Control)",
}


def _row(step: StepVerdict) -> CheckRow:
    """The rule's verdict and words; a warning shows its fix, as a failure does."""
    label = STEP_LABELS.get(step.name, step.name)
    if step.status is CheckStatus.WARN:
        return CheckRow(step.name, label, None, step.detail, step.fix, word="Warning")
    return CheckRow(step.name, label, step.ok, step.detail, step.fix)


class ReachabilityStep(SetupStep):
    title = "Reachability"
    informational = True

    def __init__(self, ctx: SetupContext) -> None:
        super().__init__(
            ctx,
            "Checked from this machine: the name resolves, the port answers, the certificate "
            "is valid, how fast the PBX answers, and whether the Call Control websocket opens "
            "(a proxy or firewall can block it).",
        )
        self.report: ReachabilityReport | None = None
        self.checklist = CheckList(ctx.ui.presenter)
        self.checklist.setObjectName("reachability")
        self.body.addWidget(self.checklist)
        self.trust = TrustOffer(ctx, self)
        self.trust.trusted.connect(self.check)
        self.body.addWidget(self.trust.panel)

        self.issuer_value = text_label(object_name="tlsIssuer")
        self.expires_value = text_label(object_name="tlsExpires")
        self.fingerprint_value = text_label(object_name="tlsFingerprint")
        self.pin_box = QCheckBox("Pin this certificate")
        self.pin_box.setObjectName("pinCertificate")
        self.pin_box.toggled.connect(self._pin_toggled)
        self.ca_row = CaFileRow(ctx)
        self.again_button = QPushButton("Check again")
        self.again_button.setObjectName("reachabilityAgain")
        self.again_button.clicked.connect(self.check)
        certificate = FieldGrid()
        certificate.add("Issuer:", self.issuer_value)
        certificate.add("Expires:", self.expires_value)
        certificate.add("SHA-256:", self.fingerprint_value)
        pin_hint = hint_label(
            "Pinning accepts only this exact certificate: safest for a self-signed one, but a "
            "renewed certificate then fails until the pin is updated."
        )
        certificate.add("", self.pin_box, pin_hint)
        certificate.add("Private CA:", self.ca_row)
        self.body.addWidget(bold(text_label("Certificate")))
        self.body.addLayout(certificate)
        row = QHBoxLayout()
        row.addWidget(self.again_button)
        row.addStretch(1)
        self.body.addLayout(row)

        ctx.addressChanged.connect(self._stale)
        ctx.trustChanged.connect(self._stale)
        ctx.keyChanged.connect(self._stale)
        self._render_certificate()

    def _stale(self) -> None:
        self.stop_work(quietly=True)
        self.report = None
        self.checklist.set_rows([])
        self.trust.withdraw()
        self.clear_message()
        self._render_certificate()
        self.set_status(StepStatus.NOT_STARTED)

    def entered(self) -> None:
        if self.report is None and not self.busy:
            self.check()

    def check(self) -> None:
        if self.ctx.detection is None:
            return
        limit = self.ctx.timeouts.reach_s * 3
        self.start_work("Checking reachability", self._check(), limit_s=limit)

    async def _check(self) -> None:
        params = self.ctx.params()
        secret: str | None = None
        if self.ctx.key_staged:
            try:
                secret = await self.ctx.secret()
            except ConnectionStoreError:
                secret = None
        try:
            report = await check_reachability(params, secret, timeout_s=self.ctx.timeouts.reach_s)
        except ValueError as exc:  # a CA file that cannot be read, or a broken pin
            self.show_message(str(exc), "fail")
            self.set_status(StepStatus.WARN)
            return
        finally:
            del secret
        self.report = report
        self._show(report)

    def _show(self, report: ReachabilityReport) -> None:
        self.checklist.set_rows([_row(s) for s in report.steps])
        self.trust.offer(report.certificate_trouble)
        self._render_certificate()
        # A warning (plain HTTP, a certificate about to expire) needs attention too: the
        # doctor's check 7 warns on the same facts.
        flagged = [s for s in report.steps if s.status in (CheckStatus.FAIL, CheckStatus.WARN)]
        if flagged:
            names = ", ".join(STEP_LABELS.get(s.name, s.name) for s in flagged)
            self.show_message(
                f"Needs attention: {names}. The fix is under each. This does not stop the setup.",
                "warn",
            )
            self.set_status(StepStatus.WARN)
        else:
            latency = f" in {report.latency_ms:.0f} ms" if report.latency_ms is not None else ""
            self.show_message(f"The PBX is reachable from this machine{latency}.", "pass")
            self.set_status(StepStatus.OK)

    def _render_certificate(self) -> None:
        report = self.report
        issuer = report.tls_issuer if report else None
        expires = report.tls_expires if report else None
        fingerprint = report.tls_fingerprint_sha256 if report else None
        self.issuer_value.setText(issuer or "Not known yet")
        self.expires_value.setText(
            expiry_text(expires, system_clock()) if expires else "Not known yet"
        )
        self.fingerprint_value.setText(fingerprint_text(fingerprint) if fingerprint else "—")
        pinned = bool(self.ctx.pin_sha256)
        self.pin_box.blockSignals(True)
        self.pin_box.setChecked(pinned)
        self.pin_box.blockSignals(False)
        self.pin_box.setEnabled(fingerprint is not None or pinned)

    def _pin_toggled(self, pinned: bool) -> None:
        fingerprint = self.report.tls_fingerprint_sha256 if self.report else None
        pin = fingerprint if pinned and fingerprint else None
        self.ctx.set_trust(ca_file=self.ctx.ca_file, pin_sha256=pin)
        self.changed.emit()

    def summary(self) -> str:
        report = self.report
        if report is None:
            return "Not checked."
        failed = [
            STEP_LABELS.get(s.name, s.name)
            for s in report.steps
            if s.status in (CheckStatus.FAIL, CheckStatus.WARN)
        ]
        pinned = " Certificate pinned." if self.ctx.pin_sha256 else ""
        if failed:
            return "Needs attention: " + ", ".join(failed) + "." + pinned
        return "DNS, TCP, TLS, latency and websocket fine." + pinned

    def rerender(self) -> None:
        self.checklist.rebuild()
