"""Everything below the recordings search form: the summary of the last search and its notes,
then either a sentence (nothing to show yet, nothing found, cancelled) or the results table
over the details box of the selected call.
"""

from __future__ import annotations

from datetime import tzinfo

from PySide6.QtCore import QEvent, QSortFilterProxyModel, Qt
from PySide6.QtWidgets import (
    QLabel,
    QSplitter,
    QStackedWidget,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from app.domain.business_hours import BusinessHours
from app.services.recordings.lookup import RecordingRow, SearchResult
from app.ui.presenter import Presenter
from app.ui.recordings.details import RecordingDetails
from app.ui.recordings.model import RecordingResultsModel
from app.ui.recordings.text import summary_html, zone_phrase
from app.ui.theme import mark_empty_state, set_tone
from app.ui.widgets.table_fit import ColumnFitter
from app.ui.widgets.tables import fit_rows, read_only_table

# Never elided: a cut number, time or id reads as a different one.
_WHOLE_COLUMNS = frozenset(
    {
        RecordingResultsModel.TIME,
        RecordingResultsModel.NUMBER,
        RecordingResultsModel.DURATION,
        RecordingResultsModel.AGE,
        RecordingResultsModel.CALL_ID,
    }
)


def _word_wrapped(name: str) -> QLabel:
    label = QLabel()
    label.setObjectName(name)
    label.setWordWrap(True)
    return label


class RecordingResultsView(QWidget):
    """The results of a search on the customer's clock; the pane says which and when."""

    def __init__(
        self,
        model: RecordingResultsModel,
        proxy: QSortFilterProxyModel,
        presenter: Presenter,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self._model = model
        self._proxy = proxy
        self._presenter = presenter
        self.hours = BusinessHours()  # the customer's clock, once the session says
        self.zone: tzinfo = self.hours.zone
        self.summary_label = _word_wrapped("recordingsSummary")
        self.notes_label = _word_wrapped("banner")  # the theme's warning banner
        self.table = self._build_table()
        self.details_box = RecordingDetails(presenter, model)
        self.table.selectionModel().currentRowChanged.connect(self._selection_changed)
        self.empty_label = self._build_empty_label()
        self.stack = QStackedWidget()
        self.stack.addWidget(self.empty_label)
        self.stack.addWidget(self._splitter())
        # No margins of its own: the labels line up with the search form above.
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(6)
        layout.addWidget(self.summary_label)
        layout.addWidget(self.notes_label)
        layout.addWidget(self.stack, 1)

    # ---- layout ----------------------------------------------------------------------------
    def _build_table(self) -> QTableView:
        table = read_only_table("recordingsTable", self._proxy)
        # Every column fits its header and cells; the contact takes what is left. On a laptop
        # screen the call id, the age and the direction step aside: the details below say them.
        model = RecordingResultsModel
        self.column_fitter = ColumnFitter(
            table,
            free=model.CONTACT,
            uncapped=_WHOLE_COLUMNS,
            droppable=(model.CALL_ID, model.AGE, model.DIRECTION),
        )
        table.sortByColumn(RecordingResultsModel.TIME, Qt.SortOrder.DescendingOrder)
        self._fit_rows(table)
        return table

    def _build_empty_label(self) -> QLabel:
        label = _word_wrapped("recordingsEmpty")
        label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        mark_empty_state(label)
        return label

    def _splitter(self) -> QSplitter:
        splitter = QSplitter(Qt.Orientation.Vertical)
        splitter.addWidget(self.table)
        splitter.addWidget(self.details_box)
        splitter.setStretchFactor(0, 3)
        splitter.setStretchFactor(1, 1)
        splitter.setChildrenCollapsible(False)
        return splitter

    def _fit_rows(self, table: QTableView) -> None:
        fit_rows(table, self)  # the table inherits this widget's font

    def changeEvent(self, event: QEvent) -> None:
        super().changeEvent(event)
        if event.type() == QEvent.Type.FontChange:  # larger type toggled
            self._fit_rows(self.table)

    def use_hours(self, hours: BusinessHours) -> None:
        """Show times on this clock from now on (the caller re-renders)."""
        self.hours = hours
        self.zone = hours.zone
        self._model.set_zone(self.zone)

    # ---- rows and selection ----------------------------------------------------------------
    def selected_row(self) -> RecordingRow | None:
        current = self.table.selectionModel().currentIndex()
        if not current.isValid():
            return None
        source = self._proxy.mapToSource(current)
        if not source.isValid():
            return None
        return self._model.row_at(source.row())

    def select_call(self, key: str) -> bool:
        """Select the row of call ``key``; False when the results do not hold it."""
        at = self._model.position(key)
        if at is None:
            return False
        proxy_index = self._proxy.mapFromSource(self._model.index(at, 0))
        self.table.selectRow(proxy_index.row())
        return True

    def _selection_changed(self, *_: object) -> None:
        self.details_box.forget_action()
        self.render_details()
        self.details_box.render_action()

    def render_details(self) -> None:
        self.details_box.show_row(self.selected_row(), self.zone)

    def row_checked(self, row: RecordingRow | None) -> None:
        """A download re-judged ``row`` (None: nothing new, but say what is on screen again)."""
        if row is not None:
            self._model.replace_row(row)
        self.render_details()

    def show_rows(self) -> None:
        """The model's new rows, sorted as the engineer last chose, the first one selected."""
        header = self.table.horizontalHeader()
        self.table.sortByColumn(header.sortIndicatorSection(), header.sortIndicatorOrder())
        if self._model.rowCount():
            self.stack.setCurrentIndex(1)
            self.table.selectRow(0)

    def set_empty(self, text: str) -> None:
        self.empty_label.setText(text)
        self.stack.setCurrentIndex(0)

    # ---- the summary -----------------------------------------------------------------------
    def say_busy(self, text: str) -> None:
        self.summary_label.setText(text)
        set_tone(self.summary_label, "muted")

    def render_summary(self, result: SearchResult | None, *, connected: bool) -> None:
        """The last search's counts and notes; with none, which clock the times are on."""
        set_tone(self.summary_label, None)
        if result is None:
            self.summary_label.setText(zone_phrase(self.hours) if connected else "")
            self.summary_label.setVisible(connected)
            self.notes_label.setVisible(False)
            return
        self.summary_label.setText(summary_html(result, self._presenter, self.hours, self.zone))
        self.summary_label.setVisible(True)
        notes = " ".join(result.notes)
        self.notes_label.setText(self._presenter.text(notes))
        self.notes_label.setVisible(bool(notes))
