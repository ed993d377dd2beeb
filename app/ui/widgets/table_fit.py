"""Columns that fit what they show: each as wide as its header and its cells, one free column
taking the width left over.

Qt's ``ResizeToContents`` re-reads every row on every change and forbids the engineer's own
widths; this measures the rows on screen (and a bounded sample) through the view's delegates,
once per burst of changes, and only ever widens a column until the type size or the rows are
replaced. So a phone number or a time is never cut, and columns do not twitch as calls arrive.
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, Qt, QTimer
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QTableView

SAMPLE_ROWS = 200  # rows measured beyond the visible ones (Qt's default reads 1,000)
MAX_COLUMN_WIDTH = 480  # px; a longer cell is elided and its tooltip carries it all
FREE_MIN_WIDTH = 160
BREATHING_ROOM = 10  # px: without grid lines, columns that fit to the pixel read as one


class ColumnFitter(QObject):
    """Keeps ``view``'s columns fitted; ``free`` is the column that takes the spare width."""

    def __init__(
        self,
        view: QTableView,
        *,
        free: int,
        max_width: int = MAX_COLUMN_WIDTH,
        uncapped: frozenset[int] = frozenset(),
        droppable: tuple[int, ...] = (),
        free_min: int = FREE_MIN_WIDTH,
    ) -> None:
        """``droppable`` columns, least needed first, are hidden while the view is too narrow
        for every column (a sidebar on a laptop screen) rather than scroll it sideways."""
        super().__init__(view)
        self._droppable = droppable
        self._free_min = free_min
        self._view = view
        self._free = free
        self._max_width = max_width
        self._uncapped = uncapped  # never elided: numbers and times
        self._widths: dict[int, int] = {}
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(0)
        self._timer.timeout.connect(self.fit)
        header = view.horizontalHeader()
        header.setStretchLastSection(False)
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        view.verticalHeader().setResizeContentsPrecision(SAMPLE_ROWS)
        view.setHorizontalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        view.setTextElideMode(Qt.TextElideMode.ElideRight)
        model = view.model()
        model.rowsInserted.connect(self.schedule)
        model.dataChanged.connect(self.schedule)
        model.layoutChanged.connect(self.schedule)
        model.headerDataChanged.connect(self.schedule)
        model.modelReset.connect(self.refit)
        view.verticalScrollBar().valueChanged.connect(self.schedule)
        view.installEventFilter(self)
        view.viewport().installEventFilter(self)

    def schedule(self, *_: object) -> None:
        """Fit once the current burst of changes is through."""
        if not self._timer.isActive():
            self._timer.start()

    def refit(self, *_: object) -> None:
        """Measure afresh (new type size, new rows): columns may narrow as well as widen."""
        self._widths.clear()
        self.schedule()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        kind = event.type()
        if kind in (QEvent.Type.FontChange, QEvent.Type.StyleChange) and watched is self._view:
            self.refit()
        elif kind in (QEvent.Type.Resize, QEvent.Type.Show):
            self.schedule()
        return False

    def _drop_what_does_not_fit(self, count: int) -> None:
        view = self._view
        room = view.viewport().width()
        needed = {
            column: max(self._widths.get(column, 0), self.needed_width(column))
            for column in range(count)
        }
        needed[self._free] = self._free_min
        shown = set(range(count))
        for column in self._droppable:
            if sum(needed[c] for c in shown) <= room:
                break
            shown.discard(column)
        for column in self._droppable:
            if view.isColumnHidden(column) == (column in shown):
                view.setColumnHidden(column, column not in shown)

    def needed_width(self, column: int) -> int:
        """What ``column``'s header and measured cells need, capped unless it is uncapped."""
        view = self._view
        header = view.horizontalHeader().sectionSizeHint(column)
        width = max(header, view.sizeHintForColumn(column) + BREATHING_ROOM)
        if column not in self._uncapped:
            width = min(width, self._max_width)
        return width

    def fit(self) -> None:
        self._timer.stop()
        view = self._view
        header = view.horizontalHeader()
        count = header.count()
        if self._droppable:
            self._drop_what_does_not_fit(count)
        used = 0
        for column in range(count):
            if header.isSectionHidden(column):
                continue
            width = max(self._widths.get(column, 0), self.needed_width(column))
            self._widths[column] = width
            if column != self._free:
                used += width
                if view.columnWidth(column) != width:
                    view.setColumnWidth(column, width)
        if 0 <= self._free < count and not header.isSectionHidden(self._free):
            spare = view.viewport().width() - used
            # The free column gives way first: it may end in "…" (its tooltip leads with the
            # whole text) rather than push the other columns off the side.
            free = max(self._free_min, spare)
            if view.columnWidth(self._free) != free:
                view.setColumnWidth(self._free, free)
