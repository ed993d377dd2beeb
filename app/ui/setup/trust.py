"""Answering a certificate the setup does not trust, on the step where it happened.

Each step that talks to the PBX (address, verify, reachability) holds one ``TrustOffer``: it
shows the certificate panel for a ``CertificateTrouble``, puts the engineer's answer on the
connection being built (the certificate's SHA-256 pinned, or the customer's CA file), then
emits ``trusted`` so the step re-runs its own check. Nothing else in the setup is reset.
"""

from __future__ import annotations

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QWidget

from app.services.certificate_trouble import CertificateTrouble
from app.ui.setup.context import SetupContext
from app.ui.setup.files import CERTIFICATE_FILTER, FileChooser
from app.ui.widgets.certificate_trust import CertificateTrustPanel


class TrustOffer(QObject):
    trusted = Signal()  # the connection's trust changed: check again with it
    cancelled = Signal()

    def __init__(self, ctx: SetupContext, owner: QWidget) -> None:
        super().__init__(owner)
        self._ctx = ctx
        self._files = FileChooser(owner)
        self.panel = CertificateTrustPanel()
        self.panel.trustRequested.connect(self._pin)
        self.panel.caFileRequested.connect(self._choose_clicked)
        self.panel.cancelled.connect(self.cancelled)

    def offer(self, trouble: CertificateTrouble | None) -> None:
        """Show the panel for ``trouble``; None withdraws it."""
        if trouble is None:
            self.panel.withdraw()
            return
        self.panel.offer(
            trouble.certificate, what=trouble.what, warnings=trouble.warnings, details=trouble.raw
        )

    def withdraw(self) -> None:
        self.panel.withdraw()

    def _pin(self, sha256: str) -> None:
        self.panel.withdraw()
        self._ctx.set_trust(ca_file=self._ctx.ca_file, pin_sha256=sha256)
        self.trusted.emit()

    def _choose_clicked(self) -> None:
        self._ctx.start(self.choose_ca_file(), name="setup: choose CA file")

    async def choose_ca_file(self) -> None:
        chosen = await self._files.open_file(
            "Choose the customer's CA certificate", self._ctx.ca_file or "", CERTIFICATE_FILTER
        )
        if chosen:
            self.use_ca_file(chosen)

    def use_ca_file(self, path: str) -> None:
        self.panel.withdraw()
        self._ctx.set_trust(ca_file=path, pin_sha256=self._ctx.pin_sha256)
        self.trusted.emit()
