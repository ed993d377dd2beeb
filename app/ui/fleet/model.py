"""The Fleet table: one row per saved connection with its latest run, and the filter over it.

A row holds the connection's profile and its latest run as the services give it (a stored run
read through ``fleet changes``' rows, or a sweep's row as it arrives); every word and verdict
comes from them, the doctor's labels and the domain's change rules. The view sorts through
``FleetFilter`` on ``SORT_ROLE``.

Presenter mode: every connection but the one open in the window shows its name and customer
as initials, as the connections list does.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from typing import Any, Final

from PySide6.QtCore import (
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    QSortFilterProxyModel,
    Qt,
)
from PySide6.QtGui import QBrush, QColor

from app.domain.clock import Clock
from app.domain.connection import CheckStatusSummary, ConnectionProfile
from app.domain.diagnosis import CHECK_ORDER, CheckResult
from app.services.fleet.overview import Due, Expiry, next_expiry
from app.services.fleet.sweep import FleetRow
from app.ui.fleet.text import (
    NEVER_CHECKED,
    SEVERITY,
    dot_tip,
    expiry_text,
    expiry_tip,
    run_time,
    run_time_tip,
)
from app.ui.presenter import Presenter
from app.ui.theme import Mark, colours
from app.ui.widgets.table_model import RowsTableModel

ID_ROLE: Final = Qt.ItemDataRole.UserRole + 1
SORT_ROLE: Final = Qt.ItemDataRole.UserRole + 2
STATES_ROLE: Final = Qt.ItemDataRole.UserRole + 3  # the seven checks' Marks, for the dots

HEADERS: Final = ("Name", "Customer", "Checks 1–7", "Finding", "Last run", "Next expiry", "Changes")
NAME, CUSTOMER, CHECKS, FINDING, LAST_RUN, EXPIRY, CHANGES = range(len(HEADERS))


@dataclass(frozen=True)
class FleetLine:
    """One connection: its profile, its latest run (None: none stored), and whether a sweep is
    checking it now."""

    profile: ConnectionProfile
    run: FleetRow | None = None
    checking: bool = False

    @property
    def never_checked(self) -> bool:
        return self.run is None or self.run.checked_at is None

    def result(self, index: int) -> CheckResult | None:
        diagnosis = self.run.diagnosis if self.run is not None else None
        return diagnosis.checks[index] if diagnosis is not None else None

    def states(self) -> tuple[Mark, ...]:
        """Each check's mark in the doctor's order: its result's, checking, or not run."""
        if self.checking:
            return (Mark.RUNNING,) * len(CHECK_ORDER)
        results = (self.result(i) for i in range(len(CHECK_ORDER)))
        return tuple(Mark.IDLE if r is None else Mark(r.status.value) for r in results)


