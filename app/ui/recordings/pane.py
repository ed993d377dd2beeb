"""Recordings: find a call's recording by number, extension, dates or call id, and play it.

Each result says whether the recording exists (ready, archived, deleted by retention, missing,
not recorded, nothing to record), its age and the days left before auto-delete; the selected
row's status is explained below the table with the fix. Play streams the file into the
lookup's private temporary folder and hands it to the OS player; Save… writes it where the
engineer chooses. Nothing is copied anywhere by default: the PBX stays the system of record.
Every number and name on screen goes through the presenter.
"""

from __future__ import annotations

import asyncio
import dataclasses
import html
import logging
import re
from collections.abc import Callable, Coroutine
from datetime import date, datetime, time, timedelta, tzinfo
from pathlib import Path
from typing import Any, TypeVar

from PySide6.QtCore import (
    QAbstractTableModel,
    QDate,
    QEvent,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    QSortFilterProxyModel,
    QStandardPaths,
    Qt,
    QUrl,
    Signal,
)
from PySide6.QtGui import (
    QBrush,
    QColor,
    QDesktopServices,
    QIcon,
    QKeyEvent,
)
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDateEdit,
    QDialog,
    QFileDialog,
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QSplitter,
    QStackedWidget,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from app.domain.bridge import BridgeMatch
from app.domain.business_hours import BusinessHours, HoursSource
from app.domain.calls import CallDirection
from app.domain.clock import utc_now
from app.domain.contact_match import MatchKind, display_name
from app.services.pbx_access import ThreeCXError
from app.services.recording_lookup import (
    QueryError,
    RecordingLookup,
    RecordingLookupError,
    RecordingQuery,
    RecordingRow,
    RecordingStatus,
    SearchResult,
)
from app.services.session import ContactMatcher, ContactsUnavailable, PbxSession
from app.ui.context import UiContext
from app.ui.dialogs import confirm, run_dialog
from app.ui.presenter import Presenter
from app.ui.theme import ACCENT, FAIL, MUTED, PASS, WARN, dot_icon

log = logging.getLogger(__name__)

T = TypeVar("T")

DEFAULT_DAYS = 30
SORT_ROLE = Qt.ItemDataRole.UserRole + 1
DASH = "—"
_UNSAFE_IN_FILE_NAMES = re.compile(r'[<>:"/\\|?*\x00-\x1f]')

STATUS_LABELS = {status: status.value[0].upper() + status.value[1:] for status in RecordingStatus}
STATUS_COLOURS = {
    RecordingStatus.READY: PASS,
    RecordingStatus.ARCHIVED: ACCENT,
    RecordingStatus.DELETED_BY_RETENTION: "#7b4f9d",
    RecordingStatus.MISSING: FAIL,
    RecordingStatus.PENDING: "#00796b",
    RecordingStatus.NOT_RECORDED: WARN,
    RecordingStatus.NO_AUDIO: MUTED,
    RecordingStatus.NO_ACCESS: FAIL,
    RecordingStatus.UNKNOWN: MUTED,
}
# Statuses that need the engineer's attention sort before the rest on the Recording column.
_STATUS_ORDER = {
    RecordingStatus.MISSING: 0,
    RecordingStatus.NO_ACCESS: 1,
    RecordingStatus.NOT_RECORDED: 2,
    RecordingStatus.DELETED_BY_RETENTION: 3,
    RecordingStatus.UNKNOWN: 4,
    RecordingStatus.PENDING: 5,
    RecordingStatus.ARCHIVED: 6,
    RecordingStatus.READY: 7,
    RecordingStatus.NO_AUDIO: 8,
}


def open_with_os_player(path: Path) -> bool:
    """Hand the file to whatever plays WAV files on this computer."""
    return QDesktopServices.openUrl(QUrl.fromLocalFile(str(path)))


def zone_phrase(hours: BusinessHours) -> str:
    """Which clock the times are on, and how sure that is: the customer says "Tuesday at ten"."""
    zone = hours.timezone
    if hours.source is HoursSource.PBX:
        return f"Times in {zone}, the customer's time zone (read from the PBX)."
    if hours.source is HoursSource.ENGINEER:
        return f"Times in {zone}, the customer's time zone (set by the engineer)."
    if hours.source is HoursSource.REGION:
        return f"Times in {zone}: the region's usual zone, not read from the PBX."
    return (
        f"Times in {zone}: the customer's time zone is not known (set it with Edit on the "
        "connection)."
    )


def duration_text(value: timedelta | None) -> str:
    if value is None or value.total_seconds() <= 0:
        return DASH
    total = round(value.total_seconds())
    hours, rest = divmod(total, 3600)
    minutes, seconds = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{seconds:02d}" if hours else f"{minutes}:{seconds:02d}"


