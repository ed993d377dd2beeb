"""The row between the inputs and the ledger: before and after for the period, what the last
export did, and the buttons that act on the run (Cancel while it goes; the report and the
support pack once it has finished)."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from app.ui.theme import set_tone


def _button(text: str, name: str, tip: str) -> QPushButton:
    button = QPushButton(text)
    button.setObjectName(name)
    button.setToolTip(tip)
    return button


def _line(name: str) -> QLabel:
    label = QLabel()
    label.setObjectName(name)
    label.setWordWrap(True)
    label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    label.hide()
    return label


class RunActions(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.changes_label = _line("reconcileChanges")
        self.outcome_label = _line("reconcileOutcome")
        self.cancel_button = _button(
            "Cancel", "reconcileCancel", "Stop this run; the inputs and the last ledger stay."
        )
        self.cancel_button.hide()
        self.report_button = _button(
            "Export report…",
            "reconcileExportReport",
            "The ledger as a report: PDF, HTML or JSON, by the file's name. Masked while "
            "presenter mode is on.",
        )
        self.pack_button = _button(
            "Support pack…",
            "reconcileSupportPack",
            "One zip for a ticket: the setup report, the doctor's result, this ledger, the "
            "app's log and the versions. No key; numbers and names masked.",
        )
        lines = QVBoxLayout()
        lines.setContentsMargins(0, 0, 0, 0)
        lines.setSpacing(2)
        lines.addWidget(self.changes_label)
        lines.addWidget(self.outcome_label)
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        row.setSpacing(6)
        row.addLayout(lines, 1)
        for button in (self.cancel_button, self.report_button, self.pack_button):
            row.addWidget(button, 0, Qt.AlignmentFlag.AlignTop)

    def render_state(self, *, running: bool, finished: bool, exporting: bool) -> None:
        """Cancel while a run goes; the exports once one has finished, one at a time."""
        self.cancel_button.setVisible(running)
        for button in (self.report_button, self.pack_button):
            button.setEnabled(finished and not running and not exporting)

    def show_changes(self, text: str, tone: str | None = "muted") -> None:
        _say(self.changes_label, text, tone)

    def show_outcome(self, text: str, tone: str | None = None) -> None:
        _say(self.outcome_label, text, tone)


def _say(label: QLabel, text: str, tone: str | None) -> None:
    label.setText(text)
    set_tone(label, tone)
    label.setVisible(bool(text))
