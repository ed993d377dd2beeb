"""Step 1: whatever the engineer pastes becomes the PBX's base URL; then ask the PBX what it is.

The address is parsed on every keystroke (pure), so a typo is named at once. "Check this PBX"
(or Next) detects v20/v18 and the build, and hints at the hosting mode and the region. A PBX
whose certificate this computer does not trust shows that certificate here, to trust by pin or
through the customer's CA file; either re-checks the same address and keeps every later step.
"""

from __future__ import annotations

from PySide6.QtWidgets import (
    QHBoxLayout,
    QLineEdit,
    QPushButton,
    QWidget,
)

from app.domain.addresses import AddressError, parse_pbx_address
from app.services.setup.detect import HOSTED, SELF_HOSTED, UNKNOWN, PbxDetection, detect_pbx
from app.ui.setup.context import SetupContext
from app.ui.setup.files import CERTIFICATE_FILTER, FileChooser
from app.ui.setup.step import FieldGrid, SetupStep, StepStatus, hint_label, text_label
from app.ui.setup.trust import TrustOffer
from app.ui.theme import set_tone

HOSTING_WORDS = {HOSTED: "3CX-hosted", SELF_HOSTED: "self-managed", UNKNOWN: "not sure"}


class CaFileRow(QWidget):
    """The private-CA file: an edit and a Browse… button (steps 1 and 6 share the setting)."""

    def __init__(self, ctx: SetupContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._ctx = ctx
        self._files = FileChooser(self)
        self.edit = QLineEdit()
        self.edit.setObjectName("caFile")
        self.edit.setPlaceholderText("Optional: the customer's CA certificate (PEM)")
        self.edit.editingFinished.connect(self._apply)
        self.browse = QPushButton("Browse…")
        self.browse.setObjectName("caBrowse")
        self.browse.clicked.connect(self._browse_clicked)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.edit, 1)
        layout.addWidget(self.browse)
        ctx.trustChanged.connect(self._show)

    def set_path(self, path: str) -> None:
        self.edit.setText(path)
        self._apply()

    def _apply(self) -> None:
        path = self.edit.text().strip() or None
        self._ctx.set_trust(ca_file=path, pin_sha256=self._ctx.pin_sha256)

    def _show(self) -> None:
        if (self.edit.text().strip() or None) != self._ctx.ca_file:
            self.edit.setText(self._ctx.ca_file or "")

    def _browse_clicked(self) -> None:
        self._ctx.start(self._browse(), name="setup: choose CA file")

    async def _browse(self) -> None:
        chosen = await self._files.open_file(
            "Choose the customer's CA certificate", self.edit.text().strip(), CERTIFICATE_FILTER
        )
        if chosen:
            self.set_path(chosen)