def age_text(days: int | None) -> str:
    if days is None:
        return DASH
    return "today" if days <= 0 else ("1 day" if days == 1 else f"{days} days")


def default_file_name(row: RecordingRow, zone: tzinfo, *, presenter: bool) -> str:
    """ "2026-11-21 1015 +61412345678 ext 101.wav"; in presenter mode no number (on screen)."""
    parts = []
    if row.started_at is not None:
        parts.append(f"{row.started_at.astimezone(zone):%Y-%m-%d %H%M}")
    if not presenter and (row.number_e164 or row.number_raw):
        parts.append(row.number_e164 or row.number_raw or "")
    if row.extension:
        parts.append(f"ext {row.extension}")
    if presenter or not parts:
        parts.append(f"call {row.key}")
    return _UNSAFE_IN_FILE_NAMES.sub("-", " ".join(parts)) + ".wav"


# ---- the results model -------------------------------------------------------------------------
class RecordingResultsModel(QAbstractTableModel):
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
        super().__init__(parent)
        self._presenter = presenter
        self._rows: list[RecordingRow] = []
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
        self.headerDataChanged.emit(Qt.Orientation.Horizontal, self.TIME, self.TIME)
        self.refresh()

    def refresh(self) -> None:
        """Re-render every cell (presenter mode toggled)."""
        if self._rows:
            last = self.index(len(self._rows) - 1, self.columnCount() - 1)
            self.dataChanged.emit(self.index(0, 0), last)

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
    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.HEADERS)

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if orientation is Qt.Orientation.Horizontal and 0 <= section < len(self.HEADERS):
            if role == Qt.ItemDataRole.DisplayRole:
                if section == self.TIME:  # the customer's zone, named: "Time (NZDT)"
                    return f"Time ({utc_now().astimezone(self._zone).tzname()})"
                return self.HEADERS[section]
            if role == Qt.ItemDataRole.TextAlignmentRole and section in self._RIGHT:
                return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
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
            return self.text(row, column)
        if role == SORT_ROLE:
            return self._sort_key(row, column)
        if role == Qt.ItemDataRole.ToolTipRole:
            return self._tooltip(row, column)
        if column == self.RECORDING:
            if role == Qt.ItemDataRole.ForegroundRole:
                return QBrush(QColor(STATUS_COLOURS[row.status]))
            if role == Qt.ItemDataRole.DecorationRole:
                return self._icon(row.status)
        if role == Qt.ItemDataRole.ForegroundRole and column == self.CONTACT:
            found = self._matches.get(row.key)
            if found is not None and found.kind is MatchKind.NORMALISED:
                return QBrush(QColor(WARN))  # the bridge misses a contact that has the number
            if found is None or found.kind in (MatchKind.ORPHAN, MatchKind.UNUSABLE):
                return QBrush(QColor(MUTED))
        if role == Qt.ItemDataRole.TextAlignmentRole and column in self._RIGHT:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
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
        return found.summary(self._presenter.name, self._presenter.number)

    def _tooltip(self, row: RecordingRow, column: int) -> str | None:
        if column == self.RECORDING:
            return self._presenter.text(row.explanation)
        if column == self.DAYS_LEFT and row.retention_text:
            return self._presenter.text(row.retention_text)
        if column == self.CONTACT:
            found = self._matches.get(row.key)
            return self._presenter.text(found.reason) if found is not None else None
        return None

    def _sort_key(self, row: RecordingRow, column: int) -> Any:
        if column == self.TIME:
            return row.started_at.timestamp() if row.started_at else 0.0
        if column == self.DURATION:
            return row.duration.total_seconds() if row.duration else -1.0
        if column == self.RECORDING:
            return _STATUS_ORDER[row.status]
        if column == self.AGE:
            return row.age_days if row.age_days is not None else -1
        if column == self.DAYS_LEFT:
            return row.days_left if row.days_left is not None else 1_000_000
        return self.text(row, column).lower()

    def _icon(self, status: RecordingStatus) -> QIcon:
        return dot_icon(STATUS_COLOURS[status], 8)


# ---- the pane ----------------------------------------------------------------------------------
class _EnterSearches(QObject):
    """Enter in a date field searches, as it does in the text fields."""

    def __init__(self, search: Callable[[], object], parent: QObject) -> None:
        super().__init__(parent)
        self._search = search

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if (
            event.type() == QEvent.Type.KeyPress
            and isinstance(event, QKeyEvent)
            and event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter)
        ):
            self._search()
            return True
        return super().eventFilter(watched, event)


