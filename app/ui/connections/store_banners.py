"""What the connection store says about itself, above the connections list.

Two banners: no OS keyring (with the offer to hold keys in memory for this session) and a
settings file that was set aside or could not be written; plus the "Keys: …" note that says
where keys go.
"""

from __future__ import annotations

import logging

from PySide6.QtCore import QObject, Qt
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPushButton, QVBoxLayout

from app.services.connections.store import ConnectionStore, ConnectionStoreError
from app.ui.presenter import Presenter
from app.ui.theme import set_box, set_tone

log = logging.getLogger(__name__)


class Banner(QFrame):
    """A calm, coloured strip across the top of the pane with a message and optional actions."""

    def __init__(self, object_name: str, tint: str = "warn") -> None:
        super().__init__()
        self.setObjectName(object_name)
        self.text = QLabel()
        self.text.setObjectName(f"{object_name}Text")
        self.text.setWordWrap(True)
        self.text.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.buttons = QHBoxLayout()
        self.buttons.addStretch(1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(10, 8, 10, 8)
        layout.addWidget(self.text)
        layout.addLayout(self.buttons)
        self.set_tint(tint)
        self.setVisible(False)

    def set_tint(self, tint: str) -> None:
        """The banner's tint: "warn" for a problem, "info" for a choice the engineer made."""
        set_box(self, tint)

    def add_button(self, text: str, object_name: str) -> QPushButton:
        button = QPushButton(text)
        button.setObjectName(object_name)
        self.buttons.addWidget(button)
        return button


class StoreBanners(QObject):
    """The keyring and settings banners and the key place, kept in step with the store.

    Call ``render()`` once the widgets are laid out (before, a shown banner would be a window).
    """

    def __init__(self, store: ConnectionStore, presenter: Presenter, parent: QObject) -> None:
        super().__init__(parent)
        self._store = store
        self._presenter = presenter
        self._settings_dismissed = False
        self.keyring = Banner("keyringBanner")
        self.session_only_button = self.keyring.add_button(
            "Hold keys in memory for this session", "sessionOnlyButton"
        )
        self.session_only_button.clicked.connect(self._use_session_only)
        self.settings = Banner("settingsBanner")
        dismiss = self.settings.add_button("Dismiss", "dismissSettingsButton")
        dismiss.clicked.connect(self._dismiss_settings_problem)
        self.key_place = QLabel()
        self.key_place.setObjectName("keyPlace")
        self.key_place.setWordWrap(True)
        set_tone(self.key_place, "muted")
        presenter.changed.connect(self.render)

    def render(self) -> None:
        self._render_keyring()
        self._render_settings()

    def _render_keyring(self) -> None:
        status = self._store.keyring_status
        if status.available:
            self.keyring.setVisible(False)
            self.key_place.setText(f"Keys: {status.backend_name}")
            return
        connections = self._store.connections()
        if connections and all(c.demo for c in connections):
            # The demo's key lives in memory anyway: the keyring matters once a real PBX is added.
            self.keyring.setVisible(False)
            self.key_place.setText("Keys: the demo's, in memory")
            return
        if self._store.session_only:
            self.keyring.set_tint("info")
            self.keyring.text.setText(
                "Keys are held in memory for this session only: PBX Companion forgets them when "
                "it quits, so paste each key again next time.\n" + status.reason + "."
            )
            self.key_place.setText("Keys: memory, this session only")
        else:
            self.keyring.set_tint("warn")
            self.keyring.text.setText(
                f"<b>Keys cannot be stored.</b> {_html(status.reason)}. Keys are never "
                "written to a file instead."
            )
            self.key_place.setText("Keys: no keyring")
        self.session_only_button.setVisible(not self._store.session_only)
        self.keyring.setVisible(True)

    def _render_settings(self) -> None:
        problems = self._store.problems
        if not problems or self._settings_dismissed:
            self.settings.setVisible(False)
            return
        lines = [self._presenter.text(problem.message) for problem in problems]
        heading = (
            "<b>Settings were not saved this session.</b>"
            if not self._store.writable
            else "<b>There was a problem with the settings file.</b>"
        )
        self.settings.text.setText(heading + "<br>" + "<br>".join(_html(line) for line in lines))
        self.settings.setVisible(True)

    def _use_session_only(self) -> None:
        try:
            self._store.use_session_only()
        except ConnectionStoreError as exc:
            log.warning("Session-only keys refused: %s", exc.message)
        self.render()

    def _dismiss_settings_problem(self) -> None:
        self._settings_dismissed = True
        self.render()


def _html(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
