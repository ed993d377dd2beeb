"""Columns that fit what they show: each as wide as its header and its cells, one free column
taking the width left over.

Qt's ``ResizeToContents`` re-reads every row on every change and forbids the engineer's own
widths; this measures the rows on screen (and a bounded sample) through the view's delegates
once, then only the cells that change on screen, once per burst of changes, and only ever widens a column until the type size or the rows are
replaced. So a phone number or a time is never cut, and columns do not twitch as calls arrive.
"""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import QEvent, QModelIndex, QObject, Qt, QTimer
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
        # What the next fit measures: everything (a sample, as Qt does), or only the cells
        # that changed on screen. A busy feed changes a few cells many times a second, and
        # re-reading every column's 200-row sample each time stalled it for 250 ms.
        self._measure_all = True
        self._spans: list[_Span] = []
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
        model.rowsInserted.connect(self._rows_inserted)
        model.dataChanged.connect(self._data_changed)
        model.layoutChanged.connect(self._rows_on_screen)
        model.rowsRemoved.connect(self._rows_removed)
        model.headerDataChanged.connect(self.schedule)  # headers are read on every fit
        model.modelReset.connect(self.refit)
        view.verticalScrollBar().valueChanged.connect(self._rows_on_screen)
        view.installEventFilter(self)
        view.viewport().installEventFilter(self)

    def schedule(self, *_: object) -> None:
        """Fit once the current burst of changes is through."""
        if not self._timer.isActive():
            self._timer.start()

    def refit(self, *_: object) -> None:
        """Measure afresh (new type size, new rows): columns may narrow as well as widen."""
        self._widths.clear()
        self._measure_all = True
        self._spans.clear()
        self.schedule()

    def _rows_inserted(self, _parent: QModelIndex, first: int, last: int) -> None:
        count = last - first + 1
        # Rows below the insertion moved down: so did the changes waiting to be measured.
        self._spans = [
            span.moved(count) if span.first_row >= first else span for span in self._spans
        ]
        self._spans.append(_Span(first, last, 0, max(0, self._view.model().columnCount() - 1)))
        self.schedule()

    def _data_changed(self, top_left: QModelIndex, bottom_right: QModelIndex, *_: object) -> None:
        self._spans.append(
            _Span(top_left.row(), bottom_right.row(), top_left.column(), bottom_right.column())
        )
        self.schedule()

    def _rows_removed(self, _parent: QModelIndex, first: int, _last: int) -> None:
        # A full feed drops its oldest calls off the bottom as new ones come in: nothing new
        # comes on screen unless the rows went from above its last row shown.
        view = self._view
        bottom = view.rowAt(view.viewport().height())
        if bottom < 0 or first <= bottom:
            self._rows_on_screen()

    def _rows_on_screen(self, *_: object) -> None:
        """Other rows are on screen (scrolled, sorted, filtered): measure what is shown."""
        self._spans.append(_Span(0, _EVERY_ROW, 0, max(0, self._view.model().columnCount() - 1)))
        self.schedule()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        kind = event.type()
        if kind in (QEvent.Type.FontChange, QEvent.Type.StyleChange) and watched is self._view:
            self.refit()
        elif kind in (QEvent.Type.Resize, QEvent.Type.Show):
            if kind is QEvent.Type.Resize and watched is self._view.viewport():
                self._rows_on_screen()  # a taller view shows rows not yet measured
            self.schedule()
        return False

    def _drop_what_does_not_fit(self, count: int) -> None:
        view = self._view
        room = view.viewport().width()
        needed = {column: self._widths.get(column, 0) for column in range(count)}
        needed[self._free] = self._free_min
        shown = set(range(count))
        for column in self._droppable:
            if sum(needed[c] for c in shown) <= room:
                break
            shown.discard(column)
        for column in self._droppable:
            if view.isColumnHidden(column) == (column in shown):
                view.setColumnHidden(column, column not in shown)

    def _capped(self, column: int, cells: int) -> int:
        header = self._view.horizontalHeader().sectionSizeHint(column)
        width = max(header, cells + BREATHING_ROOM if cells else 0)
        if column not in self._uncapped:
            width = min(width, self._max_width)
        return width

    def needed_width(self, column: int) -> int:
        """What ``column``'s header and measured cells need, capped unless it is uncapped."""
        return self._capped(column, self._view.sizeHintForColumn(column))

    def _changed_cells(self, count: int) -> dict[int, int]:
        """The widest changed cell per column, among the rows on screen."""
        view = self._view
        rows = view.model().rowCount()
        top = max(0, view.rowAt(0))
        bottom = view.rowAt(view.viewport().height())
        bottom = rows - 1 if bottom < 0 else bottom
        wanted: dict[int, set[int]] = {}
        for span in self._spans:
            first, last = max(span.first_row, top), min(span.last_row, bottom)
            if first > last:
                continue
            for column in range(max(0, span.first_column), min(span.last_column, count - 1) + 1):
                wanted.setdefault(column, set()).update(range(first, last + 1))
        self._spans.clear()
        model, grid = view.model(), 1 if view.showGrid() else 0  # as Qt's own measure adds
        widest: dict[int, int] = {}
        wanted.pop(self._free, None)  # it takes what is left, whatever its text
        for column, on_screen in wanted.items():
            cells = [
                view.sizeHintForIndex(model.index(row, column)).width()
                for row in on_screen
                if not view.isRowHidden(row)
            ]
            widest[column] = max(cells, default=-grid) + grid
        return widest

    def fit(self) -> None:
        self._timer.stop()
        view = self._view
        header = view.horizontalHeader()
        count = header.count()
        if self._measure_all:
            self._measure_all = False
            self._spans.clear()
            measured = {
                column: view.sizeHintForColumn(column)
                for column in range(count)
                if column != self._free
            }
        else:
            measured = self._changed_cells(count)
        for column in range(count):
            # Headers are cheap to read and may have changed (the clock's zone, say).
            width = self._capped(column, measured.get(column, 0))
            self._widths[column] = max(self._widths.get(column, 0), width)
        if self._droppable:
            self._drop_what_does_not_fit(count)
        used = 0
        for column in range(count):
            if header.isSectionHidden(column):
                continue
            width = self._widths[column]
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


_EVERY_ROW = 1 << 30  # a span's last row meaning "to the end"


@dataclass(frozen=True)
class _Span:
    """Changed cells: rows first..last of columns first..last."""

    first_row: int
    last_row: int
    first_column: int
    last_column: int

    def moved(self, rows: int) -> _Span:
        return _Span(
            self.first_row + rows, self.last_row + rows, self.first_column, self.last_column
        )
