"""The doctor's seven checks as a table model: always seven rows, in the field docs' order.

A row's state moves from waiting to running to its result as the doctor reports each check.
Findings are free text and go through the presenter; the model re-renders on its ``changed``.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import (
    QAbstractTableModel,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    QPointF,
    QRectF,
    Qt,
)
from PySide6.QtGui import QBrush, QColor, QFont, QIcon, QPainter, QPainterPath, QPen, QPixmap

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
from app.ui.theme import FAIL, MUTED, PASS, RUNNING, SKIP, WARN


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


STATE_LABELS = {
    RowState.NOT_RUN: "Not run yet",
    RowState.WAITING: "Waiting",
    RowState.RUNNING: "Checking…",
    RowState.PASS: "Pass",
    RowState.WARN: "Warning",
    RowState.FAIL: "Fail",
    RowState.SKIP: "Not checked",
}
STATE_COLOURS = {
    RowState.NOT_RUN: "#c2c8cf",
    RowState.WAITING: "#9aa3ad",
    RowState.RUNNING: RUNNING,
    RowState.PASS: PASS,
    RowState.WARN: WARN,
    RowState.FAIL: FAIL,
    RowState.SKIP: SKIP,
}
# Tinted backgrounds for the fix box and the summary banner, by outcome.
TINTS = {
    RowState.FAIL: ("#fdecea", "#f3b8b3", "#7f1d1d"),
    RowState.WARN: ("#fff4e5", "#f0c36d", "#5c3b00"),
    RowState.PASS: ("#eaf6ec", "#a9d5b0", "#1b4d20"),
    RowState.SKIP: ("#f1f3f5", "#d5d9de", "#374151"),
    RowState.RUNNING: ("#e8f0f7", "#b5cde0", "#163e5c"),
    RowState.WAITING: ("#f1f3f5", "#d5d9de", "#374151"),
    RowState.NOT_RUN: ("#f1f3f5", "#d5d9de", "#374151"),
}


# ---- icons -------------------------------------------------------------------------------------
_ICONS: dict[RowState, QIcon] = {}


def state_icon(state: RowState) -> QIcon:
    """A small disc in the state's colour with a drawn glyph (no font needed for ✓ or ✕)."""
    if state not in _ICONS:
        _ICONS[state] = QIcon(_paint_icon(state, 32))
    return _ICONS[state]


def _paint_icon(state: RowState, size: int) -> QPixmap:
    pixmap = QPixmap(size, size)
    pixmap.fill(Qt.GlobalColor.transparent)
    painter = QPainter(pixmap)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    colour = QColor(STATE_COLOURS[state])
    box = QRectF(2, 2, size - 4, size - 4)
    if state in (RowState.WAITING, RowState.NOT_RUN):
        painter.setPen(QPen(colour, size / 10))
        painter.setBrush(Qt.BrushStyle.NoBrush)
        painter.drawEllipse(box.adjusted(2, 2, -2, -2))
        painter.end()
        return pixmap
    painter.setPen(Qt.PenStyle.NoPen)
    painter.setBrush(colour)
    painter.drawEllipse(box)
    pen = QPen(QColor("white"), size / 9)
    pen.setCapStyle(Qt.PenCapStyle.RoundCap)
    pen.setJoinStyle(Qt.PenJoinStyle.RoundJoin)
    painter.setPen(pen)
    painter.setBrush(Qt.BrushStyle.NoBrush)
    s = size / 32
    if state is RowState.PASS:
        path = QPainterPath(QPointF(10 * s, 16.5 * s))
        path.lineTo(14 * s, 20.5 * s)
        path.lineTo(22 * s, 11.5 * s)
        painter.drawPath(path)
    elif state is RowState.FAIL:
        painter.drawLine(QPointF(11 * s, 11 * s), QPointF(21 * s, 21 * s))
        painter.drawLine(QPointF(21 * s, 11 * s), QPointF(11 * s, 21 * s))
    elif state is RowState.WARN:
        painter.drawLine(QPointF(16 * s, 9 * s), QPointF(16 * s, 17.5 * s))
        painter.drawPoint(QPointF(16 * s, 22.5 * s))
    elif state is RowState.SKIP:
        painter.drawLine(QPointF(10.5 * s, 16 * s), QPointF(21.5 * s, 16 * s))
    else:  # running: three dots
        for x in (10.5, 16, 21.5):
            painter.drawPoint(QPointF(x * s, 16 * s))
    painter.end()
    return pixmap


# ---- the table of seven checks -----------------------------------------------------------------
@dataclass
class _Row:
    check: CheckId
    state: RowState = RowState.NOT_RUN
    result: CheckResult | None = None


class CheckTableModel(QAbstractTableModel):
    """Always the seven checks, in seed order; a row's state changes as its result arrives."""

    NUMBER, CHECK, RESULT, FINDING, TIME = range(5)
    HEADERS = ("#", "Check", "Result", "Finding", "Time")

    def __init__(self, ui: UiContext, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._ui = ui
        self._rows = [_Row(check) for check in CHECK_ORDER]
        self._index = {row.check: i for i, row in enumerate(self._rows)}
        ui.presenter.changed.connect(self._refresh_all)

    # Qt's model interface
    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.HEADERS)

    def hasChildren(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> bool:  # noqa: B008
        # PySide6 makes QAbstractTableModel.hasChildren private; tools that walk models need it.
        return not parent.isValid() and bool(self._rows)

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if orientation is Qt.Orientation.Horizontal and 0 <= section < len(self.HEADERS):
            if role == Qt.ItemDataRole.DisplayRole:
                return self.HEADERS[section]
            if role == Qt.ItemDataRole.TextAlignmentRole:
                side = (
                    Qt.AlignmentFlag.AlignRight
                    if section in (self.NUMBER, self.TIME)
                    else Qt.AlignmentFlag.AlignLeft
                )
                return int(side | Qt.AlignmentFlag.AlignVCenter)
        return None

    def data(
        self,
        index: QModelIndex | QPersistentModelIndex,
        role: int = Qt.ItemDataRole.DisplayRole,
    ) -> Any:
        if not index.isValid() or not 0 <= index.row() < len(self._rows):
            return None
        row = self._rows[index.row()]
        column = index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            return self._display(row, column)
        if role == Qt.ItemDataRole.ToolTipRole and column in (self.CHECK, self.FINDING):
            return present(self._ui.presenter, row.result.finding) if row.result else None
        if role == Qt.ItemDataRole.DecorationRole and column == self.RESULT:
            return state_icon(row.state)
        if role == Qt.ItemDataRole.ForegroundRole and column == self.RESULT:
            return QBrush(QColor(STATE_COLOURS[row.state]))
        if role == Qt.ItemDataRole.ForegroundRole and column in (self.NUMBER, self.TIME):
            return QBrush(QColor(MUTED))
        if role == Qt.ItemDataRole.FontRole and column == self.RESULT and row.state.done:
            font = QFont()
            font.setBold(True)
            return font
        if role == Qt.ItemDataRole.TextAlignmentRole and column in (self.NUMBER, self.TIME):
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
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
