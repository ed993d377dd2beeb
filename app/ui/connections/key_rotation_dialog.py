"""Give one connection a new API key: checked against the PBX before it replaces the old one.

Two ways in: paste a key the engineer generated in the 3CX admin console, or sign in as a 3CX
admin and have the PBX generate one for the connection's API client (the key goes straight to
the check and the keyring, never on screen). ``ConnectionStore.rotate_key`` verifies the key
(token, call history, recordings) and only then swaps it in; when the PBX rejects it the old key
stays and the dialog shows the fix; an untrusted certificate is shown to trust, not blamed on it.

The admin password and security code are used for one sign-in and cleared from their fields
at once; nothing typed here is stored. Open it with ``app.ui.dialogs.run_dialog``.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
from html import escape
from typing import Final

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QButtonGroup,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QProgressBar,
    QRadioButton,
    QVBoxLayout,
    QWidget,
)

from app.domain.clock import utc_now
from app.domain.connection import ConnectionProfile, key_age_text, key_age_warning
from app.services import certificate_trouble as untrusted
from app.services.connections.store import (
    ConnectionStore,
    ConnectionStoreError,
    InvalidConnectionError,
    KeyRotation,
    KeyRotationRejected,
)
from app.services.logs.setup import REDACTOR
from app.services.pbx_access import ThreeCXError, admin_sign_in
from app.services.session import connection_params
from app.services.setup.capabilities import LABELS, CapabilityCheck, CapabilityReport
from app.ui.context import UiContext
from app.ui.theme import Mark, colours, mark_icon, set_box, set_tone
from app.ui.widgets.certificate_trust import CertificateTrustPanel
from app.ui.widgets.dialog_fit import grow_to_fit, scrolling_body
from app.ui.widgets.secret_field import SecretField

log = logging.getLogger(__name__)

CONSOLE_PATH: Final = "3CX admin console → Integrations → API"
PASTE_ACTION: Final = "Check and use the new key"
GENERATE_ACTION: Final = "Sign in and generate a key"


def _html(text: str) -> str:
    return escape(text, quote=False)


class _NoApiClient(Exception):
    """The PBX lists no API client with the connection's Client ID."""


def _error_label(object_name: str) -> QLabel:
    label = QLabel()
    label.setObjectName(object_name)
    label.setWordWrap(True)
    set_tone(label, "fail")
    label.setVisible(False)
    return label


def _wrapped(object_name: str) -> QLabel:
    label = QLabel()
    label.setObjectName(object_name)
    label.setWordWrap(True)
    return label


def _note(text: str = "") -> QLabel:
    label = QLabel(text)
    label.setWordWrap(True)
    set_tone(label, "muted")
    return label


def _mark(ok: bool | None) -> Mark:
    if ok is True:
        return Mark.PASS
    if ok is False:
        return Mark.FAIL
    return Mark.IDLE


