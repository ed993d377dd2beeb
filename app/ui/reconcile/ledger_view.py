"""Everything below the inputs: the summary that adds up to the PBX's count, the state filter,
the table of calls, and the selected call's timeline (PBX, bridge attempts, CRM rows, evidence).
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, Qt
from PySide6.QtWidgets import (
    QComboBox,
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

from app.domain.reconcile.ledger import Ledger
from app.domain.reconcile.records import CallState, LedgerEntry
from app.ui.presenter import Presenter
from app.ui.reconcile.model import NEEDS_A_FIX, LedgerFilter, LedgerModel, StateFilter
from app.ui.reconcile.text import (
    STATE_LABELS,
    STATE_MARKS,
    causes_text,
    summary_html,
    timeline_html,
)
from app.ui.theme import colours, mark_empty_state, mark_icon, set_panel, set_tone
from app.ui.widgets.table_fit import ColumnFitter
from app.ui.widgets.tables import fit_rows, read_only_table

NOTHING_SELECTED = "Select a call to see its timeline: the PBX, the bridge's attempts, the CRM."
EVIDENCE_MIN_WIDTH = 320  # px: below it, the direction and extension give way to the evidence
TIMELINE_LINES = 4  # shown before the timeline scrolls (it wraps, never cuts)
TABLE_ROWS = 5  # the ledger's rows always shown: at Larger type on a laptop it kept only 3
# Never elided: a cut number or time reads as a different one.
_WHOLE_COLUMNS = frozenset({LedgerModel.TIME, LedgerModel.NUMBER, LedgerModel.EXTENSION})


def _wrapped(name: str) -> QLabel:
    label = QLabel()
    label.setObjectName(name)
    label.setWordWrap(True)
    return label


class LedgerView(QWidget):
    """The last ledger on the customer's clock; the pane says which and when."""

    def __init__(
        self, model: LedgerModel, presenter: Presenter, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self._model = model
        self._presenter = presenter
        self.ledger: Ledger | None = None
        self.proxy = LedgerFilter(model, self)
        self.summary_label = _wrapped("reconcileSummary")
        self.summary_label.setTextFormat(Qt.TextFormat.RichText)
        self.notes_label = _wrapped("banner")  # the theme's warning banner
        self.notes_label.hide()
        self.filter_combo = QComboBox()
        self.filter_combo.setObjectName("reconcileFilter")
        self.filter_combo.currentIndexChanged.connect(self._filter_chosen)
        self.table = self._build_table()
        self.table.selectionModel().currentRowChanged.connect(self.render_timeline)
        self.timeline = self._build_timeline()
        self.empty_label = _wrapped("reconcileEmpty")
        self.empty_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        mark_empty_state(self.empty_label)
        self.stack = QStackedWidget()
        self.stack.addWidget(self.empty_label)
        self.stack.addWidget(self._splitter())
        self._lay_out()
        self._fill_filter()

    # ---- layout ----------------------------------------------------------------------------
    def _lay_out(self) -> None:
        top = QHBoxLayout()
        top.addWidget(self.summary_label, 1)
        show = QLabel("Show")
        set_tone(show, "muted")
        top.addWidget(show, 0, Qt.AlignmentFlag.AlignTop)
        top.addWidget(self.filter_combo, 0, Qt.AlignmentFlag.AlignTop)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(6)
        layout.addLayout(top)
        layout.addWidget(self.notes_label)
        layout.addWidget(self.stack, 1)

    def _build_table(self) -> QTableView:
        table = read_only_table("reconcileTable", self.proxy)
        # The evidence takes what is left (its tooltip and the timeline have it whole); on a
        # laptop screen the direction and the extension step aside: the timeline says them.
        self.column_fitter = ColumnFitter(
            table,
            free=LedgerModel.EVIDENCE,
            uncapped=_WHOLE_COLUMNS,
            droppable=(LedgerModel.DIRECTION, LedgerModel.EXTENSION),
            free_min=EVIDENCE_MIN_WIDTH,
        )
        table.sortByColumn(LedgerModel.TIME, Qt.SortOrder.AscendingOrder)
        self._fit_rows(table)
        return table

    def _build_timeline(self) -> QFrame:
        self.timeline_label = QLabel()
        self.timeline_label.setObjectName("reconcileTimeline")
        self.timeline_label.setWordWrap(True)
        self.timeline_label.setTextFormat(Qt.TextFormat.RichText)
        self.timeline_label.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        self.timeline_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        # A splitter does not give a wrapped label the height it asks for: a long timeline
        # scrolls in here instead of being cut at the bottom of the box.
        self.timeline_scroll = QScrollArea()
        self.timeline_scroll.setWidget(self.timeline_label)
        self.timeline_scroll.setWidgetResizable(True)
        self.timeline_scroll.setFrameShape(QFrame.Shape.NoFrame)
        self.timeline_scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.timeline_scroll.viewport().setAutoFillBackground(False)
        box = QFrame()
        box.setObjectName("reconcileTimelineBox")
        box.setFrameShape(QFrame.Shape.StyledPanel)
        set_panel(box)
        layout = QVBoxLayout(box)
        layout.setContentsMargins(12, 8, 12, 8)
        layout.addWidget(self.timeline_scroll)
        self._fit_timeline()
        return box

    def _splitter(self) -> QSplitter:
        splitter = QSplitter(Qt.Orientation.Vertical)
        splitter.addWidget(self.table)
        splitter.addWidget(self.timeline)
        splitter.setStretchFactor(0, 3)
        splitter.setStretchFactor(1, 2)
        splitter.setChildrenCollapsible(False)
        return splitter

    def _fit_rows(self, table: QTableView) -> None:
        fit_rows(table, self)
        header = table.horizontalHeader().sizeHint().height()
        rows = TABLE_ROWS * table.verticalHeader().defaultSectionSize()
        table.setMinimumHeight(header + rows + 2 * table.frameWidth())

    def _fit_timeline(self) -> None:
        self.timeline_scroll.setMinimumHeight(self.fontMetrics().lineSpacing() * TIMELINE_LINES)

    def changeEvent(self, event: QEvent) -> None:
        super().changeEvent(event)
        if event.type() == QEvent.Type.FontChange:  # larger type toggled
            self._fit_rows(self.table)
            self._fit_timeline()

    # ---- the filter ------------------------------------------------------------------------
    def _fill_filter(self) -> None:
        """All, Needs a fix, then each state, each with its count in the last ledger."""
        by_state = self.ledger.summary.by_state if self.ledger else {}
        total = self.ledger.summary.calls if self.ledger else 0
        to_fix = sum(n for state, n in by_state.items() if not state.fine)
        shown = self.proxy.shown
        combo = self.filter_combo
        combo.blockSignals(True)  # refilled, not chosen: the filter stays as it was
        combo.clear()
        combo.addItem(f"All calls ({total:,})", None)
        combo.addItem(f"Needs a fix ({to_fix:,})", NEEDS_A_FIX)
        for state in CallState:
            combo.addItem(
                mark_icon(STATE_MARKS[state], 12),
                f"{STATE_LABELS[state]} ({by_state.get(state, 0):,})",
                state,
            )
        combo.setCurrentIndex(max(0, combo.findData(shown)))
        combo.blockSignals(False)

    def show_only(self, shown: StateFilter) -> None:
        """Show every call (None), one state, or ``NEEDS_A_FIX``."""
        self.filter_combo.setCurrentIndex(max(0, self.filter_combo.findData(shown)))

    def _filter_chosen(self, index: int) -> None:
        self.proxy.show_only(self.filter_combo.itemData(index))
        if self.proxy.rowCount() and not self.table.selectionModel().currentIndex().isValid():
            self.table.selectRow(0)
        self.render_timeline()

    # ---- the ledger ------------------------------------------------------------------------
    def show_ledger(self, ledger: Ledger | None, notes: tuple[str, ...] = ()) -> None:
        self.ledger = ledger
        self._model.set_entries(ledger.entries if ledger else ())
        self._fill_filter()
        self.render_summary(notes)
        if ledger is not None and ledger.entries:
            self.stack.setCurrentIndex(1)
            if self.proxy.rowCount():
                self.table.selectRow(0)
        self.render_timeline()

    def set_empty(self, text: str) -> None:
        self.empty_label.setText(text)
        self.stack.setCurrentIndex(0)

    def render_summary(self, notes: tuple[str, ...] = ()) -> None:
        ledger = self.ledger
        if ledger is None:
            self.summary_label.setText("")
            self.notes_label.hide()
            return
        period = (ledger.period_from, ledger.period_to)
        self.summary_label.setText(summary_html(ledger.summary, self._model.hours, period))
        more = [causes_text(ledger.summary), *notes]
        if ledger.summary.unmatched_crm:
            more.append(
                f"{ledger.summary.unmatched_crm:,} CRM rows belong to no call of this period."
            )
        text = " ".join(m for m in more if m)
        self.notes_label.setText(self._presenter.text(text))
        self.notes_label.setVisible(bool(text))

    # ---- the selected call -----------------------------------------------------------------
    def selected_entry(self) -> LedgerEntry | None:
        current = self.table.selectionModel().currentIndex()
        if not current.isValid():
            return None
        source = self.proxy.mapToSource(current)
        return self._model.entry_at(source.row()) if source.isValid() else None

    def select_call(self, call_id: str) -> bool:
        """Select call ``call_id``; False when the filter hides it or the ledger lacks it."""
        at = self._model.position(call_id)
        if at is None:
            return False
        index = self.proxy.mapFromSource(self._model.index(at, 0))
        if not index.isValid():
            return False
        self.table.selectRow(index.row())
        return True

    def render_timeline(self, *_: object) -> None:
        entry = self.selected_entry()
        if entry is None:
            muted = colours().muted
            self.timeline_label.setText(f"<span style='color:{muted}'>{NOTHING_SELECTED}</span>")
            return
        self.timeline_label.setText(timeline_html(entry, self._model.hours, self._presenter))
