"""The box below the recordings table: where the selected call's recording stands and what to
do about it, the call's facts, and Play, Save… and Verify with what the last of them said.

Every number, name and free text goes through the presenter.
"""

from __future__ import annotations

import html
from datetime import tzinfo

from PySide6.QtCore import QEvent, Qt
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from app.services.recordings.lookup import RecordingRow
from app.ui.presenter import Presenter
from app.ui.recordings.model import RecordingResultsModel
from app.ui.recordings.text import STATUS_LABELS, age_text, duration_text, status_colour_of
from app.ui.theme import colours, set_panel, set_tone

SHOWN_LINES = 6  # of the details, before they scroll (they wrap, never cut)
NOTHING_SELECTED = "Select a call to see where its recording stands."


def _button(text: str, name: str, tooltip: str) -> QPushButton:
    button = QPushButton(text)
    button.setObjectName(name)
    button.setToolTip(tooltip)
    return button


class RecordingDetails(QFrame):
    """The selected row explained, with its actions; the pane says which row and when."""

    def __init__(
        self, presenter: Presenter, model: RecordingResultsModel, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self._presenter = presenter
        self._model = model
        self._action_message = ""
        self._action_is_error = False
        self._build()

    def _build(self) -> None:
        self.details = QLabel()
        self.details.setObjectName("recordingsDetails")
        self.details.setWordWrap(True)
        self.details.setTextFormat(Qt.TextFormat.RichText)
        self.details.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        self.details.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        # A splitter does not give a wrapped label the height it asks for: a long explanation
        # scrolls in here instead of being cut at the bottom of the box.
        self.details_scroll = QScrollArea()
        self.details_scroll.setWidget(self.details)
        self.details_scroll.setWidgetResizable(True)
        self.details_scroll.setFrameShape(QFrame.Shape.NoFrame)
        self.details_scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.details_scroll.viewport().setAutoFillBackground(False)
        self._fit_height()
        self.play_button = _button(
            "Play",
            "recordingsPlay",
            "Download into a private temporary folder and open it in this computer's player",
        )
        self.save_button = _button("Save…", "recordingsSave", "Save a copy where you choose")
        self.verify_button = _button(
            "Verify", "recordingsVerify", "Download it once to prove the file is on the PBX"
        )
        self.action_label = QLabel()
        self.action_label.setObjectName("recordingsAction")
        self.action_label.setWordWrap(True)
        self._lay_out()

    def _lay_out(self) -> None:
        actions = QHBoxLayout()
        actions.addWidget(self.play_button)
        actions.addWidget(self.save_button)
        actions.addWidget(self.verify_button)
        actions.addWidget(self.action_label, 1)
        self.setObjectName("recordingsDetailsBox")
        self.setFrameShape(QFrame.Shape.StyledPanel)
        set_panel(self)
        box = QVBoxLayout(self)
        box.setContentsMargins(12, 10, 12, 10)
        box.addWidget(self.details_scroll, 1)
        box.addLayout(actions)

    def _fit_height(self) -> None:
        self.details_scroll.setMinimumHeight(self.fontMetrics().lineSpacing() * SHOWN_LINES)

    def changeEvent(self, event: QEvent) -> None:
        super().changeEvent(event)
        if event.type() == QEvent.Type.FontChange:  # larger type: as many lines, taller
            self._fit_height()

    # ---- the selected row ------------------------------------------------------------------
    def show_row(self, row: RecordingRow | None, zone: tzinfo) -> None:
        """Explain ``row`` (None: nothing selected) with its times on ``zone``."""
        self.play_button.setEnabled(row is not None and row.playable)
        self.save_button.setEnabled(row is not None and row.playable)
        self.verify_button.setEnabled(row is not None and row.recording_id is not None)
        if row is None:
            self.details.setText(f"<span style='color:{colours().muted}'>{NOTHING_SELECTED}</span>")
            return
        self.details.setText(self._details_html(row, zone))

    def _details_html(self, row: RecordingRow, zone: tzinfo) -> str:
        p = self._presenter
        colour = status_colour_of(row.status)
        muted = colours().muted
        lines = [
            f"<span style='color:{colour}'><b>"
            f"{html.escape(STATUS_LABELS[row.status])}</b></span>"
            f" &nbsp;{html.escape(p.text(row.explanation))}"
        ]
        if row.fix:
            lines.append(f"<b>What to do:</b> {html.escape(p.text(row.fix))}")
        facts = [f"Age: {age_text(row.age_days)}"]
        if row.retention_text:
            facts.append(p.text(row.retention_text))
        lines.append(html.escape(" · ".join(facts)))
        call = " · ".join(self._call_facts(row, zone))
        lines.append(f"<span style='color:{muted}'>{html.escape(call)}</span>")
        if row.check:
            lines.append(f"<b>Download check:</b> {html.escape(p.text(row.check))}")
        return "<br>".join(lines)

    def _call_facts(self, row: RecordingRow, zone: tzinfo) -> list[str]:
        """When, which way, who, on which extension, how long, and the ids to quote."""
        p = self._presenter
        when = self._model.text(row, RecordingResultsModel.TIME)
        if row.started_at is not None:  # the zone named where the time stands alone
            when += f" {row.started_at.astimezone(zone).tzname()}"
        call = [when, self._model.text(row, RecordingResultsModel.DIRECTION)]
        number = row.number_e164 or row.number_raw
        if number:
            raw = (
                f" (stored as {p.number(row.number_raw)})"
                if row.number_raw and row.number_raw != row.number_e164
                else ""
            )
            call.append(f"{p.number(number)}{raw}")
        found = self._model.contact_match(row)
        if found is not None:
            call.append(p.text(found.reason))
        if row.extension:
            call.append(f"extension {row.extension}")
        call.append(f"talked {duration_text(row.duration)}")
        call.append(f"call id {row.key}")
        if row.recording_id is not None:
            call.append(f"recording {row.recording_id}")
        return call

    # ---- what Play, Save… and Verify said ----------------------------------------------------
    def set_action(self, message: str, *, error: bool = False) -> None:
        self._action_message = message
        self._action_is_error = error
        self.render_action()

    def forget_action(self) -> None:
        """Drop the message; what is on screen stays until the next render_action()."""
        self._action_message = ""

    def render_action(self) -> None:
        self.action_label.setText(self._presenter.text(self._action_message))
        set_tone(self.action_label, "fail" if self._action_is_error else None)
