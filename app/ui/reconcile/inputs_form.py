"""What a reconciliation reads: the period (the customer's days), the CRM's activity export
(with its columns, as detected, mapped by the engineer or remembered by the connection), the
bridge's logs (files, or pasted text kept in memory) and the clocks their times were written
on, with Run, the progress line and the last error.

A bad input is named under the form and its field marked; what was chosen stays. The paths and
the pasted text are the customer's (folder names often are): hidden while presenter mode is on.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime, time, timedelta, tzinfo
from pathlib import Path
from typing import TYPE_CHECKING

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

from app.domain.activity_columns import ActivityColumns
from app.domain.business_hours import BusinessHoursError
from app.domain.clock import utc_now
from app.domain.connection import ConnectionProfile
from app.services.reconcile.bridge_log import PASTED, BridgeLogCounts, read_bridge_log
from app.services.reconcile.crm_activities import (
    ActivitiesFileError,
    ActivitiesPreview,
    preview_crm_activities,
)
from app.services.reconcile.run import ReconcileInputs
from app.ui.presenter import Presenter
from app.ui.reconcile.activity_columns_dialog import ActivityColumnsDialog
from app.ui.reconcile.crm_columns import CrmColumnsMemory
from app.ui.reconcile.paste_log_dialog import PasteLogDialog, line_count
from app.ui.reconcile.zone_choice import ZoneChoice
from app.ui.tasks import TaskKeeper
from app.ui.theme import set_invalid, set_tone
from app.ui.widgets.date_range import DateRange, date_edit
from app.ui.widgets.presenter_fields import hide_while_presenting

if TYPE_CHECKING:  # only named in hints: the store brings the keyring (startup time)
    from app.services.connections.store import ConnectionStore

log = logging.getLogger(__name__)

DEFAULT_DAYS = 7
CSV_FILES = "CSV files (*.csv *.txt);;All files (*)"
LOG_FILES = "Logs (*.log *.txt *.jsonl *.json);;All files (*)"
HIDDEN_PATH = "hidden while presenting"
PATH_ROLE = Qt.ItemDataRole.UserRole + 1
PASTED_ROLE = Qt.ItemDataRole.UserRole + 2  # the pasted text itself, in memory only
COUNTS_ROLE = Qt.ItemDataRole.UserRole + 3  # BridgeLogCounts of a pasted log, once counted


def _button(text: str, name: str) -> QPushButton:
    button = QPushButton(text)
    button.setObjectName(name)
    return button


def _muted(text: str) -> QLabel:
    label = QLabel(text)
    set_tone(label, "muted")
    return label


def pasted_text(counts: BridgeLogCounts | None, text: str) -> str:
    """A pasted log's line in the list: its size and what could not be read, never its text."""
    if counts is None:
        return f"{PASTED} ({line_count(text)})"
    unreadable = f", {counts.unreadable:,} that cannot be read" if counts.unreadable else ""
    return f"{PASTED} ({line_count(text)}{unreadable})"