class FleetModel(RowsTableModel[FleetLine]):
    """Saved connections in the order they were added; the view sorts through a proxy."""

    def __init__(
        self,
        presenter: Presenter,
        *,
        clock: Clock,
        key_warning_days: int,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(HEADERS, right=(CHANGES,), align_headers_left=True, parent=parent)
        self._presenter = presenter
        self._clock = clock
        self.key_warning_days = key_warning_days
        self._row_of: dict[str, int] = {}
        self._current: str | None = None
        presenter.changed.connect(self.refresh)

    # ---- changes ---------------------------------------------------------------------------
    def set_profiles(self, profiles: Sequence[ConnectionProfile]) -> None:
        """The saved connections; a connection kept keeps its run and its sweep state."""
        kept = {line.profile.id: line for line in self._rows}
        self.beginResetModel()
        self._rows = [
            replace(kept[p.id], profile=p) if p.id in kept else FleetLine(p) for p in profiles
        ]
        self._row_of = {line.profile.id: row for row, line in enumerate(self._rows)}
        self.endResetModel()

    def set_run(self, run: FleetRow) -> None:
        """A connection's latest run (read from the history, or as a sweep finishes it)."""
        self._change(run.connection_id, run=run, checking=False)

    def set_checking(self, connection_ids: Iterable[str], checking: bool = True) -> None:
        for connection_id in connection_ids:
            self._change(connection_id, checking=checking)

    def set_current(self, connection_id: str | None) -> None:
        """The connection open in the window: in presenter mode the others show initials."""
        if connection_id != self._current:
            self._current = connection_id
            self.refresh()

    def _change(self, connection_id: str, **fields: Any) -> None:
        row = self._row_of.get(connection_id)
        if row is None:
            return
        self._rows[row] = replace(self._rows[row], **fields)
        self.dataChanged.emit(self.index(row, 0), self.index(row, len(HEADERS) - 1))

    # ---- lookups ---------------------------------------------------------------------------
    def line(self, connection_id: str) -> FleetLine | None:
        row = self._row_of.get(connection_id)
        return self._rows[row] if row is not None else None

    def line_at(self, row: int) -> FleetLine:
        return self._rows[row]

    def lines(self) -> list[FleetLine]:
        return list(self._rows)

    def expiry(self, line: FleetLine) -> Expiry | None:
        diagnosis = line.run.diagnosis if line.run is not None else None
        return next_expiry(
            diagnosis, line.profile.key_rotated_at, key_warning_days=self.key_warning_days
        )

    def masked(self, line: FleetLine) -> bool:
        return self._presenter.enabled and line.profile.id != self._current

    def shown_name(self, line: FleetLine) -> str:
        name = line.profile.name
        return self._presenter.name(name) if self.masked(line) else name

    def shown_customer(self, line: FleetLine) -> str:
        customer = line.profile.customer
        return self._presenter.name(customer) if self.masked(line) else customer

    # ---- Qt --------------------------------------------------------------------------------
    def cell(self, line: FleetLine, column: int, role: int) -> Any:
        if role == Qt.ItemDataRole.DisplayRole:
            return self._display(line, column)
        if role == Qt.ItemDataRole.ToolTipRole:
            return self._tooltip(line, column)
        if role == ID_ROLE:
            return line.profile.id
        if role == STATES_ROLE:
            return line.states()
        if role == SORT_ROLE:
            return self._sort_key(line, column)
        if role == Qt.ItemDataRole.ForegroundRole:
            return self._foreground(line, column)
        return None

    def _display(self, line: FleetLine, column: int) -> str:
        run = line.run
        if column == NAME:
            return self.shown_name(line)
        if column == CUSTOMER:
            return self.shown_customer(line)
        if column == FINDING:
            if line.checking:
                return Mark.RUNNING.words
            if line.never_checked or run is None:
                return NEVER_CHECKED
            return self._presenter.text(run.finding)
        if column == LAST_RUN:
            return run_time(run) if run is not None else ""
        if column == EXPIRY:
            return expiry_text(self.expiry(line), self._clock())
        if column == CHANGES:
            return "" if line.never_checked or run is None else str(len(run.changes))
        return ""

    def _tooltip(self, line: FleetLine, column: int) -> str | None:
        run = line.run
        if column == NAME and not self.masked(line):
            return f"{line.profile.name}\n{line.profile.url}"
        if column == CHECKS:
            states = line.states()
            return "\n".join(
                dot_tip(self._presenter, check, states[i], line.result(i))
                for i, check in enumerate(CHECK_ORDER)
            )
        if column == FINDING:
            return self._display(line, FINDING)
        if column == LAST_RUN:
            return run_time_tip(run) if run is not None else NEVER_CHECKED
        if column == EXPIRY:
            return expiry_tip(self.expiry(line))
        if column == CHANGES and run is not None and run.changes:
            return "\n".join(self._presenter.text(change.finding) for change in run.changes)
        return None

    def _foreground(self, line: FleetLine, column: int) -> QBrush | None:
        if column == EXPIRY:
            expiry = self.expiry(line)
            due = expiry.due(self._clock()) if expiry is not None else None
            tone = {Due.PASSED: colours().fail, Due.SOON: colours().warn}.get(due or Due.LATER)
            return QBrush(QColor(tone)) if tone else None
        if column in (FINDING, LAST_RUN) and line.never_checked and not line.checking:
            return QBrush(QColor(colours().faint))
        return None

    def _sort_key(self, line: FleetLine, column: int) -> object:
        run = line.run
        if column == NAME:
            return line.profile.name.casefold()
        if column == CUSTOMER:
            return line.profile.customer.casefold()
        if column == CHECKS:
            # Worst outcome last when ascending; among failing ones, by the first failing cause.
            outcome = run.outcome if run is not None else CheckStatusSummary.NEVER
            first = run.diagnosis.first_failure if run and run.diagnosis else None
            return SEVERITY[outcome] * 10 + (first.order if first else 0)
        if column == FINDING:
            return self._display(line, FINDING).casefold()
        if column == LAST_RUN:
            at = run.checked_at if run is not None else None
            return at.timestamp() if at is not None else -math.inf
        if column == EXPIRY:
            expiry = self.expiry(line)
            return expiry.at.timestamp() if expiry is not None else math.inf
        if column == CHANGES:
            return len(run.changes) if run is not None else -1
        return ""


def matches(profile: ConnectionProfile, text: str) -> bool:
    """The filter: ``text`` anywhere in the name, the customer or a tag (case ignored)."""
    wanted = text.strip().casefold()
    if not wanted:
        return True
    fields = (profile.name, profile.customer, *profile.tags)
    return any(wanted in field.casefold() for field in fields)


class FleetFilter(QSortFilterProxyModel):
    """Sorts on ``SORT_ROLE`` and keeps the rows ``matches`` the typed text."""

    def __init__(self, model: FleetModel, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._fleet = model
        self._text = ""
        self.setSourceModel(model)
        self.setSortRole(SORT_ROLE)
        self.setDynamicSortFilter(True)

    def set_text(self, text: str) -> None:
        if text != self._text:
            self.beginFilterChange()
            self._text = text
            self.endFilterChange(QSortFilterProxyModel.Direction.Rows)

    def filterAcceptsRow(
        self, source_row: int, source_parent: QModelIndex | QPersistentModelIndex
    ) -> bool:
        return matches(self._fleet.line_at(source_row).profile, self._text)

    def shown_ids(self) -> list[str]:
        """The connections the filter shows, in the view's order."""
        return [str(self.index(row, 0).data(ID_ROLE)) for row in range(self.rowCount())]
