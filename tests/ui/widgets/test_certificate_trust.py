"""The certificate trust panel on its own: what it shows, what it offers, what it hides."""

from __future__ import annotations

from datetime import UTC, datetime

from pytestqt.qtbot import QtBot

from app.services.pbx_access import CertificateInfo
from app.ui.widgets.certificate_trust import CertificateTrustPanel, expiry_text, fingerprint_text

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
CERT = CertificateInfo(
    subject="CN=pbx.harbourdental.example",
    issuer="CN=Harbour Dental Root CA,O=Harbour Dental",
    not_before=datetime(2025, 3, 1, tzinfo=UTC),
    not_after=datetime(2027, 3, 1, tzinfo=UTC),
    sha256="ab" * 32,
    names=("pbx.harbourdental.example",),
)
RAW = "[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed (_ssl.c:1006)"


def panel_on(qtbot: QtBot) -> CertificateTrustPanel:
    panel = CertificateTrustPanel()
    qtbot.addWidget(panel)
    return panel


def test_shows_the_certificate_and_offers_trust(qtbot: QtBot) -> None:
    panel = panel_on(qtbot)
    assert panel.isHidden()
    panel.offer(CERT, what="Not trusted yet.", details=RAW, now=NOW)
    assert not panel.isHidden()
    assert panel.subject.text() == CERT.subject and panel.issuer.text() == CERT.issuer
    assert panel.expires.text() == expiry_text(CERT.not_after, NOW)
    assert "(in 365 days)" in panel.expires.text() or "(in 364 days)" in panel.expires.text()
    lines = panel.fingerprint.text().split("\n")
    assert len(lines) == 2 and ":".join(lines) == fingerprint_text(CERT.sha256)
    assert panel.trust_button.isEnabled() and panel.warnings.isHidden()
    with qtbot.waitSignal(panel.trustRequested) as pinned:
        panel.trust_button.click()
    assert pinned.args == [CERT.sha256]
    with qtbot.waitSignal(panel.caFileRequested):
        panel.ca_button.click()


def test_raw_text_only_behind_details(qtbot: QtBot) -> None:
    panel = panel_on(qtbot)
    panel.offer(CERT, what="Not trusted yet.", details=RAW, now=NOW)
    panel.show()
    assert RAW not in panel.what.text()
    assert not panel.details.isVisible()
    panel.details_toggle.click()
    assert panel.details.isVisible() and panel.details.text() == RAW
    panel.details_toggle.click()
    assert not panel.details.isVisible()


def test_a_warning_a_pin_cannot_pass_is_plain_and_trust_is_not_offered(qtbot: QtBot) -> None:
    panel = panel_on(qtbot)
    warning = "This certificate expired on 01 Mar 2025."
    panel.offer(CERT, what="It has expired.", warnings=(warning,), now=NOW)
    assert not panel.warnings.isHidden() and panel.warnings.text() == warning
    assert not panel.trust_button.isEnabled() and panel.ca_button.isEnabled()
    assert panel.details_toggle.isHidden()  # nothing raw to show


def test_cancel_withdraws(qtbot: QtBot) -> None:
    panel = panel_on(qtbot)
    panel.offer(None, what="Not trusted yet.", now=NOW)
    assert not panel.trust_button.isEnabled()  # nothing to pin
    with qtbot.waitSignal(panel.cancelled):
        panel.cancel_button.click()
    assert panel.isHidden()


def test_expiry_words() -> None:
    assert "expired 3 days ago" in expiry_text(datetime(2026, 2, 26, 12, tzinfo=UTC), NOW)
    assert fingerprint_text("0a1b") == "0A:1B"
