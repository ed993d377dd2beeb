"""The connections list's table: whole rows, one at a time, sortable, with the status pill."""

from __future__ import annotations

from PySide6.QtCore import QSortFilterProxyModel, Qt
from PySide6.QtWidgets import QAbstractItemView, QTableView

from app.ui.connections.delegates import RoomyDelegate, StatusPillDelegate
from app.ui.connections.model import (
    CUSTOMER,
    HOSTING,
    KEY_AGE,
    NAME,
    REGION,
    STATUS,
    VERSION,
)
from app.ui.widgets.table_fit import ColumnFitter

WHOLE_COLUMNS = frozenset({VERSION, HOSTING, REGION, KEY_AGE, STATUS})
NAME_MIN_WIDTH = 110  # px: beside the status in a laptop's sidebar, the start of a name


class ConnectionsTable(QTableView):
    """A read-only view of ``ConnectionsModel`` through ``proxy``, sorted by name at first."""

    def __init__(self, proxy: QSortFilterProxyModel, *, row_height: int) -> None:
        super().__init__()
        self.setObjectName("connectionsView")
        self.setModel(proxy)
        self.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.setSortingEnabled(True)
        self.sortByColumn(NAME, Qt.SortOrder.AscendingOrder)
        self.setAlternatingRowColors(True)
        self.setShowGrid(False)
        self.setWordWrap(False)
        self.verticalHeader().setVisible(False)
        self.verticalHeader().setDefaultSectionSize(row_height)
        # Held here as well as parented: Qt does not own a view's delegates.
        self.cell_delegate = RoomyDelegate(self)
        self.setItemDelegate(self.cell_delegate)
        self.status_delegate = StatusPillDelegate(self)
        self.setItemDelegateForColumn(STATUS, self.status_delegate)
        self._size_columns()

    def _size_columns(self) -> None:
        """Every column fits its header and cells. In a narrow sidebar (a laptop screen) the
        least needed columns step aside, region first, and the name takes what is left,
        ending in "…" only with its tooltip and the status bar saying it whole."""
        header = self.horizontalHeader()
        header.setHighlightSections(False)
        header.setDefaultAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
        header.setMinimumSectionSize(48)
        self.column_fitter = ColumnFitter(
            self,
            free=NAME,
            uncapped=WHOLE_COLUMNS,
            droppable=(REGION, VERSION, HOSTING, KEY_AGE, CUSTOMER),
            free_min=NAME_MIN_WIDTH,
        )
