"""The certificate a PBX presents when the connection does not trust it, and what to do there.

Shown where the TLS trust failure happens (the setup's steps; the doctor and key rotation can
use it too): the certificate's subject, issuer, expiry and SHA-256 fingerprint, any warning a
pin does not get past, and three ways on: trust this exact certificate (its fingerprint is
pinned by the owner), choose the customer's CA file, or cancel. The TLS library's own words
stay behind a small "Details" toggle. The owner does the trusting; this widget only asks.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QFont, QFontDatabase
from PySide6.QtWidgets import (
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from app.domain.clock import system_clock
from app.services.pbx_access import CertificateInfo
from app.ui.theme import set_box, set_tone


def fingerprint_text(hex_digest: str) -> str:
    """ "ab12…" -> "AB:12:…", the way browsers show a fingerprint."""
    digest = hex_digest.upper()
    return ":".join(digest[i : i + 2] for i in range(0, len(digest), 2))


def expiry_text(expires: datetime, now: datetime) -> str:
    days = (expires - now).days
    when = expires.astimezone().strftime("%d %b %Y")
    if days < 0:
        return f"{when}: expired {-days} day{'s' if -days != 1 else ''} ago"
    return f"{when} (in {days} day{'s' if days != 1 else ''})"


def _value(object_name: str) -> QLabel:
    label = QLabel()
    label.setObjectName(object_name)
    label.setWordWrap(True)
    label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    return label


class CertificateTrustPanel(QFrame):
    """``trustRequested(sha256)``, ``caFileRequested()`` or ``cancelled()``: the owner acts."""

    trustRequested = Signal(str)
    caFileRequested = Signal()
    cancelled = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("certificateTrust")
        set_box(self, "warn")
        self._sha256: str | None = None
        self.heading = QLabel("Check the PBX's certificate")
        font = QFont(self.heading.font())
        font.setBold(True)
        self.heading.setFont(font)
        self.what = _value("trustWhat")
        self.subject = _value("certificateSubject")
        self.issuer = _value("certificateIssuer")
        self.expires = _value("certificateExpires")
        self.names = _value("certificateNames")
        self.fingerprint = _value("certificateFingerprint")
        self.fingerprint.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self.warnings = _value("certificateWarnings")
        set_box(self.warnings, "fail")
        self.trust_button = QPushButton("Trust this certificate")
        self.trust_button.setObjectName("trustCertificate")
        self.trust_button.clicked.connect(self._trust_clicked)
        self.ca_button = QPushButton("Choose CA file…")
        self.ca_button.setObjectName("chooseCaFile")
        self.ca_button.clicked.connect(self.caFileRequested)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setObjectName("trustCancel")
        self.cancel_button.clicked.connect(self._cancel_clicked)
        self.details_toggle = QToolButton()
        self.details_toggle.setObjectName("trustDetailsToggle")
        self.details_toggle.setText("Details")
        self.details_toggle.setCheckable(True)
        self.details_toggle.setAutoRaise(True)
        self.details_toggle.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.details_toggle.setArrowType(Qt.ArrowType.RightArrow)
        self.details_toggle.toggled.connect(self._details_toggled)
        self.details = _value("trustDetails")
        set_tone(self.details, "muted")
        self._lay_out()
        self.hide()

    def _lay_out(self) -> None:
        grid = QGridLayout()
        grid.setHorizontalSpacing(10)
        grid.setVerticalSpacing(4)
        grid.setColumnStretch(1, 1)
        rows = (
            ("Subject:", self.subject),
            ("Issuer:", self.issuer),
            ("Expires:", self.expires),
            ("Names on it:", self.names),
            ("SHA-256:", self.fingerprint),
        )
        for row, (caption, value) in enumerate(rows):
            grid.addWidget(QLabel(caption), row, 0, Qt.AlignmentFlag.AlignRight)
            grid.addWidget(value, row, 1)
        buttons = QHBoxLayout()
        buttons.addWidget(self.trust_button)
        buttons.addWidget(self.ca_button)
        buttons.addWidget(self.cancel_button)
        buttons.addStretch(1)
        buttons.addWidget(self.details_toggle)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(12, 10, 12, 10)
        layout.setSpacing(8)
        layout.addWidget(self.heading)
        layout.addWidget(self.what)
        layout.addLayout(grid)
        layout.addWidget(self.warnings)
        layout.addLayout(buttons)
        layout.addWidget(self.details)

    # ---- what the owner calls ------------------------------------------------------------------
    def offer(
        self,
        certificate: CertificateInfo | None,
        *,
        what: str,
        warnings: Sequence[str] = (),
        details: str = "",
        now: datetime | None = None,
    ) -> None:
        """Show ``certificate`` (None: it could not be read) with the ways on.

        Trusting by pin is offered only when a certificate was read and nothing in
        ``warnings`` stands in the way: a pin does not get past an expired certificate or one
        for another name, so offering it there would only lead to the same failure."""
        self._sha256 = certificate.sha256 if certificate else None
        self.what.setText(what)
        self._show_certificate(certificate, now or system_clock())
        self.warnings.setText("\n\n".join(warnings))
        self.warnings.setVisible(bool(warnings))
        self.trust_button.setEnabled(certificate is not None and not warnings)
        self.details.setText(details)
        self.details_toggle.setVisible(bool(details))
        self.details_toggle.setChecked(False)
        self.details.hide()
        self.show()

    def withdraw(self) -> None:
        self._sha256 = None
        self.hide()

    # ---- inside --------------------------------------------------------------------------------
    def _show_certificate(self, certificate: CertificateInfo | None, now: datetime) -> None:
        if certificate is None:
            unknown = "Not readable: the PBX did not show its certificate."
            for label in (self.subject, self.issuer, self.expires, self.names):
                label.setText(unknown if label is self.subject else "—")
            self.fingerprint.setText("—")
            return
        self.subject.setText(certificate.subject or "(empty)")
        self.issuer.setText(certificate.issuer or "(empty)")
        self.expires.setText(expiry_text(certificate.not_after, now))
        self.names.setText(", ".join(certificate.names) or "None")
        text = fingerprint_text(certificate.sha256)
        # Two lines of 16 bytes: a 95-character line would not fit beside the captions.
        self.fingerprint.setText(f"{text[:47]}\n{text[48:]}")

    def _trust_clicked(self) -> None:
        if self._sha256:
            self.trustRequested.emit(self._sha256)

    def _cancel_clicked(self) -> None:
        self.withdraw()
        self.cancelled.emit()

    def _details_toggled(self, shown: bool) -> None:
        self.details.setVisible(shown)
        arrow = Qt.ArrowType.DownArrow if shown else Qt.ArrowType.RightArrow
        self.details_toggle.setArrowType(arrow)
