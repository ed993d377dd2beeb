"""A short list of checks with a mark each: tick or cross, name, what was found, and the fix under it.

Steps 2, 5 and 6 show a handful of checks whose details and fixes are sentences, so this is a
grid of wrapping labels rather than a table (a table would clip the fix).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QGridLayout, QLabel, QWidget

from app.ui.presenter import Presenter
from app.ui.setup.step import bold, text_label
from app.ui.theme import Mark, mark_icon, set_box, set_tone

RESULT_WORDS = {True: "Pass", False: "Fail", None: "Not checked"}


@dataclass(frozen=True)
class CheckRow:
    key: str
    label: str
    ok: bool | None
    detail: str
    fix: str | None = None
    # Shown for a grey row too (e.g. "place a recorded test call"); a pass never shows one.
    fix_when_unknown: bool = True
    word: str | None = None  # replaces Pass / Fail / Not checked


MARKS = {True: Mark.PASS, False: Mark.FAIL, None: Mark.SKIP}
TONES = {True: "pass", False: "fail", None: "muted"}


class CheckList(QWidget):
    def __init__(self, presenter: Presenter, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._presenter = presenter
        self._rows: tuple[CheckRow, ...] = ()
        self._grid = QGridLayout(self)
        self._grid.setContentsMargins(0, 0, 0, 0)
        self._grid.setHorizontalSpacing(10)
        self._grid.setVerticalSpacing(6)
        self._grid.setColumnStretch(2, 1)
        self.results: dict[str, QLabel] = {}
        self.details: dict[str, QLabel] = {}
        self.fixes: dict[str, QLabel] = {}

    @property
    def rows(self) -> tuple[CheckRow, ...]:
        return self._rows

    def set_rows(self, rows: Sequence[CheckRow]) -> None:
        self._rows = tuple(rows)
        self.rebuild()

    def rebuild(self) -> None:
        while self._grid.count():
            item = self._grid.takeAt(0)
            widget = item.widget() if item is not None else None
            if widget is not None:
                widget.deleteLater()
        self.results, self.details, self.fixes = {}, {}, {}
        line = 0
        for row in self._rows:
            mark = QLabel()
            mark.setPixmap(mark_icon(MARKS[row.ok]).pixmap(14, 14))
            name = bold(QLabel(row.label))
            result = bold(QLabel(row.word or RESULT_WORDS[row.ok]))
            result.setObjectName(f"result_{row.key}")
            set_tone(result, TONES[row.ok])
            top = Qt.AlignmentFlag.AlignTop
            self._grid.addWidget(mark, line, 0, top)
            self._grid.addWidget(name, line, 1, top)
            self._grid.addWidget(result, line, 3, top)
            detail = text_label(self._presenter.text(row.detail), object_name=f"detail_{row.key}")
            self._grid.addWidget(detail, line, 2, top)
            self.results[row.key] = result
            self.details[row.key] = detail
            line += 1
            show_fix = row.fix and (row.ok is False or (row.ok is None and row.fix_when_unknown))
            if show_fix:
                fix = text_label(self._presenter.text(row.fix), object_name=f"fix_{row.key}")
                set_box(fix, "fail" if row.ok is False else "warn")
                self._grid.addWidget(fix, line, 1, 1, 3)
                self.fixes[row.key] = fix
                line += 1
