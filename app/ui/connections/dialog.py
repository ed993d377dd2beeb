"""Add or edit one customer PBX: what the engineer pastes from the 3CX admin console, checked live.

Each field has its message right under it, in red, and OK stays disabled until everything can be
used. Saving happens while the dialog is still open (``submit``): when the keyring or the file
refuses, the message appears next to the field and nothing typed is lost. Open it with
``app.ui.dialogs.run_dialog``; it never runs a nested event loop.

The fields live in ``ConnectionForm`` (connection_form.py); this dialog checks them on every
change, shows what is wrong and saves.

The API key field is a password field: the key is never shown, logged or put in a tooltip. On
edit, a stored key is not editable here: Rotate key… replaces it after proving the new one.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
from collections.abc import Awaitable, Callable

from PySide6.QtGui import QShowEvent
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QPushButton, QVBoxLayout, QWidget

from app.domain.clock import utc_now
from app.domain.connection import (
    ConnectionProfile,
    key_age_text,
    key_age_warning,
    new_connection_id,
)
from app.services.connections.store import (
    FIELD_LABELS,
    ConnectionStoreError,
    InvalidConnectionError,
    check_profile,
)
from app.ui.connections.connection_form import REQUIRED, ConnectionForm
from app.ui.connections.did_sources_editor import did_sources_problem
from app.ui.connections.form_labels import (
    ERROR_TONE,
    HINT_TONE,
    WARN_TONE,
    hint_label,
    message_label,
)
from app.ui.context import UiContext
from app.ui.theme import set_tone
from app.ui.widgets.dialog_fit import grow_to_fit

Submit = Callable[[ConnectionProfile, str | None], Awaitable[ConnectionProfile]]


def _key_place_note(
    backend: str | None, existing: ConnectionProfile | None, by_rotation: bool
) -> tuple[str, str]:
    """Where the key goes, and its tone."""
    if backend is None:
        return (
            "No OS keyring is available, so the key cannot be stored. Close this dialog and "
            'choose "Hold keys in memory for this session" in the connections list.'
        ), ERROR_TONE
    if by_rotation:
        return (
            f"A key is stored in {backend}. To replace it, use Rotate key… in the connections "
            "list: it checks the new key against the PBX before the old one is let go."
        ), HINT_TONE
    if existing is not None:
        return (
            f"No key is stored for this connection: paste the key (it goes to {backend}).",
            HINT_TONE,
        )
    return (
        f"Shown once by 3CX when the API client is created. Stored in {backend}, never in the "
        "settings file."
    ), HINT_TONE


def _key_note(
    backend: str | None,
    existing: ConnectionProfile | None,
    by_rotation: bool,
    warn_days: int,
) -> tuple[str, str]:
    """The note under the key field and its tone: where the key goes, and how old it is."""
    text, tone = _key_place_note(backend, existing, by_rotation)
    if existing is None or existing.key_rotated_at is None:
        return text, tone
    now = utc_now()
    when = f"{existing.key_rotated_at.astimezone():%d %b %Y}"
    text += f" Key {key_age_text(existing, now=now)} ({when})."
    if key_age_warning(existing, now=now, warn_days=warn_days):
        text += " Consider generating a new key and rotating it."
        tone = WARN_TONE if tone == HINT_TONE else tone
    return text, tone


class ConnectionDialog(QDialog):
    """The add/edit form. After it is accepted, ``saved_profile`` is what was stored."""

    def __init__(
        self,
        ui: UiContext,
        parent: QWidget | None = None,
        *,
        existing: ConnectionProfile | None = None,
        taken_names: tuple[str, ...] = (),
        key_backend: str | None = None,
        key_stored: bool = False,
        key_age_warning_days: int = 180,
        submit: Submit | None = None,
    ) -> None:
        """``key_backend`` is where a key goes (None: no keyring works); ``key_stored`` says
        whether the existing connection has one. Without ``submit`` the dialog just accepts
        and the caller reads ``entered()``.
        """
        super().__init__(parent)
        self.setObjectName("connectionDialog")
        self._ui = ui
        self._existing = existing
        self._taken_names = taken_names
        self._key_backend = key_backend
        self._key_stored = key_stored
        self._key_age_warning_days = key_age_warning_days
        self._submit = submit
        self._busy = False
        self._ready = False  # signals fire while the form is built; validate once it is
        self._touched: set[str] = set()
        # Messages from the last save attempt, each with the field's value it was about.
        self._server_problems: dict[str, tuple[str, object]] = {}
        self._candidate: ConnectionProfile | None = None
        self._key: str | None = None
        self._key_by_rotation = False
        self.saved_profile: ConnectionProfile | None = None
        self._zones_loaded = False

        self.setWindowTitle(f"Edit connection: {existing.name}" if existing else "Add connection")
        self.setModal(True)
        self.form = ConnectionForm(ui.presenter)
        self.form.edited.connect(self._revalidate)
        self.form.touched.connect(self._touch)
        self._build_footer(editing=existing is not None)

        profile = existing or ConnectionProfile(
            id=new_connection_id(), name="", url="", client_id=""
        )
        self._id = profile.id
        self.form.fill(profile)
        self._render_key_note()
        if existing is not None:
            self._touched.update(FIELD_LABELS)  # show a stored value's problem at once
        self._ui.presenter.changed.connect(self._on_presenter_changed)
        self._ready = True
        self._revalidate()
        self.setMinimumWidth(600)

    def _build_footer(self, *, editing: bool) -> None:
        """What is still needed, the save's status and the buttons, under the form."""
        self._status = message_label()
        self._status.setObjectName("dialogStatus")
        self._missing = hint_label()
        self._missing.setObjectName("missingFields")
        self._buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        ok = self._ok_button
        ok.setText("Save" if editing else "Add connection")
        ok.setDefault(True)
        self._buttons.accepted.connect(self._on_ok)
        self._buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.form)
        layout.addWidget(self._missing)
        layout.addWidget(self._status)
        layout.addWidget(self._buttons)

    @property
    def _ok_button(self) -> QPushButton:
        button = self._buttons.button(QDialogButtonBox.StandardButton.Ok)
        assert button is not None
        return button

    # ---- the key ---------------------------------------------------------------------------
    def _render_key_note(self) -> None:
        backend = self._key_backend
        # A stored key is replaced only through Rotate key…, which proves the new key first.
        by_rotation = backend is not None and self._existing is not None and self._key_stored
        self._key_by_rotation = by_rotation
        key_edit = self.form.key_edit
        key_edit.setEnabled(not by_rotation)
        key_edit.setPlaceholderText("Rotate key… replaces it" if by_rotation else "")
        text, tone = _key_note(backend, self._existing, by_rotation, self._key_age_warning_days)
        self.form.key_note.setText(text)
        set_tone(self.form.key_note, tone)

    def _key_required(self) -> bool:
        return self._existing is None or not self._key_stored

    def entered(self) -> tuple[ConnectionProfile, str | None]:
        """The profile as entered (tidied) and the new key (None: keep the stored one)."""
        if self._candidate is None:
            raise ValueError("The form is not valid yet.")
        return self._candidate, self._key

    # ---- validation ------------------------------------------------------------------------
    def _touch(self, key: str) -> None:
        self._touched.add(key)
        self._revalidate()

    def _revalidate(self) -> None:
        if not self._ready:
            return
        problems: dict[str, str] = {}
        checked = self._checked_profile(problems)
        key = self._checked_key(problems)
        # A message from the last save attempt stays until that field is changed.
        for field, (problem, value) in self._server_problems.items():
            if self.form.field_value(field) == value:
                problems.setdefault(field, problem)

        self.form.show_url_preview(problems)
        self.form.show_problems(problems, self._touched)
        self._show_missing(problems)
        valid = not problems
        self._candidate = checked if valid else None
        self._key = key if valid else None
        self._ok_button.setEnabled(valid and not self._busy)

    def _checked_profile(self, problems: dict[str, str]) -> ConnectionProfile:
        """The profile as typed, tidied; what is wrong with it goes into ``problems``."""
        hours, hours_problem = self.form.hours()
        if hours_problem:
            problems["business_hours"] = hours_problem
        dids, did_problem = did_sources_problem(self.form.dids.rows(), self._ui.presenter)
        if did_problem:
            problems["did_sources"] = did_problem
        profile = self._kept_from_existing(self.form.profile(self._id, hours, dids))
        checked, found = check_profile(profile, taken_names=self._taken_names)
        for field, problem in found.items():
            problems.setdefault(field, problem)
        return checked

    def _kept_from_existing(self, profile: ConnectionProfile) -> ConnectionProfile:
        """What the form does not edit stays as the existing connection has it."""
        existing = self._existing
        if existing is None:
            return profile
        return dataclasses.replace(
            profile,
            version=existing.version,
            hosting=existing.hosting,
            last_check=existing.last_check,
            key_rotated_at=existing.key_rotated_at,
            bridge=existing.bridge,  # chosen in the guided setup; not edited here
            # The columns mapped in the guided setup belong to that file only.
            contacts_columns=existing.contacts_columns
            if profile.contacts_csv == existing.contacts_csv
            else None,
        )

    def _checked_key(self, problems: dict[str, str]) -> str | None:
        """The key typed (None: none, or it is not usable); its problem goes into ``problems``."""
        key: str | None = None
        # A key being replaced by rotation is not typed here (the field is disabled).
        typed = not self._key_by_rotation and bool(self.form.key_edit.text().strip())
        if typed or self._key_required():
            try:
                key = self.form.key_edit.checked_key()
            except InvalidConnectionError as exc:
                problems["secret"] = exc.problems["secret"]
        if self._key_backend is None and self._key_required():
            problems["secret"] = "No OS keyring is available to store the key (see above)."
        return key

    def _show_missing(self, problems: dict[str, str]) -> None:
        missing = [
            FIELD_LABELS[f]
            for f in (*REQUIRED, "secret")
            if f in problems and not self.form.filled(f) and f not in self._touched
        ]
        self._missing.setText(f"Still needed: {', '.join(missing)}." if missing else "")
        self._missing.setVisible(bool(missing))

    # ---- saving ----------------------------------------------------------------------------
    def _on_ok(self) -> None:
        if self._busy or self._candidate is None:
            return
        profile, key = self._candidate, self._key
        if self._submit is None:
            self.saved_profile = profile
            self.accept()
            return
        self._set_busy(True)
        self._ui.tasks.start(self._save(self._submit, profile, key), name="save connection")

    async def _save(self, submit: Submit, profile: ConnectionProfile, key: str | None) -> None:
        try:
            saved = await submit(profile, key)
        except InvalidConnectionError as exc:
            self._report(exc.problems)
        except ConnectionStoreError as exc:
            if exc.field in self.form.errors:
                self._report({exc.field: exc.message})
            else:
                self._report({}, general=exc.message)
        except asyncio.CancelledError:
            with contextlib.suppress(RuntimeError):  # the window is closing; may be deleted
                self._set_busy(False)
            raise
        else:
            self.saved_profile = saved
            self._set_busy(False)
            self.accept()
            return
        self._set_busy(False)
        self._revalidate()

    def _report(self, problems: dict[str, str], *, general: str = "") -> None:
        self._server_problems = {f: (m, self.form.field_value(f)) for f, m in problems.items()}
        self._touched.update(problems)
        first = next(iter(problems), None)
        if first is not None:
            self.form.show_tab_of(first)
        self._status.setText(self._ui.presenter.text(general))
        self._status.setVisible(bool(general))

    def _set_busy(self, busy: bool) -> None:
        self._busy = busy
        self.form.setEnabled(not busy)
        cancel = self._buttons.button(QDialogButtonBox.StandardButton.Cancel)
        if cancel is not None:
            cancel.setEnabled(not busy)
        self._ok_button.setEnabled(not busy and self._candidate is not None)
        if busy:
            set_tone(self._status, HINT_TONE)
            self._status.setText("Saving…")
            self._status.setVisible(True)
        else:
            set_tone(self._status, ERROR_TONE)
            if self._status.text() == "Saving…":
                self._status.setVisible(False)

    def reject(self) -> None:
        # A save in flight finishes first, so the list and the store never disagree.
        if not self._busy:
            super().reject()

    def _on_presenter_changed(self) -> None:
        self.form.dids.apply_presenter_mode()
        self._revalidate()

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        # Larger type makes the wrapped hints taller: open tall enough that none is cut.
        grow_to_fit(self)
        if not self._zones_loaded:
            self._zones_loaded = True
            self._ui.tasks.start(self.form.hours_editor.load_all_zones(), name="time zones")