class AddressStep(SetupStep):
    title = "PBX address"

    def __init__(self, ctx: SetupContext) -> None:
        super().__init__(
            ctx,
            "Paste the address of the customer's 3CX admin console: a name like "
            "pbx.example.com, a full URL with or without the port, or a link copied from the "
            "browser. The app finds the version and how the PBX is hosted.",
        )
        self._detected_for: str | None = None  # the URL the detection is for
        self._advance_after = False

        self.address_edit = QLineEdit()
        self.address_edit.setObjectName("pbxAddress")
        self.address_edit.setPlaceholderText("e.g. https://pbx.example.com:5001/#/office/dashboard")
        self.address_edit.textChanged.connect(self._address_edited)
        self.address_edit.returnPressed.connect(self.check)
        self.preview = hint_label(object_name="addressPreview")
        self.ca_row = CaFileRow(ctx)
        ca_hint = hint_label(
            "Only when the PBX's certificate comes from the customer's own CA; leave empty for "
            "a certificate the system already trusts (3CX-hosted and Let's Encrypt ones)."
        )
        self.check_button = QPushButton("Check this PBX")
        self.check_button.setObjectName("detectButton")
        self.check_button.clicked.connect(self.check)
        check_row = QHBoxLayout()
        check_row.addWidget(self.check_button)
        check_row.addStretch(1)

        form = FieldGrid()
        form.add("PBX address:", self.address_edit, self.preview)
        form.add("Private CA:", self.ca_row, ca_hint)
        self.body.addLayout(form)
        self.body.addLayout(check_row)
        self.trust = TrustOffer(ctx, self)
        self.trust.trusted.connect(self._trusted)
        self.body.addWidget(self.trust.panel)

        self.version_value = text_label(object_name="detectedVersion")
        self.hosting_value = text_label(object_name="detectedHosting")
        self.region_value = text_label(object_name="detectedRegion")
        self.found = QWidget()
        found_form = FieldGrid(self.found)
        found_form.add("Version:", self.version_value)
        found_form.add("Hosting:", self.hosting_value)
        found_form.add("Region:", self.region_value)
        self.found.hide()
        self.body.addWidget(self.found)
        ctx.trustChanged.connect(self._trust_changed)
        ctx.pinChanged.connect(self._pin_changed)
        self._address_edited()

    # ---- parsing -------------------------------------------------------------------------------
    def parsed_url(self) -> str | None:
        try:
            return parse_pbx_address(self.address_edit.text()).base_url
        except AddressError:
            return None

    def _address_edited(self) -> None:
        text = self.address_edit.text()
        try:
            url = parse_pbx_address(text).base_url
        except AddressError as exc:
            url = None
            self.preview.setText(str(exc) if text.strip() else "")
            set_tone(self.preview, "fail")
        else:
            self.preview.setText(f"Connects to {url}")
            set_tone(self.preview, None)
        if not self._current():
            self._forget()
        self.check_button.setEnabled(url is not None)
        self.changed.emit()

    def _current(self) -> bool:
        url = self.parsed_url()
        return url is not None and self._detected_for == url

    def _forget(self) -> None:
        if self._detected_for is None:
            return
        self._detected_for = None
        self.found.hide()
        self.trust.withdraw()
        self.clear_message()
        self.set_status(StepStatus.NOT_STARTED)
        self.ctx.set_detection(None)

    def _trust_changed(self) -> None:
        """A CA file given here or on a later step: ask the same address again with it."""
        if self._detected_for is not None and not self.busy:
            self.check()

    def _pin_changed(self) -> None:
        """Pinned on a later step: ask again if the certificate stopped this step."""
        detection = self.ctx.detection
        if detection is not None and detection.certificate_trouble is not None:
            self._trust_changed()

    def _trusted(self) -> None:
        if not self.busy:  # a new CA file has already started the check
            self.check()

    # ---- the wizard's hooks --------------------------------------------------------------------
    def must_haves_met(self) -> bool:
        return self.parsed_url() is not None

    def passed(self) -> bool:
        return self._current()

    def why_blocked(self) -> str:
        if not self.address_edit.text().strip():
            return "Paste the PBX address to continue."
        return "The PBX address cannot be used yet (see the message under it)."

    def request_next(self) -> bool:
        if self._current():
            return True
        self._advance_after = True
        self.check()
        return False

    def summary(self) -> str:
        detection = self.ctx.detection
        if detection is None:
            return "Not checked."
        if detection.problem:
            return f"{detection.url}: {detection.problem}"
        version = detection.version or detection.generation or "version unknown"
        hosting = HOSTING_WORDS.get(detection.hosting, detection.hosting)
        return f"{detection.url}: 3CX {version}; hosting: {hosting}."

    def rerender(self) -> None:
        if self.ctx.detection is not None and self._current():
            self._show(self.ctx.detection)

    # ---- detection -----------------------------------------------------------------------------
    def check(self) -> None:
        text = self.address_edit.text()
        url = self.parsed_url()
        if url is None:
            return
        self.clear_message()
        limit = self.ctx.timeouts.detect_s
        self.start_work("Asking the PBX what it is", self._detect(text, url), limit_s=limit)

    async def _detect(self, text: str, url: str) -> None:
        advance, self._advance_after = self._advance_after, False
        try:
            detection = await detect_pbx(
                text, tls=self.ctx.tls(), timeout_s=self.ctx.timeouts.detect_s
            )
        except ValueError as exc:  # AddressError, or a CA file that cannot be read
            self.show_message(str(exc), "fail")
            self.set_status(StepStatus.FAIL)
            return
        self._detected_for = url
        self.ctx.redetected(detection)
        self._show(detection)
        if detection.problem:
            self.set_status(StepStatus.FAIL)
        else:
            self.set_status(StepStatus.OK)
            if advance:
                self.advanceRequested.emit()

    def work_failed(self) -> None:
        self._advance_after = False
        self.set_status(StepStatus.FAIL)

    def _show(self, detection: PbxDetection) -> None:
        presenter = self.ctx.ui.presenter
        if detection.generation:
            version = detection.version or "build not reported"
            self.version_value.setText(f"{detection.generation} ({version})")
        elif detection.certificate_trouble is not None:
            self.version_value.setText(
                "Not known yet: the PBX is asked once its certificate is trusted."
            )
        else:
            self.version_value.setText("Not known: the PBX did not answer as a 3CX PBX.")
        hosting = HOSTING_WORDS.get(detection.hosting, detection.hosting)
        hosting = hosting[:1].upper() + hosting[1:]
        self.hosting_value.setText(presenter.text(f"{hosting}. {detection.hosting_hint}"))
        region = detection.region or "Not known yet"
        self.region_value.setText(presenter.text(f"{region}. {detection.region_hint}".strip()))
        self.found.show()
        self.trust.offer(detection.certificate_trouble)
        if detection.certificate_trouble is not None and detection.certificate_trouble.pinnable:
            self.show_message(
                "The PBX's certificate is not trusted yet: check it above with the customer, "
                "then trust it or choose their CA file.",
                "warn",
            )
        elif detection.problem:
            self.show_message(detection.problem, "fail")
        else:
            self.show_message(
                f"The PBX at {detection.url} answered. Press Next for the prerequisites.", "pass"
            )
