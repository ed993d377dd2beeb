"""Step 3: the dedicated API user, made by hand (guided) or by the app (automatic, v20 only).

Guided: the version's own steps in the admin console, naming the two capabilities as the field
docs do. Automatic: the engineer signs in once with an admin account (the password goes into
one request, is cleared from the window at once and is never stored), picks a Client ID, and
the app creates the API client and puts its key straight into the keyring, never on screen.
"""

from __future__ import annotations

import contextlib
import logging

from PySide6.QtWidgets import (
    QButtonGroup,
    QCheckBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QRadioButton,
    QVBoxLayout,
    QWidget,
)

from app.services.connections.store import ConnectionStoreError
from app.services.pbx_access import AdminSession, ServicePrincipal, ThreeCXError, admin_sign_in
from app.services.setup.api_user import ApiUserError, create_api_user, guided_steps
from app.ui.setup.context import SetupContext
from app.ui.setup.step import (
    FieldGrid,
    SetupStep,
    StepStatus,
    bold,
    error_text,
    hint_label,
    text_label,
)
from app.ui.widgets.presenter_fields import hide_while_presenting
from app.ui.widgets.secret_field import SecretField

log = logging.getLogger(__name__)

FIRST_SUGGESTED_CLIENT_ID = 900


def suggest_client_id(principals: list[ServicePrincipal]) -> str:
    """The first number from 900 up that no API client uses."""
    taken = {p.number for p in principals}
    number = FIRST_SUGGESTED_CLIENT_ID
    while str(number) in taken:
        number += 1
    return str(number)