class ReconcileInputsForm(QWidget):
    """The period, the files, their columns and clocks, and Run; ``runRequested`` when the
    engineer asks."""

    runRequested = Signal()
    fileDialogOpened = Signal(object)  # the QFileDialog, just before it is shown
    dialogOpened = Signal(object)  # the columns or paste dialog, just after it is shown

    def __init__(
        self,
        presenter: Presenter,
        parent: QWidget | None = None,
        *,
        tasks: TaskKeeper | None = None,
    ) -> None:
        super().__init__(parent)
        self._presenter = presenter
        self._tasks = tasks or TaskKeeper()
        self._chooser: QFileDialog | None = None  # held while open (non-blocking)
        self._dialog: ActivityColumnsDialog | PasteLogDialog | None = None
        self._error: tuple[str, str] = ("", "")  # (message, field)
        self._store: ConnectionStore | None = None
        self._columns = CrmColumnsMemory()
        self.columns_task: asyncio.Task[ActivitiesPreview | None] | None = None
        self.remember_task: asyncio.Task[None] | None = None
        self.count_tasks: list[asyncio.Task[None]] = []
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
        self.crm_edit.editingFinished.connect(self._crm_typed)
        hide_while_presenting(self._presenter, self.crm_edit)
        self.crm_browse = _button("Browse…", "reconcileCrmBrowse")
        self.crm_browse.clicked.connect(self._choose_crm)
        self.crm_columns = _button("Columns…", "reconcileCrmColumns")
        self.crm_columns.setToolTip("Which column holds the time, number, contact, call id, …")
        self.crm_columns.clicked.connect(self.open_columns)
        self.columns_label = _muted("")
        self.columns_label.setObjectName("reconcileCrmColumnsState")
        self.crm_zone = ZoneChoice("reconcileCrmZone")
        self.crm_zone.editTextChanged.connect(self._clear_error)
        self.bridge_zone = ZoneChoice("reconcileBridgeZone")
        self.bridge_zone.editTextChanged.connect(self._clear_error)
        self.logs_list = QListWidget()
        self.logs_list.setObjectName("reconcileBridgeLogs")
        self.logs_list.currentRowChanged.connect(self._render_log_buttons)
        self.add_log = _button("Add…", "reconcileAddLog")
        self.add_log.clicked.connect(self._choose_log)
        self.paste_log = _button("Paste log…", "reconcilePasteLog")
        self.paste_log.clicked.connect(self.open_paste)
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
        grid.addWidget(self.crm_columns, 0, 7)
        grid.addWidget(self.run_button, 0, 8)
        grid.addWidget(_muted("Bridge logs"), 1, 0, Qt.AlignmentFlag.AlignTop)
        grid.addWidget(self.logs_list, 1, 1, 1, 5)
        log_buttons = QGridLayout()
        log_buttons.setSpacing(4)
        log_buttons.addWidget(self.add_log, 0, 0)
        log_buttons.addWidget(self.paste_log, 0, 1)
        log_buttons.addWidget(self.remove_log, 1, 0)
        log_buttons.setRowStretch(2, 1)
        grid.addLayout(log_buttons, 1, 6, 1, 2)
        grid.addWidget(_muted("Times in"), 2, 0)
        zones = QHBoxLayout()
        zones.setSpacing(6)
        zones.addWidget(_muted("CRM export:"))
        zones.addWidget(self.crm_zone)
        zones.addSpacing(8)
        zones.addWidget(_muted("bridge logs:"))
        zones.addWidget(self.bridge_zone)
        zones.addStretch(1)
        grid.addLayout(zones, 2, 1, 1, 8)
        grid.setColumnStretch(5, 1)
        # Two log lines show; more scroll (a customer rarely has more than a few bridge hosts).
        self.logs_list.setMaximumHeight(self.fontMetrics().lineSpacing() * 2 + 16)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(4)
        layout.addLayout(grid)
        line = QHBoxLayout()
        line.addWidget(self.progress_label, 1)
        line.addWidget(self.columns_label)  # how the export's columns are read, beside
        layout.addLayout(line)
        layout.addWidget(self.error_label)

    # ---- the connection: its saved mapping, and where a new one is kept ---------------------
    def attach_store(self, store: ConnectionStore | None) -> None:
        """Where a mapping the engineer makes is kept for the connection (None: this session)."""
        self._store = store

    def set_connection(self, profile: ConnectionProfile | None) -> None:
        """The connection reconciled: its saved activity mapping applies to a file it fits."""
        self._columns.set_connection(profile)
        self._render_columns_state()

    @property
    def profile(self) -> ConnectionProfile | None:
        return self._columns.profile

    # ---- the period on the customer's clock ------------------------------------------------
    def reset_dates(self, zone: tzinfo) -> None:
        self.date_range.reset(zone)
        self.set_customer_zone(zone)

    def set_customer_zone(self, zone: tzinfo) -> None:
        """Name the customer's zone in both clock choices (their default)."""
        self.crm_zone.set_customer_zone(zone)
        self.bridge_zone.set_customer_zone(zone)

    def dates_are_default(self, zone: tzinfo) -> bool:
        return self.date_range.is_default(zone)

    def period(self, zone: tzinfo) -> tuple[datetime, datetime] | None:
        """The period to reconcile, or None (and the error shown). Untouched dates are the last
        seven days up to now, as ``reconcile --days 7``; chosen ones are whole customer days."""
        self.set_customer_zone(zone)
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
        """The log files chosen (pasted logs are ``pasted_logs``)."""
        items = (self.logs_list.item(i) for i in range(self.logs_list.count()))
        return tuple(Path(p) for item in items if (p := item.data(PATH_ROLE)))

    @property
    def pasted_logs(self) -> tuple[str, ...]:
        items = (self.logs_list.item(i) for i in range(self.logs_list.count()))
        return tuple(t for item in items if isinstance(t := item.data(PASTED_ROLE), str))

    @property
    def crm_columns_chosen(self) -> ActivityColumns | None:
        """The columns the run uses for the chosen export; None: detected from its headers."""
        return self._columns.chosen(self.crm_path)

    def set_crm_path(self, path: str | Path) -> None:
        self.crm_edit.setText(str(path))
        self._clear_error()
        self._crm_typed()

    def add_bridge_log(self, path: str | Path) -> None:
        if Path(path) in self.bridge_logs:
            return
        item = QListWidgetItem()
        item.setData(PATH_ROLE, str(path))
        self.logs_list.addItem(item)
        self._render_logs()
        self._clear_error()

    def add_pasted_log(self, text: str) -> QListWidgetItem | None:
        """Keep pasted log text (in memory) as one more log; its lines are counted off the
        GUI loop. Blank text adds nothing."""
        if not text.strip():
            return None
        item = QListWidgetItem()
        item.setData(PASTED_ROLE, text)
        self.logs_list.addItem(item)
        self._render_logs()
        self._clear_error()
        self.count_tasks.append(self._tasks.start(self._count(item, text), name="count-pasted"))
        return item

    async def _count(self, item: QListWidgetItem, text: str) -> None:
        # Only the counts matter here (the run reads it in the bridge host's zone).
        read = await asyncio.to_thread(read_bridge_log, text.splitlines(), zone=UTC)
        if self.logs_list.row(item) >= 0:
            item.setData(COUNTS_ROLE, read.counts)
            self._render_logs()

    def remove_selected_log(self) -> None:
        row = self.logs_list.currentRow()
        if row >= 0:
            self.logs_list.takeItem(row)
            self._render_logs()

    def problem(self) -> tuple[str, str] | None:
        """What stops a run, naming the field; None when the files and clocks are there."""
        crm = self.crm_path
        if crm is None:
            return "CRM activities: choose the CRM's call activity export (CSV).", "crm"
        if not crm.is_file():
            return f"CRM activities: {crm} is not a file that exists.", "crm"
        for log_path in self.bridge_logs:
            if not log_path.is_file():
                return f"Bridge logs: {log_path} is not a file that exists. Remove it.", "logs"
        for choice, what, field in (
            (self.crm_zone, "CRM export's times", "crm_zone"),
            (self.bridge_zone, "Bridge logs' times", "bridge_zone"),
        ):
            try:
                choice.zone()
            except BusinessHoursError as exc:
                return f"{what}: {exc} Or choose the customer's.", field
        return None

    def inputs(self) -> ReconcileInputs | None:
        """What the run reads, or None with the problem shown (nothing chosen is lost)."""
        problem = self.problem()
        crm = self.crm_path
        if problem is not None or crm is None:
            self.show_error(*(problem or ("", "")))
            return None
        return ReconcileInputs(
            crm,
            self.bridge_logs,
            crm_columns=self.crm_columns_chosen,
            crm_zone=self.crm_zone.zone(),
            bridge_zone=self.bridge_zone.zone(),
            bridge_pasted=self.pasted_logs,
        )

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

    # ---- the export's columns --------------------------------------------------------------
    def _crm_typed(self) -> None:
        """A new export: read its headers (off the loop) to apply the connection's mapping."""
        path = self.crm_path
        self._render_columns_state()
        if path is None or self._columns.preview(path) is not None:
            return
        self.columns_task = self._tasks.start(self._read_preview(path), name="crm-columns")

    async def _read_preview(self, path: Path) -> ActivitiesPreview | None:
        try:
            preview = await asyncio.to_thread(preview_crm_activities, path)
        except (ActivitiesFileError, OSError) as exc:
            log.info("The CRM export's headers were not read: %s", exc)
            return None  # the run names the problem with the file
        if self.crm_path != path:
            return None  # another file was chosen meanwhile
        self._columns.previewed(path, preview)
        self._render_columns_state()
        return preview

    def open_columns(self) -> None:
        """The mapping dialog on the chosen export's headers (read first when needed)."""
        path = self.crm_path
        if path is None or not path.is_file():
            self.show_error("CRM activities: choose the export first, then its columns.", "crm")
            return
        self.columns_task = self._tasks.start(self._open_columns(path), name="crm-columns-dialog")

    async def _open_columns(self, path: Path) -> ActivitiesPreview | None:
        preview = self._columns.preview(path)
        if preview is None:
            try:
                preview = await asyncio.to_thread(preview_crm_activities, path)
            except ActivitiesFileError as exc:
                self.show_error(f"CRM activities: {exc}", "crm")
                return None
            self._columns.previewed(path, preview)
            self._render_columns_state()
        chosen = self._columns.chosen(path) or preview.detected
        dialog = ActivityColumnsDialog(path, preview, chosen, self._presenter, self)
        dialog.accepted.connect(lambda: self._columns_chosen(path, dialog))
        self._show_dialog(dialog)
        return preview

    def _columns_chosen(self, path: Path, dialog: ActivityColumnsDialog) -> None:
        kept = self._columns.choose(path, dialog.columns())
        self._clear_error()
        profile = self._columns.profile
        if profile is not None and self._store is not None:  # the demo's: in memory
            self.remember_task = self._tasks.start(self._remember(profile, kept), name="remember")
        else:
            self._columns.kept_for_session(kept)
        self._render_columns_state()

    async def _remember(self, profile: ConnectionProfile, columns: ActivityColumns | None) -> None:
        from app.services.connections.store import ConnectionStoreError

        assert self._store is not None
        try:
            saved = await self._store.remember_activity_columns(profile.id, columns)
        except ConnectionStoreError as exc:
            self.show_error(
                f"The columns are used for this run but were not kept for {profile.name}: "
                f"{exc.message}",
                "",
            )
            return
        self._columns.kept(saved)
        self._render_columns_state()

    def _render_columns_state(self) -> None:
        self.columns_label.setText(self._columns.state(self.crm_path))

    # ---- pasted logs -----------------------------------------------------------------------
    def open_paste(self) -> None:
        dialog = PasteLogDialog(self._presenter, self)
        dialog.accepted.connect(lambda: self.add_pasted_log(dialog.text()))
        self._show_dialog(dialog)

    def _show_dialog(self, dialog: ActivityColumnsDialog | PasteLogDialog) -> None:
        # Held until the next one opens (non-blocking); a closed one is let go then, not on
        # closing, so nothing of it is deleted under a signal it is still sending.
        previous, self._dialog = self._dialog, dialog
        if previous is not None:
            previous.deleteLater()
        dialog.open()
        self.dialogOpened.emit(dialog)

    @property
    def open_dialog(self) -> ActivityColumnsDialog | PasteLogDialog | None:
        """The columns or paste dialog while it is open."""
        dialog = self._dialog
        return dialog if dialog is not None and dialog.isVisible() else None

    # ---- state and errors ------------------------------------------------------------------
    def render_state(self, *, connected: bool, busy: bool) -> None:
        ready = connected and not busy
        for widget in (
            self.from_date,
            self.to_date,
            self.crm_edit,
            self.crm_browse,
            self.crm_columns,
            self.crm_zone,
            self.bridge_zone,
            self.logs_list,
            self.add_log,
            self.paste_log,
            self.run_button,
        ):
            widget.setEnabled(ready)
        self._render_log_buttons()

    def _render_log_buttons(self, *_: object) -> None:
        self.remove_log.setEnabled(self.add_log.isEnabled() and self.logs_list.currentRow() >= 0)

    def _render_logs(self) -> None:
        """Each log's path, or in presenter mode its place in the list only; a pasted log by
        its size and unreadable lines, never its text."""
        presenting = self._presenter.enabled
        for row in range(self.logs_list.count()):
            item = self.logs_list.item(row)
            pasted = item.data(PASTED_ROLE)
            if isinstance(pasted, str):
                counts = item.data(COUNTS_ROLE)
                item.setText(
                    pasted_text(counts if isinstance(counts, BridgeLogCounts) else None, pasted)
                )
                continue
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
        set_invalid(self.crm_zone, field == "crm_zone")
        set_invalid(self.bridge_zone, field == "bridge_zone")
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
