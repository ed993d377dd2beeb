"""The one field a secret (an API key, an admin password or security code) is entered in.

It only ever takes a paste or typing: the text is hidden, and there is no context menu to Copy
it out. A key field also refuses drags and input methods (no predictive dictionary learns it).
An optional "Show" button reveals the text to check a paste, never in presenter mode.
A key is read back through ``checked_key``: trimmed of spaces and invisible characters, or
refused with the reason (``app.services.connections.secrets.normalise_pasted_key``).
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLineEdit, QPushButton, QWidget

from app.services.connections.store import check_key


class SecretField(QLineEdit):
    """A password-style line edit; build it with ``api_key``, ``password`` or ``code``."""

    def __init__(
        self,
        object_name: str,
        placeholder: str = "",
        *,
        no_menu: bool = True,
        key_guards: bool = True,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName(object_name)
        self.setPlaceholderText(placeholder)
        self.setEchoMode(QLineEdit.EchoMode.Password)
        if no_menu:
            self.setContextMenuPolicy(Qt.ContextMenuPolicy.NoContextMenu)
        if key_guards:
            self.setDragEnabled(False)
            self.setAttribute(Qt.WidgetAttribute.WA_InputMethodEnabled, False)
        self._revealed = False
        self._presenting = False
        self._reveal_button: QPushButton | None = None

    @classmethod
    def api_key(cls, object_name: str, placeholder: str = "") -> SecretField:
        """A field an API key is pasted into: no menu, no drag, no input method."""
        return cls(object_name, placeholder)

    @classmethod
    def password(cls, object_name: str, placeholder: str = "") -> SecretField:
        """A field an admin password is typed into: no menu."""
        return cls(object_name, placeholder, key_guards=False)

    @classmethod
    def code(cls, object_name: str, placeholder: str = "") -> SecretField:
        """A field a short-lived security code is typed into: hidden, nothing more."""
        return cls(object_name, placeholder, no_menu=False, key_guards=False)

    # ---- show / hide ---------------------------------------------------------------------------
    def reveal_button(self, tooltip: str = "") -> QPushButton:
        """A checkable "Show" button (object name ``revealKey``) that shows the text while on."""
        button = QPushButton("Show")
        button.setObjectName("revealKey")
        button.setCheckable(True)
        button.setToolTip(tooltip)
        button.toggled.connect(self.set_revealed)
        self._reveal_button = button
        return button

    @property
    def revealed(self) -> bool:
        return self.echoMode() is QLineEdit.EchoMode.Normal

    def set_revealed(self, shown: bool) -> None:
        self._revealed = shown
        self._render_echo()

    def set_presenting(self, presenting: bool) -> None:
        """On a shared screen the text is never shown, whatever the button said before."""
        self._presenting = presenting
        if presenting and self._reveal_button is not None:
            self._reveal_button.setChecked(False)
        self._render_echo()

    def _render_echo(self) -> None:
        shown = self._revealed and not self._presenting
        self.setEchoMode(QLineEdit.EchoMode.Normal if shown else QLineEdit.EchoMode.Password)

    # ---- reading -------------------------------------------------------------------------------
    def checked_key(self) -> str:
        """The pasted key, trimmed; raises InvalidConnectionError for the "secret" field."""
        return check_key(self.text())
