"""The missed-call trigger preview: what the CRM's workflow would fire for each settled call.

The window feeds settled calls in with ``add_call``; the rules live in ``app.domain.triggers``
and run per connection: the customer's own office hours as the session resolves them (the
PBX's, else the saved or the region's, named) and the DID → source list mapping. Calls that
settle before the hours are known wait for them. Everything shown goes through the presenter:
numbers keep their last 3 digits, names become initials.
"""

from __future__ import annotations

import asyncio
import html
from typing import Any

from PySide6.QtCore import (
    QAbstractTableModel,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    QSortFilterProxyModel,
    Qt,
    QTimer,
)
from PySide6.QtGui import QColor, QFont
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QFrame,
    QHBoxLayout,
    QLabel,
    QScrollArea,
    QSplitter,
    QStackedWidget,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from app.domain.bridge import NEW_CONTACT
from app.domain.business_hours import BusinessHours, describe_hours
from app.domain.clock import utc_now
from app.domain.contact_match import MatchKind, display_name
from app.domain.triggers import (
    ActionKind,
    SettledCall,
    TriggerBranch,
    TriggerPlanner,
    TriggerPreview,
)
from app.services.session import PbxSession
from app.ui.context import UiContext
from app.ui.presenter import Presenter
from app.ui.theme import colours, mark_empty_state, mark_heading, set_box, set_panel, set_tone
from app.ui.widgets.table_fit import ColumnFitter

ModelIndex = QModelIndex | QPersistentModelIndex

COLUMNS = (
    "Time",
    "Caller",
    "Contact",
    "DID → source list",
    "Branch",
    "What the CRM would fire",
    "Why",
)
COL_TIME, COL_CALLER, COL_CONTACT, COL_SOURCE, COL_BRANCH, COL_ACTIONS, COL_WHY = range(7)
WHOLE_COLUMNS = frozenset({COL_TIME, COL_CALLER})  # never elided: numbers and times
NORMALISED_BADGE = "normalised"  # the contact has the number, in another format
MAX_ROWS = 2_000
FLUSH_MS = 150
PreviewRole = Qt.ItemDataRole.UserRole + 1

# The tint (a name in ``Colours.tints``) per branch: soft tints that read on a shared screen.
# None: no background, the quiet grey text. Read when shown, so dark mode applies.
BRANCH_TINTS: dict[TriggerBranch, str | None] = {
    TriggerBranch.IN_HOURS: "info",
    TriggerBranch.AFTER_HOURS: "purple",
    TriggerBranch.ESCALATED: "orange",
    TriggerBranch.VOICEMAIL: "teal",
    TriggerBranch.RATE_LIMITED: "rose",
    TriggerBranch.NO_TRIGGER: None,
}
NO_SESSION_TEXT = "Select a connection to preview its missed-call triggers."
READING_HOURS_TEXT = "Reading the customer's time zone and office hours from the PBX…"
EMPTY_TEXT = (
    "No missed calls yet.\n\nWhen a call rings out unanswered, this shows what the CRM's "
    "missed-call workflow would fire (a text, an email, a task or an escalation) and why."
)
INTRO_TEXT = (
    "What the CRM's missed-call workflow would fire for each settled call: a text within 60 s "
    "in business hours, an email and a morning task after hours, an escalation on a second "
    "miss within 7 days, and no text when a voicemail was left or the caller keeps "
    "redialling. Internal and answered calls never trigger."
)