class KeyRotationDialog(QDialog):
    """Paste or generate a new key for one saved connection, verify it, then swap it in.

    ``rotated`` carries the updated ``ConnectionProfile`` the moment the new key is stored (the
    window reopens the connection with it); ``rotation`` keeps the outcome afterwards.
    """

    rotated = Signal(object)

    def __init__(
        self,
        ui: UiContext,
        store: ConnectionStore,
        profile: ConnectionProfile,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        if profile.demo:
            raise ValueError("The demo connection's key cannot be rotated.")
        self.setObjectName("keyRotationDialog")
        self.setWindowTitle(f"Rotate the API key: {profile.name}")
        self.setModal(True)
        self._ui = ui
        self._store = store
        self._profile = profile
        self._busy = False
        self.rotation: KeyRotation | None = None
        self._build_choices(profile)
        # Shown one at a time (not a stack, which would be as tall as the taller page).
        self.paste_page = self._build_paste_page()
        self.generate_page = self._build_generate_page()
        self.generate_page.setVisible(False)
        self.paste_choice.toggled.connect(self._on_mode)
        self._build_progress()
        self.trust_panel = CertificateTrustPanel()
        self.trust_panel.ca_button.hide()  # the connection's own dialog takes a CA file
        self.trust_panel.trustRequested.connect(
            lambda sha: self._ui.tasks.start(self._trust(sha), name="rotation: trust certificate")
        )
        self._build_buttons()
        self._lay_out()
        ui.presenter.changed.connect(self._on_presenter_changed)
        self._render_intro()
        self._on_presenter_changed()
        self.setMinimumWidth(680)

    # ---- building --------------------------------------------------------------------------
    def _build_choices(self, profile: ConnectionProfile) -> None:
        """The intro, the key's age and the choice between pasting and generating a key."""
        self.intro = _wrapped("rotationIntro")
        self.age = _wrapped("rotationKeyAge")

        self.paste_choice = QRadioButton("Paste a key generated in the 3CX admin console")
        self.paste_choice.setObjectName("pasteChoice")
        self.generate_choice = QRadioButton(
            "Generate a new key on the PBX (sign in as a 3CX admin)"
        )
        self.generate_choice.setObjectName("generateChoice")
        self.paste_choice.setChecked(True)
        choices = QButtonGroup(self)
        choices.addButton(self.paste_choice)
        choices.addButton(self.generate_choice)
        # Keys are generated through XAPI: v20 only (an unknown version may try).
        self._can_generate = not (profile.version or "").startswith(("18.", "16."))
        if not self._can_generate:
            self.generate_choice.setEnabled(False)
            self.generate_choice.setToolTip(
                "The PBX generates keys through XAPI, which needs 3CX v20. On v18, change the "
                "API user's password in the admin console and paste it."
            )

    def _build_progress(self) -> None:
        """The busy bar, what it is doing, each check's result and the outcome."""
        self.progress = QProgressBar()
        self.progress.setObjectName("rotationProgress")
        self.progress.setRange(0, 0)  # busy: rotate_key reports every check at the end
        self.progress.setTextVisible(False)
        self.progress.setMaximumHeight(8)
        self.progress.setVisible(False)
        self.progress_text = _note()
        self.progress_text.setObjectName("rotationProgressText")
        self.progress_text.setVisible(False)
        self.checks_box = QWidget()
        self.checks_box.setObjectName("rotationChecks")
        self._checks_grid = QGridLayout(self.checks_box)
        self._checks_grid.setContentsMargins(0, 4, 0, 4)
        self._checks_grid.setColumnStretch(1, 1)
        self.checks_box.setVisible(False)
        self.outcome = _wrapped("rotationOutcome")
        self.outcome.setTextFormat(Qt.TextFormat.RichText)
        self.outcome.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        # A box before the first show: its padding counts in the label's height only from then.
        set_box(self.outcome, "fail")
        self.outcome.setVisible(False)

    def _build_buttons(self) -> None:
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        self.rotate_button = self.buttons.addButton(
            PASTE_ACTION, QDialogButtonBox.ButtonRole.AcceptRole
        )
        self.rotate_button.setObjectName("rotateButton")
        self.rotate_button.setDefault(True)
        self.rotate_button.clicked.connect(self._on_rotate)
        self.buttons.rejected.connect(self.reject)

    def _lay_out(self) -> None:
        outer, layout, self._body = scrolling_body(self)
        layout.addWidget(self.intro)
        layout.addWidget(self.age)
        layout.addWidget(self.paste_choice)
        layout.addWidget(self.generate_choice)
        layout.addWidget(self.paste_page)
        layout.addWidget(self.generate_page)
        layout.addWidget(self.progress_text)
        layout.addWidget(self.progress)
        layout.addWidget(self.checks_box)
        layout.addWidget(self.outcome)
        layout.addWidget(self.trust_panel)
        layout.addStretch(1)
        outer.addWidget(self.buttons)

    def _build_paste_page(self) -> QWidget:
        page = QWidget()
        form = QFormLayout(page)
        form.setContentsMargins(24, 4, 0, 4)
        self.key_edit = SecretField.api_key("newKey", "Paste the new API key")
        self.reveal_button = self.key_edit.reveal_button()
        row = QHBoxLayout()
        row.addWidget(self.key_edit, 1)
        row.addWidget(self.reveal_button)
        column = QVBoxLayout()
        column.setSpacing(2)
        column.addLayout(row)
        column.addWidget(
            _note(
                f"In the {CONSOLE_PATH}, open Client ID {self._profile.client_id} and generate "
                "a new key; 3CX shows it once."
            )
        )
        self.key_error = _error_label("error_newKey")
        column.addWidget(self.key_error)
        self.key_edit.textChanged.connect(lambda _text: self.key_error.setVisible(False))
        form.addRow("New API key:", column)
        return page

    def _build_generate_page(self) -> QWidget:
        page = QWidget()
        column = QVBoxLayout(page)
        column.setContentsMargins(24, 4, 0, 4)
        form = QFormLayout()
        self.username_edit = QLineEdit()
        self.username_edit.setObjectName("adminUsername")
        self.username_edit.setPlaceholderText("a System Owner or System Administrator")
        self.password_edit = SecretField.password("adminPassword")
        self.code_edit = SecretField.code("adminSecurityCode", "Only with two-factor sign-in")
        self.code_edit.setMaximumWidth(280)
        form.addRow("Admin user:", self.username_edit)
        form.addRow("Password:", self.password_edit)
        form.addRow("Security code:", self.code_edit)
        column.addLayout(form)
        column.addWidget(
            _note(
                "Used once to sign in; never stored. 3CX replaces the key of Client ID "
                f"{self._profile.client_id} at once: the old key stops working on the PBX, for "
                "every bridge that uses it, the moment the new one is generated. The new key is "
                "not shown."
            )
        )
        self.admin_error = _error_label("error_admin")
        column.addWidget(self.admin_error)
        for edit in (self.username_edit, self.password_edit, self.code_edit):
            edit.textChanged.connect(lambda _text: self.admin_error.setVisible(False))
        return page

    # ---- rendering -------------------------------------------------------------------------
    def _render_intro(self) -> None:
        profile = self._profile
        self.intro.setText(
            f"<b>{_html(profile.name)}</b>: Client ID {_html(profile.client_id)} on "
            f"{_html(profile.url)}. The new key is checked against the PBX first; the "
            "current key stays in place until the new one passes."
        )
        now = utc_now()
        warn_days = self._store.settings.key_age_warning_days
        warning = key_age_warning(profile, now=now, warn_days=warn_days)
        text = f"Current key: {key_age_text(profile, now=now)}."
        if warning:
            text += f" ⚠ {warning}"
        self.age.setText(text)
        set_tone(self.age, "warn" if warning else "muted")

    def _on_mode(self) -> None:
        paste = self.paste_choice.isChecked()
        self.paste_page.setVisible(paste)
        self.generate_page.setVisible(not paste)
        self.rotate_button.setText(PASTE_ACTION if paste else GENERATE_ACTION)
        self._fit_height()

    def _on_presenter_changed(self) -> None:
        # On a shared screen the key is never revealed, whatever the button said before.
        presenting = self._ui.presenter.enabled
        self.key_edit.set_presenting(presenting)
        self.reveal_button.setEnabled(not presenting and not self._busy)
        self.reveal_button.setToolTip(
            "Keys are never shown in presenter mode." if presenting else "Show the pasted key"
        )

    def _set_busy(self, busy: bool, text: str = "") -> None:
        self._busy = busy
        for widget in (self.paste_choice, self.paste_page, self.generate_page, self.rotate_button):
            widget.setEnabled(not busy)
        self.generate_choice.setEnabled(not busy and self._can_generate)
        cancel = self.buttons.button(QDialogButtonBox.StandardButton.Cancel)
        if cancel is not None:
            cancel.setEnabled(not busy)
        self.progress.setVisible(busy)
        self.progress_text.setText(text)
        self.progress_text.setVisible(busy and bool(text))
        self._on_presenter_changed()

    def _show_checks(self, checks: tuple[CapabilityCheck, ...] | None) -> None:
        """The capability checks as rows (None: every check, still running; rotate_key
        reports them all at the end)."""
        while self._checks_grid.count():
            item = self._checks_grid.takeAt(0)
            widget = item.widget() if item is not None else None
            if widget is not None:
                widget.hide()
                widget.deleteLater()
        rows: list[tuple[Mark, str, str]]
        if checks is None:
            rows = [(Mark.RUNNING, label, "checking…") for label in LABELS.values()]
        else:
            rows = [(_mark(c.ok), c.label, self._ui.presenter.text(c.detail)) for c in checks]
        muted = colours().muted
        for row, (mark, label, detail) in enumerate(rows):
            mark_label = QLabel()
            mark_label.setPixmap(mark_icon(mark).pixmap(14, 14))
            mark_label.setAccessibleName(mark.value)
            text = QLabel(f"{_html(label)}<br><span style='color: {muted};'>{_html(detail)}</span>")
            text.setTextFormat(Qt.TextFormat.RichText)
            text.setWordWrap(True)
            self._checks_grid.addWidget(mark_label, row, 0, Qt.AlignmentFlag.AlignTop)
            self._checks_grid.addWidget(text, row, 1, Qt.AlignmentFlag.AlignTop)
        self.checks_box.setVisible(True)
        for widget in self.checks_box.findChildren(QLabel):
            if not widget.testAttribute(Qt.WidgetAttribute.WA_WState_ExplicitShowHide):
                widget.show()  # now, so the height below counts them
        self._fit_height()

    def _fit_height(self) -> None:
        """Grow to show what was just added (past the screen's height, the body scrolls)."""
        grow_to_fit(self, self._body)

    def _show_result(self, text: str, *, ok: bool) -> None:
        set_box(self.outcome, "pass" if ok else "fail")
        self.outcome.setText(text)
        self.outcome.setVisible(True)
        self._fit_height()

    # ---- actions ---------------------------------------------------------------------------
    def _on_rotate(self) -> None:
        if self._busy or self.rotation is not None:
            return
        self.outcome.setVisible(False)
        self.trust_panel.withdraw()
        if self.paste_choice.isChecked():
            try:
                key = self.key_edit.checked_key()
            except InvalidConnectionError as exc:
                self.key_error.setText(f"API key: {exc.problems['secret']}")
                self.key_error.setVisible(True)
                self.key_edit.setFocus()
                return
            self._ui.tasks.start(self._rotate(key, generated=False), name="rotate key")
            return
        username = self.username_edit.text().strip()
        password = self.password_edit.text()
        missing = [
            label
            for label, value in (("Admin user", username), ("Password", password))
            if not value
        ]
        if missing:
            self.admin_error.setText(f"{' and '.join(missing)}: needed to sign in to the PBX.")
            self.admin_error.setVisible(True)
            return
        code = self.code_edit.text().strip()
        # The password is needed once: it leaves the form before anything is awaited.
        self.password_edit.clear()
        self.code_edit.clear()
        self._ui.tasks.start(self._generate(username, password, code), name="generate key")

    async def _generate(self, username: str, password: str, code: str) -> None:
        client_id = self._profile.client_id
        self._set_busy(True, f"Signing in to the PBX as {username}…")
        try:
            key = await self._generated_key(username, password, code)
        except asyncio.CancelledError:
            with contextlib.suppress(RuntimeError):  # the window is closing; may be deleted
                self._set_busy(False)
            raise
        except ThreeCXError as exc:
            if not untrusted.is_trust_failure(exc):
                self._admin_problem(" ".join(p for p in (exc.message, exc.next_step) if p))
                return
            tls = connection_params(self._profile).tls
            trouble = await untrusted.certificate_trouble(
                self._profile.url, tls, timeout_s=10, seen=exc
            )
            self._set_busy(False)
            self._untrusted(trouble)
        except ValueError as exc:  # AddressError: the saved address no longer parses
            self._admin_problem(str(exc))
        except _NoApiClient:
            self._admin_problem(
                f"This PBX has no API client with Client ID {client_id}: check the "
                f"connection's Client ID, or create the API client in the {CONSOLE_PATH}."
            )
        else:
            await self._rotate(key, generated=True)

    def _admin_problem(self, text: str) -> None:
        self._set_busy(False)
        self.admin_error.setText(text)
        self.admin_error.setVisible(True)

    async def _generated_key(self, username: str, password: str, code: str) -> str:
        """Sign in as the admin, find the connection's API client, have 3CX make a new key."""
        profile = self._profile
        params = connection_params(profile)
        async with await admin_sign_in(
            profile.url, username, password, tls=params.tls, security_code=code
        ) as admin:
            principals = await admin.service_principals()
            principal = next((p for p in principals if p.number == profile.client_id), None)
            if principal is None:
                raise _NoApiClient(profile.client_id)
            self.progress_text.setText(f"Generating a new key for Client ID {profile.client_id}…")
            key = await admin.generate_app_token(principal.id)
        REDACTOR.register(key)
        log.info("The PBX generated a new key for %r", profile.name)
        return key

    async def _rotate(self, key: str, *, generated: bool) -> None:
        self._set_busy(True, "Checking the new key against the PBX…")
        self._show_checks(None)
        try:
            rotation = await self._store.rotate_key(self._profile.id, key)
        except KeyRotationRejected as exc:
            self._set_busy(False)
            if exc.report.certificate_trouble is not None:
                self._untrusted(exc.report.certificate_trouble)
                return
            self._rejected(exc.report, exc.message, generated=generated)
            if generated and exc.report.key_accepted:
                await self._keep_generated_key(key)
            return
        except ConnectionStoreError as exc:
            self._set_busy(False)
            self.checks_box.setVisible(False)
            self._show_result(
                f"<b>The new key was not saved.</b> {_html(exc.message)}<br>"
                + self._old_key_fate(generated=generated),
                ok=False,
            )
            return
        except asyncio.CancelledError:
            with contextlib.suppress(RuntimeError):
                self._set_busy(False)
            raise
        self._set_busy(False)
        self.key_edit.clear()
        self._succeeded(rotation, generated=generated)

    async def _keep_generated_key(self, key: str) -> None:
        """3CX already retired the old key: a new one that signs in beats a dead one."""
        try:
            saved = await self._store.update(self._profile, key)
        except ConnectionStoreError as exc:
            log.warning("The generated key was not saved: %s", exc.message)
            return
        self._profile = saved
        self.outcome.setText(
            self.outcome.text()
            + "<br><br>Because the old key no longer works, the new key was saved anyway: fix "
            "the problem above, then run the doctor."
        )
        self._fit_height()
        self.rotated.emit(saved)

    # ---- an untrusted certificate ----------------------------------------------------------
    def _untrusted(self, trouble: untrusted.CertificateTrouble | None) -> None:
        """Nothing was sent to the PBX: show its certificate to trust, never blame the key."""
        self.checks_box.setVisible(False)
        fate = self._old_key_fate(generated=False)
        self._show_result(f"<b>The new key has not been tried yet.</b><br>{fate}", ok=False)
        if (t := trouble) is not None:  # its words say what happened and what to do
            self.trust_panel.offer(t.certificate, what=t.what, warnings=t.warnings, details=t.raw)
        self._fit_height()

    async def _trust(self, pin_sha256: str) -> None:
        """Pin the certificate on the connection (as its edit dialog would), then check again."""
        current = self._store.get(self._profile.id) or self._profile
        changed = dataclasses.replace(current, pin_sha256=pin_sha256)
        try:
            self._profile = await self._store.update(changed, None)
        except ConnectionStoreError as exc:  # a CA file that cannot be read, a locked file
            return self._show_result(f"<b>Not changed.</b> {_html(exc.message)}", ok=False)
        self.trust_panel.withdraw()
        if self.paste_choice.isChecked():
            self._on_rotate()  # the pasted key, checked again with the certificate trusted
            return
        self.outcome.setVisible(False)
        self._admin_problem("Certificate trusted. Type the admin password again, then sign in.")

    # ---- outcomes --------------------------------------------------------------------------
    def _old_key_fate(self, *, generated: bool) -> str:
        if generated:
            return (
                "3CX replaced the key when it generated the new one, so the old key stored here "
                "no longer works on the PBX either."
            )
        return "<b>Your old key is still in place</b> and PBX Companion keeps using it."

    def _rejected(self, report: CapabilityReport, message: str, *, generated: bool) -> None:
        self._show_checks(report.checks)
        problem = report.first_problem
        fix = problem.fix if problem is not None and problem.fix else message
        headline = (
            "The PBX rejected the new key."
            if not report.key_accepted
            else "The new key signs in, but it cannot do everything a bridge needs."
        )
        self._show_result(
            f"<b>{_html(headline)}</b><br>"
            f"What to do: {_html(self._ui.presenter.text(fix))}<br><br>"
            + self._old_key_fate(generated=generated),
            ok=False,
        )

    def _succeeded(self, rotation: KeyRotation, *, generated: bool) -> None:
        self.rotation = rotation
        self._profile = rotation.profile
        self._show_checks(rotation.report.checks)
        when = rotation.profile.key_rotated_at or utc_now()
        where = self._store.key_backend or "the keyring"
        self._show_result(
            f"<b>New key in use since {when.astimezone():%H:%M on %d %b %Y}.</b> It is stored "
            f"in {_html(where)}; the old key is gone from this computer.<br><br>"
            f"<b>Update every bridge.</b> {_html(self._bridges_text(rotation, generated))}",
            ok=True,
        )
        self._render_intro()
        self.rotate_button.setVisible(False)
        cancel = self.buttons.button(QDialogButtonBox.StandardButton.Cancel)
        if cancel is not None:
            cancel.setText("Close")
        for widget in (
            self.paste_choice,
            self.generate_choice,
            self.paste_page,
            self.generate_page,
        ):
            widget.setVisible(False)
        self._fit_height()
        self.rotated.emit(rotation.profile)

    def _bridges_text(self, rotation: KeyRotation, generated: bool) -> str:
        client_id = self._profile.client_id
        if generated:
            return (
                f"3CX retired the old key of Client ID {client_id} just now. Every bridge or CRM "
                "integration that still holds it fails with 401 Unauthorized from this moment, "
                "and this new key is not shown anywhere. Give each bridge its own API client in "
                f"the {CONSOLE_PATH}: generating another key for Client ID {client_id} would "
                "stop this one."
            )
        return (
            f"{rotation.bridges_reminder} If this key was generated for Client ID {client_id}, "
            "the PBX stopped accepting the old one then: a bridge still holding it gets 401 "
            "Unauthorized until it is given this key."
        )

    def reject(self) -> None:
        # A rotation in flight finishes first, so the keyring and the list never disagree.
        if not self._busy:
            super().reject()
