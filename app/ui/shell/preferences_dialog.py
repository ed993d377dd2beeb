"""The app's own settings an engineer sets once: their name and logo for reports, the webhook.

Opened with ``run_dialog`` (never ``exec()``); the caller saves what ``values()`` returns.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from app.services.settings.file import Settings, parse_listen_address
from app.ui.theme import set_tone

LOGO_TYPES = "Images (*.png *.jpg *.jpeg *.svg)"


class PreferencesDialog(QDialog):
    """Engineer name and MSP logo (setup reports), key age warning, webhook listen address."""

    def __init__(self, parent: QWidget | None, settings: Settings) -> None:
        super().__init__(parent)
        self.setWindowTitle("Settings")
        self.setObjectName("preferencesDialog")
        self.engineer = QLineEdit(settings.engineer_name)
        self.engineer.setObjectName("preferencesEngineer")
        self.engineer.setPlaceholderText("shown on setup reports as who checked")
        self.logo = QLineEdit(settings.logo_path or "")
        self.logo.setObjectName("preferencesLogo")
        self.logo.setPlaceholderText("Else the app's own")
        browse = QPushButton("Browse…")
        browse.clicked.connect(self._choose_logo)
        logo_row = QHBoxLayout()
        logo_row.addWidget(self.logo, 1)
        logo_row.addWidget(browse)
        self.key_age = QSpinBox()
        self.key_age.setObjectName("preferencesKeyAge")
        self.key_age.setRange(1, 3650)
        self.key_age.setSuffix(" days")
        self.key_age.setValue(settings.key_age_warning_days)
        self.key_age.setMaximumWidth(140)
        self.webhook = QLineEdit(settings.webhook_listen or "")
        self.webhook.setObjectName("preferencesWebhook")
        self.webhook.setPlaceholderText("Off; e.g. 127.0.0.1:8765")
        self.error = QLabel()
        self.error.setObjectName("preferencesError")
        set_tone(self.error, "fail")
        self.error.setWordWrap(True)
        note = QLabel("The webhook receiver starts with the app: restart after changing it.")
        set_tone(note, "muted")
        note.setWordWrap(True)

        form = QFormLayout()
        form.addRow("Engineer name", self.engineer)
        form.addRow("Report logo", logo_row)
        form.addRow("Warn about keys older than", self.key_age)
        form.addRow("Webhook receiver", self.webhook)
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel
        )
        self.buttons.accepted.connect(self._accept_if_valid)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(note)
        layout.addWidget(self.error)
        layout.addStretch(1)
        layout.addWidget(self.buttons)
        self.resize(560, self.sizeHint().height())
        self._chooser: QFileDialog | None = None

    def _choose_logo(self) -> None:
        # A non-blocking chooser: open() and a signal, never the static helpers' nested loop.
        chooser = QFileDialog(self, "Report logo", str(Path(self.logo.text()).parent), LOGO_TYPES)
        chooser.setFileMode(QFileDialog.FileMode.ExistingFile)
        chooser.setOption(QFileDialog.Option.DontUseNativeDialog, True)
        chooser.fileSelected.connect(self.logo.setText)
        self._chooser = chooser
        chooser.open()

    def problem(self) -> str | None:
        """What is wrong with the entered values, naming the field; None when all is usable."""
        logo = self.logo.text().strip()
        if logo and not Path(logo).is_file():
            return f"Report logo: {logo} is not a file."
        listen = self.webhook.text().strip()
        if listen:
            try:
                parse_listen_address(listen)
            except ValueError as error:
                return str(error)
        return None

    def _accept_if_valid(self) -> None:
        problem = self.problem()
        self.error.setText(problem or "")
        if problem is None:
            self.accept()

    def values(self) -> dict[str, Any]:
        """The preferences to save, by their settings names."""
        return {
            "engineer_name": self.engineer.text().strip(),
            "logo_path": self.logo.text().strip() or None,
            "key_age_warning_days": self.key_age.value(),
            "webhook_listen": self.webhook.text().strip() or None,
        }
