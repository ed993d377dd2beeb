"""The doctor pane's controls: run, cancel, copy and export, and the options a run takes."""

from __future__ import annotations

from PySide6.QtGui import QFont
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QSpinBox

from app.domain.causes.retention import DEFAULT_RETENTION_DAYS
from app.services.facts.options import DEFAULT_BRIDGE_WINDOW_S, DoctorOptions
from app.ui.widgets.elided_label import ElidedLabel

MAX_WATCH_S = 600


class RunControls:
    """The widgets above the checks; the pane lays out ``buttons_row`` and ``options_row``.

    Not a widget of its own: the rows sit straight in the pane's layout, spaced as it is.
    """

    def __init__(self) -> None:
        self.connection_label = _heading_label("doctorConnection")
        self.run_button = _button(
            "Run doctor", "doctorRun", "Check the seven causes, in the field docs' order"
        )
        self.run_button.setDefault(True)
        self.cancel_button = _button("Cancel", "doctorCancel")
        self.copy_button = _button(
            "Copy as text",
            "doctorCopy",
            "Copy the seven results as plain text (no key; masked in presenter mode)",
        )
        self.export_button = _button(
            "Export report…",
            "doctorExport",
            "A setup report for the customer (PDF, HTML or JSON), with a preview first",
        )
        self.buttons_row = QHBoxLayout()
        self.buttons_row.addWidget(self.connection_label, 1)
        for button in (self.export_button, self.copy_button, self.cancel_button, self.run_button):
            self.buttons_row.addWidget(button)
        self._build_option_boxes()
        self.options_row = self._captioned_options()

    def _build_option_boxes(self) -> None:
        self.watch = _spin_box("doctorWatch", 0, MAX_WATCH_S, " s")
        self.watch.setSingleStep(30)
        self.watch.setSpecialValueText("off")
        self.watch.setToolTip(
            "Watch this long for a test call and time its recording from hang-up (check 4)"
        )
        self.bridge_window = _spin_box("doctorBridgeWindow", 1, 3600, " s")
        self.bridge_window.setValue(int(DEFAULT_BRIDGE_WINDOW_S))
        self.bridge_window.setToolTip("How long the CRM bridge keeps retrying for a recording")
        self.retention = _spin_box("doctorRetention", 1, 3650, " days")
        self.retention.setValue(DEFAULT_RETENTION_DAYS)
        self.retention.setToolTip("How long the customer needs recordings kept (check 6)")

    def _captioned_options(self) -> QHBoxLayout:
        row = QHBoxLayout()
        for label, box in (
            ("Watch for a test call", self.watch),
            ("Bridge retry window", self.bridge_window),
            ("Required retention", self.retention),
        ):
            caption = QLabel(label)
            caption.setBuddy(box)
            row.addWidget(caption)
            row.addWidget(box)
            row.addSpacing(12)
        row.addStretch(1)
        return row

    def options(self) -> DoctorOptions:
        """What the option boxes ask for (the region and contacts come from the connection)."""
        return DoctorOptions(
            watch_s=float(self.watch.value()),
            bridge_window_s=float(self.bridge_window.value()),
            required_retention_days=self.retention.value(),
        )

    def render(self, heading: str, *, can_run: bool, busy: bool, has_diagnosis: bool) -> None:
        """Copy and export need a finished run; nothing but cancel while one is going."""
        self.connection_label.setText(heading)
        self.run_button.setEnabled(can_run and not busy)
        self.run_button.setText("Run again" if has_diagnosis else "Run doctor")
        self.cancel_button.setEnabled(busy)
        self.copy_button.setEnabled(has_diagnosis and not busy)
        self.export_button.setEnabled(has_diagnosis and not busy)
        for box in (self.watch, self.bridge_window, self.retention):
            box.setEnabled(not busy)


def _heading_label(name: str) -> QLabel:
    label = ElidedLabel()  # a long customer name shortens rather than widen the window
    label.setObjectName(name)
    heading = QFont(label.font())
    heading.setBold(True)
    label.setFont(heading)
    return label


def _button(text: str, name: str, tip: str | None = None) -> QPushButton:
    button = QPushButton(text)
    button.setObjectName(name)
    if tip is not None:
        button.setToolTip(tip)
    return button


def _spin_box(name: str, low: int, high: int, suffix: str) -> QSpinBox:
    box = QSpinBox()
    box.setObjectName(name)
    box.setRange(low, high)
    box.setSuffix(suffix)
    return box