class TriggerPreviewModel(QAbstractTableModel):
    """Previews, newest first, with a call id → row index; additions flushed on a timer."""

    def __init__(
        self, presenter: Presenter, *, max_rows: int = MAX_ROWS, parent: QObject | None = None
    ) -> None:
        super().__init__(parent)
        self._presenter = presenter
        self._max_rows = max_rows
        self._rows: list[TriggerPreview] = []
        self._index: dict[str, int] = {}
        self._pending: dict[str, TriggerPreview] = {}
        self.zone_abbreviation = "UTC"
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(FLUSH_MS)
        self._timer.timeout.connect(self.flush)
        presenter.changed.connect(self._refresh_all)

    # ---- feeding -------------------------------------------------------------------------
    def add(self, preview: TriggerPreview) -> None:
        """Queue a preview; a burst is shown in one update on the next tick."""
        self._pending[preview.call.call_id] = preview
        if not self._timer.isActive():
            self._timer.start()

    def flush(self) -> None:
        self._timer.stop()
        pending, self._pending = self._pending, {}
        fresh: list[TriggerPreview] = []
        for call_id, preview in pending.items():
            row = self._index.get(call_id)
            if row is None:
                fresh.append(preview)
                continue
            self._rows[row] = preview
            self.dataChanged.emit(self.index(row, 0), self.index(row, len(COLUMNS) - 1))
        if fresh:
            fresh.reverse()  # newest first
            self.beginInsertRows(QModelIndex(), 0, len(fresh) - 1)
            self._rows[0:0] = fresh
            self.endInsertRows()
        excess = len(self._rows) - self._max_rows
        if excess > 0:
            self.beginRemoveRows(QModelIndex(), self._max_rows, len(self._rows) - 1)
            del self._rows[self._max_rows :]
            self.endRemoveRows()
        if fresh or excess > 0:
            self._index = {p.call.call_id: row for row, p in enumerate(self._rows)}

    def clear(self) -> None:
        self._timer.stop()
        self._pending.clear()
        self.beginResetModel()
        self._rows.clear()
        self._index.clear()
        self.endResetModel()

    def set_hours(self, hours: BusinessHours) -> None:
        """Name the customer's zone in the Time column's header (e.g. "Time (NZDT)")."""
        self.zone_abbreviation = utc_now().astimezone(hours.zone).tzname() or hours.timezone
        self.headerDataChanged.emit(Qt.Orientation.Horizontal, COL_TIME, COL_TIME)

    def preview_at(self, row: int) -> TriggerPreview:
        return self._rows[row]

    def row_of(self, call_id: str) -> int | None:
        return self._index.get(call_id)

    def stop(self) -> None:
        self._timer.stop()

    def _refresh_all(self) -> None:
        if self._rows:
            self.dataChanged.emit(
                self.index(0, 0), self.index(len(self._rows) - 1, len(COLUMNS) - 1)
            )
        self.headerDataChanged.emit(Qt.Orientation.Horizontal, 0, len(COLUMNS) - 1)

    # ---- Qt model ------------------------------------------------------------------------
    def rowCount(self, parent: ModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: ModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(
        self,
        section: int,
        orientation: Qt.Orientation,
        role: int = Qt.ItemDataRole.DisplayRole,
    ) -> Any:
        if orientation == Qt.Orientation.Horizontal and 0 <= section < len(COLUMNS):
            if role == Qt.ItemDataRole.DisplayRole:
                if section == COL_TIME:
                    return f"{COLUMNS[section]} ({self.zone_abbreviation})"
                return COLUMNS[section]
            if role == Qt.ItemDataRole.TextAlignmentRole:
                return int(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
        return None

    def data(self, index: ModelIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not 0 <= index.row() < len(self._rows):
            return None
        preview = self._rows[index.row()]
        column = index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            return self._display(preview, column)
        if role == Qt.ItemDataRole.ToolTipRole:
            return self._tooltip(preview, column)
        if role == PreviewRole:
            return preview
        if column == COL_BRANCH:
            name = BRANCH_TINTS[preview.branch]
            tint = colours().tints[name] if name is not None else None
            if role == Qt.ItemDataRole.BackgroundRole and tint is not None:
                return QColor(tint.background)
            if role == Qt.ItemDataRole.ForegroundRole:
                return QColor(tint.text if tint is not None else colours().skip)
            if role == Qt.ItemDataRole.FontRole:
                font = QFont()
                font.setBold(preview.fires)
                return font
        elif role == Qt.ItemDataRole.ForegroundRole and (
            not preview.fires or (column == COL_CONTACT and not preview.call.contact_name)
        ):
            return QColor(colours().skip)
        return None

    def _display(self, preview: TriggerPreview, column: int) -> str:
        call = preview.call
        p = self._presenter
        if column == COL_TIME:
            return preview.local_time.strftime("%a %H:%M:%S")
        if column == COL_CALLER:
            return p.number(call.e164 or call.number) or "withheld"
        if column == COL_CONTACT:
            return _contact_text(preview, p)
        if column == COL_SOURCE:
            did = p.number(call.did) if call.did else "no DID"
            mapped = "" if preview.source_mapped else " (unmapped)"
            return f"{did} → {preview.source_list}{mapped}"
        if column == COL_BRANCH:
            return preview.branch.value
        if column == COL_ACTIONS:
            # The Contact column already says when a contact would be created.
            shown = [a.short for a in preview.actions if a.kind is not ActionKind.CREATE_CONTACT]
            return " · ".join(shown) or "nothing"
        if column == COL_WHY:
            return p.text(preview.reasons[0])
        return ""

    def _tooltip(self, preview: TriggerPreview, column: int) -> str:
        p = self._presenter
        if column == COL_TIME:
            mine = preview.call.at.astimezone()  # the engineer's zone, labelled
            return (
                preview.local_time.strftime("%A %d %B %Y, %H:%M:%S %Z (the customer's time)")
                + f"\n{mine:%a %H:%M:%S} {mine.tzname()} (your time)"
            )
        if column == COL_ACTIONS:
            if not preview.actions:
                return "The workflow fires nothing for this call."
            # Led by the cell's own words: a narrow column may end them in "…".
            shown = self._display(preview, column)
            return shown + "\n" + "\n".join(f"• {p.text(a.text)}" for a in preview.actions)
        if column == COL_WHY:
            return "\n".join(f"• {p.text(r)}" for r in preview.reasons)
        match = preview.call.caller_match
        if column == COL_CONTACT and match is not None and match.kind is MatchKind.NORMALISED:
            return f"{match.summary(p.name, p.number)}\n{p.text(match.reason)}"
        return self._display(preview, column)


def _contact_text(preview: TriggerPreview, presenter: Presenter) -> str:
    """The contact the bridge lands the call on (its ``summary``), as the feed says it."""
    call = preview.call
    match = call.caller_match
    if call.contact_name:
        return presenter.name(call.contact_name)
    shared = match is not None and match.kind is MatchKind.AMBIGUOUS
    if preview.new_contact and match is not None and match.kind is MatchKind.NORMALISED:
        return f"new contact · {NORMALISED_BADGE}"  # the tooltip has the whole sentence
    if match is not None and (shared or (preview.new_contact and match.finds_no_contact)):
        return match.summary(presenter.name, presenter.number)
    if preview.new_contact:
        return NEW_CONTACT
    if preview.fires:
        return "contact created for the earlier miss"
    return "—"


def details_html(preview: TriggerPreview, presenter: Presenter) -> str:
    """The details box: what fires and why, every line through the presenter."""
    call = preview.call
    caller = presenter.number(call.e164 or call.number) or "a withheld number"
    when = preview.local_time.strftime("%a %d %b %H:%M:%S %Z")
    head = f"<b>{html.escape(when)}</b>, call from {html.escape(caller)}: "
    head += f"<b>{html.escape(preview.branch.value)}</b>"
    fires = "".join(f"<li>{html.escape(presenter.text(a.text))}</li>" for a in preview.actions)
    why = "".join(f"<li>{html.escape(presenter.text(r))}</li>" for r in preview.reasons)
    body = f"<p>{head}</p>"
    body += f"<p>What the CRM would fire:</p><ul>{fires}</ul>" if fires else ""
    body += f"<p>Why:</p><ul>{why}</ul>"
    return body


class _FiringFilter(QSortFilterProxyModel):
    """Hides the calls that fire nothing unless asked to show them."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.show_all = False

    def set_show_all(self, show: bool) -> None:
        self.beginFilterChange()
        self.show_all = show
        self.endFilterChange(QSortFilterProxyModel.Direction.Rows)

    def filterAcceptsRow(self, source_row: int, source_parent: ModelIndex) -> bool:
        if self.show_all:
            return True
        model = self.sourceModel()
        assert isinstance(model, TriggerPreviewModel)
        return model.preview_at(source_row).fires


class TriggersPane(QWidget):
    """The trigger preview for the selected connection (a ``SessionPane``)."""

    def __init__(self, ui: UiContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._ui = ui
        self._presenter = ui.presenter
        self._planner: TriggerPlanner | None = None
        self._session: PbxSession | None = None
        self._waiting: list[SettledCall] = []  # settled before the customer's hours were known
        self._hours_task: asyncio.Task[None] | None = None

        self.model = TriggerPreviewModel(self._presenter, parent=self)
        self.proxy = _FiringFilter(self)
        self.proxy.setSourceModel(self.model)
        title, intro = self._build_heading()
        self._build_table()
        details_scroll = self._build_details()
        self._build_stack(details_scroll)
        self._lay_out(title, intro)

        self.model.rowsInserted.connect(self._update_state)
        self.model.rowsRemoved.connect(self._update_state)
        self.model.modelReset.connect(self._update_state)
        self._presenter.changed.connect(self._presenter_changed)
        self._base_point_size = self.table.font().pointSizeF()
        self._update_header()
        self._update_state()
        self._apply_type_size()

    def _build_heading(self) -> tuple[QLabel, QLabel]:
        """The title and intro (returned), the hours, the receiver's status and the toggle."""
        title = QLabel("Missed-call trigger preview")
        title.setObjectName("paneTitle")
        mark_heading(title)
        intro = QLabel(INTRO_TEXT)
        intro.setWordWrap(True)
        set_tone(intro, "muted")
        self.hours_label = QLabel()
        self.hours_label.setWordWrap(True)
        self.hours_label.setTextFormat(Qt.TextFormat.RichText)
        self.receiver_label = QLabel()
        self.receiver_label.setWordWrap(True)
        self.receiver_label.setTextFormat(Qt.TextFormat.PlainText)
        set_box(self.receiver_label, "neutral")
        self.receiver_label.hide()
        self._receiver_text: str | None = None
        self.show_quiet = QCheckBox()
        self.show_quiet.toggled.connect(self._show_quiet_toggled)
        return title, intro

    def _build_table(self) -> None:
        self.table = QTableView()
        self.table.setModel(self.proxy)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setAlternatingRowColors(True)
        self.table.setWordWrap(False)
        self.table.setTextElideMode(Qt.TextElideMode.ElideRight)
        self.table.verticalHeader().hide()
        self.table.verticalHeader().setDefaultSectionSize(28)
        header = self.table.horizontalHeader()
        header.setHighlightSections(False)
        # Every column fits its header and cells; "Why" takes what is left.
        # What the CRM would fire takes the spare width; on a laptop screen the reasons and
        # the DID's list step aside (the details below say both in full).
        self.column_fitter = ColumnFitter(
            self.table, free=COL_ACTIONS, uncapped=WHOLE_COLUMNS, droppable=(COL_WHY, COL_SOURCE)
        )
        self.table.selectionModel().currentRowChanged.connect(self._update_details)

    def _build_details(self) -> QScrollArea:
        """The selected call's details, scrolling; returns the scroll area."""
        self.details = QLabel()
        self.details.setObjectName("triggerDetails")
        self.details.setWordWrap(True)
        self.details.setTextFormat(Qt.TextFormat.RichText)
        self.details.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)
        self.details.setContentsMargins(10, 6, 10, 6)
        details_scroll = QScrollArea()
        set_panel(details_scroll)
        details_scroll.setWidget(self.details)
        details_scroll.setWidgetResizable(True)
        details_scroll.setFrameShape(QFrame.Shape.StyledPanel)
        details_scroll.setMinimumHeight(220)
        return details_scroll

    def _build_stack(self, details_scroll: QScrollArea) -> None:
        """The table over the details, or a message in their place while there is no session."""
        self.splitter = QSplitter(Qt.Orientation.Vertical)
        self.splitter.addWidget(self.table)
        self.splitter.addWidget(details_scroll)
        self.splitter.setStretchFactor(0, 3)
        self.splitter.setStretchFactor(1, 1)
        self.splitter.setChildrenCollapsible(False)
        self.empty_label = QLabel(NO_SESSION_TEXT)
        self.empty_label.setWordWrap(True)
        self.empty_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        mark_empty_state(self.empty_label)
        self.stack = QStackedWidget()
        self.stack.addWidget(self.empty_label)
        self.stack.addWidget(self.splitter)

    def _lay_out(self, title: QLabel, intro: QLabel) -> None:
        top = QHBoxLayout()
        top.addWidget(self.hours_label, 1)
        top.addWidget(self.show_quiet, 0, Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignTop)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(12, 12, 12, 12)
        layout.setSpacing(8)
        layout.addWidget(title)
        layout.addWidget(intro)
        layout.addLayout(top)
        layout.addWidget(self.receiver_label)
        layout.addWidget(self.stack, 1)

    # ---- the pane contract ---------------------------------------------------------------
    def set_session(self, session: PbxSession | None) -> None:
        self._session = session
        self._planner = None
        self._waiting = []
        self._hours_task = None
        self.model.clear()
        if session is not None:
            known = session.known_hours
            if known is not None:
                self._use_hours(session, known)
            else:
                self._hours_task = self._ui.tasks.start(
                    self._read_hours(session), name="triggers: customer's clock"
                )
        self._update_header()
        self._update_state()

    async def _read_hours(self, session: PbxSession) -> None:
        hours = await session.customer_hours()
        if session is self._session:
            self._use_hours(session, hours)

    def _use_hours(self, session: PbxSession, hours: BusinessHours) -> None:
        self._planner = TriggerPlanner(hours, session.profile.did_sources)
        self.model.set_hours(hours)
        waiting, self._waiting = self._waiting, []
        for call in waiting:
            self.add_call(call)
        self._update_header()
        self._update_state()

    async def hours_ready(self) -> BusinessHours | None:
        """The hours calls are judged by, once read (None: no connection selected)."""
        task = self._hours_task
        if task is not None:
            await asyncio.wait([task])
        return self._planner.business_hours if self._planner is not None else None

    async def aclose(self) -> None:
        self.model.stop()

    # ---- feeding -------------------------------------------------------------------------
    def add_call(self, call: SettledCall) -> TriggerPreview | None:
        """Preview one settled call (None when no connection is selected, or while the
        customer's hours are being read: it is previewed as soon as they are known)."""
        if self._session is None:
            return None
        if self._planner is None:
            self._waiting.append(call)
            return None
        preview = self._planner.preview(call)
        # Names in the Contact column and in the bridge's reason, masked in presenter mode.
        names = [display_name(c) for c in call.caller_match.contacts] if call.caller_match else []
        if call.contact_name:
            names.append(call.contact_name)
        self._presenter.masker.learn_names(names)
        self.model.add(preview)
        return preview

    def set_receiver_status(self, text: str | None) -> None:
        """The webhook receiver's one-line status (None hides it)."""
        self._receiver_text = text
        if text:
            self.receiver_label.setText(self._presenter.text(text))
            self.receiver_label.show()
        else:
            self.receiver_label.hide()

    # ---- display -------------------------------------------------------------------------
    def _update_header(self) -> None:
        if self._session is None or self._planner is None:
            self.hours_label.setText("")
            self.hours_label.hide()
            self.show_quiet.hide()
            return
        profile = self._session.profile
        hours = self._planner.business_hours
        sources = self._planner.sources
        general = self._planner.rules.general_list
        count = len(sources)
        mapped = (
            f"{count} DID{'s' if count != 1 else ''} mapped; any other DID goes to "
            f"\u201c{general}\u201d."
            if count
            else f"no DID is mapped yet: every call goes to \u201c{general}\u201d."
        )
        self.hours_label.setText(
            f"<b>Business hours</b> for {html.escape(profile.name)}: "
            f"{html.escape(describe_hours(hours))}, {html.escape(hours.source)}. Times below "
            "are the customer's."
            f"<br><b>DID → source list</b>: {html.escape(mapped)}"
        )
        self.hours_label.show()
        self.show_quiet.show()

    def _show_quiet_toggled(self, checked: bool) -> None:
        self.proxy.set_show_all(checked)
        self._update_state()

    def _update_state(self, *_: object) -> None:
        quiet = self.model.rowCount() - sum(
            1 for row in range(self.model.rowCount()) if self.model.preview_at(row).fires
        )
        self.show_quiet.setText(f"Show calls that fire nothing ({quiet})")
        if self._session is None:
            self.empty_label.setText(NO_SESSION_TEXT)
            self.stack.setCurrentWidget(self.empty_label)
        elif self._planner is None:
            self.empty_label.setText(READING_HOURS_TEXT)
            self.stack.setCurrentWidget(self.empty_label)
        elif self.proxy.rowCount() == 0:
            self.empty_label.setText(EMPTY_TEXT)
            self.stack.setCurrentWidget(self.empty_label)
        else:
            self.stack.setCurrentWidget(self.splitter)
        self._update_details()

    def _update_details(self, *_: object) -> None:
        """The chosen row's actions and reasons in full (the newest row until one is chosen)."""
        current = self.table.currentIndex()
        row = current.row() if current.isValid() else 0
        if self.proxy.rowCount() == 0:
            self.details.setText("")
            return
        preview = self.proxy.index(row, 0).data(PreviewRole)
        assert isinstance(preview, TriggerPreview)
        self.details.setText(details_html(preview, self._presenter))

    def _presenter_changed(self) -> None:
        self.set_receiver_status(self._receiver_text)
        self._update_details()
        self._apply_type_size()

    def _apply_type_size(self) -> None:
        font = self.table.font()
        large = self._presenter.large_type
        font.setPointSizeF(self._base_point_size + (3 if large else 0))
        self.table.setFont(font)
        self.table.verticalHeader().setDefaultSectionSize(34 if self._presenter.large_type else 28)
