"""Columns that fit: each as wide as its text, the free column giving way first, and in a
narrow view the least needed columns stepping aside rather than scrolling sideways."""

from __future__ import annotations

import pytest
from PySide6.QtGui import QStandardItem, QStandardItemModel
from PySide6.QtWidgets import QTableView

from app.ui.widgets.table_fit import FREE_MIN_WIDTH, ColumnFitter
from tests.support.waiting import until

NAME, CUSTOMER, VERSION, REGION, STATUS = range(5)
ROW = ("Harbourside Plumbing & Gas Pty Ltd", "Harbourside Group", "20.0.10.1116", "AU", "Failing")


def _table(width: int, *, droppable: tuple[int, ...] = ()) -> tuple[QTableView, ColumnFitter]:
    model = QStandardItemModel(0, len(ROW))
    model.setHorizontalHeaderLabels(["Name", "Customer", "Version", "Region", "Status"])
    view = QTableView()
    view.setModel(model)
    fitter = ColumnFitter(view, free=NAME, droppable=droppable, free_min=110)
    model.appendRow([QStandardItem(text) for text in ROW])
    view.resize(width, 200)
    view.show()
    return view, fitter


def _shown_width(view: QTableView) -> int:
    columns = range(view.model().columnCount())
    return sum(view.columnWidth(c) for c in columns if not view.isColumnHidden(c))


@pytest.mark.parametrize("width", [250, 330, 420])
async def test_a_narrow_view_hides_the_least_needed_columns_first(
    qtbot: object, width: int
) -> None:
    order = (REGION, VERSION, CUSTOMER)
    view, fitter = _table(width, droppable=order)
    fitter.fit()
    hidden = [c for c in order if view.isColumnHidden(c)]
    assert hidden == list(order[: len(hidden)])  # least needed first, none skipped
    assert hidden, "nothing stepped aside at this width"
    assert not view.isColumnHidden(NAME) and not view.isColumnHidden(STATUS)
    assert _shown_width(view) <= view.viewport().width()
    bar = view.horizontalScrollBar()  # its range follows on the next turn of the loop
    await until(lambda: bar.maximum() == 0, "no sideways scrolling", 5)
    if width == 250:
        assert hidden == list(order)
    # Room again: they come back, most needed first.
    view.resize(1400, 200)
    await until(
        lambda: not any(view.isColumnHidden(c) for c in range(5)), "the columns to come back", 5
    )
    assert view.columnWidth(NAME) >= fitter.needed_width(NAME)
    view.close()


async def test_without_droppable_columns_every_column_stays(qtbot: object) -> None:
    view, fitter = _table(330)
    fitter.fit()
    assert not any(view.isColumnHidden(c) for c in range(5))
    assert view.columnWidth(NAME) == 110  # the free column gave way to its floor
    view.close()


@pytest.mark.parametrize("width", [600, 900])
async def test_the_free_column_takes_the_spare_width(qtbot: object, width: int) -> None:
    view, fitter = _table(width)
    fitter.fit()
    others = sum(view.columnWidth(c) for c in (CUSTOMER, VERSION, REGION, STATUS))
    spare = view.viewport().width() - others
    assert view.columnWidth(NAME) == max(110, spare)
    assert FREE_MIN_WIDTH >= 110
    view.close()


class _CountingModel(QStandardItemModel):
    """Counts the cells the fitter reads (display text), per column."""

    def __init__(self, rows: int) -> None:
        super().__init__(rows, len(ROW))
        self.reads: dict[int, set[int]] = {}
        for row in range(rows):
            for column, text in enumerate(ROW):
                self.setItem(row, column, QStandardItem(text))

    def data(self, index: object, role: int = 0) -> object:
        if role == 0:
            self.reads.setdefault(index.column(), set()).add(index.row())  # type: ignore[attr-defined]
        return super().data(index, role)  # type: ignore[arg-type]


def _busy_table(rows: int) -> tuple[QTableView, _CountingModel, ColumnFitter]:
    model = _CountingModel(rows)
    view = QTableView()
    view.setModel(model)
    fitter = ColumnFitter(view, free=NAME)
    view.resize(900, 300)
    view.show()
    fitter.fit()
    model.reads.clear()
    return view, model, fitter


def _shown_rows(view: QTableView) -> int:
    return view.rowAt(view.viewport().height() - 1) + 1


async def test_a_changed_column_re_reads_only_its_own_cells_on_screen(qtbot: object) -> None:
    # A talking call's duration ticks every second: re-reading every column's 200-row sample
    # for it stalled a busy feed for 250 ms.
    view, model, fitter = _busy_table(5000)
    model.dataChanged.emit(model.index(0, VERSION), model.index(4999, VERSION))
    fitter.fit()
    assert set(model.reads) == {VERSION}
    assert 0 < len(model.reads[VERSION]) <= _shown_rows(view) + 1
    view.close()


async def test_a_wider_cell_widens_its_column_on_screen_and_when_scrolled_to(
    qtbot: object,
) -> None:
    view, model, fitter = _busy_table(500)
    before = view.columnWidth(VERSION)
    model.item(0, VERSION).setText("20.0.10.1116 (update 8, hotfix 2)")
    fitter.fit()
    on_screen = view.columnWidth(VERSION)
    assert on_screen > before
    # Off screen, it waits until it is shown: then it is measured.
    model.item(400, VERSION).setText("20.0.10.1116 (update 8, hotfix 2, and a long note)")
    fitter.fit()
    assert view.columnWidth(VERSION) == on_screen
    view.scrollTo(model.index(400, VERSION))
    fitter.fit()
    assert view.columnWidth(VERSION) > on_screen
    view.close()


async def test_the_oldest_rows_leaving_the_bottom_re_read_nothing(qtbot: object) -> None:
    view, model, fitter = _busy_table(500)
    model.removeRows(400, 100)
    fitter.fit()
    assert model.reads == {}
    # New rows at the top are read, and only they (the free column never: it takes the rest).
    model.insertRow(0, [QStandardItem(text) for text in ROW])
    fitter.fit()
    assert set(model.reads) == {CUSTOMER, VERSION, REGION, STATUS}
    assert all(rows == {0} for rows in model.reads.values())
    view.close()