class RecordingsPane(QWidget):
    """Search a connection's calls and recordings; play, save or verify the selected one."""

    searched = Signal(object)  # SearchResult, after every completed search
    saveDialogOpened = Signal(object)  # the QFileDialog, just before it is shown

    def __init__(
        self,
        ui: UiContext,
        open_file: Callable[[Path], bool] | None = None,
        *,
        lookup_factory: Callable[[PbxSession], RecordingLookup] = RecordingLookup,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("recordingsPane")
        self._ui = ui
        self._presenter = ui.presenter
        # Tests pass their own opener: no media player can run where they do.
        self._open_file = open_file or open_with_os_player
        self._lookup_factory = lookup_factory
        self._session: PbxSession | None = None
        self.lookup: RecordingLookup | None = None
        self._lookups: list[RecordingLookup] = []  # every one opened, closed in aclose()
        self._hours = BusinessHours()  # the customer's clock, once the session says
        self._zone: tzinfo = self._hours.zone
        self._tasks: set[asyncio.Task[Any]] = set()
        self._search_task: asyncio.Task[SearchResult | None] | None = None
        self._contacts_task: asyncio.Task[None] | None = None
        self._error: tuple[str, str] | None = None  # (message, field) shown under the form
        self._action_message = ""
        self._action_is_error = False
        self._save_dir: Path | None = None
        self.result: SearchResult | None = None
        self.model = RecordingResultsModel(self._presenter, self)
        self.proxy = QSortFilterProxyModel(self)
        self.proxy.setSourceModel(self.model)
        self.proxy.setSortRole(SORT_ROLE)
        self._build()
        self._presenter.changed.connect(self._presenter_changed)
        self._set_empty("Choose a connection on the left to look up its recordings.")
        self._render_form_state()
        self._render_details()

    # ---- layout ----------------------------------------------------------------------------
    def _build(self) -> None:
        self.number_edit = QLineEdit()
        self.number_edit.setObjectName("recordingsNumber")
        self.number_edit.setPlaceholderText("any format, e.g. 0412 345 678")
        self.extension_edit = QLineEdit()
        self.extension_edit.setObjectName("recordingsExtension")
        self.extension_edit.setPlaceholderText("e.g. 101")
        self.from_date = self._date_edit("recordingsFrom")
        self.to_date = self._date_edit("recordingsTo")
        self.call_id_edit = QLineEdit()
        self.call_id_edit.setObjectName("recordingsCallId")
        self.call_id_edit.setPlaceholderText("from the CRM event")
        self.search_button = QPushButton("Search")
        self.search_button.setObjectName("recordingsSearch")
        self.search_button.setDefault(True)
        self.search_button.clicked.connect(self.search)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setObjectName("recordingsCancel")
        self.cancel_button.clicked.connect(self.cancel)
        self.busy = QProgressBar()
        self.busy.setObjectName("recordingsBusy")
        self.busy.setRange(0, 0)
        self.busy.setTextVisible(False)
        self.busy.setFixedWidth(90)
        self.busy.setFixedHeight(8)
        for edit in (self.number_edit, self.extension_edit, self.call_id_edit):
            edit.returnPressed.connect(self.search)
            edit.textEdited.connect(self._clear_error)
        enter = _EnterSearches(self.search, self)
        for date_edit in (self.from_date, self.to_date):
            date_edit.installEventFilter(enter)
            date_edit.dateChanged.connect(self._clear_error)

        form = QGridLayout()
        form.setHorizontalSpacing(10)
        form.setVerticalSpacing(2)
        fields: list[tuple[str, QWidget, int]] = [
            ("Number", self.number_edit, 3),
            ("Extension", self.extension_edit, 1),
            ("From", self.from_date, 1),
            ("To", self.to_date, 1),
            ("Call id", self.call_id_edit, 2),
        ]
        for column, (title, widget, stretch) in enumerate(fields):
            label = QLabel(title)
            label.setBuddy(widget)
            label.setStyleSheet(f"color: {MUTED};")
            form.addWidget(label, 0, column)
            form.addWidget(widget, 1, column)
            form.setColumnStretch(column, stretch)
        buttons = QHBoxLayout()
        buttons.setSpacing(6)
        buttons.addWidget(self.busy)
        buttons.addWidget(self.cancel_button)
        buttons.addWidget(self.search_button)
        form.addLayout(buttons, 1, len(fields))

        self.error_label = QLabel()
        self.error_label.setObjectName("recordingsError")
        self.error_label.setWordWrap(True)
        self.error_label.setStyleSheet(f"color: {FAIL};")
        self.summary_label = QLabel()
        self.summary_label.setObjectName("recordingsSummary")
        self.summary_label.setWordWrap(True)
        self.notes_label = QLabel()
        self.notes_label.setObjectName("banner")  # the theme's warning banner
        self.notes_label.setWordWrap(True)

        self.table = QTableView()
        self.table.setObjectName("recordingsTable")
        self.table.setModel(self.proxy)
        self.table.setSortingEnabled(True)
        self.table.setAlternatingRowColors(True)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setWordWrap(False)
        self.table.verticalHeader().setVisible(False)
        self._fit_rows()
        header = self.table.horizontalHeader()
        header.setHighlightSections(False)
        header.setStretchLastSection(True)
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        widths = {
            RecordingResultsModel.TIME: 130,
            RecordingResultsModel.DIRECTION: 80,
            RecordingResultsModel.NUMBER: 125,
            RecordingResultsModel.CONTACT: 190,
            RecordingResultsModel.EXTENSION: 75,
            RecordingResultsModel.DURATION: 70,
            RecordingResultsModel.RECORDING: 165,
            RecordingResultsModel.AGE: 70,
            RecordingResultsModel.DAYS_LEFT: 130,
        }
        for column, width in widths.items():
            self.table.setColumnWidth(column, width)
        self.table.sortByColumn(RecordingResultsModel.TIME, Qt.SortOrder.DescendingOrder)
        self.table.selectionModel().currentRowChanged.connect(self._selection_changed)

        self.details = QLabel()
        self.details.setObjectName("recordingsDetails")
        self.details.setWordWrap(True)
        self.details.setTextFormat(Qt.TextFormat.RichText)
        self.details.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        self.details.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.play_button = QPushButton("Play")
        self.play_button.setObjectName("recordingsPlay")
        self.play_button.setToolTip(
            "Download into a private temporary folder and open it in this computer's player"
        )
        self.play_button.clicked.connect(self.play)
        self.save_button = QPushButton("Save…")
        self.save_button.setObjectName("recordingsSave")
        self.save_button.setToolTip("Save a copy where you choose")
        self.save_button.clicked.connect(self.save)
        self.verify_button = QPushButton("Verify")
        self.verify_button.setObjectName("recordingsVerify")
        self.verify_button.setToolTip("Download it once to prove the file is on the PBX")
        self.verify_button.clicked.connect(self.verify)
        self.action_label = QLabel()
        self.action_label.setObjectName("recordingsAction")
        self.action_label.setWordWrap(True)
        actions = QHBoxLayout()
        actions.addWidget(self.play_button)
        actions.addWidget(self.save_button)
        actions.addWidget(self.verify_button)
        actions.addWidget(self.action_label, 1)

        details_box = QFrame()
        details_box.setObjectName("recordingsDetailsBox")
        details_box.setFrameShape(QFrame.Shape.StyledPanel)
        details_box.setStyleSheet(
            "QFrame#recordingsDetailsBox { background: #ffffff; border: 1px solid #dde1e6; }"
        )
        box = QVBoxLayout(details_box)
        box.setContentsMargins(12, 10, 12, 10)
        box.addWidget(self.details, 1)
        box.addLayout(actions)

        splitter = QSplitter(Qt.Orientation.Vertical)
        splitter.addWidget(self.table)
        splitter.addWidget(details_box)
        splitter.setStretchFactor(0, 3)
        splitter.setStretchFactor(1, 1)
        splitter.setChildrenCollapsible(False)

        self.empty_label = QLabel()
        self.empty_label.setObjectName("recordingsEmpty")
        self.empty_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.empty_label.setWordWrap(True)
        self.empty_label.setStyleSheet(f"color: {MUTED}; padding: 40px;")
        self.stack = QStackedWidget()
        self.stack.addWidget(self.empty_label)
        self.stack.addWidget(splitter)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(12, 10, 12, 10)
        layout.setSpacing(6)
        layout.addLayout(form)
        layout.addWidget(self.error_label)
        layout.addWidget(self.summary_label)
        layout.addWidget(self.notes_label)
        layout.addWidget(self.stack, 1)
        self._reset_dates()

    def _fit_rows(self) -> None:
        """Rows as tall as the text needs (the style's default leaves a lot of air)."""
        height = self.fontMetrics().height() + 8  # the table inherits the pane's font
        self.table.verticalHeader().setDefaultSectionSize(height)

    def changeEvent(self, event: QEvent) -> None:
        super().changeEvent(event)
        if event.type() == QEvent.Type.FontChange:  # larger type toggled
            self._fit_rows()

    def _date_edit(self, name: str) -> QDateEdit:
        edit = QDateEdit()
        edit.setObjectName(name)
        edit.setCalendarPopup(True)
        edit.setDisplayFormat("yyyy-MM-dd")
        return edit

    def _default_dates(self) -> tuple[date, date]:
        today = utc_now().astimezone(self._zone).date()  # the customer's today
        return today - timedelta(days=DEFAULT_DAYS), today

    def _reset_dates(self) -> None:
        start, today = self._default_dates()
        self.from_date.setDate(QDate(start.year, start.month, start.day))
        self.to_date.setDate(QDate(today.year, today.month, today.day))

    def _form_dates(self) -> tuple[date, date]:
        first: date = self.from_date.date().toPython()  # type: ignore[assignment]
        last: date = self.to_date.date().toPython()  # type: ignore[assignment]
        return first, last

    def _use_hours(self, hours: BusinessHours) -> None:
        untouched = self._form_dates() == self._default_dates()
        self._hours = hours
        self._zone = hours.zone
        self.model.set_zone(self._zone)
        if untouched:  # the customer's "today" may be another day than the guess's
            self._reset_dates()
        self._render_summary()
        self._render_details()

    async def _read_hours(self, session: PbxSession) -> BusinessHours:
        hours = await session.customer_hours()
        if session is self._session and hours != self._hours:
            self._use_hours(hours)
        return hours

    # ---- the pane contract -----------------------------------------------------------------
    def set_session(self, session: PbxSession | None) -> None:
        if session is self._session:
            return
        self._cancel_all()
        if self.lookup is not None:
            # Its temporary recordings go now, not when the window closes.
            self._start(self.lookup.aclose(), "recordings-close-lookup")
        self._session = session
        self.lookup = self._lookup_factory(session) if session is not None else None
        if self.lookup is not None:
            self._lookups.append(self.lookup)
        self._hours = session.saved_hours if session is not None else BusinessHours()
        self._zone = self._hours.zone
        self.model.set_zone(self._zone)
        self.model.set_contacts(None)
        self.model.set_rows([])
        self.result = None
        self._error = None
        self._action_message = ""
        self._reset_dates()
        if session is None:
            self._set_empty("Choose a connection on the left to look up its recordings.")
        else:
            self._set_empty(
                "Search by number (any format), extension, dates or call id.\n"
                "Recordings stay on the PBX: nothing is downloaded until you press Play or "
                "Save…"
            )
        self._render_form_state()
        self._render_summary()
        self._render_details()
        if session is not None:
            self._start(self._read_hours(session), "recordings-customer-clock")

    async def aclose(self) -> None:
        tasks = self._cancel_all()
        await asyncio.gather(*tasks, return_exceptions=True)
        lookups, self._lookups = self._lookups, []
        for lookup in lookups:
            await lookup.aclose()

    def _cancel_all(self) -> list[asyncio.Task[Any]]:
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        self._search_task = None
        self._contacts_task = None
        return tasks

    def _start(self, coro: Coroutine[Any, Any, T], name: str) -> asyncio.Task[T]:
        task = self._ui.tasks.start(coro, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._finished)
        return task

    def _finished(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if task is self._search_task:
            self._search_task = None
            self._render_form_state()
            if task.cancelled():
                # Also when cancelled before it ran: the coroutine's own handlers never ran.
                self._render_summary()
                self.summary_label.setText("Search cancelled.")
                if self.model.rowCount() == 0:
                    self._set_empty("Search cancelled. Change the search and press Search.")

    @property
    def searching(self) -> bool:
        return self._search_task is not None

    @property
    def contacts_task(self) -> asyncio.Task[None] | None:
        """The contacts being read for the Contact column, if they are."""
        return self._contacts_task

    @property
    def search_task(self) -> asyncio.Task[SearchResult | None] | None:
        """The search running now, if any."""
        return self._search_task

    # ---- search ----------------------------------------------------------------------------
    def search(self) -> asyncio.Task[SearchResult | None] | None:
        """Start a search with what the form holds; None when there is nothing to search."""
        if self.lookup is None or self._session is None:
            return None
        if self._search_task is not None:
            return self._search_task
        query = self._query()
        if query is None:
            return None
        self._error = None
        self._action_message = ""
        self._render_error()
        self._search_task = self._start(self._run_search(self.lookup, query), "recordings-search")
        self._render_form_state()
        return self._search_task

    def cancel(self) -> None:
        if self._search_task is not None:
            self._search_task.cancel()

    def _query(self) -> RecordingQuery | None:
        first, last = self._form_dates()
        if last < first:
            self._show_error(
                f"Dates: 'To' ({last:%Y-%m-%d}) is before 'From' ({first:%Y-%m-%d}). Swap them "
                "or pick a later 'To' date.",
                "dates",
            )
            return None
        return RecordingQuery(
            number=self.number_edit.text().strip() or None,
            extension=self.extension_edit.text().strip() or None,
            since=datetime.combine(first, time.min, self._zone),
            until=datetime.combine(last, time.max, self._zone),
            call_id=self.call_id_edit.text().strip() or None,
        )

    async def _run_search(
        self, lookup: RecordingLookup, query: RecordingQuery
    ) -> SearchResult | None:
        self.summary_label.setText("Reading the call history and the recordings list…")
        self.summary_label.setStyleSheet(f"color: {MUTED};")
        if self._session is not None:
            # The dates are the customer's days: on their clock, once it is known.
            await self._read_hours(self._session)
            query = dataclasses.replace(
                query,
                since=query.since.replace(tzinfo=self._zone) if query.since else None,
                until=query.until.replace(tzinfo=self._zone) if query.until else None,
            )
        try:
            if self.model.rowCount() == 0:
                self._set_empty("Searching the call history and recordings…")
            self._ensure_contacts()  # the Contact column fills in when they are read
            result = await lookup.search(query)
        except QueryError as error:
            self._show_error(str(error), error.field)
            self._render_summary()
            self._restore_empty()
            return None
        except RecordingLookupError as error:
            self._show_error(f"{error.what} {error.fix}".strip(), "")
            self._render_summary()
            self._restore_empty()
            return None
        except ThreeCXError as error:
            self._show_error(f"{error.what} {error.next_step}".strip(), "")
            self._render_summary()
            self._restore_empty()
            return None
        self.result = result
        self.model.set_rows(result.rows)
        self.table.sortByColumn(
            self.table.horizontalHeader().sortIndicatorSection(),
            self.table.horizontalHeader().sortIndicatorOrder(),
        )
        if result.rows:
            self.stack.setCurrentIndex(1)
            self.table.selectRow(0)
        else:
            self._set_empty(self._nothing_found_text(result))
        self._render_summary()
        self._render_details()
        self.searched.emit(result)
        return result

    def _ensure_contacts(self) -> asyncio.Task[None] | None:
        """Start reading the contacts the customer's bridge searches, once per connection."""
        session = self._session
        if session is None or self._contacts_task is not None:
            return self._contacts_task
        self._contacts_task = self._start(self._load_contacts(session), "recordings-contacts")
        return self._contacts_task

    async def _load_contacts(self, session: PbxSession) -> None:
        try:
            contacts = await session.contact_matcher()
        except (ThreeCXError, ValueError, ContactsUnavailable) as error:
            log.warning("Contacts not read for the recordings lookup: %s", error)
            return
        if session is self._session:
            self.model.set_contacts(contacts)
            self._render_details()

    def _nothing_found_text(self, result: SearchResult) -> str:
        what = []
        if result.number_e164:
            what.append(f"with {self._presenter.number(result.number_e164)}")
        if result.query.extension:
            what.append(f"on extension {result.query.extension}")
        if result.query.call_id:
            what.append(f"with call id {result.query.call_id}")
        since = result.since.astimezone(self._zone)
        until = result.until.astimezone(self._zone)
        found = " ".join(["No calls", *what, f"between {since:%Y-%m-%d} and {until:%Y-%m-%d}."])
        return found + "\nWiden the dates, or check the number and extension."

    # ---- play, save, verify ----------------------------------------------------------------
    def selected_row(self) -> RecordingRow | None:
        current = self.table.selectionModel().currentIndex()
        if not current.isValid():
            return None
        source = self.proxy.mapToSource(current)
        if not source.isValid():
            return None
        return self.model.row_at(source.row())

    def select_call(self, key: str) -> bool:
        """Select the row of call ``key``; False when the results do not hold it."""
        at = self.model.position(key)
        if at is None:
            return False
        proxy_index = self.proxy.mapFromSource(self.model.index(at, 0))
        self.table.selectRow(proxy_index.row())
        return True

    def play(self) -> asyncio.Task[Path | None] | None:
        row = self.selected_row()
        if row is None or self.lookup is None or not row.playable:
            return None
        return self._start(self._play(self.lookup, row), "recordings-play")

    def save(self) -> asyncio.Task[Path | None] | None:
        row = self.selected_row()
        if row is None or self.lookup is None or not row.playable:
            return None
        return self._start(self._save(self.lookup, row), "recordings-save")

    def verify(self) -> asyncio.Task[RecordingRow | None] | None:
        row = self.selected_row()
        if row is None or self.lookup is None or row.recording_id is None:
            return None
        return self._start(self._verify(self.lookup, row), "recordings-verify")

    async def _play(self, lookup: RecordingLookup, row: RecordingRow) -> Path | None:
        self._set_action("Downloading the recording…")
        try:
            path = await lookup.fetch_to_temp(row)
        except RecordingLookupError as error:
            self._action_failed(error)
            return None
        if self._open_file(path):
            self._set_action(
                "Opened in this computer's player. The temporary copy is deleted when you "
                "switch connection or close the app."
            )
        else:
            self._set_action(
                "No program on this computer opens WAV files: use Save… and open the file "
                "yourself.",
                error=True,
            )
        return path

    async def _save(self, lookup: RecordingLookup, row: RecordingRow) -> Path | None:
        folder = self._save_dir or Path(
            QStandardPaths.writableLocation(QStandardPaths.StandardLocation.DownloadLocation)
        )
        if not await asyncio.to_thread(folder.is_dir):
            folder = Path.home()
        name = default_file_name(row, self._zone, presenter=self._presenter.enabled)
        dialog = QFileDialog(self, "Save recording", str(folder / name), "WAV audio (*.wav)")
        dialog.setObjectName("recordingsSaveDialog")
        dialog.setAcceptMode(QFileDialog.AcceptMode.AcceptSave)
        dialog.setFileMode(QFileDialog.FileMode.AnyFile)
        dialog.setDefaultSuffix("wav")
        # The overwrite question is asked below: Qt's own would run a nested event loop.
        dialog.setOption(QFileDialog.Option.DontConfirmOverwrite, True)
        self.saveDialogOpened.emit(dialog)
        try:
            accepted = await run_dialog(dialog) == QDialog.DialogCode.Accepted
            chosen = dialog.selectedFiles()
        finally:
            dialog.deleteLater()
        if not accepted or not chosen:
            return None
        path = Path(chosen[0])
        if await asyncio.to_thread(path.exists):
            replace_it = await confirm(
                self,
                "Replace file?",
                self._presenter.text(f"{path.name} already exists in {path.parent}. Replace it?"),
                destructive="Replace",
            )
            if not replace_it:
                return None
        self._set_action("Saving the recording…")
        try:
            saved = await lookup.save(row, path)
        except RecordingLookupError as error:
            self._action_failed(error)
            return None
        self._save_dir = saved.parent
        self._set_action(f"Saved as {saved.name} in {saved.parent}.")
        return saved

    async def _verify(self, lookup: RecordingLookup, row: RecordingRow) -> RecordingRow | None:
        self._set_action("Downloading once to check the file…")
        checked = await lookup.verify(row)
        self.model.replace_row(checked)
        self._set_action(checked.check)
        self._render_details()
        return checked

    def _action_failed(self, error: RecordingLookupError) -> None:
        if error.row is not None:
            self.model.replace_row(error.row)
        self._set_action(f"{error.what} {error.fix}".strip(), error=True)
        self._render_details()

    def _set_action(self, message: str, *, error: bool = False) -> None:
        self._action_message = message
        self._action_is_error = error
        self._render_action()

    # ---- rendering -------------------------------------------------------------------------
    def _presenter_changed(self) -> None:
        self._render_form_state()
        self._render_error()
        self._render_summary()
        self._render_details()
        self._render_action()
        if self.result is not None and not self.result.rows:
            self._set_empty(self._nothing_found_text(self.result))

    def _selection_changed(self, *_: object) -> None:
        self._action_message = ""
        self._render_details()
        self._render_action()

    def _set_empty(self, text: str) -> None:
        self.empty_label.setText(text)
        self.stack.setCurrentIndex(0)

    def _restore_empty(self) -> None:
        if self.model.rowCount() == 0 and self.result is None and self._session is not None:
            self._set_empty(
                "Search by number (any format), extension, dates or call id.\n"
                "Recordings stay on the PBX: nothing is downloaded until you press Play or "
                "Save…"
            )

    def _render_form_state(self) -> None:
        connected = self._session is not None
        busy = self.searching
        for widget in (
            self.number_edit,
            self.extension_edit,
            self.from_date,
            self.to_date,
            self.call_id_edit,
        ):
            widget.setEnabled(connected)
        self.search_button.setEnabled(connected and not busy)
        self.cancel_button.setVisible(busy)
        self.busy.setVisible(busy)
        # What the engineer types is the customer's number: hidden while presenting.
        self.number_edit.setEchoMode(
            QLineEdit.EchoMode.Password if self._presenter.enabled else QLineEdit.EchoMode.Normal
        )
        self.number_edit.setToolTip(
            "Hidden while presenter mode is on" if self._presenter.enabled else ""
        )

    def _show_error(self, message: str, field: str) -> None:
        self._error = (message, field)
        self._render_error()

    def _clear_error(self, *_: object) -> None:
        if self._error is not None:
            self._error = None
            self._render_error()

    def _render_error(self) -> None:
        message, field = self._error or ("", "")
        self.error_label.setText(self._presenter.text(message))
        self.error_label.setVisible(bool(message))
        marked = {
            "number": (self.number_edit,),
            "extension": (self.extension_edit,),
            "call_id": (self.call_id_edit,),
            "dates": (self.from_date, self.to_date),
        }.get(field, ())
        for widget in (
            self.number_edit,
            self.extension_edit,
            self.call_id_edit,
            self.from_date,
            self.to_date,
        ):
            widget.setStyleSheet(f"border: 1px solid {FAIL};" if widget in marked else "")
        if marked:
            marked[0].setFocus()

    def _render_summary(self) -> None:
        result = self.result
        self.summary_label.setStyleSheet("")
        if result is None:
            self.summary_label.setText(
                zone_phrase(self._hours) if self._session is not None else ""
            )
            self.summary_label.setVisible(self._session is not None)
            self.notes_label.setVisible(False)
            return
        counts = result.counts()
        parts = [f"{len(result.rows)} call{'s' if len(result.rows) != 1 else ''}"]
        parts.extend(
            f"{counts[status]} {status.value}"
            for status in RecordingStatus
            if counts.get(status) and status is not RecordingStatus.NO_AUDIO
        )
        since = result.since.astimezone(self._zone)
        until = result.until.astimezone(self._zone)
        facts = [
            self._presenter.number(result.number_e164) if result.number_e164 else "",
            f"{since:%Y-%m-%d} to {until:%Y-%m-%d}",
            result.retention_text,
            f"times in {self._hours.timezone} ({self._hours.source})",
        ]
        self.summary_label.setText(
            f"<b>{html.escape(', '.join(parts))}</b><br><span style='color:{MUTED}'>"
            + html.escape(" · ".join(fact for fact in facts if fact))
            + "</span>"
        )
        self.summary_label.setVisible(True)
        notes = " ".join(result.notes)
        self.notes_label.setText(self._presenter.text(notes))
        self.notes_label.setVisible(bool(notes))

    def _render_details(self) -> None:
        row = self.selected_row()
        self.play_button.setEnabled(row is not None and row.playable)
        self.save_button.setEnabled(row is not None and row.playable)
        self.verify_button.setEnabled(row is not None and row.recording_id is not None)
        if row is None:
            self.details.setText(
                f"<span style='color:{MUTED}'>Select a call to see where its recording "
                "stands.</span>"
            )
            return
        p = self._presenter
        colour = STATUS_COLOURS[row.status]
        lines = [
            f"<span style='color:{colour}; font-weight:600'>"
            f"{html.escape(STATUS_LABELS[row.status])}</span>"
            f" &nbsp;{html.escape(p.text(row.explanation))}"
        ]
        if row.fix:
            lines.append(f"<b>What to do:</b> {html.escape(p.text(row.fix))}")
        facts = [f"Age: {age_text(row.age_days)}"]
        if row.retention_text:
            facts.append(p.text(row.retention_text))
        lines.append(html.escape(" · ".join(facts)))
        when = self.model.text(row, RecordingResultsModel.TIME)
        if row.started_at is not None:  # the zone named where the time stands alone
            when += f" {row.started_at.astimezone(self._zone).tzname()}"
        call = [
            when,
            self.model.text(row, RecordingResultsModel.DIRECTION),
        ]
        number = row.number_e164 or row.number_raw
        if number:
            raw = (
                f" (stored as {p.number(row.number_raw)})"
                if row.number_raw and row.number_raw != row.number_e164
                else ""
            )
            call.append(f"{p.number(number)}{raw}")
        found = self.model.contact_match(row)
        if found is not None:
            call.append(p.text(found.reason))
        if row.extension:
            call.append(f"extension {row.extension}")
        call.append(f"talked {duration_text(row.duration)}")
        call.append(f"call id {row.key}")
        if row.recording_id is not None:
            call.append(f"recording {row.recording_id}")
        lines.append(f"<span style='color:{MUTED}'>{html.escape(' · '.join(call))}</span>")
        if row.check:
            lines.append(f"<b>Download check:</b> {html.escape(p.text(row.check))}")
        self.details.setText("<br>".join(lines))

    def _render_action(self) -> None:
        self.action_label.setText(self._presenter.text(self._action_message))
        self.action_label.setStyleSheet(f"color: {FAIL};" if self._action_is_error else "")
