"""The ledger as a table: one row per call of the period, its state with a drawn mark, its cause
and the first sentence of the evidence; and the proxy that shows one state, or what needs a fix.

A model over the ledger's entries; ``data()`` only reads what the entries already hold.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QModelIndex, QObject, QPersistentModelIndex, QSortFilterProxyModel, Qt
from PySide6.QtGui import QIcon

from app.domain.business_hours import BusinessHours
from app.domain.calls import CallDirection
from app.domain.reconcile.records import CallState, LedgerEntry
from app.ui.presenter import Presenter
from app.ui.reconcile.text import (
    DASH,
    STATE_LABELS,
    STATE_MARKS,
    STATE_ORDER,
    cause_short,
    cause_title,
    when_text,
)
from app.ui.theme import mark_icon
from app.ui.widgets.table_model import RowsTableModel

SORT_ROLE = Qt.ItemDataRole.UserRole + 1
NEEDS_A_FIX = "fix"  # the filter's "Needs a fix": every state that is not fine
StateFilter = CallState | str | None  # None: every call


class LedgerModel(RowsTableModel[LedgerEntry]):
    """One row per ledger entry, in start order."""

    TIME, DIRECTION, NUMBER, EXTENSION, STATE, CAUSE, EVIDENCE = range(7)
    HEADERS = ("Time", "Direction", "Number", "Extension", "State", "Cause", "Evidence")

    def __init__(self, presenter: Presenter, parent: QObject | None = None) -> None:
        super().__init__(self.HEADERS, parent=parent)
        self._presenter = presenter
        self._index: dict[str, int] = {}  # call id -> row
        self.hours = BusinessHours()
        presenter.changed.connect(self.refresh)

    # ---- content ---------------------------------------------------------------------------
    def set_entries(self, entries: tuple[LedgerEntry, ...] | list[LedgerEntry]) -> None:
        self.beginResetModel()
        self._rows = list(entries)
        self._index = {e.call.call_id: i for i, e in enumerate(self._rows)}
        self.endResetModel()

    def set_hours(self, hours: BusinessHours) -> None:
        self.hours = hours
        self.refresh_header(self.TIME)
        self.refresh()

    def entry_at(self, row: int) -> LedgerEntry:
        return self._rows[row]

    def position(self, call_id: str) -> int | None:
        return self._index.get(call_id)

    @property
    def entries(self) -> list[LedgerEntry]:
        return list(self._rows)

    # ---- Qt --------------------------------------------------------------------------------
    def header(self, section: int, role: int) -> Any:
        if role == Qt.ItemDataRole.ToolTipRole and section == self.TIME:
            return f"The customer's clock ({self.hours.timezone})"
        return super().header(section, role)

    def cell(self, entry: LedgerEntry, column: int, role: int) -> Any:
        if role == Qt.ItemDataRole.DisplayRole:
            return self.text(entry, column)
        if role == SORT_ROLE:
            return self._sort_key(entry, column)
        if role == Qt.ItemDataRole.ToolTipRole:
            return self._tooltip(entry, column)
        if role == Qt.ItemDataRole.DecorationRole and column == self.STATE:
            return self._icon(entry.state)
        return None

    def text(self, entry: LedgerEntry, column: int) -> str:
        """What the cell of ``entry`` in ``column`` shows (masked in presenter mode)."""
        call = entry.call
        if column == self.TIME:
            return when_text(call.started_at, self.hours, "%Y-%m-%d %H:%M")
        if column == self.DIRECTION:
            direction = call.direction
            return DASH if direction is CallDirection.UNKNOWN else direction.value.capitalize()
        if column == self.NUMBER:
            return self._presenter.number(call.external_number) if call.external_number else DASH
        if column == self.EXTENSION:
            return call.extension or DASH
        if column == self.STATE:
            return STATE_LABELS[entry.state]
        if column == self.CAUSE:
            return cause_short(entry.cause)
        if column == self.EVIDENCE:
            return self._presenter.text(entry.evidence[0]) if entry.evidence else DASH
        return ""

    def _tooltip(self, entry: LedgerEntry, column: int) -> str | None:
        if column == self.CAUSE:
            return cause_title(entry.cause)
        if column == self.EVIDENCE:
            # The whole evidence: a narrow column ends the first sentence in "…".
            return "\n".join(self._presenter.text(s) for s in entry.evidence) or None
        return None

    def _sort_key(self, entry: LedgerEntry, column: int) -> Any:
        if column == self.TIME:
            return entry.call.started_at.timestamp()
        if column == self.STATE:
            return STATE_ORDER[entry.state]
        return self.text(entry, column).lower()

    @staticmethod
    def _icon(state: CallState) -> QIcon:
        return mark_icon(STATE_MARKS[state], 12)


class LedgerFilter(QSortFilterProxyModel):
    """Shows every call, one state, or the calls that need a fix."""

    def __init__(self, source: LedgerModel, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._source = source
        self._shown: StateFilter = None
        self.setSourceModel(source)
        self.setSortRole(SORT_ROLE)

    @property
    def shown(self) -> StateFilter:
        return self._shown

    def show_only(self, shown: StateFilter) -> None:
        self.beginFilterChange()
        self._shown = shown
        self.endFilterChange()

    def filterAcceptsRow(
        self,
        source_row: int,
        source_parent: QModelIndex | QPersistentModelIndex,
    ) -> bool:
        if self._shown is None:
            return True
        state = self._source.entry_at(source_row).state
        if self._shown == NEEDS_A_FIX:
            return not state.fine
        # The combo hands its data back as plain text: a state compares equal to its value.
        return state == self._shown
