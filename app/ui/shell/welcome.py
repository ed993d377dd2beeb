"""What the window shows while no connection is open: one obvious next step.

On first launch there is nothing to look at yet, so the right-hand side says what the app is
for and offers the two ways in: set up a customer's PBX, or try the demo PBX. Until the
engineer has given their name (it goes on every setup report as "Checked by"), it is asked
here once, beside the two buttons.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QFormLayout,
    QFrame,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

TITLE = "Check a customer's 3CX call recordings, end to end"
LEAD = (
    "When recordings do not show up on the CRM contact, one of seven things is wrong: the "
    "licence, the API user's roles, an extension's recording setting, a bridge that asks too "
    "early, a phone number that does not match, retention, or the network and key. PBX "
    "Companion checks them in that order, in seconds, and says the fix in plain words."
)
NO_CONNECTION = "Select a connection on the left, or start here:"
FIRST_TIME = "Start here:"


class WelcomePage(QWidget):
    """The two ways in, and the engineer's name until it is known."""

    setupRequested = Signal()
    demoRequested = Signal()
    fleetRequested = Signal()  # every saved PBX at once, without opening one first
    nameGiven = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("welcomePage")
        self.title = QLabel(TITLE)
        self.title.setObjectName("welcomeTitle")
        self.title.setWordWrap(True)
        self.lead = QLabel(LEAD)
        self.lead.setWordWrap(True)
        self.prompt = QLabel(FIRST_TIME)
        self.setup_button = QPushButton("Set up a PBX…")
        self.setup_button.setObjectName("welcomeSetupButton")
        self.setup_button.setDefault(True)
        self.setup_button.setProperty("primary", True)  # the one obvious next step
        self.setup_button.clicked.connect(self.setupRequested)
        self.demo_button = QPushButton("Try the demo PBX")
        self.demo_button.setObjectName("welcomeDemoButton")
        self.demo_button.clicked.connect(self.demoRequested)
        self.fleet_button = QPushButton("Check every PBX…")
        self.fleet_button.setObjectName("welcomeFleetButton")
        self.fleet_button.setToolTip("The Fleet tab: every saved connection, swept at once")
        self.fleet_button.clicked.connect(self.fleetRequested)
        self.fleet_button.hide()  # until a PBX is saved
        self._name_box = self._build_name_box()
        self._lay_out()

    def _build_name_box(self) -> QFrame:
        box = QFrame()
        box.setObjectName("welcomeNameBox")
        self.name_edit = QLineEdit()
        self.name_edit.setObjectName("welcomeNameEdit")
        self.name_edit.setPlaceholderText("e.g. Sam Engineer, Contoso IT")
        self.name_edit.setMaxLength(120)
        self.name_edit.returnPressed.connect(self._give_name)
        self.name_button = QPushButton("Save")
        self.name_button.clicked.connect(self._give_name)
        row = QHBoxLayout()
        row.addWidget(self.name_edit, 1)
        row.addWidget(self.name_button)
        form = QFormLayout(box)
        form.setContentsMargins(0, 0, 0, 0)
        hint = QLabel("Setup reports say who checked the PBX. Asked once; change it in Settings.")
        hint.setWordWrap(True)
        hint.setObjectName("hint")
        form.addRow("Your name, for reports:", row)
        form.addRow("", hint)
        return box

    def _lay_out(self) -> None:
        buttons = QHBoxLayout()
        buttons.addWidget(self.setup_button)
        buttons.addWidget(self.demo_button)
        buttons.addWidget(self.fleet_button)
        buttons.addStretch(1)
        column = QVBoxLayout()
        column.setSpacing(14)
        for widget in (self.title, self.lead, self.prompt):
            column.addWidget(widget)
        column.addLayout(buttons)
        column.addSpacing(18)
        column.addWidget(self._name_box)
        column.addStretch(1)
        framed = QWidget()
        framed.setMaximumWidth(720)
        framed.setLayout(column)
        outer = QHBoxLayout(self)
        outer.setContentsMargins(32, 32, 32, 32)
        outer.addWidget(framed, 0, Qt.AlignmentFlag.AlignTop)
        outer.addStretch(1)

    def show_state(self, *, has_connections: bool, name_known: bool, has_saved: bool) -> None:
        """The prompt for a first launch or for a list to choose from; the name until known;
        the fleet once a PBX is saved (the demo is never swept)."""
        self.prompt.setText(NO_CONNECTION if has_connections else FIRST_TIME)
        self.fleet_button.setVisible(has_saved)
        self._name_box.setVisible(not name_known)

    def _give_name(self) -> None:
        name = " ".join(self.name_edit.text().split())
        if name:
            self.nameGiven.emit(name)
