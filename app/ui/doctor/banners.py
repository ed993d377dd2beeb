"""The doctor pane's banners: a finished run's outcome, the test-call watch and the notices."""

from __future__ import annotations

import time
from collections.abc import Iterable

from PySide6.QtWidgets import QLabel

from app.domain.diagnosis import CheckStatus, Diagnosis
from app.services.doctor.text import summary_line
from app.services.recordings.watcher import RecordingJourney
from app.ui.doctor.model import RowState, checked_at_text, clock_line, present, state_tint
from app.ui.presenter import Presenter
from app.ui.theme import set_box, set_tone


def show_banner(label: QLabel, tone: RowState) -> None:
    """The outcome banner tinted by how the run went."""
    set_box(label, state_tint(tone))


def outcome(presenter: Presenter, diagnosis: Diagnosis) -> tuple[str, RowState]:
    """The summary of a finished run and its tone: the first failure leads, with its fix."""
    took = f"Checked at {checked_at_text(diagnosis)} in {diagnosis.duration_ms / 1000:.1f} s."
    took += clock_line(diagnosis)
    first = diagnosis.first_failure
    if first is not None:
        result = diagnosis.result(first)
        finding = present(presenter, result.finding)
        return f"{summary_line(diagnosis)}: {finding} Fix that first. {took}", RowState.FAIL
    line = summary_line(diagnosis)
    if any(r.status is CheckStatus.WARN for r in diagnosis.checks):
        return f"{line}. {took}", RowState.WARN
    if any(r.status is CheckStatus.SKIP for r in diagnosis.checks):
        return f"{line}. {took}", RowState.SKIP
    return f"{line}. {took}", RowState.PASS


def watch_lines(
    presenter: Presenter,
    deadline: float | None,
    journeys: Iterable[RecordingJourney],
    *,
    running: bool,
) -> list[str]:
    """The countdown while the doctor watches for a test call (a monotonic ``deadline``), and
    each test call's journey while the run lasts."""
    lines: list[str] = []
    if deadline is not None:
        left = max(0, round(deadline - time.monotonic()))
        lines.append(
            f"Watching for a test call, {left} s left: ring the customer's number, let a "
            "recorded extension answer, talk briefly and hang up."
        )
    if running or deadline is not None:
        lines += [f"Test call: {present(presenter, j.describe())}" for j in journeys]
    return lines


class NoticeBanner(QLabel):
    """What the run said on the side (a CRM export not read, say), and acknowledgements."""

    def __init__(self, presenter: Presenter) -> None:
        super().__init__()
        self.setObjectName("doctorNotice")
        self.setWordWrap(True)
        self._presenter = presenter
        self._notices: list[tuple[str, bool]] = []  # (text, merely informative)

    def add(self, text: str, *, info: bool = False) -> None:
        if info:  # an acknowledgement replaces the previous one
            self._notices = [(n, i) for n, i in self._notices if not i]
        self._notices.append((text, info))
        self.refresh()

    def forget(self) -> None:
        """Drop every notice; shown at the next refresh."""
        self._notices = []

    def refresh(self) -> None:
        text = "\n".join(present(self._presenter, n) for n, _ in self._notices)
        self.setText(text)
        warning = any(not info for _, info in self._notices)
        set_tone(self, "warn" if warning else "muted")
        self.setVisible(bool(text))
