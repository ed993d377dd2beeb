"""The selected check, below the doctor's table: its finding, the fix and the evidence."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QFont, QFontDatabase
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPlainTextEdit, QVBoxLayout, QWidget

from app.domain.diagnosis import TITLES, CheckId, CheckResult, CheckStatus
from app.ui.context import UiContext
from app.ui.doctor.model import (
    STATE_LABELS,
    STATE_MARKS,
    RowState,
    present,
    seconds_text,
    state_tint,
)
from app.ui.theme import mark_heading, set_box, set_chip, set_tone


class CheckDetails(QFrame):
    """The selected check: title and state, finding, the fix (prominent), evidence, duration."""

    def __init__(self, ui: UiContext) -> None:
        super().__init__()
        self.setObjectName("doctorDetails")
        self._ui = ui
        self._build_heading()
        self._build_body()
        self._lay_out()
        self._content: tuple[QWidget, ...] = (
            self.title,
            self.state,
            self.finding,
            self.fix_caption,
            self.fix,
            self.evidence_caption,
            self.evidence,
        )

    # ---- layout --------------------------------------------------------------------------------
    def _build_heading(self) -> None:
        self.title = QLabel()
        self.title.setObjectName("doctorDetailsTitle")
        mark_heading(self.title, "title")
        self.title.setWordWrap(True)
        self.state = QLabel()
        self.state.setObjectName("doctorDetailsState")

    def _build_body(self) -> None:
        self.finding = _selectable_label("doctorFinding")
        self.fix_caption = QLabel("Fix")
        mark_heading(self.fix_caption, "strong")
        self.fix = _selectable_label("doctorFix")
        self.evidence_caption = QLabel("Evidence")
        mark_heading(self.evidence_caption, "strong")
        self.evidence = QPlainTextEdit()
        self.evidence.setObjectName("doctorEvidence")
        self.evidence.setReadOnly(True)
        self.evidence.setLineWrapMode(QPlainTextEdit.LineWrapMode.WidgetWidth)
        # In the pane's scroll area: at least a few lines of evidence before it scrolls.
        self.evidence.setMinimumHeight(self.evidence.fontMetrics().lineSpacing() * 5 + 12)
        mono = QFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        mono.setPointSizeF(max(QFont().pointSizeF() - 0.5, 8.0))
        self.evidence.setFont(mono)
        self.hint = QLabel()
        self.hint.setObjectName("doctorDetailsHint")
        self.hint.setAlignment(Qt.AlignmentFlag.AlignCenter)
        set_tone(self.hint, "muted")
        self.hint.setWordWrap(True)

    def _lay_out(self) -> None:
        head = QHBoxLayout()
        head.addWidget(self.title, 1)
        head.addWidget(self.state, 0, Qt.AlignmentFlag.AlignTop)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(2, 6, 2, 2)
        layout.setSpacing(6)
        layout.addLayout(head)
        layout.addWidget(self.finding)
        layout.addWidget(self.fix_caption)
        layout.addWidget(self.fix)
        layout.addWidget(self.evidence_caption)
        layout.addWidget(self.evidence, 1)
        layout.addWidget(self.hint, 1)

    # ---- showing -------------------------------------------------------------------------------
    def show_hint(self, text: str) -> None:
        for widget in self._content:
            widget.hide()
        self.hint.setText(text)
        self.hint.show()

    def show_check(self, check: CheckId, state: RowState, result: CheckResult | None) -> None:
        self.hint.hide()
        self.title.setText(f"{check.order}. {TITLES[check]}")
        self._show_state(state, result)
        for label in (self.title, self.state, self.finding):
            label.show()
        if result is None:
            self.finding.setText(
                "Checking now…" if state is RowState.RUNNING else "Not checked yet in this run."
            )
            for widget in (self.fix_caption, self.fix, self.evidence_caption, self.evidence):
                widget.hide()
            return
        self.finding.setText(present(self._ui.presenter, result.finding))
        self._show_fix(state, result)
        self._show_evidence(result)

    def _show_state(self, state: RowState, result: CheckResult | None) -> None:
        took = ""
        if result is not None and result.duration_ms is not None:
            took = f" · {seconds_text(result.duration_ms)}"
        self.state.setText(f"{STATE_LABELS[state]}{took}")
        set_chip(self.state, STATE_MARKS[state])

    def _show_fix(self, state: RowState, result: CheckResult) -> None:
        # A passing check's fix wording would only distract: it is not shown.
        has_fix = bool(result.fix) and result.status is not CheckStatus.PASS
        self.fix.setText(present(self._ui.presenter, result.fix) if has_fix else "")
        tone = state if state in (RowState.FAIL, RowState.WARN) else RowState.SKIP
        set_box(self.fix, state_tint(tone))
        self.fix_caption.setVisible(has_fix)
        self.fix.setVisible(has_fix)

    def _show_evidence(self, result: CheckResult) -> None:
        presenter = self._ui.presenter
        evidence = "\n".join(f"• {present(presenter, line)}" for line in result.evidence)
        self.evidence.setPlainText(evidence or "No evidence recorded.")
        self.evidence_caption.show()
        self.evidence.show()


def _selectable_label(name: str) -> QLabel:
    """A wrapping label the engineer can select and copy from."""
    label = QLabel()
    label.setObjectName(name)
    label.setWordWrap(True)
    label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    return label
