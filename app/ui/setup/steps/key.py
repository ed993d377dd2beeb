"""Step 4: the Client ID and the API key, which goes straight into the OS keyring.

The key field is a password field that only takes a paste or typing: no copy, no drag, no
context menu. Spaces and line breaks around a pasted key are trimmed; one inside it is named.
Once stored, the field is emptied at once, so the key is in no widget; it is read back from the
keyring only by the key check. The "Show" switch, for checking a paste, is gone in presenter
mode.
"""

from __future__ import annotations

from PySide6.QtWidgets import QHBoxLayout, QLineEdit, QPushButton

from app.services.connections.store import ConnectionStoreError, InvalidConnectionError
from app.ui.setup.context import SetupContext
from app.ui.setup.step import FieldGrid, SetupStep, StepStatus, hint_label
from app.ui.widgets.secret_field import SecretField


class KeyStep(SetupStep):
    title = "API key"

    def __init__(self, ctx: SetupContext) -> None:
        super().__init__(
            ctx,
            "Enter the API client's Client ID and paste its key. 3CX shows the key only once; "
            "it goes straight into the OS keyring, never into the settings file, and is never "
            "shown again.",
        )
        self.client_id_edit = QLineEdit()
        self.client_id_edit.setObjectName("clientId")
        self.client_id_edit.setPlaceholderText("e.g. 900 (Admin console > Integrations > API)")
        self.client_id_edit.setMaximumWidth(260)
        self.client_id_edit.textEdited.connect(self._client_id_edited)

        self.key_edit = SecretField.api_key("apiKey", "Paste the API key")
        self.key_edit.returnPressed.connect(self.store_key)
        self.key_edit.textChanged.connect(self._key_typed)
        self.reveal_button = self.key_edit.reveal_button(
            "Show the pasted key to check it (hidden in presenter mode)"
        )
        self.reveal_button.toggled.connect(self._reveal)
        self.store_button = QPushButton("Store in keyring")
        self.store_button.setObjectName("storeKey")
        self.store_button.clicked.connect(self.store_key)
        key_row = QHBoxLayout()
        key_row.addWidget(self.key_edit, 1)
        key_row.addWidget(self.reveal_button)
        key_row.addWidget(self.store_button)

        self.key_state = hint_label(object_name="keyState")
        self.session_only_button = QPushButton("Hold keys in memory for this session")
        self.session_only_button.setObjectName("sessionOnly")
        self.session_only_button.clicked.connect(self._use_session_only)
        session_row = QHBoxLayout()
        session_row.addWidget(self.session_only_button)
        session_row.addStretch(1)

        client_row = QHBoxLayout()
        client_row.addWidget(self.client_id_edit)
        client_row.addStretch(1)
        form = FieldGrid()
        form.add("Client ID:", client_row)
        form.add("API key:", key_row, self.key_state)
        self.body.addLayout(form)
        self.body.addLayout(session_row)

        ctx.keyChanged.connect(self._render_state)
        self._render_state()
        self.rerender()

    # ---- hooks ---------------------------------------------------------------------------------
    def must_haves_met(self) -> bool:
        return self.ctx.key_staged and bool(self.ctx.client_id)

    def why_blocked(self) -> str:
        if not self.ctx.key_staged:
            return "Paste the API key and store it to continue."
        return "Enter the Client ID to continue."

    def entered(self) -> None:
        if not self.client_id_edit.text() and self.ctx.client_id:
            self.client_id_edit.setText(self.ctx.client_id)
        self._render_state()
        self.key_edit.setFocus()

    def summary(self) -> str:
        if not self.ctx.key_staged:
            return "No key stored."
        how = "created by the app" if self.ctx.key_origin == "created" else "pasted"
        return f"Client ID {self.ctx.client_id}; key {how}, in {self.ctx.store.key_backend}."

    def rerender(self) -> None:
        presenter = self.ctx.ui.presenter.enabled
        self.key_edit.set_presenting(presenter)
        self.reveal_button.setVisible(not presenter)

    # ---- editing -------------------------------------------------------------------------------
    def _client_id_edited(self, text: str) -> None:
        if self.ctx.key_staged:
            self.ctx.set_client_id(text)
        self.changed.emit()

    def _key_typed(self) -> None:
        self.store_button.setEnabled(bool(self.key_edit.text().strip()) and not self.busy)

    def _reveal(self, shown: bool) -> None:
        self.reveal_button.setText("Hide" if shown else "Show")

    def _use_session_only(self) -> None:
        try:
            self.ctx.store.use_session_only()
        except ConnectionStoreError as exc:
            self.show_message(exc.message, "fail")
            return
        self.clear_message()
        self._render_state()

    def _render_state(self) -> None:
        store = self.ctx.store
        no_keyring = store.key_backend is None
        self.session_only_button.setVisible(no_keyring)
        if no_keyring:
            self.key_state.setText(
                f"{store.keyring_status.reason}. The key can be held in memory until PBX "
                "Companion quits; it then has to be pasted again."
            )
        elif self.ctx.key_staged:
            how = (
                "created by the app; it was never shown"
                if self.ctx.key_origin == "created"
                else "pasted"
            )
            self.key_state.setText(
                f"A key is stored in {store.key_backend} ({how}). Paste another key only to "
                "replace it."
            )
        else:
            self.key_state.setText(f"The key will be kept in {store.key_backend}.")
        if self.ctx.key_staged and self.status is not StepStatus.WORKING:
            self.set_status(StepStatus.OK)
        self._key_typed()
        self.changed.emit()

    # ---- storing -------------------------------------------------------------------------------
    def store_key(self) -> None:
        client_id = self.client_id_edit.text().strip()
        if self.busy:
            return
        if not client_id:
            self.show_message(
                "Client ID: enter the API client's Client ID (the number it was given under "
                "Admin console > Integrations > API).",
                "fail",
            )
            self.set_status(StepStatus.FAIL)
            return
        try:
            key = self.key_edit.checked_key()
        except InvalidConnectionError as exc:
            self.show_message(f"API key: {exc.problems['secret']}", "fail")
            self.set_status(StepStatus.FAIL)
            return
        # Out of the widget before anything else happens: the keyring has it from here on.
        self.key_edit.clear()
        self.reveal_button.setChecked(False)
        self.start_work("Storing the key", self._store(client_id, key), limit_s=30.0)

    async def _store(self, client_id: str, key: str) -> None:
        try:
            await self.ctx.stage_key(client_id, key, origin="pasted")
        except ConnectionStoreError as exc:
            self.show_message(f"API key: {exc.message} Paste the key again.", "fail")
            self.set_status(StepStatus.FAIL)
            return
        backend = self.ctx.store.key_backend
        self.show_message(
            f"Key stored in {backend}. Press Next to check what it can do.",
            "pass",
        )
        self.set_status(StepStatus.OK)
        self._render_state()
