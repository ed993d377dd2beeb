"""The Fleet view: every saved connection at once, its seven checks as dots, its last run, the
next date that runs out and what changed since its last good run.

The rows are read from the fleet history (the same rows as ``pbx-companion fleet changes``)
when the tab is shown; Sweep now runs the services' ``sweep`` over the connections the filter
shows, on the window's loop, and each row updates as its PBX answers. Cancelling keeps what
finished (it is stored) and leaves the rest on their last run. Selecting a row shows its
changes, each with the check it threatens and what to do; double-clicking it (or Open in
Doctor) asks the window to open that connection in the Doctor tab and check it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from pathlib import Path

from PySide6.QtCore import QModelIndex, Qt, Signal
from PySide6.QtGui import QShowEvent
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QScrollArea,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from app.domain.clock import Clock, utc_now
from app.domain.connection import ConnectionProfile
from app.domain.diagnosis import Diagnosis
from app.services.connections.store import ConnectionStore
from app.services.fleet.document import summary_json
from app.services.fleet.history import FleetHistory, FleetHistoryError
from app.services.fleet.overview import overview
from app.services.fleet.sweep import FleetSweep, SweepProgress, SweepSettings, sweep
from app.services.fleet.targets import read_targets, select
from app.services.known_certificates import KnownCertificates
from app.services.session import PbxSession
from app.ui.context import UiContext
from app.ui.fleet.model import ID_ROLE, FleetFilter, FleetModel
from app.ui.fleet.table import fleet_table
from app.ui.fleet.text import (
    DETAILS_HINT,
    NO_CONNECTIONS,
    SWEEP_TIP,
    TITLE,
    changes_text,
    run_time,
)
from app.ui.theme import mark_empty_state, mark_heading, set_box, set_panel, set_tone
from app.ui.widgets.presenter_fields import hide_while_presenting

log = logging.getLogger(__name__)


class FleetPane(QWidget):
    """Every saved connection's latest run, a filter, Sweep now and the selected row's changes.

    ``openRequested`` carries a connection id to open in the Doctor tab; ``swept`` says a sweep
    ended (its results are each connection's last check now)."""

    openRequested = Signal(str)
    swept = Signal()

    def __init__(
        self,
        ui: UiContext,
        store: ConnectionStore,
        *,
        clock: Clock = utc_now,
        known_certificates_path: Path | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("fleetPane")
        self._ui = ui
        self._store = store
        self._clock = clock
        self._known_path = known_certificates_path
        # Each PBX's doctor as `fleet sweep` runs it; tests may shorten the limits.
        self.settings = SweepSettings(key_warning_days=store.settings.key_age_warning_days)
        self.sweep_task: asyncio.Task[FleetSweep | None] | None = None
        self.load_task: asyncio.Task[None] | None = None
        self._done = self._total = 0
        self._sweeping = False  # set while the sweep's task runs, cleared in its clean-up
        self._status = ""
        self._status_tone: str | None = None
        self.model = FleetModel(
            ui.presenter,
            clock=clock,
            key_warning_days=store.settings.key_age_warning_days,
            parent=self,
        )
        self.proxy = FleetFilter(self.model, self)
        self._build()
        ui.presenter.changed.connect(self._render_details)
        self.model.set_profiles(self._saved())
        self._render()

    # ---- layout --------------------------------------------------------------------------------
    def _build(self) -> None:
        title = QLabel(TITLE)
        mark_heading(title)
        self.filter_edit = QLineEdit()
        self.filter_edit.setObjectName("fleetFilter")
        self.filter_edit.setPlaceholderText("Filter by name, customer or tag")
        self.filter_edit.setClearButtonEnabled(True)
        hide_while_presenting(self._ui.presenter, self.filter_edit)  # a customer's name
        self.filter_edit.textChanged.connect(self._on_filter)
        self.sweep_button = _button("Sweep now", "fleetSweep")
        self.sweep_button.setToolTip(SWEEP_TIP)
        self.sweep_button.clicked.connect(self.sweep)
        self.cancel_button = _button("Cancel", "fleetCancel")
        self.cancel_button.clicked.connect(self.cancel)
        self.progress = QProgressBar()
        self.progress.setObjectName("fleetProgress")
        self.progress.setFormat("%v of %m")
        self.progress.setMaximumWidth(180)
        top = QHBoxLayout()
        for widget in (title, self.filter_edit, self.progress, self.sweep_button):
            top.addWidget(widget, 1 if widget is self.filter_edit else 0)
        top.addWidget(self.cancel_button)

        self.status_label = QLabel()
        self.status_label.setObjectName("fleetStatus")
        self.status_label.setWordWrap(True)
        self.fleet_table = fleet_table(self.proxy, self)
        self.table = self.fleet_table.view
        self.table.doubleClicked.connect(self._open_index)
        self.table.selectionModel().currentRowChanged.connect(self._render_details)
        self.empty_label = QLabel(NO_CONNECTIONS)
        self.empty_label.setObjectName("fleetEmpty")
        self.empty_label.setWordWrap(True)
        self.empty_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        mark_empty_state(self.empty_label)
        self.stack = QStackedWidget()
        self.stack.addWidget(self.table)
        self.stack.addWidget(self.empty_label)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(10, 10, 10, 10)
        layout.setSpacing(8)
        layout.addLayout(top)
        layout.addWidget(self.status_label)
        layout.addWidget(self.stack, 3)
        layout.addWidget(self._build_details(), 2)

    def _build_details(self) -> QWidget:
        """The selected row's changes with their fixes, scrolling on a short screen."""
        self.details_title = QLabel()
        self.details_title.setObjectName("fleetDetailsTitle")
        mark_heading(self.details_title, "title")
        self.open_button = _button("Open in Doctor", "fleetOpenInDoctor")
        self.open_button.setToolTip("Open this connection in the Doctor tab and check it now")
        self.open_button.clicked.connect(self._open_current)
        self.details = QLabel()
        self.details.setObjectName("fleetDetails")
        self.details.setWordWrap(True)
        self.details.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        self.details.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.details.setTextFormat(Qt.TextFormat.PlainText)
        heading = QHBoxLayout()
        heading.addWidget(self.details_title, 1)
        heading.addWidget(self.open_button)
        inner = QWidget()
        column = QVBoxLayout(inner)
        column.addLayout(heading)
        column.addWidget(self.details, 1)
        area = QScrollArea()
        area.setObjectName("fleetDetailsScroll")
        area.setWidget(inner)
        area.setWidgetResizable(True)
        area.setFrameShape(QFrame.Shape.NoFrame)
        area.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        set_panel(area)
        return area

    # ---- SessionPane ---------------------------------------------------------------------------
    def set_session(self, session: PbxSession | None) -> None:
        """The connection open in the window shows in full in presenter mode; others do not."""
        self.model.set_current(session.profile.id if session is not None else None)
        self._render_details()

    async def aclose(self) -> None:
        tasks = [t for t in (self.sweep_task, self.load_task) if t is not None and not t.done()]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    # ---- reading the history -------------------------------------------------------------------
    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        self.reload()  # another pane's doctor run may have joined the history since

    def reload(self) -> asyncio.Task[None] | None:
        """Show the saved connections again, each with its latest stored run (None: a sweep is
        running, or the window is closing)."""
        if self.sweeping:
            return None
        self.model.set_profiles(self._saved())
        self._render()
        if self.load_task is not None and not self.load_task.done():
            self.load_task.cancel()
        try:
            self.load_task = self._ui.tasks.start(self._load(self._saved()), name="fleet: read")
        except RuntimeError:  # the window is closing
            return None
        return self.load_task

    async def _load(self, profiles: Sequence[ConnectionProfile]) -> None:
        try:
            rows = await overview(
                profiles, now=self._clock(), key_warning_days=self.model.key_warning_days
            )
        except FleetHistoryError as exc:
            self._say(f"The fleet history could not be read: {exc}", "warn")
            return
        if self.sweeping:
            return  # the sweep's rows are newer
        for row in rows:
            self.model.set_run(row)
        self._render_details()

    def _saved(self) -> list[ConnectionProfile]:
        return select(self._store.connections(), ())  # saved ones: never the demo

    # ---- the sweep -----------------------------------------------------------------------------
    @property
    def sweeping(self) -> bool:
        return self._sweeping

    def sweep(self) -> asyncio.Task[FleetSweep | None] | None:
        """Sweep the connections the filter shows (returns at once; None: nothing to sweep)."""
        shown = set(self.proxy.shown_ids())
        profiles = [p for p in self._saved() if p.id in shown]
        if self.sweeping or not profiles:
            return None
        self._sweeping = True  # at once: a second click before the task starts is refused
        self.sweep_task = self._ui.tasks.start(self._sweep(profiles), name="fleet: sweep")
        self.sweep_task.add_done_callback(self._sweep_ended)  # also when cancelled unstarted
        return self.sweep_task

    def _sweep_ended(self, _task: asyncio.Task[FleetSweep | None]) -> None:
        if self._sweeping:
            self._sweeping = False
            self._render()

    def cancel(self) -> None:
        task = self.sweep_task
        if task is not None and not task.done() and not task.cancelling():
            task.cancel()

    async def _sweep(self, profiles: Sequence[ConnectionProfile]) -> FleetSweep | None:
        ids = [p.id for p in profiles]
        self._done, self._total = 0, len(profiles)
        self.model.set_checking(ids)
        self._say(f"Sweeping {len(profiles)} PBXs…", "info")
        history: FleetHistory | None = None
        # As `fleet sweep` keeps them. Read and written on the loop: a small file, once per PBX
        # (the doctor pane's off-thread reader would serve here once it is shared).
        known = KnownCertificates(self._known_path)
        result: FleetSweep | None = None
        try:
            targets = await read_targets(self._store, profiles)
            history = await self._open_history()
            result = await sweep(
                targets,
                self.settings,
                history=history,
                store=self._store,
                known_certificates=known,
                on_progress=self._progressed,
                clock=self._clock,
            )
        except asyncio.CancelledError:
            self._say(
                f"Cancelled after {self._done} of {self._total}: the rest show their last run.",
                "warn",
            )
            raise
        finally:
            self._sweeping = False
            self.model.set_checking(ids, checking=False)
            if history is not None:
                await asyncio.to_thread(history.close)
            self._render()
            self.swept.emit()
        self._said_swept(result)
        return result

    async def _open_history(self) -> FleetHistory | None:
        try:
            return await asyncio.to_thread(FleetHistory.open)
        except FleetHistoryError as exc:
            self._say(f"{exc} This sweep is not kept.", "warn")
            return None

    def _progressed(self, progress: SweepProgress) -> None:
        self._done, self._total = progress.done, progress.total
        self.model.set_run(progress.row)
        self._render()
        if self._current_id() == progress.row.connection_id:
            self._render_details()

    def _said_swept(self, result: FleetSweep) -> None:
        counts = summary_json(result.rows)
        words = {
            "pass": "pass",
            "warn": "with warnings",
            "fail": "failing",
            "unreachable": "unreachable",
            "not_checked": "not checked",
        }
        parts = ", ".join(f"{counts[key]} {word}" for key, word in words.items() if counts[key])
        changes = counts["changes"]
        text = (
            f"Swept {len(result.rows)} PBXs in {result.duration_s:.0f} s: {parts}. {changes} "
            f"change{'' if changes == 1 else 's'} since the last good runs."
        )
        if result.history_problem:
            text += f" Not all runs were kept: {result.history_problem}"
        bad = counts["fail"] + counts["unreachable"] + counts["not_checked"]
        self._say(text, "warn" if bad or result.history_problem else "pass")

    # ---- opening a row in the doctor -----------------------------------------------------------
    def _current_id(self) -> str | None:
        index = self.table.currentIndex()
        return str(index.data(ID_ROLE)) if index.isValid() else None

    def select(self, connection_id: str) -> None:
        """Select a connection's row (the filter is cleared if it hides it)."""
        if connection_id not in self.proxy.shown_ids():
            self.filter_edit.clear()
        for row in range(self.proxy.rowCount()):
            index = self.proxy.index(row, 0)
            if index.data(ID_ROLE) == connection_id:
                self.table.setCurrentIndex(index)
                self.table.scrollTo(index)
                return

    def stored_run(self, connection_id: str) -> tuple[Diagnosis, str] | None:
        """The connection's last stored doctor run and when it was (customer's clock)."""
        line = self.model.line(connection_id)
        run = line.run if line is not None else None
        if run is None or run.diagnosis is None:
            return None
        return run.diagnosis, run_time(run)

    def _open_index(self, index: QModelIndex) -> None:
        if index.isValid():
            self.openRequested.emit(str(index.data(ID_ROLE)))

    def _open_current(self) -> None:
        self._open_index(self.table.currentIndex())

    # ---- rendering -----------------------------------------------------------------------------
    def _on_filter(self, text: str) -> None:
        self.proxy.set_text(text)
        self._render()

    def _say(self, text: str, tone: str | None) -> None:
        self._status, self._status_tone = text, tone
        self._render()

    def _render(self) -> None:
        empty = self.model.rowCount() == 0
        self.stack.setCurrentWidget(self.empty_label if empty else self.table)
        sweeping = self.sweeping
        shown = self.proxy.rowCount()
        self.sweep_button.setEnabled(not sweeping and shown > 0)
        self.sweep_button.setText("Sweep now" if shown == self.model.rowCount() else "Sweep shown")
        self.cancel_button.setVisible(sweeping)
        self.progress.setVisible(sweeping)
        self.progress.setRange(0, max(self._total, 1))
        self.progress.setValue(self._done)
        self.filter_edit.setEnabled(not empty)
        text = self._status
        if sweeping:
            text = f"Sweeping: {self._done} of {self._total} done…"
        elif not text and not empty:
            text = f"{self.model.rowCount()} connections. {SWEEP_TIP}"
        self.status_label.setText(text)
        self.status_label.setVisible(bool(text))
        set_box(self.status_label, "info" if sweeping else self._status_tone)
        set_tone(self.status_label, None if sweeping or self._status_tone else "muted")
        self._render_details()

    def _render_details(self, *_: object) -> None:
        connection_id = self._current_id()
        line = self.model.line(connection_id) if connection_id else None
        self.open_button.setEnabled(line is not None)
        if line is None:
            self.details_title.setText("What changed")
            self.details.setText(DETAILS_HINT)
            return
        self.details_title.setText(f"What changed: {self.model.shown_name(line)}")
        if line.checking:
            self.details.setText("Checking this PBX now…")
        else:
            self.details.setText(changes_text(self._ui.presenter, line.run))


def _button(text: str, name: str) -> QPushButton:
    button = QPushButton(text)
    button.setObjectName(name)
    return button