class ApiUserStep(SetupStep):
    title = "API user"

    def __init__(self, ctx: SetupContext) -> None:
        super().__init__(
            ctx,
            "The bridge needs its own API user: a dedicated API client holding the two "
            'capabilities the field docs call "Reports User" (call history) and "Recording '
            'Manager" (recording fetch). Create it by hand, or let the app create it.',
        )
        self._admin: AdminSession | None = None
        self._left: tuple[str, ...] = ()  # settings the PBX refused, left by hand

        self.guided_radio = QRadioButton("Guided: I create it in the 3CX admin console")
        self.guided_radio.setObjectName("guidedPath")
        self.automatic_radio = QRadioButton(
            "Automatic: sign in once with an admin account and let the app create it"
        )
        self.automatic_radio.setObjectName("automaticPath")
        group = QButtonGroup(self)
        group.addButton(self.guided_radio)
        group.addButton(self.automatic_radio)
        self.guided_radio.setChecked(True)
        self.guided_radio.toggled.connect(self._path_changed)
        self.automatic_note = hint_label(object_name="automaticNote")
        self.body.addWidget(self.guided_radio)
        self.body.addWidget(self.automatic_radio)
        self.body.addWidget(self.automatic_note)

        # Two pages, one shown: hidden widgets take no room (a stacked widget would keep the
        # taller guided page's height under the short automatic one).
        self.guided_page = QWidget()
        self.guided_layout = QVBoxLayout(self.guided_page)
        self.guided_layout.setContentsMargins(0, 4, 0, 0)
        self.guided_layout.setSpacing(6)
        self.automatic_page = self._build_automatic()
        self.body.addWidget(self.guided_page)
        self.body.addWidget(self.automatic_page)

        ctx.addressChanged.connect(self._address_changed)
        ctx.detectionRefined.connect(self._address_changed)  # the version is known now
        ctx.keyChanged.connect(self._key_changed)
        self._visited = False
        self._address_changed()
        self._path_changed()

    # ---- guided --------------------------------------------------------------------------------
    def _render_guided(self) -> None:
        while self.guided_layout.count():
            item = self.guided_layout.takeAt(0)
            widget = item.widget() if item is not None else None
            if widget is not None:
                widget.deleteLater()
        generation = self.ctx.generation or "v20"
        if self.ctx.generation is None:
            note = hint_label("The version is not known yet: these are the v20 steps.")
            self.guided_layout.addWidget(note)
        for number, step in enumerate(guided_steps(generation), start=1):
            if number > 1:
                self.guided_layout.addSpacing(4)
            title = bold(text_label(f"{number}. {step.title}"))
            title.setObjectName(f"guidedTitle{number}")
            text = text_label(step.text, object_name=f"guidedText{number}")
            self.guided_layout.addWidget(title)
            self.guided_layout.addWidget(text)

    def guided_text(self) -> str:
        """Every guided instruction on screen, as plain text."""
        labels = self.guided_page.findChildren(QLabel)
        return "\n".join(label.text() for label in labels if not label.isHidden())

    # ---- automatic -----------------------------------------------------------------------------
    def _build_automatic(self) -> QWidget:
        page = QWidget()
        layout = QVBoxLayout(page)
        layout.setContentsMargins(0, 4, 0, 0)
        layout.addWidget(self._build_sign_in_form())
        layout.addWidget(self._build_create_form())
        return page

    def _build_sign_in_form(self) -> QWidget:
        """The admin sign-in: user name, password and an optional two-factor code."""
        self.sign_in_note = hint_label(object_name="signInNote")
        self.username_edit = QLineEdit()
        self.username_edit.setObjectName("adminUser")
        self.username_edit.setPlaceholderText("The admin console user name")
        hide_while_presenting(self.ctx.ui.presenter, self.username_edit)  # often a person's name
        self.password_edit = SecretField.password("adminPassword")
        self.password_edit.returnPressed.connect(self.sign_in)
        self.code_edit = SecretField.code("adminCode", "Only with two-factor sign-in")
        self.sign_in_button = QPushButton("Sign in")
        self.sign_in_button.setObjectName("adminSignIn")
        self.sign_in_button.clicked.connect(self.sign_in)
        self.sign_in_form = QWidget()
        form = FieldGrid(self.sign_in_form)
        form.add_wide(self.sign_in_note)
        form.add("Admin user name:", self.username_edit)
        form.add("Password:", self.password_edit)
        form.add("Security code:", self.code_edit)
        sign_in_row = QHBoxLayout()
        sign_in_row.addWidget(self.sign_in_button)
        sign_in_row.addStretch(1)
        form.add("", sign_in_row)
        return self.sign_in_form

    def _build_create_form(self) -> QWidget:
        """Once signed in: the Client ID, Call Control access, Create and Sign out (hidden)."""
        self.create_form = QWidget()
        create = FieldGrid(self.create_form)
        self.signed_in_label = text_label(object_name="signedIn")
        self.client_id_edit = QLineEdit()
        self.client_id_edit.setObjectName("newClientId")
        self.client_id_edit.setMaximumWidth(160)
        self.call_control_box = QCheckBox("Call Control API access (live call events)")
        self.call_control_box.setChecked(True)
        self.create_button = QPushButton("Create the API client and store its key")
        self.create_button.setObjectName("createApiUser")
        self.create_button.clicked.connect(self.create_api_client)
        self.sign_out_button = QPushButton("Sign out")
        self.sign_out_button.clicked.connect(self.sign_out)
        buttons = QHBoxLayout()
        buttons.setSpacing(8)
        buttons.addWidget(self.create_button)
        buttons.addWidget(self.sign_out_button)
        buttons.addStretch(1)
        access_hint = hint_label(
            "XAPI access is always given (it reads call history and recordings). The app then "
            "puts the client in the department with most extensions, with the Role System "
            "Owner, monitoring that department's extensions; anything the PBX refuses is named "
            "as left to do by hand."
        )
        client_row = QHBoxLayout()
        client_row.addWidget(self.client_id_edit)
        client_row.addStretch(1)
        create.add_wide(self.signed_in_label)
        create.add("Client ID:", client_row)
        create.add("", self.call_control_box, access_hint)
        create.add_wide(buttons)
        self.create_form.hide()
        return self.create_form

    @property
    def signed_in(self) -> bool:
        return self._admin is not None

    def _path_changed(self) -> None:
        guided = self.guided_radio.isChecked()
        self.guided_page.setVisible(guided)
        self.automatic_page.setVisible(not guided)
        self.clear_message()
        self._render_status()

    def _address_changed(self) -> None:
        self.stop_work(quietly=True)
        self._close_admin()
        v18 = self.ctx.generation == "v18"
        self.automatic_radio.setEnabled(not v18)
        if v18:
            self.guided_radio.setChecked(True)
            self.automatic_note.setText(
                "Automatic setup needs 3CX v20; this PBX runs v18: use the guided steps."
            )
        else:
            self.automatic_note.setText(
                "Automatic needs v20. The admin password is used for one sign-in and never "
                "stored; the new key goes straight into the keyring without being shown."
            )
        self.sign_in_note.setText(
            f"Sign in with an account that can open Admin console > Integrations > API. The "
            f"key will be kept in {self.ctx.store.key_backend or 'the OS keyring'}."
        )
        self._render_guided()
        self._render_forms()
        self.clear_message()
        self.set_status(StepStatus.NOT_STARTED)
        self._render_status()

    def _key_changed(self) -> None:
        self._render_status()

    def _render_status(self) -> None:
        if self.busy:
            return
        if self.ctx.key_origin == "created" or (self.guided_radio.isChecked() and self._visited):
            self.set_status(StepStatus.OK)
        elif self.status is not StepStatus.FAIL:
            self.set_status(StepStatus.NOT_STARTED)

    def _render_forms(self) -> None:
        self.sign_in_form.setVisible(not self.signed_in)
        self.create_form.setVisible(self.signed_in)

    def entered(self) -> None:
        self._visited = True
        self._render_status()

    def sign_in(self) -> None:
        if self.busy or self.ctx.detection is None:
            return
        username = self.username_edit.text()
        password = self.password_edit.text()
        code = self.code_edit.text()
        # The password must not outlive the attempt in any widget, whatever its outcome.
        self.password_edit.clear()
        self.code_edit.clear()
        limit = self.ctx.timeouts.sign_in_s
        self.start_work(
            "Signing in to the PBX", self._sign_in(username, password, code), limit_s=limit
        )

    async def _sign_in(self, username: str, password: str, code: str) -> None:
        detection = self.ctx.detection
        assert detection is not None
        try:
            session = await admin_sign_in(
                detection.url,
                username,
                password,
                tls=self.ctx.tls(),
                security_code=code,
                timeout_s=self.ctx.timeouts.sign_in_s,
            )
        except (ThreeCXError, ValueError) as exc:
            self.show_message(error_text(exc), "fail")
            self.set_status(StepStatus.FAIL)
            return
        try:
            principals = await session.service_principals()
        except ThreeCXError as exc:
            await session.aclose()
            self.show_message(error_text(exc), "fail")
            self.set_status(StepStatus.FAIL)
            return
        except BaseException:
            await session.aclose()
            raise
        self._admin = session
        taken = ", ".join(p.number for p in principals) or "none"
        self.signed_in_label.setText(
            f"Signed in as {username.strip()}. API clients already on this PBX: {taken}."
        )
        self.client_id_edit.setText(suggest_client_id(principals))
        self._render_forms()
        self.show_message(
            "Signed in. Check the Client ID (a free number is suggested), then create the "
            "API client.",
            "info",
        )
        self.set_status(StepStatus.NOT_STARTED)

    def create_api_client(self) -> None:
        client_id = self.client_id_edit.text().strip()
        if self.busy or self._admin is None:
            return
        if not client_id:
            self.show_message("Client ID: enter the number for the new API client.", "fail")
            return
        limit = self.ctx.timeouts.sign_in_s
        self.start_work(
            f"Creating API client {client_id}",
            self._create(self._admin, client_id, self.call_control_box.isChecked()),
            limit_s=limit,
        )

    async def _create(self, session: AdminSession, client_id: str, call_control: bool) -> None:
        try:
            created = await create_api_user(session, client_id, call_control=call_control)
        except ApiUserError as exc:
            self.show_message(exc.message, "fail")
            self.set_status(StepStatus.FAIL)
            return
        except ThreeCXError as exc:
            self.show_message(error_text(exc), "fail")
            self.set_status(StepStatus.FAIL)
            return
        self.ctx.created_client_id = created.client_id
        self._left = created.left
        try:
            await self.ctx.stage_key(created.client_id, created.secret, origin="created")
        except ConnectionStoreError as exc:
            self.show_message(
                f"API client {created.client_id} was created, but its key could not be stored: "
                f"{exc.message} Generate a new key for it in the admin console and paste it at "
                "the next step.",
                "fail",
            )
            self.set_status(StepStatus.FAIL)
            return
        await self._close_admin_now()
        self._render_forms()
        backend = self.ctx.store.key_backend or "the keyring"
        # The follow-up says what was set and, exactly, what is left by hand (if anything):
        # the key works either way, so a setting left is worth a look, not a stop.
        self.show_message(
            f"{created.follow_up} Its key went straight into {backend} and was never shown; "
            "signed out of the admin account. Then press Next.",
            "warn" if created.left else "pass",
        )
        self.set_status(StepStatus.WARN if created.left else StepStatus.OK)

    def left(self) -> None:
        # The admin's token is not kept once the engineer moves on.
        if self.signed_in:
            self.sign_out()

    def sign_out(self) -> None:
        self._close_admin()
        self._render_forms()
        self.clear_message()

    def _close_admin(self) -> None:
        session, self._admin = self._admin, None
        if session is not None:
            self.ctx.close_later(session.aclose(), name="setup: admin sign-out")

    async def _close_admin_now(self) -> None:
        session, self._admin = self._admin, None
        if session is not None:
            await session.aclose()

    def summary(self) -> str:
        if self.ctx.key_origin == "created":
            done = f"API client {self.ctx.client_id} created automatically"
            if self._left:
                return f"{done}; left by hand: {', '.join(self._left)}."
            return f"{done}, in its department as System Owner."
        return "Created by hand in the admin console (guided)."

    async def aclose(self) -> None:
        await super().aclose()
        with contextlib.suppress(ThreeCXError):
            await self._close_admin_now()
