"""The recordings lookup's results table: one row per call found, with the recording's status,
age, days left and the contact the customer's bridge would land the call on.

A model over the lookup's rows with a call id -> row index; ``data()`` only reads what the rows
and the contact matcher already hold.
"""

from __future__ import annotations

from datetime import tzinfo
from typing import Any

from PySide6.QtCore import QObject, Qt
from PySide6.QtGui import QBrush, QColor, QIcon

from app.domain.bridge import BridgeMatch
from app.domain.business_hours import BusinessHours
from app.domain.calls import CallDirection
from app.domain.clock import utc_now
from app.domain.contact_match import MatchKind, display_name
from app.services.recordings.lookup import RecordingRow, RecordingStatus
from app.services.session import ContactMatcher
from app.ui.presenter import Presenter
from app.ui.recordings.text import (
    DASH,
    STATUS_LABELS,
    STATUS_MARKS,
    STATUS_ORDER,
    age_text,
    duration_text,
    status_colour_of,
)
from app.ui.theme import colours, dot_icon, mark_icon
from app.ui.widgets.table_model import RowsTableModel

SORT_ROLE = Qt.ItemDataRole.UserRole + 1
# The contact has the number, in another format: the bridge's whole sentence is the tooltip's.
NORMALISED_TEXT = "new contact · normalised"


