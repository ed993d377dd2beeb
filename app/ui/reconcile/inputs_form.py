"""What a reconciliation reads: the period (the customer's days), the CRM's activity export and
the bridge's logs, with Run, the progress line and the last error.

A bad input is named under the form and its field marked; what was chosen stays. The paths are
the customer's (folder names often are): hidden while presenter mode is on.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta, tzinfo
from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QFileDialog,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from app.domain.clock import utc_now
from app.ui.presenter import Presenter
from app.ui.theme import set_invalid, set_tone
from app.ui.widgets.date_range import DateRange, date_edit
from app.ui.widgets.presenter_fields import hide_while_presenting

DEFAULT_DAYS = 7
CSV_FILES = "CSV files (*.csv *.txt);;All files (*)"
LOG_FILES = "Logs (*.log *.txt *.jsonl *.json);;All files (*)"
HIDDEN_PATH = "hidden while presenting"
PATH_ROLE = Qt.ItemDataRole.UserRole + 1


def _button(text: str, name: str) -> QPushButton:
    button = QPushButton(text)
    button.setObjectName(name)
    return button


def _muted(text: str) -> QLabel:
    label = QLabel(text)
    set_tone(label, "muted")
    return label


class ReconcileInputsForm(QWidget):
    """The period, the files and Run; ``runRequested`` when the engineer asks."""

    runRequested = Signal()
    fileDialogOpened = Signal(object)  # the QFileDialog, just before it is shown

    def __init__(self, presenter: Presenter, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._presenter = presenter
        self._chooser: QFileDialog | None = None  # held while open (non-blocking)
        self._error: tuple[str, str] = ("", "")  # (message, field)
        self._build()
        presenter.changed.connect(self._render_logs)

    # ---- layout ----------------------------------------------------------------------------
    def _build(self) -> None:
        self.from_date = date_edit("reconcileFrom")
        self.to_date = date_edit("reconcileTo")
        self.date_range = DateRange(self.from_date, self.to_date, DEFAULT_DAYS)
        self.crm_edit = QLineEdit()
        self.crm_edit.setObjectName("reconcileCrmFile")
        self.crm_edit.setPlaceholderText("The CRM's call activity export (CSV)")
        self.crm_edit.textEdited.connect(self._clear_error)
        hide_while_presenting(self._presenter, self.crm_edit)
        self.crm_browse = _button("Browse…", "reconcileCrmBrowse")
        self.crm_browse.clicked.connect(self._choose_crm)
        self.logs_list = QListWidget()
        self.logs_list.setObjectName("reconcileBridgeLogs")
        self.logs_list.currentRowChanged.connect(self._render_log_buttons)
        self.add_log = _button("Add…", "reconcileAddLog")
        self.add_log.clicked.connect(self._choose_log)
        self.remove_log = _button("Remove", "reconcileRemoveLog")
        self.remove_log.clicked.connect(self.remove_selected_log)
        self.run_button = _button("Run", "reconcileRun")
        self.run_button.setProperty("primary", "true")
        self.run_button.clicked.connect(self.runRequested.emit)
        self.progress_label = QLabel()
        self.progress_label.setObjectName("reconcileProgress")
        self.progress_label.setWordWrap(True)
        set_tone(self.progress_label, "muted")
        self.error_label = QLabel()
        self.error_label.setObjectName("reconcileError")
        self.error_label.setWordWrap(True)
        self.error_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        set_tone(self.error_label, "fail")
        self.error_label.hide()
        self._lay_out()
        self._render_log_buttons()

    def _lay_out(self) -> None:
        grid = QGridLayout()
        grid.setHorizontalSpacing(10)
        grid.setVerticalSpacing(4)
        grid.addWidget(_muted("From"), 0, 0)
        grid.addWidget(self.from_date, 0, 1)
        grid.addWidget(_muted("To"), 0, 2)
        grid.addWidget(self.to_date, 0, 3)
        grid.addWidget(_muted("CRM activities"), 0, 4)
        grid.addWidget(self.crm_edit, 0, 5)
        grid.addWidget(self.crm_browse, 0, 6)
        grid.addWidget(self.run_button, 0, 7)
        grid.addWidget(_muted("Bridge logs"), 1, 0, Qt.AlignmentFlag.AlignTop)
        grid.addWidget(self.logs_list, 1, 1, 1, 5)
        log_buttons = QVBoxLayout()
        log_buttons.setSpacing(4)
        log_buttons.addWidget(self.add_log)
        log_buttons.addWidget(self.remove_log)
        log_buttons.addStretch(1)
        grid.addLayout(log_buttons, 1, 6)
        grid.setColumnStretch(5, 1)
        # Two log lines show; more scroll (a customer rarely has more than a few bridge hosts).
        self.logs_list.setMaximumHeight(self.fontMetrics().lineSpacing() * 2 + 16)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(4)
        layout.addLayout(grid)
        line = QHBoxLayout()
        line.addWidget(self.progress_label, 1)
        layout.addLayout(line)
        layout.addWidget(self.error_label)

    # ---- the period on the customer's clock ------------------------------------------------
    def reset_dates(self, zone: tzinfo) -> None:
        self.date_range.reset(zone)

    def dates_are_default(self, zone: tzinfo) -> bool:
        return self.date_range.is_default(zone)

    def period(self, zone: tzinfo) -> tuple[datetime, datetime] | None:
        """The period to reconcile, or None (and the error shown). Untouched dates are the last
        seven days up to now, as ``reconcile --days 7``; chosen ones are whole customer days."""
        now = utc_now()
        if self.dates_are_default(zone):
            return now - timedelta(days=DEFAULT_DAYS), now
        first, last = self.date_range.dates()
        if last < first:
            self.show_error(
                f"Dates: 'To' ({last:%Y-%m-%d}) is before 'From' ({first:%Y-%m-%d}). Swap them.",
                "dates",
            )
            return None
        since = datetime.combine(first, time(), zone)
        until = datetime.combine(last + timedelta(days=1), time(), zone)
        return since, min(until, now)

    # ---- the files -------------------------------------------------------------------------
    @property
    def crm_path(self) -> Path | None:
        text = self.crm_edit.text().strip()
        return Path(text) if text else None

    @property
    def bridge_logs(self) -> tuple[Path, ...]:
        items = (self.logs_list.item(i) for i in range(self.logs_list.count()))
        return tuple(Path(item.data(PATH_ROLE)) for item in items)

    def set_crm_path(self, path: str | Path) -> None:
        self.crm_edit.setText(str(path))
        self._clear_error()

    def add_bridge_log(self, path: str | Path) -> None:
        if Path(path) in self.bridge_logs:
            return
        item = QListWidgetItem()
        item.setData(PATH_ROLE, str(path))
        self.logs_list.addItem(item)
        self._render_logs()
        self._clear_error()

    def remove_selected_log(self) -> None:
        row = self.logs_list.currentRow()
        if row >= 0:
            self.logs_list.takeItem(row)
            self._render_logs()

    def problem(self) -> tuple[str, str] | None:
        """What stops a run, naming the field; None when the files are there."""
        crm = self.crm_path
        if crm is None:
            return "CRM activities: choose the CRM's call activity export (CSV).", "crm"
        if not crm.is_file():
            return f"CRM activities: {crm} is not a file that exists.", "crm"
        for log in self.bridge_logs:
            if not log.is_file():
                return f"Bridge logs: {log} is not a file that exists. Remove it.", "logs"
        return None

    def _choose_crm(self) -> None:
        self._open_chooser("Choose the CRM's activity export", CSV_FILES, self.set_crm_path)

    def _choose_log(self) -> None:
        self._open_chooser("Add a bridge log", LOG_FILES, self.add_bridge_log)

    def _open_chooser(self, title: str, filters: str, chosen: object) -> None:
        # A non-blocking chooser: open() and a signal, never the static helpers' nested loop.
        start = str(self.crm_path.parent) if self.crm_path else ""
        chooser = QFileDialog(self, title, start, filters)
        chooser.setFileMode(QFileDialog.FileMode.ExistingFile)
        chooser.setOption(QFileDialog.Option.DontUseNativeDialog, True)
        chooser.fileSelected.connect(chosen)
        self._chooser = chooser
        self.fileDialogOpened.emit(chooser)
        chooser.open()

    # ---- state and errors ------------------------------------------------------------------
    def render_state(self, *, connected: bool, busy: bool) -> None:
        for widget in (self.from_date, self.to_date, self.crm_edit, self.crm_browse):
            widget.setEnabled(connected and not busy)
        self.logs_list.setEnabled(connected and not busy)
        self.add_log.setEnabled(connected and not busy)
        self.run_button.setEnabled(connected and not busy)
        self._render_log_buttons()

    def _render_log_buttons(self, *_: object) -> None:
        self.remove_log.setEnabled(self.add_log.isEnabled() and self.logs_list.currentRow() >= 0)

    def _render_logs(self) -> None:
        """Each log's path, or in presenter mode its place in the list only."""
        presenting = self._presenter.enabled
        for row in range(self.logs_list.count()):
            item = self.logs_list.item(row)
            path = str(item.data(PATH_ROLE))
            item.setText(f"Bridge log {row + 1} ({HIDDEN_PATH})" if presenting else path)
            item.setToolTip("" if presenting else path)

    def say_progress(self, text: str) -> None:
        self.progress_label.setText(text)

    def show_error(self, message: str, field: str) -> None:
        self._error = (message, field)
        self.render_error()

    def _clear_error(self, *_: object) -> None:
        if self._error[0]:
            self.show_error("", "")

    def render_error(self) -> None:
        message, field = self._error
        self.error_label.setText(self._masked(message))
        self.error_label.setVisible(bool(message))
        set_invalid(self.crm_edit, field == "crm")
        set_invalid(self.logs_list, field == "logs")
        for edit in (self.from_date, self.to_date):
            set_invalid(edit, field == "dates")

    def _masked(self, message: str) -> str:
        """The message with the typed paths hidden while presenting (they name the customer)."""
        if not self._presenter.enabled:
            return message
        chosen = [p for p in (self.crm_path, *self.bridge_logs) if p is not None]
        paths = [str(p) for p in chosen] + [p.name for p in chosen]
        for path in sorted(paths, key=len, reverse=True):
            message = message.replace(path, f"the file ({HIDDEN_PATH})")
        return self._presenter.text(message)
