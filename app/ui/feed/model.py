"""The live calls table: ``FeedCall`` rows, newest first, updated once per tick.

The feed reports every event at once; this model buffers them and, every ~150 ms, inserts
the new calls with one ``beginInsertRows`` and reports the changed ones with one
``dataChanged`` per cluster of rows (usually one). New calls go on top: the engineer watches
calls arrive where the eye already is, the model's own order is the default view (a sorted
proxy re-sorts every row of each change span: measured ~50 µs a row), and inserting on top
never renumbers the id → row index, which is arithmetic (see ``_seq_of``).

``data()`` reads the rows in memory only; numbers and names go through the presenter.
"""

from __future__ import annotations

import enum
import re
from datetime import timedelta

from PySide6.QtCore import (
    QAbstractTableModel,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    QRegularExpression,
    QSortFilterProxyModel,
    Qt,
    QTimer,
    Signal,
)
from PySide6.QtGui import QBrush, QColor, QIcon

from app.domain.business_hours import BusinessHours, customer_time
from app.domain.calls import CallDirection
from app.domain.clock import utc_now
from app.domain.live import LiveState
from app.services.feed.live_feed import DEFAULT_BRIDGE_WINDOW_S, DEFAULT_HISTORY_LIMIT, FeedCall
from app.services.recordings.watcher import JourneyState
from app.ui.feed.text import (
    DIRECTION_LABELS,
    both_clocks,
    clock_text,
    contact_text,
    contact_tooltip,
    digits_of,
    filter_text,
    journey_summary,
    time_header,
)
from app.ui.presenter import Presenter
from app.ui.theme import colours, dot_icon

FLUSH_INTERVAL_MS = 150
TICK_INTERVAL_MS = 1000  # talking calls' running duration
MAX_SPANS = 4  # dataChanged signals per tick at most (cut at the widest gaps)
MIN_GAP = 64  # rows: nearer changes share one signal

AnyIndex = QModelIndex | QPersistentModelIndex


class Column(enum.IntEnum):
    TIME = 0
    DIRECTION = 1
    CALLER = 2
    CONTACT = 3
    EXTENSION = 4
    DURATION = 5
    STATE = 6
    RECORDING = 7


HEADERS = {
    Column.TIME: "Time",
    Column.DIRECTION: "Direction",
    Column.CALLER: "Caller",
    Column.CONTACT: "Contact",
    Column.EXTENSION: "Ext.",  # short: on a laptop screen every column must fit
    Column.DURATION: "Duration",
    Column.STATE: "State",
    Column.RECORDING: "Recording",
}
LAST_COLUMN = len(Column) - 1

DISPLAY = int(Qt.ItemDataRole.DisplayRole)
TOOLTIP = int(Qt.ItemDataRole.ToolTipRole)
FOREGROUND = int(Qt.ItemDataRole.ForegroundRole)
DECORATION = int(Qt.ItemDataRole.DecorationRole)
ALIGNMENT = int(Qt.ItemDataRole.TextAlignmentRole)
SORT_ROLE = int(Qt.ItemDataRole.UserRole)  # raw values, for QSortFilterProxyModel
FILTER_ROLE = SORT_ROLE + 1  # tags and raw text, unmasked, for CallFeedFilter
CALL_ID_ROLE = SORT_ROLE + 2
_SERVED = frozenset(
    {DISPLAY, TOOLTIP, FOREGROUND, DECORATION, ALIGNMENT, SORT_ROLE, FILTER_ROLE, CALL_ID_ROLE}
)

STATE_LABELS = {
    LiveState.RINGING: "Ringing",
    LiveState.CONNECTED: "Connected",
    LiveState.ENDED: "Ended",
    LiveState.MISSED: "Missed",
    LiveState.VOICEMAIL: "Voicemail",
}
STATE_ORDER = {state: n for n, state in enumerate(STATE_LABELS)}
# Names of ``Colours`` fields, read when shown: the colours change with dark mode.
STATE_COLOURS = {
    LiveState.RINGING: "warn",
    LiveState.CONNECTED: "passed",
    LiveState.ENDED: "muted",
    LiveState.MISSED: "fail",
    LiveState.VOICEMAIL: "purple",
}
JOURNEY_COLOURS = {
    JourneyState.PENDING: "warn",
    JourneyState.POLLING: "warn",
    JourneyState.READY: "passed",
    JourneyState.MISSING: "fail",
    JourneyState.BLOCKED: "fail",
}
NOT_FOLLOWED_COLOUR = "skip"


