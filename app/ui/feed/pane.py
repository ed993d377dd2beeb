"""Live calls: the table of calls as they ring, connect, end or are missed, a filter, the
selected call's recording journey, and a status line saying where events come from."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime

from PySide6.QtCore import QItemSelection, QModelIndex, QPersistentModelIndex, Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from app.domain.business_hours import BusinessHours, customer_time
from app.domain.reconnect import DEFAULT_POLICY, Random, ReconnectPolicy, skipped_text
from app.domain.triggers import SettledCall
from app.services.feed.live_feed import (
    DEFAULT_BRIDGE_WINDOW_S,
    DEFAULT_HISTORY_LIMIT,
    FeedStatus,
    LiveFeed,
)
from app.services.session import PbxSession
from app.ui.context import UiContext
from app.ui.feed.call_table import CallTable
from app.ui.feed.journey_timeline import JourneyTimeline
from app.ui.feed.model import CallFeedFilter, CallFeedModel, Column, StateFilter
from app.ui.theme import mark_empty_state, set_tone
from app.ui.widgets.presenter_fields import hide_while_presenting
from app.ui.widgets.table_fit import ColumnFitter

log = logging.getLogger(__name__)

NO_SESSION_TEXT = "Choose a connection to watch its calls live."
WAITING_TEXT = "Waiting for calls. Place a test call: it appears here as soon as it rings."
NO_MATCH_TEXT = "No call matches the filter."
FILTER_DELAY_MS = 250
SETTLED_DELAY_MS = 150
LARGE_TYPE_STEP = 3  # points added in presenter mode's larger type
# Never elided: a cut number or time reads as a different one.
WHOLE_COLUMNS = frozenset({Column.TIME, Column.CALLER, Column.DURATION})


class FeedPane(QWidget):
    """The Live calls pane (a ``SessionPane``): ``set_session`` starts a ``LiveFeed``."""

    callsSettled = Signal(list)  # list[SettledCall]: missed or voicemail, once per call
    feedChanged = Signal(object)  # the new LiveFeed, or None (for the webhook receiver)

    def __init__(
        self,
        ui: UiContext,
        history_limit: int = DEFAULT_HISTORY_LIMIT,
        *,
        window_s: float = DEFAULT_BRIDGE_WINDOW_S,
        reconnect: ReconnectPolicy = DEFAULT_POLICY,
        random: Random | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        # The live stream's backoff: injected by tests so nobody waits for a reconnect.
        self._reconnect, self._random, self._sleep = reconnect, random, sleep
        self._ui = ui
        self._presenter = ui.presenter
        self._history_limit = history_limit
        self._window_s = window_s
        self._feed: LiveFeed | None = None
        self._unsubscribe: list[Callable[[], None]] = []
        self._selected_id: str | None = None
        self._settled: list[SettledCall] = []
        self._base_point_size = self.font().pointSizeF()

        self.model = CallFeedModel(
            self._presenter, history_limit=history_limit, window_s=window_s, parent=self
        )
        self.proxy = CallFeedFilter(self)
        self.proxy.setSourceModel(self.model)
        self._build_widgets(window_s)
        self._lay_out()
        self._make_timers()
        self._connect_signals()
        self._apply_type_size()
        self._update_status()

    def _build_widgets(self, window_s: float) -> None:
        """The filters, the table (or a message in its place), the journey and the status."""
        self.filter_edit = QLineEdit()
        self.filter_edit.setPlaceholderText("Filter by number, contact, extension or call id")
        self.filter_edit.setClearButtonEnabled(True)
        hide_while_presenting(self._presenter, self.filter_edit)  # a contact's name, a number
        self.state_filter = QComboBox()
        for option in StateFilter:
            self.state_filter.addItem(option.label, option)
        self.table = CallTable()
        self._setup_table()
        self.message = QLabel(NO_SESSION_TEXT)
        self.message.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.message.setWordWrap(True)
        mark_empty_state(self.message)
        self.stack = QStackedWidget()
        self.stack.addWidget(self.table)
        self.stack.addWidget(self.message)
        self.timeline = JourneyTimeline(self._presenter, window_s=window_s)
        self.status_label = QLabel()
        set_tone(self.status_label, "muted")
        self.status_label.setWordWrap(True)  # a long status would set the window's width
        self.error_label = QLabel()
        set_tone(self.error_label, "fail")
        self.error_label.setWordWrap(True)
        self.error_label.hide()

    def _lay_out(self) -> None:
        filters = QHBoxLayout()
        filters.addWidget(self.filter_edit, 1)
        filters.addWidget(self.state_filter)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 8, 8, 8)
        layout.addLayout(filters)
        layout.addWidget(self.stack, 1)
        layout.addWidget(self.timeline)
        layout.addWidget(self.error_label)
        layout.addWidget(self.status_label)

    def _make_timers(self) -> None:
        """Typing and settled calls come in bursts: each is acted on once the burst pauses."""
        self._filter_timer = QTimer(self)
        self._filter_timer.setSingleShot(True)
        self._filter_timer.setInterval(FILTER_DELAY_MS)
        self._filter_timer.timeout.connect(self._apply_filter)
        self._settled_timer = QTimer(self)
        self._settled_timer.setSingleShot(True)
        self._settled_timer.setInterval(SETTLED_DELAY_MS)
        self._settled_timer.timeout.connect(self._emit_settled)

    def _connect_signals(self) -> None:
        self.filter_edit.textChanged.connect(self._filter_typed)
        self.state_filter.currentIndexChanged.connect(self._state_chosen)
        self.model.flushed.connect(self._model_flushed)
        self.proxy.rowsInserted.connect(self._rows_inserted)
        self.proxy.modelReset.connect(self._rows_hidden)
        self.proxy.rowsRemoved.connect(self._rows_hidden)
        self.proxy.layoutChanged.connect(self._rows_hidden)
        selection = self.table.selectionModel()
        selection.selectionChanged.connect(self._selection_changed)
        self._presenter.changed.connect(self._presenter_changed)

    def _setup_table(self) -> None:
        table = self.table
        table.setModel(self.proxy)
        table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        table.setVerticalScrollMode(QAbstractItemView.ScrollMode.ScrollPerItem)
        table.setAlternatingRowColors(True)
        table.setShowGrid(False)
        table.setWordWrap(False)
        table.setTextElideMode(Qt.TextElideMode.ElideRight)
        table.verticalHeader().hide()
        table.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        header = table.horizontalHeader()
        header.setHighlightSections(False)
        header.setDefaultAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
        # Every column fits its header and cells; the contact takes what is left.
        self.column_fitter = ColumnFitter(table, free=Column.CONTACT, uncapped=WHOLE_COLUMNS)
        # Newest first is the model's own order; a header click sorts, a third click restores.
        header.setSortIndicatorClearable(True)
        header.setSortIndicator(-1, Qt.SortOrder.AscendingOrder)
        table.setSortingEnabled(True)

    # ---- the pane contract -----------------------------------------------------------------
    @property
    def feed(self) -> LiveFeed | None:
        return self._feed

    def set_session(self, session: PbxSession | None) -> None:
        """Watch ``session``'s calls (None: stop). Returns at once; the work runs as tasks."""
        if self._feed is not None and session is self._feed.session:
            return
        self._stop_feed()
        self.model.clear()
        self.timeline.set_call(None)
        self._selected_id = None
        if session is not None:
            feed = LiveFeed(
                session,
                history_limit=self._history_limit,
                bridge_window_s=self._window_s,
                reconnect=self._reconnect,
                random=self._random,
                sleep=self._sleep,
            )
            self._unsubscribe = [
                feed.subscribe(self.model.enqueue),
                feed.subscribe_settled(self._call_settled),
                feed.subscribe_status(self._status_changed),
            ]
            self._feed = feed
            self.model.contacts_loading = True
            self.model.set_hours(session.saved_hours)
            self.timeline.set_hours(session.saved_hours)
            feed.start()
            self._ui.tasks.start(self._read_hours(session), name="live feed: customer's clock")
        self._update_stack()
        self._update_status()
        self.feedChanged.emit(self._feed)

    async def _read_hours(self, session: PbxSession) -> None:
        hours = await session.customer_hours()
        if self._feed is not None and self._feed.session is session:
            self.model.set_hours(hours)
            self.timeline.set_hours(hours)
            self._update_status()

    async def aclose(self) -> None:
        feed, self._feed = self._feed, None
        self._unsubscribe_all()
        self._filter_timer.stop()
        self._settled_timer.stop()
        if feed is not None:
            await feed.stop()

    def _stop_feed(self) -> None:
        feed, self._feed = self._feed, None
        self._unsubscribe_all()
        if feed is not None:
            self._ui.tasks.start(feed.stop(), name="live feed: stop")

    def _unsubscribe_all(self) -> None:
        for unsubscribe in self._unsubscribe:
            unsubscribe()
        self._unsubscribe = []

    # ---- feed callbacks --------------------------------------------------------------------
    def _call_settled(self, call: SettledCall) -> None:
        self._settled.append(call)
        if not self._settled_timer.isActive():
            self._settled_timer.start()

    def _emit_settled(self) -> None:
        calls, self._settled = self._settled, []
        if calls:
            self.callsSettled.emit(calls)

    def _status_changed(self, status: FeedStatus) -> None:
        if self.model.contacts_loading and not status.contacts_loading:
            self.model.contacts_loading = False
            self.model.enqueue(self._feed.calls() if self._feed else [])
        self._update_status()

    def _model_flushed(self) -> None:
        if self._selected_id is not None:
            row = self._shown_row(self._selected_id)
            if row is None:
                self._forget_selected()
            else:
                self.timeline.set_call(self.model.call_at(row))
        self._update_stack()
        self._update_status()

    # ---- view ------------------------------------------------------------------------------
    def _rows_inserted(
        self, parent: QModelIndex | QPersistentModelIndex, first: int, last: int
    ) -> None:
        """Keep the rows in view still while new calls arrive above them (see ``_anchored``)."""
        bar = self.table.verticalScrollBar()
        top = bar.value()  # scrolling per item: the first row shown
        if first <= top and self._anchored(top):
            count = last - first + 1
            bar.setMaximum(bar.maximum() + count)
            bar.setValue(top + count)
        self._update_stack()

    def _anchored(self, top: int) -> bool:
        """Whether new calls must come in above the rows shown without moving them.

        Scrolled down: always. At the top: while a call is selected or the pointer is over the
        table, so the selected call and the row under the cursor stay put; with neither, the
        newest calls show as they ring.
        """
        if top > 0:
            return True
        return self.table.selectionModel().hasSelection() or self.table.viewport().underMouse()

    def _rows_hidden(self, *_: object) -> None:
        """Rows left the filtered view: the journey of a call no longer shown goes with it."""
        if self._selected_id is not None and self._shown_row(self._selected_id) is None:
            self._forget_selected()
        self._update_stack()

    def _shown_row(self, call_id: str) -> int | None:
        """The call's model row while the filter shows it (None: gone or filtered out)."""
        row = self.model.row_of(call_id)
        if row is None or not self.proxy.mapFromSource(self.model.index(row, 0)).isValid():
            return None
        return row

    def _forget_selected(self) -> None:
        """Nothing selected: not the neighbour Qt makes current when the row goes."""
        self._selected_id = None
        self.table.selectionModel().clear()
        self.timeline.set_call(None)

    def _update_stack(self) -> None:
        if self.proxy.rowCount() > 0:
            self.stack.setCurrentWidget(self.table)
            return
        if self._feed is None:
            text = NO_SESSION_TEXT
        elif self.model.rowCount() == 0:
            text = WAITING_TEXT
        else:
            text = NO_MATCH_TEXT
        self.message.setText(text)
        self.stack.setCurrentWidget(self.message)

    def _selection_changed(self, _selected: QItemSelection, _deselected: QItemSelection) -> None:
        # The arguments are only the difference (and both are empty when rows are inserted
        # above the selection): read the selection itself.
        indexes = self.table.selectionModel().selectedRows()
        if not indexes:
            self._selected_id = None
            self.timeline.set_call(None)
            return
        source = self.proxy.mapToSource(indexes[0])
        call = self.model.call_at(source.row())
        self._selected_id = call.call_id
        self.timeline.set_call(call)

    def select_call(self, call_id: str) -> bool:
        """Select a call's row (and show its journey); False when it is not shown."""
        row = self.model.row_of(call_id)
        if row is None:
            return False
        index = self.proxy.mapFromSource(self.model.index(row, 0))
        if not index.isValid():
            return False
        self.table.selectRow(index.row())
        self.table.scrollTo(index)
        return True

    def _filter_typed(self, _text: str) -> None:
        self._filter_timer.start()  # filter once typing pauses: 50,000 rows are re-read

    def _apply_filter(self) -> None:
        self.proxy.set_text(self.filter_edit.text())
        self._update_stack()

    def _state_chosen(self, _index: int) -> None:
        option = self.state_filter.currentData()
        if isinstance(option, StateFilter):
            self.proxy.set_state(option)
            self._update_stack()

    def _presenter_changed(self) -> None:
        self._apply_type_size()
        self._update_status()

    def _apply_type_size(self) -> None:
        font = self.font()
        step = LARGE_TYPE_STEP if self._presenter.large_type else 0
        font.setPointSizeF(self._base_point_size + step)
        self.setFont(font)
        self.table.verticalHeader().setDefaultSectionSize(self.table.fontMetrics().height() + 10)

    def _update_status(self) -> None:
        feed = self._feed
        if feed is None:
            self.status_label.setText("Not watching: no connection selected.")
            self.error_label.hide()
            return
        status = feed.status
        source = status.source + (" + webhook add-on" if status.webhook else "")
        hours = self.model.hours
        parts = [f"Source: {source}", f"{len(feed):,} call{'' if len(feed) == 1 else 's'}"]
        if feed.last_event_at is not None:
            parts.append(f"last event {_customer_clock(feed.last_event_at, hours)}")
        if feed.watching:
            many = "recording" if feed.watching == 1 else "recordings"
            parts.append(f"following {feed.watching} {many}")
        skipped = skipped_text(status.stream.skipped_frames)
        if skipped:
            parts.append(skipped)
        parts.append(status.contacts)
        parts.append(f"times in {hours.timezone}, the customer's clock ({hours.source})")
        self.status_label.setText(self._presenter.text(" · ".join(parts)))
        if status.error:
            self.error_label.setText(self._presenter.text(status.error))
            self.error_label.show()
        else:
            self.error_label.hide()


def _customer_clock(at: datetime, hours: BusinessHours) -> str:
    return customer_time(at, hours, "%H:%M:%S")
