"""A bridge log pasted as text (a support desk's chat, a terminal's scroll-back), for when there
is no file to choose. Nothing is written to disk: the text is kept in memory for the run.

While presenting, the pasted text is not shown (it holds numbers, names and sometimes keys):
the box is replaced by its line count, and "Paste from the clipboard" still fills it.
"""

from __future__ import annotations

from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from app.ui.presenter import Presenter
from app.ui.theme import set_tone

HIDDEN_NOTE = "The pasted text is hidden while presenting: {lines}."


def line_count(text: str) -> str:
    count = len(text.splitlines())
    return f"{count:,} line{'' if count == 1 else 's'}"


class PasteLogDialog(QDialog):
    """A plain-text box; ``accepted`` with ``text()`` holding at least one non-blank line."""

    def __init__(self, presenter: Presenter, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("pasteLogDialog")
        self.setWindowTitle("Paste a bridge log")
        self._presenter = presenter
        intro = QLabel(
            "Paste the bridge's log lines: JSON lines, logfmt or plain text. A line that cannot "
            "be read is counted and shown after the run, never fatal."
        )
        intro.setWordWrap(True)
        self.editor = QPlainTextEdit()
        self.editor.setObjectName("pastedLog")
        # Wrapped: a log line is long, and a box that scrolls sideways hides what was pasted.
        self.editor.setLineWrapMode(QPlainTextEdit.LineWrapMode.WidgetWidth)
        self.editor.setPlaceholderText("Paste the log here (Ctrl+V)")
        self.editor.textChanged.connect(self._render)
        self.hidden_note = QLabel()
        self.hidden_note.setObjectName("pastedLogHidden")
        set_tone(self.hidden_note, "muted")
        self.paste_button = QPushButton("Paste from the clipboard")
        self.paste_button.setObjectName("pasteFromClipboard")
        self.paste_button.clicked.connect(self.paste_clipboard)
        self.clear_button = QPushButton("Clear")
        self.clear_button.setObjectName("pastedLogClear")
        self.clear_button.clicked.connect(self.editor.clear)
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        self.ok_button = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        self.ok_button.setText("Add the log")
        self.ok_button.setObjectName("pastedLogAdd")
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addWidget(self.editor, 1)
        layout.addWidget(self.hidden_note)
        row = QHBoxLayout()
        row.addWidget(self.paste_button)
        row.addWidget(self.clear_button)
        row.addStretch(1)
        row.addWidget(self.buttons)
        layout.addLayout(row)
        presenter.changed.connect(self._render)
        self.resize(760, 420)
        self._render()

    def text(self) -> str:
        return self.editor.toPlainText()

    def set_text(self, text: str) -> None:
        self.editor.setPlainText(text)

    def paste_clipboard(self) -> None:
        self.editor.insertPlainText(QGuiApplication.clipboard().text())

    def _render(self) -> None:
        presenting = self._presenter.enabled
        self.editor.setVisible(not presenting)
        self.hidden_note.setVisible(presenting)
        self.hidden_note.setText(HIDDEN_NOTE.format(lines=line_count(self.text())))
        self.ok_button.setEnabled(bool(self.text().strip()))
