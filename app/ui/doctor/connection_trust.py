"""Trusting the PBX's certificate from the doctor, when that is why the PBX was not reached.

When the reachability check fails because this connection does not trust the certificate, the
pane asks ``app.services.certificate_trouble`` for the certificate the PBX presents and shows it
in the shared certificate panel. The engineer's answer (its SHA-256 pinned, or the customer's
CA file) is saved on the connection through ``ConnectionStore.update``, the connection dialog's
own way; ``saved`` then carries the profile as saved, and the pane runs the doctor again with it.
"""

from __future__ import annotations

import dataclasses
import logging

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QDialog, QFileDialog, QLabel, QWidget

from app.domain.connection import ConnectionProfile
from app.services.certificate_trouble import CertificateTrouble, certificate_trouble
from app.services.connections.store import ConnectionStore, ConnectionStoreError
from app.services.session import connection_params
from app.ui.context import UiContext
from app.ui.dialogs import run_dialog
from app.ui.theme import set_tone
from app.ui.widgets.certificate_trust import CertificateTrustPanel

log = logging.getLogger(__name__)

CERTIFICATE_FILTER = "Certificates (*.pem *.crt *.cer);;All files (*)"


async def trouble_for(profile: ConnectionProfile, timeout_s: float) -> CertificateTrouble | None:
    """The certificate ``profile``'s PBX presents when the connection does not trust it; None
    when trust is not the problem (or the saved address or CA file cannot be used at all)."""
    tls = connection_params(profile).tls
    try:
        return await certificate_trouble(profile.url, tls, timeout_s=timeout_s)
    except ValueError as exc:  # the doctor's own finding already says what is wrong with it
        log.info("The certificate was not read: %s", exc)
        return None


class ConnectionTrust(QObject):
    """The certificate panel for one saved connection; ``saved(ConnectionProfile)`` after an
    answer is stored on it. Without a ``store`` nothing is offered: nothing could be saved."""

    saved = Signal(object)

    def __init__(self, ui: UiContext, owner: QWidget) -> None:
        super().__init__(owner)
        self._ui = ui
        self._owner = owner
        self.store: ConnectionStore | None = None
        self._profile: ConnectionProfile | None = None
        self._chooser: QFileDialog | None = None
        self.panel = CertificateTrustPanel()
        self.panel.setObjectName("doctorCertificateTrust")
        self.panel.trustRequested.connect(self._pin)
        self.panel.caFileRequested.connect(self._choose)
        self.panel.cancelled.connect(self.withdraw)
        self.problem = QLabel()
        self.problem.setObjectName("doctorTrustProblem")
        self.problem.setWordWrap(True)
        set_tone(self.problem, "fail")
        self.problem.hide()

    def can_offer(self, profile: ConnectionProfile) -> bool:
        return self.store is not None and not profile.demo

    def offer(self, profile: ConnectionProfile, trouble: CertificateTrouble) -> None:
        self._profile = profile
        self.problem.hide()
        self.panel.offer(
            trouble.certificate, what=trouble.what, warnings=trouble.warnings, details=trouble.raw
        )

    def withdraw(self) -> None:
        self._profile = None
        self.problem.hide()
        self.panel.withdraw()

    def _pin(self, sha256: str) -> None:
        self._ui.tasks.start(self.save_trust(pin_sha256=sha256), name="doctor: trust certificate")

    def _choose(self) -> None:
        self._ui.tasks.start(self._choose_ca_file(), name="doctor: choose CA file")

    async def _choose_ca_file(self) -> None:
        if self._chooser is None:  # kept: deleting a non-native chooser while it watches crashes
            self._chooser = QFileDialog(self._owner, "Choose the customer's CA certificate")
            self._chooser.setOption(QFileDialog.Option.DontUseNativeDialog, True)
            self._chooser.setFileMode(QFileDialog.FileMode.ExistingFile)
            self._chooser.setNameFilter(CERTIFICATE_FILTER)
        chooser = self._chooser
        if await run_dialog(chooser) == QDialog.DialogCode.Accepted and chooser.selectedFiles():
            await self.save_trust(ca_file=chooser.selectedFiles()[0])

    async def save_trust(self, *, pin_sha256: str = "", ca_file: str = "") -> None:
        """Put the pin or the CA file on the saved connection, then say so (``saved``)."""
        profile, store = self._profile, self.store
        if profile is None or store is None:
            return
        current = store.get(profile.id) or profile
        changed = dataclasses.replace(
            current,
            pin_sha256=pin_sha256 or current.pin_sha256,
            ca_file=ca_file or current.ca_file,
        )
        try:
            saved = await store.update(changed, None)
        except ConnectionStoreError as exc:  # a CA file that cannot be read, a locked file
            self.problem.setText(f"The connection was not changed: {exc.message}")
            self.problem.show()
            return
        log.info("Certificate trust saved on %r from the doctor", saved.name)
        self.withdraw()
        self.saved.emit(saved)
