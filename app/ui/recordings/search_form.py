"""The recordings search form: number (any format), extension, dates and call id, with Search
and Cancel, and what it reads from them as a ``RecordingQuery``.

A bad input is named under the fields and its field is marked; the form keeps what was typed.
The dates are the customer's days, so the form is told which clock they are on.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, time, tzinfo

from PySide6.QtCore import QEvent, QObject, Qt, Signal
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import (
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from app.services.recordings.lookup import RecordingQuery
from app.ui.presenter import Presenter
from app.ui.theme import set_invalid, set_tone
from app.ui.widgets.date_range import DateRange, date_edit
from app.ui.widgets.presenter_fields import hide_while_presenting

DEFAULT_DAYS = 30


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


def _line_edit(name: str, placeholder: str) -> QLineEdit:
    edit = QLineEdit()
    edit.setObjectName(name)
    edit.setPlaceholderText(placeholder)
    return edit


class RecordingSearchForm(QWidget):
    """The fields and buttons above the results; Enter in any field or Search asks to search."""

    searchRequested = Signal()
    cancelRequested = Signal()

    def __init__(self, presenter: Presenter, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._presenter = presenter
        self._error: tuple[str, str] | None = None  # (message, field) shown under the form
        self._build_fields()
        self._build_buttons()
        self._lay_out()

    # ---- layout ----------------------------------------------------------------------------
    def _build_fields(self) -> None:
        self.number_edit = _line_edit("recordingsNumber", "any format, e.g. 0412 345 678")
        self.extension_edit = _line_edit("recordingsExtension", "e.g. 101")
        self.from_date = date_edit("recordingsFrom")
        self.to_date = date_edit("recordingsTo")
        self.date_range = DateRange(self.from_date, self.to_date, DEFAULT_DAYS)
        self.call_id_edit = _line_edit("recordingsCallId", "from the CRM event")
        # What is typed here is the customer's: a caller's number, an extension, a call.
        hide_while_presenting(
            self._presenter, self.number_edit, self.extension_edit, self.call_id_edit
        )

    def _build_buttons(self) -> None:
        self.search_button = QPushButton("Search")
        self.search_button.setObjectName("recordingsSearch")
        self.search_button.setDefault(True)
        self.search_button.clicked.connect(self._request_search)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setObjectName("recordingsCancel")
        self.cancel_button.clicked.connect(self._request_cancel)
        self.busy = QProgressBar()
        self.busy.setObjectName("recordingsBusy")
        self.busy.setRange(0, 0)
        self.busy.setTextVisible(False)
        self.busy.setFixedWidth(90)
        self.busy.setFixedHeight(8)
        for edit in (self.number_edit, self.extension_edit, self.call_id_edit):
            edit.returnPressed.connect(self._request_search)
            edit.textEdited.connect(self._clear_error)
        enter = _EnterSearches(self.searchRequested.emit, self)
        for day in (self.from_date, self.to_date):
            day.installEventFilter(enter)
            day.dateChanged.connect(self._clear_error)

    def _lay_out(self) -> None:
        self.error_label = QLabel()
        self.error_label.setObjectName("recordingsError")
        self.error_label.setWordWrap(True)
        set_tone(self.error_label, "fail")
        # No margins of its own: the fields line up with the rest of the pane.
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(6)
        layout.addLayout(self._grid())
        layout.addWidget(self.error_label)

    def _grid(self) -> QGridLayout:
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
            set_tone(label, "muted")
            form.addWidget(label, 0, column)
            form.addWidget(widget, 1, column)
            form.setColumnStretch(column, stretch)
        buttons = QHBoxLayout()
        buttons.setSpacing(6)
        buttons.addWidget(self.busy)
        buttons.addWidget(self.cancel_button)
        buttons.addWidget(self.search_button)
        form.addLayout(buttons, 1, len(fields))
        return form

    def _request_search(self) -> None:
        self.searchRequested.emit()

    def _request_cancel(self) -> None:
        self.cancelRequested.emit()

    # ---- dates on the customer's clock -----------------------------------------------------
    def reset_dates(self, zone: tzinfo) -> None:
        self.date_range.reset(zone)

    def dates_are_default(self, zone: tzinfo) -> bool:
        return self.date_range.is_default(zone)

    # ---- the query -------------------------------------------------------------------------
    def query(self, zone: tzinfo) -> RecordingQuery | None:
        """What the form asks for, its days on ``zone``; None (and the error shown) if wrong."""
        first, last = self.date_range.dates()
        if last < first:
            self.show_error(
                f"Dates: 'To' ({last:%Y-%m-%d}) is before 'From' ({first:%Y-%m-%d}). Swap them "
                "or pick a later 'To' date.",
                "dates",
            )
            return None
        return RecordingQuery(
            number=self.number_edit.text().strip() or None,
            extension=self.extension_edit.text().strip() or None,
            since=datetime.combine(first, time.min, zone),
            until=datetime.combine(last, time.max, zone),
            call_id=self.call_id_edit.text().strip() or None,
        )

    # ---- state and errors ------------------------------------------------------------------
    def render_state(self, *, connected: bool, busy: bool) -> None:
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

    def show_error(self, message: str, field: str) -> None:
        self._error = (message, field)
        self.render_error()

    def forget_error(self) -> None:
        """Drop the error; what is on screen stays until the next render_error()."""
        self._error = None

    def _clear_error(self, *_: object) -> None:
        if self._error is not None:
            self._error = None
            self.render_error()

    def render_error(self) -> None:
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
            set_invalid(widget, widget in marked)
        if marked:
            marked[0].setFocus()