class RecordingResultsModel(RowsTableModel[RecordingRow]):
    """One row per call found, in the order the search gave (newest first)."""

    (
        TIME,
        DIRECTION,
        NUMBER,
        CONTACT,
        EXTENSION,
        DURATION,
        RECORDING,
        AGE,
        DAYS_LEFT,
        CALL_ID,
    ) = range(10)
    HEADERS = (
        "Time",
        "Direction",
        "Number",
        "Contact",
        "Extension",
        "Duration",
        "Recording",
        "Age",
        "Days left",
        "Call id",
    )
    _RIGHT = frozenset({DURATION, AGE})

    def __init__(self, presenter: Presenter, parent: QObject | None = None) -> None:
        super().__init__(self.HEADERS, right=self._RIGHT, parent=parent)
        self._presenter = presenter
        self._index: dict[str, int] = {}  # call id -> row
        self._contacts: ContactMatcher | None = None
        self._matches: dict[str, BridgeMatch] = {}
        self._zone: tzinfo = BusinessHours().zone
        presenter.changed.connect(self.refresh)

    # ---- content ---------------------------------------------------------------------------
    def set_rows(self, rows: list[RecordingRow] | tuple[RecordingRow, ...]) -> None:
        self.beginResetModel()
        self._rows = list(rows)
        self._index = {row.key: i for i, row in enumerate(self._rows)}
        self._match_all()
        self.endResetModel()

    def replace_row(self, row: RecordingRow) -> None:
        """A row re-checked (verify, play, save): only its cells change."""
        at = self._index.get(row.key)
        if at is None:
            return
        self._rows[at] = row
        self.dataChanged.emit(self.index(at, 0), self.index(at, self.columnCount() - 1))

    def set_contacts(self, contacts: ContactMatcher | None) -> None:
        """The session's contact matcher: the Contact column says what the customer's bridge
        does with each call, as the doctor judges it (None: not read yet)."""
        self._contacts = contacts
        self._match_all()
        if self._rows:
            column = self.CONTACT
            self.dataChanged.emit(self.index(0, column), self.index(len(self._rows) - 1, column))

    def set_zone(self, zone: tzinfo) -> None:
        self._zone = zone
        self.refresh_header(self.TIME)
        self.refresh()

    def row_at(self, row: int) -> RecordingRow:
        return self._rows[row]

    def position(self, key: str) -> int | None:
        return self._index.get(key)

    def contact_match(self, row: RecordingRow) -> BridgeMatch | None:
        return self._matches.get(row.key)

    @property
    def rows(self) -> list[RecordingRow]:
        return list(self._rows)

    def _match_all(self) -> None:
        self._matches.clear()
        if self._contacts is None:
            return
        names: list[str] = []
        for row in self._rows:
            if row.number_raw:
                found = self._contacts.match(row.number_raw)
                self._matches[row.key] = found
                names.extend(display_name(c) for c in found.contacts)
        # Names can turn up inside free text (details); presenter mode masks them there too.
        self._presenter.masker.learn_names(names)

    # ---- Qt --------------------------------------------------------------------------------
    def header(self, section: int, role: int) -> Any:
        if role == Qt.ItemDataRole.DisplayRole and section == self.TIME:
            # the customer's zone, named: "Time (NZDT)"
            return f"Time ({utc_now().astimezone(self._zone).tzname()})"
        return super().header(section, role)

    def cell(self, row: RecordingRow, column: int, role: int) -> Any:
        if role == Qt.ItemDataRole.DisplayRole:
            return self.text(row, column)
        if role == SORT_ROLE:
            return self._sort_key(row, column)
        if role == Qt.ItemDataRole.ToolTipRole:
            return self._tooltip(row, column)
        if role == Qt.ItemDataRole.ForegroundRole:
            return self._foreground(row, column)
        if role == Qt.ItemDataRole.DecorationRole and column == self.RECORDING:
            return self._icon(row.status)
        return None

    def _foreground(self, row: RecordingRow, column: int) -> QBrush | None:
        if column == self.RECORDING:
            return QBrush(QColor(status_colour_of(row.status)))
        if column == self.CONTACT:
            found = self._matches.get(row.key)
            if found is not None and found.kind is MatchKind.NORMALISED:
                return QBrush(
                    QColor(colours().warn)
                )  # the bridge misses a contact that has the number
            if found is None or found.kind in (MatchKind.ORPHAN, MatchKind.UNUSABLE):
                return QBrush(QColor(colours().muted))
        return None

    def text(self, row: RecordingRow, column: int) -> str:
        """What the cell of ``row`` in ``column`` shows (masked in presenter mode)."""
        presenter = self._presenter
        if column == self.TIME:
            return (
                f"{row.started_at.astimezone(self._zone):%Y-%m-%d %H:%M}"
                if row.started_at
                else DASH
            )
        if column == self.DIRECTION:
            direction = row.call.direction
            return DASH if direction is CallDirection.UNKNOWN else direction.value.capitalize()
        if column == self.NUMBER:
            number = row.number_e164 or row.number_raw
            return presenter.number(number) if number else DASH
        if column == self.CONTACT:
            return self._contact_text(row)
        if column == self.EXTENSION:
            return row.extension or DASH
        if column == self.DURATION:
            return duration_text(row.duration)
        if column == self.RECORDING:
            return STATUS_LABELS[row.status]
        if column == self.AGE:
            return age_text(row.age_days)
        if column == self.DAYS_LEFT:
            return row.days_left_text
        if column == self.CALL_ID:
            return row.key
        return ""

    def _contact_text(self, row: RecordingRow) -> str:
        if not row.number_raw:
            return DASH
        if self._contacts is None:
            return "…"
        found = self._matches.get(row.key)
        if found is None or found.kind is MatchKind.UNUSABLE:
            return DASH
        if found.kind is MatchKind.NORMALISED:
            return NORMALISED_TEXT  # the tooltip and the details have the whole sentence
        return found.summary(self._presenter.name, self._presenter.number)

    def _tooltip(self, row: RecordingRow, column: int) -> str | None:
        if column == self.RECORDING:
            return self._presenter.text(row.explanation)
        if column == self.DAYS_LEFT and row.retention_text:
            return self._presenter.text(row.retention_text)
        if column == self.CONTACT:
            found = self._matches.get(row.key)
            if found is None:
                return None
            reason = self._presenter.text(found.reason)
            summary = found.summary(self._presenter.name, self._presenter.number)
            tip = f"{summary}\n{reason}" if found.kind is MatchKind.NORMALISED else reason
            # The cell's own words are in it: a narrow column may end them in "…".
            shown = self._contact_text(row)
            return tip if shown in tip else f"{shown}\n{tip}"
        return None

    def _sort_key(self, row: RecordingRow, column: int) -> Any:
        if column == self.TIME:
            return row.started_at.timestamp() if row.started_at else 0.0
        if column == self.DURATION:
            return row.duration.total_seconds() if row.duration else -1.0
        if column == self.RECORDING:
            return STATUS_ORDER[row.status]
        if column == self.AGE:
            return row.age_days if row.age_days is not None else -1
        if column == self.DAYS_LEFT:
            return row.days_left if row.days_left is not None else 1_000_000
        return self.text(row, column).lower()

    def _icon(self, status: RecordingStatus) -> QIcon:
        mark = STATUS_MARKS.get(status)
        return mark_icon(mark, 12) if mark is not None else dot_icon(status_colour_of(status), 8)
