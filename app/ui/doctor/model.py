"""The doctor's seven checks as a table model: always seven rows, in the field docs' order.

A row's state moves from waiting to running to its result as the doctor reports each check.
Findings are free text and go through the presenter; the model re-renders on its ``changed``.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import QObject, Qt
from PySide6.QtGui import QBrush, QColor, QFont, QIcon

from app.domain.diagnosis import (
    CHECK_ORDER,
    TITLES,
    CheckId,
    CheckResult,
    CheckStatus,
    Diagnosis,
)
from app.domain.report import on_customer_clock
from app.ui.context import UiContext
from app.ui.presenter import Presenter
from app.ui.theme import Mark, colours, mark_colour, mark_icon
from app.ui.widgets.table_model import RowsTableModel


def present(presenter: Presenter, text: str | None) -> str:
    """Free text as presenter mode allows it on screen."""
    return presenter.text(text)


class RowState(enum.StrEnum):
    NOT_RUN = "not-run"  # no run yet (or the run was cancelled before it)
    WAITING = "waiting"
    RUNNING = "running"
    PASS = "pass"
    WARN = "warn"
    FAIL = "fail"
    SKIP = "skip"

    @classmethod
    def of(cls, status: CheckStatus) -> RowState:
        return cls(status.value)

    @property
    def done(self) -> bool:
        return self not in (RowState.NOT_RUN, RowState.WAITING, RowState.RUNNING)


# How each state is drawn: the theme's mark (tick, !, cross…) and its tinted box.
STATE_MARKS = {
    RowState.NOT_RUN: Mark.IDLE,
    RowState.WAITING: Mark.IDLE,
    RowState.RUNNING: Mark.RUNNING,
    RowState.PASS: Mark.PASS,
    RowState.WARN: Mark.WARN,
    RowState.FAIL: Mark.FAIL,
    RowState.SKIP: Mark.SKIP,
}
# Each state's words: its mark's (the Fleet view's dots say the same), but a check queued
# behind a running one is "Waiting", not "Not run yet".
STATE_LABELS = {state: mark.words for state, mark in STATE_MARKS.items()} | {
    RowState.WAITING: "Waiting"
}
STATE_TINTS = {
    RowState.FAIL: "fail",
    RowState.WARN: "warn",
    RowState.PASS: "pass",
    RowState.RUNNING: "info",
}


def state_tint(state: RowState) -> str:
    """The tinted box (``theme.set_box``) for a banner or fix in this state."""
    return STATE_TINTS.get(state, "neutral")


def state_colour(state: RowState) -> QColor:
    return QColor(mark_colour(STATE_MARKS[state]))


def state_icon(state: RowState) -> QIcon:
    """A small disc in the state's colour with a drawn glyph (no font needed for ✓ or ✕)."""
    return mark_icon(STATE_MARKS[state], 16)


# ---- the table of seven checks -----------------------------------------------------------------
@dataclass
class _Row:
    check: CheckId
    state: RowState = RowState.NOT_RUN
    result: CheckResult | None = None