def named_colour(name: str) -> str:
    """The current scheme's colour of that name ("passed", "fail", … a ``Colours`` field)."""
    colour: str = getattr(colours(), name)
    return colour


def state_colour(state: LiveState) -> str:
    return named_colour(STATE_COLOURS[state])


def journey_colour(state: JourneyState) -> str:
    return named_colour(JOURNEY_COLOURS[state])


def _span_clusters(rows: list[int]) -> list[tuple[int, int]]:
    """Sorted rows → at most MAX_SPANS (first, last) spans, split at the widest gaps."""
    gaps = sorted(
        (
            (rows[n + 1] - rows[n], n)
            for n in range(len(rows) - 1)
            if rows[n + 1] - rows[n] > MIN_GAP
        ),
        reverse=True,
    )[: MAX_SPANS - 1]
    cuts = sorted(n for _, n in gaps)
    spans: list[tuple[int, int]] = []
    start = 0
    for cut in cuts:
        spans.append((rows[start], rows[cut]))
        start = cut + 1
    spans.append((rows[start], rows[-1]))
    return spans


class CallFeedModel(QAbstractTableModel):
    """``FeedCall`` rows newest first; ``enqueue`` is the feed's subscriber."""

    flushed = Signal()  # after each tick that changed something

    def __init__(
        self,
        presenter: Presenter,
        *,
        history_limit: int = DEFAULT_HISTORY_LIMIT,
        window_s: float = DEFAULT_BRIDGE_WINDOW_S,
        flush_interval_ms: int = FLUSH_INTERVAL_MS,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._presenter = presenter
        self.history_limit = history_limit
        self.window_s = window_s
        self.contacts_loading = True
        # The customer's clock: the Time column shows their time, the zone in its header.
        self.hours = BusinessHours()
        self._time_header = time_header(self.hours)
        # Rows live in arrival order; row r (newest first) is sequence number _next - 1 - r.
        self._store: list[FeedCall | None] = []
        self._store_base = 0  # sequence number of _store[0]
        self._first = 0  # oldest sequence number still shown
        self._next = 0
        self._seq_of: dict[str, int] = {}
        self._pending_new: dict[str, FeedCall] = {}
        self._pending_changed: set[str] = set()
        self._talking: set[str] = set()
        # Filtering reads every row; building its text once per change keeps retyping cheap.
        self._filter_cache: dict[str, str] = {}
        self._brushes: dict[str, QBrush] = {}  # by colour: dark mode brings other colours
        self._flush_timer = QTimer(self)
        self._flush_timer.setSingleShot(True)
        self._flush_timer.setInterval(flush_interval_ms)
        self._flush_timer.timeout.connect(self.flush)
        self._tick_timer = QTimer(self)
        self._tick_timer.setInterval(TICK_INTERVAL_MS)
        self._tick_timer.timeout.connect(self._tick)
        presenter.changed.connect(self._presenter_changed)

    # ---- feeding ---------------------------------------------------------------------------
    def enqueue(self, rows: list[FeedCall]) -> None:
        """Note changed rows for the next tick: O(1) per row, no signal now."""
        for call in rows:
            call_id = call.call_id
            if call_id in self._seq_of:
                self._pending_changed.add(call_id)
            else:
                self._pending_new[call_id] = call
        if not self._flush_timer.isActive():
            self._flush_timer.start()

    def flush(self) -> None:
        """Apply everything buffered: one insert, at most one removal, few dataChanged."""
        self._flush_timer.stop()
        new = list(self._pending_new.values())
        changed = self._pending_changed
        self._pending_new = {}
        self._pending_changed = set()
        if not new and not changed:
            return
        if len(new) > self.history_limit:
            new = new[-self.history_limit :]  # the older ones would be removed at once
        excess = self.rowCount() + len(new) - self.history_limit
        if excess > 0:
            self._remove_oldest(excess)
        if new:
            self.beginInsertRows(QModelIndex(), 0, len(new) - 1)
            for call in new:
                self._seq_of[call.call_id] = self._next
                self._store.append(call)
                self._next += 1
            self.endInsertRows()
            for call in new:
                self._track_talking(call)
        rows: list[int] = []
        for call_id in changed:
            self._filter_cache.pop(call_id, None)
            seq = self._seq_of.get(call_id)
            if seq is not None:
                rows.append(self._next - 1 - seq)
                kept = self._store[seq - self._store_base]
                if kept is not None:
                    self._track_talking(kept)
        if rows:
            rows.sort()
            for first, last in _span_clusters(rows):
                self.dataChanged.emit(self.index(first, 0), self.index(last, LAST_COLUMN))
        self.flushed.emit()

    def clear(self) -> None:
        self.beginResetModel()
        self._store = []
        self._store_base = self._first = self._next = 0
        self._seq_of.clear()
        self._filter_cache.clear()
        self._pending_new.clear()
        self._pending_changed.clear()
        self._talking.clear()
        self._flush_timer.stop()
        self._tick_timer.stop()
        self.endResetModel()
        self.flushed.emit()

    def _remove_oldest(self, count: int) -> None:
        rows = self.rowCount()
        count = min(count, rows)
        self.beginRemoveRows(QModelIndex(), rows - count, rows - 1)
        for seq in range(self._first, self._first + count):
            offset = seq - self._store_base
            call = self._store[offset]
            if call is not None:
                self._seq_of.pop(call.call_id, None)
                self._talking.discard(call.call_id)
                self._filter_cache.pop(call.call_id, None)
            self._store[offset] = None
        self._first += count
        # Compact now and then, so removing the oldest stays O(1) amortised.
        dead = self._first - self._store_base
        if dead > 1024 and dead * 2 > len(self._store):
            self._store = self._store[dead:]
            self._store_base = self._first
        self.endRemoveRows()

    def _track_talking(self, call: FeedCall) -> None:
        if call.state is LiveState.CONNECTED:
            self._talking.add(call.call_id)
            if not self._tick_timer.isActive():
                self._tick_timer.start()
        else:
            self._talking.discard(call.call_id)

    def _tick(self) -> None:
        """Talking calls' durations run: refresh that one column for them."""
        rows = sorted(
            self._next - 1 - self._seq_of[call_id]
            for call_id in self._talking
            if call_id in self._seq_of
        )
        if not rows:
            self._tick_timer.stop()
            return
        for first, last in _span_clusters(rows):
            self.dataChanged.emit(
                self.index(first, Column.DURATION), self.index(last, Column.DURATION), [DISPLAY]
            )

    def set_hours(self, hours: BusinessHours) -> None:
        """Show times on ``hours``' clock (the session's resolved customer hours)."""
        self.hours = hours
        self._time_header = time_header(hours)
        self.headerDataChanged.emit(Qt.Orientation.Horizontal, Column.TIME, Column.TIME)
        if self.rowCount():
            last = self.rowCount() - 1
            self.dataChanged.emit(self.index(0, Column.TIME), self.index(last, Column.TIME))

    def _presenter_changed(self) -> None:
        if self.rowCount():
            self.dataChanged.emit(self.index(0, 0), self.index(self.rowCount() - 1, LAST_COLUMN))

    # ---- lookups ---------------------------------------------------------------------------
    def call_at(self, row: int) -> FeedCall:
        call = self._store[self._next - 1 - row - self._store_base]
        assert call is not None
        return call

    def row_of(self, call_id: str) -> int | None:
        seq = self._seq_of.get(call_id)
        return None if seq is None else self._next - 1 - seq

    def calls(self) -> list[FeedCall]:
        """The rows shown, newest first."""
        return [self.call_at(row) for row in range(self.rowCount())]

    @property
    def ticking(self) -> bool:
        """Whether talking calls' durations are being refreshed every second."""
        return self._tick_timer.isActive()

    @property
    def pending(self) -> int:
        return len(self._pending_new) + len(self._pending_changed)

    # ---- Qt model --------------------------------------------------------------------------
    def rowCount(self, parent: AnyIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else self._next - self._first

    def columnCount(self, parent: AnyIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(Column)

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = DISPLAY) -> object:
        if orientation is not Qt.Orientation.Horizontal or not 0 <= section <= LAST_COLUMN:
            return None
        if role == DISPLAY:
            return self._time_header if section == Column.TIME else HEADERS[Column(section)]
        if role == TOOLTIP and section == Column.TIME:
            return f"Times in {self.hours.timezone}, the customer's clock ({self.hours.source})"
        if role == TOOLTIP and section == Column.EXTENSION:
            return "The extension that took (or missed) the call"
        if role == ALIGNMENT:
            side = (
                Qt.AlignmentFlag.AlignRight
                if section == Column.DURATION
                else Qt.AlignmentFlag.AlignLeft
            )
            return int(side | Qt.AlignmentFlag.AlignVCenter)
        return None

    def data(self, index: AnyIndex, role: int = DISPLAY) -> object:
        if role not in _SERVED or not index.isValid():
            return None
        row = index.row()
        column = index.column()
        if row >= self._next - self._first or column > LAST_COLUMN:
            return None
        call = self._store[self._next - 1 - row - self._store_base]
        if call is None:
            return None
        if role == DISPLAY:
            return self._display(call, column)
        if role == FOREGROUND:
            return self.foreground(call, column)
        if role == DECORATION:
            return self.icon(call.state) if column == Column.STATE else None
        if role == SORT_ROLE:
            return self._sort_value(call, column)
        if role == FILTER_ROLE:
            text = self._filter_cache.get(call.call_id)
            if text is None:
                text = self._filter_cache[call.call_id] = filter_text(call)
            return text
        if role == CALL_ID_ROLE:
            return call.call_id
        if role == ALIGNMENT:
            if column == Column.DURATION:
                return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            return None
        return self._tooltip(call, column)

    def _display(self, call: FeedCall, column: int) -> str:
        presenter = self._presenter
        if column == Column.TIME:
            return call.first_seen.astimezone(self.hours.zone).strftime("%H:%M:%S")
        if column == Column.DIRECTION:
            return DIRECTION_LABELS[call.direction]
        if column == Column.CALLER:
            if call.internal and not call.number:
                return "Internal"
            if not call.number:
                return "Withheld"
            return presenter.number(call.e164 or call.number)
        if column == Column.CONTACT:
            return contact_text(call, presenter, contacts_loading=self.contacts_loading)
        if column == Column.EXTENSION:
            return call.extension or ""
        if column == Column.DURATION:
            return self._duration_text(call)
        if column == Column.STATE:
            if (
                call.state is LiveState.ENDED
                and not call.answered
                and call.direction is CallDirection.OUTBOUND
            ):
                label = "Not answered"
            else:
                label = STATE_LABELS[call.state]
            # Seen only in the call log after the feed was down: said in the row, not a tooltip.
            return f"{label} (call log)" if call.filled is not None else label
        return journey_summary(call, self.window_s)

    def foreground(self, call: FeedCall, column: int) -> QBrush | None:
        if column == Column.STATE:
            return self._brush(state_colour(call.state))
        if column == Column.RECORDING:
            if call.journey is not None:
                return self._brush(journey_colour(call.journey.state))
            return self._brush(named_colour(NOT_FOLLOWED_COLOUR))
        return None

    def _brush(self, colour: str) -> QBrush:
        brush = self._brushes.get(colour)
        if brush is None:
            brush = self._brushes[colour] = QBrush(QColor(colour))
        return brush

    def display(self, call: FeedCall, column: int) -> str:
        return self._display(call, column)

    @staticmethod
    def _duration_text(call: FeedCall) -> str:
        if call.state is LiveState.CONNECTED and call.connected_at is not None:
            return clock_text(max(utc_now() - call.connected_at, timedelta()))
        talked = call.duration
        if talked is not None:
            return clock_text(talked)
        rang = call.rang_for
        if rang is not None and call.state in (LiveState.MISSED, LiveState.VOICEMAIL):
            return f"rang {clock_text(rang)}"
        return ""

    def _sort_value(self, call: FeedCall, column: int) -> object:
        if column == Column.TIME:
            return call.first_seen.timestamp()
        if column == Column.DURATION:
            talked = call.duration
            return talked.total_seconds() if talked is not None else -1.0
        if column == Column.STATE:
            return STATE_ORDER[call.state]
        if column == Column.RECORDING:
            journey = call.journey
            if journey is None:
                return 1e9
            if journey.state is JourneyState.READY and journey.ready_after_s is not None:
                return journey.ready_after_s
            return 1e6 + 1e3 * list(JourneyState).index(journey.state) + len(journey.attempts)
        if column == Column.CALLER:
            return call.e164 or call.number or ""
        if column == Column.CONTACT:
            return (call.contact_name or contact_text(call, self._presenter)).lower()
        if column == Column.EXTENSION:
            return (call.extension or "").rjust(8)
        return DIRECTION_LABELS[call.direction]

    def _tooltip(self, call: FeedCall, column: int) -> str | None:
        presenter = self._presenter
        if column == Column.TIME:
            return both_clocks(call.first_seen, self.hours)
        if column == Column.CALLER and call.number:
            e164 = presenter.number(call.e164) if call.e164 else "not a phone number"
            return f"As the PBX sent it: {presenter.number(call.number)}\nE.164: {e164}"
        if column == Column.CONTACT and call.match is not None:
            # The cell's own words are in it: a narrow column may end them in "…".
            tip = contact_tooltip(call.match, presenter)
            shown = contact_text(call, presenter, contacts_loading=self.contacts_loading)
            return tip if shown in tip else f"{shown}\n{tip}"
        if column == Column.RECORDING:
            if call.journey is not None:
                return presenter.text(call.journey.describe())
            return call.journey_note
        if column == Column.STATE and call.sources:
            seen = f"Call {call.call_id}, seen via {', '.join(call.sources)}"
            if call.filled is not None:
                hours = self.hours
                seen += "\nFrom the " + call.filled.label(
                    lambda at: customer_time(at, hours, "%H:%M:%S")
                )
            return seen
        return None

    def icon(self, state: LiveState) -> QIcon:
        return dot_icon(state_colour(state))


class StateFilter(enum.Enum):
    ALL = ("All calls", "")
    LIVE = ("Ringing or connected", "live")
    ANSWERED = ("Answered", "answered")
    MISSED = ("Missed", "s:missed")
    VOICEMAIL = ("Voicemail", "s:voicemail")
    RECORDING_MISSING = ("Recording missing", "rec:missing")

    @property
    def label(self) -> str:
        return self.value[0]

    @property
    def tag(self) -> str:
        return self.value[1]


_NUMBER_LIKE = re.compile(r"^[\d\s+().\-/]+$")


class CallFeedFilter(QSortFilterProxyModel):
    """Text and state filter over the raw values (the display stays masked), and sorting.

    The filter is one regular expression on ``FILTER_ROLE`` so Qt applies it in C++: with no
    filter set, a change touches no Python per row.
    """

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.setFilterRole(FILTER_ROLE)
        self.setSortRole(SORT_ROLE)
        self.setFilterKeyColumn(0)
        self._text = ""
        self._state = StateFilter.ALL

    @property
    def text(self) -> str:
        return self._text

    @property
    def state(self) -> StateFilter:
        return self._state

    def set_text(self, text: str) -> None:
        self._text = text.strip()
        self._apply()

    def set_state(self, state: StateFilter) -> None:
        self._state = state
        self._apply()

    def _apply(self) -> None:
        parts: list[str] = []
        if self._state.tag:
            parts.append(rf"(?=[^\x1f]*(?:^| ){re.escape(self._state.tag)}(?: |\x1f))")
        text = self._text.lower()
        if text:
            needles = [re.escape(text)]
            digits = digits_of(text)
            if _NUMBER_LIKE.match(text) and len(digits) >= 2:
                # "0412 345 678", "+61 412…" and "(08) 8123" all find +61412345678's digits.
                needles.append(re.escape(digits.lstrip("0") or digits))
            parts.append(r"[^\x1f]*\x1f.*(?:" + "|".join(needles) + ")")
        expression = QRegularExpression("^" + "".join(parts) if parts else "")
        expression.setPatternOptions(QRegularExpression.PatternOption.CaseInsensitiveOption)
        self.setFilterRegularExpression(expression)
