"""The main window's toolbar: screen-share switches, the sidebar, and the work actions.

Built with the window's frame (Qt only, so it is in the first paint); every action stays off
until the window's panes exist and ``enable()`` is called.
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QLabel, QSizePolicy, QToolBar, QWidget

from app.ui.shell.toolbar_icons import ToolIcon, tool_icon
from app.ui.theme import colours

PRESENTER_SHORTCUT = "Ctrl+Shift+P"
LARGE_TYPE_SHORTCUT = "Ctrl+Shift+L"
SIDEBAR_SHORTCUT = "Ctrl+Shift+K"


class MainToolbar(QToolBar):
    """Presenter mode, Larger type, Connections (the sidebar), setup, doctor and settings."""

    def __init__(self, parent: QWidget) -> None:
        super().__init__("Main", parent)
        self.setObjectName("mainToolbar")
        self.setMovable(False)
        self.presenter = self._action(
            "Presenter mode",
            f"Mask phone numbers, contact names and secrets for screen-share ({PRESENTER_SHORTCUT})",
            shortcut=PRESENTER_SHORTCUT,
            checkable=True,
        )
        self.large_type = self._action(
            "Larger type",
            f"Larger text for screen-share ({LARGE_TYPE_SHORTCUT})",
            shortcut=LARGE_TYPE_SHORTCUT,
            checkable=True,
        )
        self.sidebar = self._action(
            "Connections",
            "Show or hide the connections list, to give the calls the whole width "
            f"({SIDEBAR_SHORTCUT})",
            shortcut=SIDEBAR_SHORTCUT,
            checkable=True,
        )
        self.sidebar.setChecked(True)
        self.setup = self._action(
            "Set up a PBX…",
            "Guided setup of a new customer PBX, from its address to a verified key",
        )
        self.doctor = self._action(
            "Run doctor", "Check the seven causes for the selected connection"
        )
        self.settings = self._action(
            "Settings…", "Your name and logo for setup reports, the webhook receiver"
        )
        self._drawn = {
            self.presenter: ToolIcon.PRESENTER,
            self.large_type: ToolIcon.LARGER_TYPE,
            self.sidebar: ToolIcon.SIDEBAR,
            self.setup: ToolIcon.SETUP,
            self.doctor: ToolIcon.DOCTOR,
            self.settings: ToolIcon.SETTINGS,
        }
        self._give_icons()
        self.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.addActions([self.presenter, self.large_type, self.sidebar])
        self.addSeparator()
        self.addActions([self.setup, self.doctor, self.settings])
        for action in self.actions():
            action.setEnabled(False)
        spacer = QWidget()
        spacer.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
        self.addWidget(spacer)
        badge = QLabel("PRESENTER MODE")
        badge.setObjectName("presenterBadge")
        self.presenter_badge = self.addWidget(badge)
        self.presenter_badge.setVisible(False)

    def _action(
        self, text: str, tip: str, *, shortcut: str = "", checkable: bool = False
    ) -> QAction:
        action = QAction(text, self)
        action.setToolTip(tip)
        action.setCheckable(checkable)
        if shortcut:
            action.setShortcut(QKeySequence(shortcut))
        return action

    def changeEvent(self, event: QEvent) -> None:
        super().changeEvent(event)
        if event.type() == QEvent.Type.PaletteChange:  # light or dark: ink the icons again
            self._give_icons()

    def _give_icons(self) -> None:
        """Line art drawn by the app in the text's colour (toolbar_icons.py), so the icons
        read on a light or a dark toolbar and on a checked button."""
        ink, on_accent = colours().text, colours().on_accent
        for action, which in self._drawn.items():
            action.setIcon(tool_icon(which, ink, on_accent))

    def enable(self) -> None:
        for action in self._drawn:
            action.setEnabled(True)