class CheckTableModel(RowsTableModel[_Row]):
    """Always the seven checks, in seed order; a row's state changes as its result arrives."""

    NUMBER, CHECK, RESULT, FINDING, TIME = range(5)
    HEADERS = ("#", "Check", "Result", "Finding", "Time")

    def __init__(self, ui: UiContext, parent: QObject | None = None) -> None:
        super().__init__(
            self.HEADERS, right=(self.NUMBER, self.TIME), align_headers_left=True, parent=parent
        )
        self._ui = ui
        self._rows = [_Row(check) for check in CHECK_ORDER]
        self._index = {row.check: i for i, row in enumerate(self._rows)}
        ui.presenter.changed.connect(self._refresh_all)

    # Qt's model interface
    def cell(self, row: _Row, column: int, role: int) -> Any:
        if role == Qt.ItemDataRole.DisplayRole:
            return self._display(row, column)
        if role == Qt.ItemDataRole.ToolTipRole and column in (self.CHECK, self.FINDING):
            return present(self._ui.presenter, row.result.finding) if row.result else None
        if role == Qt.ItemDataRole.DecorationRole and column == self.RESULT:
            return state_icon(row.state)
        if role == Qt.ItemDataRole.ForegroundRole and column == self.RESULT:
            return QBrush(state_colour(row.state))
        if role == Qt.ItemDataRole.ForegroundRole and column in (self.NUMBER, self.TIME):
            return QBrush(QColor(colours().muted))
        if role == Qt.ItemDataRole.FontRole and column == self.RESULT and row.state.done:
            font = QFont()
            font.setBold(True)
            return font
        if role == Qt.ItemDataRole.UserRole:
            return row.check.value
        return None

    def _display(self, row: _Row, column: int) -> str | None:
        if column == self.NUMBER:
            return f"{row.check.order}."
        if column == self.CHECK:
            return TITLES[row.check]
        if column == self.RESULT:
            return STATE_LABELS[row.state]
        if column == self.FINDING:
            return present(self._ui.presenter, row.result.finding) if row.result else ""
        if column == self.TIME:
            duration = row.result.duration_ms if row.result else None
            # A check skipped without trying took no time worth showing.
            if duration is None or (row.state is RowState.SKIP and duration < 1):
                return ""
            return seconds_text(duration)
        return None

    # what the pane changes
    def row_of(self, check: CheckId) -> int:
        return self._index[check]

    def check_at(self, row: int) -> CheckId:
        return self._rows[row].check

    def state(self, check: CheckId) -> RowState:
        return self._rows[self._index[check]].state

    def result(self, check: CheckId) -> CheckResult | None:
        return self._rows[self._index[check]].result

    def states(self) -> dict[CheckId, RowState]:
        return {row.check: row.state for row in self._rows}

    def reset(self, state: RowState = RowState.NOT_RUN) -> None:
        for row in self._rows:
            row.state, row.result = state, None
        self._refresh_all()

    def set_state(self, check: CheckId, state: RowState) -> None:
        row = self._rows[self._index[check]]
        if row.state is not state:
            row.state = state
            self._refresh_row(self._index[check])

    def set_result(self, result: CheckResult) -> None:
        i = self._index[result.id]
        self._rows[i].state, self._rows[i].result = RowState.of(result.status), result
        self._refresh_row(i)

    def _refresh_row(self, i: int) -> None:
        self.dataChanged.emit(self.index(i, 0), self.index(i, len(self.HEADERS) - 1))

    def _refresh_all(self) -> None:
        self.dataChanged.emit(
            self.index(0, 0), self.index(len(self._rows) - 1, len(self.HEADERS) - 1)
        )


def seconds_text(ms: float) -> str:
    return f"{ms / 1000:.1f} s" if ms >= 1000 else f"{ms:.0f} ms"


def checked_at_text(diagnosis: Diagnosis) -> str:
    """When the doctor ran, on the customer's clock with the engineer's beside it, labelled:
    "13:30 NZDT (Pacific/Auckland, the customer's time; 16:30 PST your time)"."""
    pbx = diagnosis.pbx
    theirs = on_customer_clock(diagnosis.started_at, pbx.time_zone, "%H:%M")
    mine = diagnosis.started_at.astimezone()  # the engineer's zone, labelled
    yours = f"{mine:%H:%M} {mine.tzname()} your time"
    if not pbx.time_zone:
        return f"{theirs} ({yours})"
    return f"{theirs} ({pbx.time_zone}, the customer's time; {yours})"


def clock_line(diagnosis: Diagnosis) -> str:
    """ "Customer's clock: Mon–Fri 08:30–17:30, break 12:30–13:00 (read from the PBX)." """
    pbx = diagnosis.pbx
    if not pbx.business_hours:
        return ""
    source = f" ({pbx.hours_source})" if pbx.hours_source else ""
    return f" Office hours: {pbx.business_hours}{source}."
