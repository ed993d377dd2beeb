"""The Fleet table: whole rows, one at a time, sortable (worst first by default), the seven
dots painted by their delegate, and columns that fit what they show."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtWidgets import QTableView, QWidget

from app.ui.fleet.model import CHANGES, CHECKS, CUSTOMER, EXPIRY, FINDING, LAST_RUN, FleetFilter
from app.ui.fleet.status_dots import StatusDotsDelegate
from app.ui.widgets.table_fit import ColumnFitter
from app.ui.widgets.tables import fit_rows, read_only_table

WHOLE_COLUMNS: Final = frozenset({CHECKS, LAST_RUN, EXPIRY, CHANGES})


class _RowsFollowFont(QObject):
    """Larger type: taller rows, so the dots (as tall as a line) keep their room."""

    def __init__(self, table: QTableView, font_of: QWidget) -> None:
        super().__init__(table)
        self._table, self._font_of = table, font_of
        table.installEventFilter(self)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.FontChange:
            fit_rows(self._table, self._font_of)
        return False


@dataclass(frozen=True)
class FleetTable:
    """The view, and the helpers it needs held as long as it lives."""

    view: QTableView
    dots: StatusDotsDelegate
    fitter: ColumnFitter


def fleet_table(proxy: FleetFilter, font_of: QWidget) -> FleetTable:
    view = read_only_table("fleetTable", proxy)
    view.setShowGrid(False)
    dots = StatusDotsDelegate(view)  # Qt does not own a view's delegates: held by FleetTable
    view.setItemDelegateForColumn(CHECKS, dots)
    view.sortByColumn(CHECKS, Qt.SortOrder.DescendingOrder)  # the worst first
    header = view.horizontalHeader()
    header.setDefaultAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
    header.setMinimumSectionSize(48)
    fit_rows(view, font_of)
    _RowsFollowFont(view, font_of)
    fitter = ColumnFitter(view, free=FINDING, uncapped=WHOLE_COLUMNS, droppable=(CUSTOMER,))
    return FleetTable(view, dots, fitter)
