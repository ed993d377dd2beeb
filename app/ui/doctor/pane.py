"""The doctor, in the window: the seven checks in the field docs' order, live as each completes.

Each row shows its state (waiting, running, pass, warn, fail, skip); the selected check's
finding, fix and evidence are shown below the list. Everything that can hold a number or a
name goes through the presenter. The copy-as-text is the CLI's rendering, redacted, and masked
in presenter mode.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import Any

from PySide6.QtCore import QEvent, QItemSelectionModel, QModelIndex, QObject, Qt, QTimer, Signal
from PySide6.QtGui import QFont, QFontDatabase, QGuiApplication
from PySide6.QtWidgets import (
    QAbstractItemView,
    QFrame,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QSpinBox,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from app.domain.addresses import AddressError, parse_pbx_address
from app.domain.causes.retention import DEFAULT_RETENTION_DAYS
from app.domain.clock import utc_now
from app.domain.diagnosis import CHECK_ORDER, TITLES, CheckId, CheckResult, CheckStatus, Diagnosis
from app.domain.masking import SECRET_MASK
from app.domain.report import Report
from app.services.connections import last_check_of
from app.services.doctor import Doctor, DoctorOptions
from app.services.doctor.connection_options import options_for_connection
from app.services.doctor.options import DEFAULT_BRIDGE_WINDOW_S
from app.services.doctor.text import render_text, summary_line
from app.services.known_certificates import KnownCertificate, KnownCertificates
from app.services.log_setup import REDACTOR
from app.services.pbx_access import CertificateInfo, Timeouts
from app.services.recording_watcher import RecordingJourney
from app.services.report_meta import report_meta
from app.services.session import PbxSession
from app.services.settings import Settings
from app.ui.context import UiContext
from app.ui.dialogs import run_dialog
from app.ui.doctor.model import (
    STATE_COLOURS,
    STATE_LABELS,
    TINTS,
    CheckTableModel,
    RowState,
    checked_at_text,
    clock_line,
    present,
    seconds_text,
)
from app.ui.reports.dialog import ReportPreviewDialog
from app.ui.theme import MUTED, WARN

log = logging.getLogger(__name__)

MAX_WATCH_S = 600


# ---- certificates, read and written off the GUI thread -----------------------------------------
class _OffThreadCertificates(KnownCertificates):
    """The doctor reads and writes known certificates synchronously; this reads the one entry
    it needs before the run and writes after it, both in a worker thread."""

    def __init__(self, path: Path | None) -> None:
        super().__init__(path)
        self._previous: dict[tuple[str, int], KnownCertificate | None] = {}
        self._pending: list[tuple[str, int, CertificateInfo, datetime]] = []

    async def prefetch(self, host: str, port: int) -> None:
        try:
            found = await asyncio.to_thread(KnownCertificates.get, self, host, port)
        except OSError as exc:
            log.warning("Known certificates not readable: %s", exc)
            found = None
        self._previous[_cert_key(host, port)] = found

    def get(self, host: str, port: int) -> KnownCertificate | None:
        return self._previous.get(_cert_key(host, port))

    def remember(self, host: str, port: int, cert: CertificateInfo, now: datetime) -> None:
        if now.tzinfo is None:
            raise ValueError("remember() needs an aware datetime")
        self._pending.append((host, port, cert, now))

    async def flush(self) -> None:
        pending, self._pending = self._pending, []
        for host, port, cert, now in pending:
            try:
                await asyncio.to_thread(KnownCertificates.remember, self, host, port, cert, now)
            except OSError as exc:
                log.warning("Could not remember the certificate: %s", exc)


def _cert_key(host: str, port: int) -> tuple[str, int]:
    return host.strip().lower().strip("[]"), port


def _host_port(url: str) -> tuple[str, int] | None:
    try:
        address = parse_pbx_address(url)
    except AddressError:
        return None
    return address.host, address.port


# ---- the pane ----------------------------------------------------------------------------------
class DoctorPane(QWidget):
    """Run the doctor for the selected connection and read its seven answers."""

    checked = Signal(object)  # LastCheck, after every completed run
    diagnosed = Signal(object)  # Diagnosis, after every completed run
    progressed = Signal(object)  # CheckResult, as each check completes
    runStarted = Signal()
    runEnded = Signal()  # completed, cancelled or failed

    def __init__(
        self,
        ui: UiContext,
        known_certificates_path: Path | None = None,
        *,
        timeouts: Timeouts | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("doctorPane")
        self._ui = ui
        self._known_path = known_certificates_path
        self._timeouts = timeouts
        self._session: PbxSession | None = None
        # Where the report preferences (name, logo, masking) are read, when a report is built.
        self.report_settings: Callable[[], Settings] = Settings
        self.report_dialog: ReportPreviewDialog | None = None
        self._task: asyncio.Task[Diagnosis | None] | None = None
        self._run_id = 0
        self._busy = False
        self._journeys: dict[str, RecordingJourney] = {}
        self._watch_deadline: float | None = None
        self._watch_s = 0.0
        self._notices: list[tuple[str, bool]] = []  # (text, merely informative)
        self._failure: str | None = None  # why the last run stopped, when it did not finish
        self._cancelled_after: int | None = None
        self.diagnosis: Diagnosis | None = None

        self.model = CheckTableModel(ui, self)
        self._build()
        self._countdown = QTimer(self)
        self._countdown.setInterval(1000)
        self._countdown.timeout.connect(self._render_watch)
        ui.presenter.changed.connect(self._presenter_changed)
        self._render_all()

    # ---- layout --------------------------------------------------------------------------------
    def _build(self) -> None:
        self.connection_label = QLabel()
        self.connection_label.setObjectName("doctorConnection")
        heading = QFont(self.connection_label.font())
        heading.setBold(True)
        self.connection_label.setFont(heading)
        self.run_button = QPushButton("Run doctor")
        self.run_button.setObjectName("doctorRun")
        self.run_button.setDefault(True)
        self.run_button.setToolTip("Check the seven causes, in the field docs' order")
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setObjectName("doctorCancel")
        self.copy_button = QPushButton("Copy as text")
        self.copy_button.setObjectName("doctorCopy")
        self.copy_button.setToolTip(
            "Copy the seven results as plain text (no key; masked in presenter mode)"
        )
        self.export_button = QPushButton("Export report…")
        self.export_button.setObjectName("doctorExport")
        self.export_button.setToolTip(
            "A setup report for the customer (PDF, HTML or JSON), with a preview first"
        )
        top = QHBoxLayout()
        top.addWidget(self.connection_label, 1)
        top.addWidget(self.export_button)
        top.addWidget(self.copy_button)
        top.addWidget(self.cancel_button)
        top.addWidget(self.run_button)

        self.watch = QSpinBox()
        self.watch.setObjectName("doctorWatch")
        self.watch.setRange(0, MAX_WATCH_S)
        self.watch.setSingleStep(30)
        self.watch.setSuffix(" s")
        self.watch.setSpecialValueText("off")
        self.watch.setToolTip(
            "Watch this long for a test call and time its recording from hang-up (check 4)"
        )
        self.bridge_window = QSpinBox()
        self.bridge_window.setObjectName("doctorBridgeWindow")
        self.bridge_window.setRange(1, 3600)
        self.bridge_window.setValue(int(DEFAULT_BRIDGE_WINDOW_S))
        self.bridge_window.setSuffix(" s")
        self.bridge_window.setToolTip("How long the CRM bridge keeps retrying for a recording")
        self.retention = QSpinBox()
        self.retention.setObjectName("doctorRetention")
        self.retention.setRange(1, 3650)
        self.retention.setValue(DEFAULT_RETENTION_DAYS)
        self.retention.setSuffix(" days")
        self.retention.setToolTip("How long the customer needs recordings kept (check 6)")
        options = QHBoxLayout()
        for label, box in (
            ("Watch for a test call", self.watch),
            ("Bridge retry window", self.bridge_window),
            ("Required retention", self.retention),
        ):
            caption = QLabel(label)
            caption.setBuddy(box)
            options.addWidget(caption)
            options.addWidget(box)
            options.addSpacing(12)
        options.addStretch(1)

        self.summary = QLabel()
        self.summary.setObjectName("doctorSummary")
        self.summary.setWordWrap(True)
        self.summary.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.watch_label = QLabel()
        self.watch_label.setObjectName("doctorJourney")
        self.watch_label.setWordWrap(True)
        self.notice = QLabel()
        self.notice.setObjectName("doctorNotice")
        self.notice.setWordWrap(True)

        self.table = QTableView()
        self.table.setObjectName("doctorChecks")
        self.table.setModel(self.model)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().hide()
        self.table.setShowGrid(False)
        self.table.setAlternatingRowColors(True)
        self.table.setWordWrap(False)
        self.table.setTextElideMode(Qt.TextElideMode.ElideRight)
        header = self.table.horizontalHeader()
        header.setHighlightSections(False)
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        header.setSectionResizeMode(CheckTableModel.NUMBER, QHeaderView.ResizeMode.Fixed)
        header.setSectionResizeMode(CheckTableModel.FINDING, QHeaderView.ResizeMode.Stretch)
        self.table.selectionModel().currentRowChanged.connect(self._current_changed)

        self.details = _CheckDetails(self._ui)
        self._fit_table()
        self.table.installEventFilter(self)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(10, 10, 10, 10)
        layout.setSpacing(8)
        layout.addLayout(top)
        layout.addLayout(options)
        layout.addWidget(self.summary)
        layout.addWidget(self.watch_label)
        layout.addWidget(self.notice)
        layout.addWidget(self.table)
        layout.addWidget(self.details, 1)

        self.run_button.clicked.connect(self.run)
        self.cancel_button.clicked.connect(self.cancel)
        self.copy_button.clicked.connect(self.copy_as_text)
        self.export_button.clicked.connect(self.export_report)

    def _fit_table(self) -> None:
        """Rows and columns sized from the font (it grows with large type); seven rows, always,
        so the table is exactly as tall as them and the details take the rest."""
        metrics = self.table.fontMetrics()
        self.table.verticalHeader().setDefaultSectionSize(metrics.height() + 14)
        header = self.table.horizontalHeader()
        widest = max(metrics.horizontalAdvance(title) for title in TITLES.values())
        header.resizeSection(CheckTableModel.NUMBER, metrics.horizontalAdvance("7.") + 20)
        header.resizeSection(CheckTableModel.CHECK, widest + 20)
        header.resizeSection(CheckTableModel.RESULT, metrics.horizontalAdvance("Not checked") + 56)
        header.resizeSection(CheckTableModel.TIME, metrics.horizontalAdvance("0000 ms") + 16)
        rows = self.table.verticalHeader().defaultSectionSize() * len(CHECK_ORDER)
        self.table.setFixedHeight(rows + header.sizeHint().height() + 2 * self.table.frameWidth())

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if watched is self.table and event.type() == QEvent.Type.FontChange:
            self._fit_table()
        return super().eventFilter(watched, event)

    # ---- SessionPane ---------------------------------------------------------------------------
    def set_session(self, session: PbxSession | None) -> None:
        if session is self._session:
            return
        self.cancel()
        self._run_id += 1  # a cancelled run still winding down no longer touches the pane
        self._busy = False
        self._session = session
        self.diagnosis = None
        self._failure = None
        self._cancelled_after = None
        self._notices = []
        self._journeys = {}
        self._watch_deadline = None
        self._countdown.stop()
        self.model.reset()
        self.table.clearSelection()
        self._render_all()

    async def aclose(self) -> None:
        task = self._task
        if task is not None and not task.done():
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
        self._countdown.stop()
        if self.report_dialog is not None:
            self.report_dialog.reject()  # ends the awaited run_dialog() before the window goes

    # ---- running -------------------------------------------------------------------------------
    @property
    def running(self) -> bool:
        return self._busy

    def options(self) -> DoctorOptions:
        """What the option boxes ask for (the region and contacts come from the connection)."""
        return DoctorOptions(
            watch_s=float(self.watch.value()),
            bridge_window_s=float(self.bridge_window.value()),
            required_retention_days=self.retention.value(),
        )

    def run(self) -> asyncio.Task[Diagnosis | None] | None:
        """Start a run for the current connection (returns at once; None: nothing to run)."""
        if self._session is None or self._busy:
            return None
        self._run_id += 1
        self._begin(self.options())
        self._task = self._ui.tasks.start(
            self._run(self._run_id, self._session, self.options()), name="doctor"
        )
        return self._task

    def cancel(self) -> None:
        """Cancel the run's task now; the doctor closes its client as the task unwinds. Once
        only: a second cancel would interrupt that clean-up and leave the client open."""
        task = self._task
        if task is not None and not task.done() and not task.cancelling():
            task.cancel()

    async def _run(
        self, run_id: int, session: PbxSession, options: DoctorOptions
    ) -> Diagnosis | None:
        diagnosis: Diagnosis | None = None
        try:
            options = await self._complete_options(run_id, session, options)
            params = session.params
            if self._timeouts is not None:
                params = replace(params, timeouts=self._timeouts)
            known = _OffThreadCertificates(self._known_path)
            where = _host_port(params.url)
            if where is not None:
                await known.prefetch(*where)
            doctor = Doctor(
                params,
                session.secret,
                options,
                known_certificates=known,
                on_result=lambda result: self._result_arrived(run_id, result),
                on_journey=lambda journey: self._journey_arrived(run_id, journey),
            )
            diagnosis = await doctor.run()
            await known.flush()
        except asyncio.CancelledError:
            if run_id == self._run_id:
                self._cancelled_after = sum(1 for s in self.model.states().values() if s.done)
            raise
        except Exception as exc:
            log.exception("The doctor stopped unexpectedly")
            if run_id == self._run_id:
                self._failure = f"The doctor stopped unexpectedly ({type(exc).__name__}): " + (
                    self._clean(str(exc), session) or "see the log"
                )
        finally:
            if run_id == self._run_id:
                self._end(diagnosis)
        return diagnosis

    async def _complete_options(
        self, run_id: int, session: PbxSession, options: DoctorOptions
    ) -> DoctorOptions:
        # The same completion as the CLI's: region, CRM export, bridge and hours.
        built = await options_for_connection(session.profile, options)
        if built.contacts is not None:
            self._ui.presenter.masker.learn_names(c.name for c in built.contacts.contacts)
        if run_id == self._run_id:
            for notice in built.notices:
                self._add_notice(notice)
        return built.options

    def _begin(self, options: DoctorOptions) -> None:
        self._busy = True
        self.diagnosis = None
        self._failure = None
        self._cancelled_after = None
        self._notices = []
        self._journeys = {}
        self._watch_deadline = None
        self._watch_s = options.watch_s
        self.model.reset()
        self.model.set_state(CheckId.REACHABILITY, RowState.RUNNING)
        self.table.clearSelection()
        self._render_all()
        self.runStarted.emit()

    def _end(self, diagnosis: Diagnosis | None) -> None:
        """The run is over: completed (``diagnosis``), cancelled or failed."""
        self._busy = False
        self._countdown.stop()
        self._watch_deadline = None
        self.diagnosis = diagnosis
        if diagnosis is not None:
            for result in diagnosis.checks:  # the final word, should a callback have been missed
                self.model.set_result(result)
        else:
            for check, state in self.model.states().items():
                if not state.done:
                    self.model.set_state(check, RowState.WAITING)
        self._render_all()
        if diagnosis is not None:
            if self._current_check() is None:
                focus = diagnosis.first_failure or next(
                    (r.id for r in diagnosis.checks if r.status is CheckStatus.WARN), None
                )
                if focus is not None:
                    self.select(focus)
            self.diagnosed.emit(diagnosis)
            self.checked.emit(last_check_of(diagnosis))
        self.runEnded.emit()

    def _result_arrived(self, run_id: int, result: CheckResult) -> None:
        if run_id != self._run_id:
            return
        self.model.set_result(result)
        if result.id is CheckId.REACHABILITY and result.status is not CheckStatus.FAIL:
            for check in CHECK_ORDER:
                if self.model.state(check) is RowState.WAITING:
                    self.model.set_state(check, RowState.RUNNING)
            if self._watch_s > 0:
                self._watch_deadline = time.monotonic() + self._watch_s
                self._countdown.start()
        if result.id is CheckId.LATE_RECORDING:
            self._watch_deadline = None
            self._countdown.stop()
        self._learn_names(result)
        self._render_summary()
        self._render_watch()
        if self._current_check() is result.id:
            self.details.show_check(result.id, self.model.state(result.id), result)
        self.progressed.emit(result)

    def _journey_arrived(self, run_id: int, journey: RecordingJourney) -> None:
        if run_id == self._run_id:
            self._journeys[journey.call_id] = journey
            self._render_watch()

    def _learn_names(self, result: CheckResult) -> None:
        """Names the evidence may quote (contacts, staff on extensions), for presenter mode."""
        details: Mapping[str, Any] = result.details
        names: list[str] = []
        for call in details.get("calls", []) if result.id is CheckId.CONTACT_MATCH else []:
            names += [n for n in call.get("contacts", []) if isinstance(n, str)]
        for fix in details.get("bulk_fixes", []) if result.id is CheckId.CONTACT_MATCH else []:
            names += [fix["name"]] if isinstance(fix.get("name"), str) else []
        if result.id is CheckId.EXTENSION_RECORDING:
            names += [e["name"] for e in details.get("extensions", []) if e.get("name")]
        if names:
            self._ui.presenter.masker.learn_names(names)

    # ---- selection -----------------------------------------------------------------------------
    def select(self, check: CheckId) -> None:
        index = self.model.index(self.model.row_of(check), 0)
        self.table.selectionModel().setCurrentIndex(
            index,
            QItemSelectionModel.SelectionFlag.ClearAndSelect
            | QItemSelectionModel.SelectionFlag.Rows,
        )

    def _current_check(self) -> CheckId | None:
        index = self.table.selectionModel().currentIndex()
        if not index.isValid() or not self.table.selectionModel().isRowSelected(index.row()):
            return None
        return self.model.check_at(index.row())

    def _current_changed(self, current: QModelIndex, _previous: QModelIndex) -> None:
        self._render_details()

    # ---- copy ----------------------------------------------------------------------------------
    def report_text(self) -> str | None:
        """The diagnosis as plain text: redacted, and masked while presenter mode is on."""
        if self.diagnosis is None:
            return None
        text = render_text(self.diagnosis, more_hint="the rest in the Doctor pane")
        return present(self._ui.presenter, self._clean(text, self._session))

    def copy_as_text(self) -> str | None:
        text = self.report_text()
        if text is None:
            return None
        QGuiApplication.clipboard().setText(text)
        self._add_notice("Copied the seven results to the clipboard (no key in it).", info=True)
        return text

    def build_report(self) -> Report | None:
        """The last diagnosis as a setup report, masked as the preferences (or presenter mode) say."""
        if self.diagnosis is None or self._session is None:
            return None
        meta = report_meta(
            self.report_settings(),
            self._session.profile,
            presenter_mode=self._ui.presenter.enabled,
            now=utc_now(),
        )
        return Report.build(self.diagnosis, meta)

    def export_report(self) -> asyncio.Task[None] | None:
        """Preview the report, then save it where the engineer chooses (no nested loop)."""
        report = self.build_report()
        if report is None or self._session is None:
            return None
        dialog = ReportPreviewDialog(self, report, self._ui, secrets=(self._session.secret,))
        self.report_dialog = dialog
        return self._ui.tasks.start(self._show_report(dialog), name="report preview")

    async def _show_report(self, dialog: ReportPreviewDialog) -> None:
        try:
            await run_dialog(dialog)
        finally:
            self.report_dialog = None
            dialog.deleteLater()

    @staticmethod
    def _clean(text: str, session: PbxSession | None) -> str:
        text = REDACTOR.redact(text)
        if session is not None and session.secret:
            text = text.replace(session.secret, SECRET_MASK)
        return text

    # ---- rendering -----------------------------------------------------------------------------
    def _add_notice(self, text: str, *, info: bool = False) -> None:
        if info:  # an acknowledgement replaces the previous one
            self._notices = [(n, i) for n, i in self._notices if not i]
        self._notices.append((text, info))
        self._render_notice()

    def _presenter_changed(self) -> None:
        self._render_all()

    def _render_all(self) -> None:
        self._render_controls()
        self._render_summary()
        self._render_watch()
        self._render_notice()
        self._render_details()

    def _render_controls(self) -> None:
        session = self._session
        busy = self.running
        if session is None:
            self.connection_label.setText("Doctor: no connection selected")
        else:
            name = present(self._ui.presenter, session.profile.name)
            self.connection_label.setText(f"Doctor: {name}")
        self.run_button.setEnabled(session is not None and not busy)
        self.run_button.setText("Run again" if self.diagnosis is not None else "Run doctor")
        self.cancel_button.setEnabled(busy)
        self.copy_button.setEnabled(self.diagnosis is not None and not busy)
        self.export_button.setEnabled(self.diagnosis is not None and not busy)
        for box in (self.watch, self.bridge_window, self.retention):
            box.setEnabled(not busy)

    def _render_summary(self) -> None:
        presenter = self._ui.presenter
        diagnosis = self.diagnosis
        if self.running:
            done = sum(1 for state in self.model.states().values() if state.done)
            url = present(presenter, self._session.profile.url) if self._session else ""
            text, tone = f"Checking {url}: {done} of {len(CHECK_ORDER)} done…", RowState.RUNNING
        elif diagnosis is not None:
            text, tone = self._outcome(diagnosis)
        elif self._failure is not None:
            text, tone = present(presenter, self._failure), RowState.FAIL
        elif self._cancelled_after is not None:
            text = (
                f"Cancelled after {self._cancelled_after} of {len(CHECK_ORDER)} checks. "
                "Run the doctor again for the full answer."
            )
            tone = RowState.SKIP
        elif self._session is None:
            text, tone = "Select a connection, then run the doctor.", RowState.WAITING
        else:
            text = (
                "Not run yet. The doctor checks the seven causes of a missing CRM recording in "
                "the field docs' order, and says what to fix first."
            )
            tone = RowState.WAITING
        self.summary.setText(text)
        self.summary.setStyleSheet(_banner_style(tone))
        # The live-PBX shapes the client met, for the engineer who wonders why (hover).
        wire = diagnosis.pbx.wire if diagnosis is not None and not self.running else ()
        self.summary.setToolTip("Wire as this PBX sends it: " + "; ".join(wire) if wire else "")

    def _outcome(self, diagnosis: Diagnosis) -> tuple[str, RowState]:
        presenter = self._ui.presenter
        took = f"Checked at {checked_at_text(diagnosis)} in {diagnosis.duration_ms / 1000:.1f} s."
        took += clock_line(diagnosis)
        first = diagnosis.first_failure
        if first is not None:
            result = diagnosis.result(first)
            finding = present(presenter, result.finding)
            return f"{summary_line(diagnosis)}: {finding} Fix that first. {took}", RowState.FAIL
        line = summary_line(diagnosis)
        if any(r.status is CheckStatus.WARN for r in diagnosis.checks):
            return f"{line}. {took}", RowState.WARN
        if any(r.status is CheckStatus.SKIP for r in diagnosis.checks):
            return f"{line}. {took}", RowState.SKIP
        return f"{line}. {took}", RowState.PASS

    def _render_watch(self) -> None:
        presenter = self._ui.presenter
        lines: list[str] = []
        if self._watch_deadline is not None:
            left = max(0, round(self._watch_deadline - time.monotonic()))
            lines.append(
                f"Watching for a test call, {left} s left: ring the customer's number, let a "
                "recorded extension answer, talk briefly and hang up."
            )
        if self.running or self._watch_deadline is not None:
            lines += [
                f"Test call: {present(presenter, j.describe())}" for j in self._journeys.values()
            ]
        self.watch_label.setText("\n".join(lines))
        self.watch_label.setVisible(bool(lines))

    def _render_notice(self) -> None:
        text = "\n".join(present(self._ui.presenter, n) for n, _ in self._notices)
        self.notice.setText(text)
        warning = any(not info for _, info in self._notices)
        self.notice.setStyleSheet(f"color: {WARN if warning else MUTED};")
        self.notice.setVisible(bool(text))

    def _render_details(self) -> None:
        check = self._current_check()
        if check is None:
            self.details.show_hint(
                "Select a check to see what was found, the fix, and the evidence."
                if self.diagnosis is not None or self.running
                else "Each check's finding, fix and evidence will show here."
            )
        else:
            self.details.show_check(check, self.model.state(check), self.model.result(check))


def _banner_style(tone: RowState) -> str:
    background, border, text = TINTS[tone]
    return (
        f"QLabel {{ background: {background}; border: 1px solid {border}; border-radius: 4px; "
        f"padding: 8px 10px; color: {text}; }}"
    )


class _CheckDetails(QFrame):
    """The selected check: title and state, finding, the fix (prominent), evidence, duration."""

    def __init__(self, ui: UiContext) -> None:
        super().__init__()
        self.setObjectName("doctorDetails")
        self._ui = ui
        self.title = QLabel()
        self.title.setObjectName("doctorDetailsTitle")
        font = QFont(self.title.font())
        font.setBold(True)
        font.setPointSizeF(font.pointSizeF() * 1.15)
        self.title.setFont(font)
        self.title.setWordWrap(True)
        self.state = QLabel()
        self.state.setObjectName("doctorDetailsState")
        self.finding = QLabel()
        self.finding.setObjectName("doctorFinding")
        self.finding.setWordWrap(True)
        self.finding.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.fix_caption = QLabel("Fix")
        caption_font = QFont(self.fix_caption.font())
        caption_font.setBold(True)
        self.fix_caption.setFont(caption_font)
        self.fix = QLabel()
        self.fix.setObjectName("doctorFix")
        self.fix.setWordWrap(True)
        self.fix.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.evidence_caption = QLabel("Evidence")
        self.evidence_caption.setFont(caption_font)
        self.evidence = QPlainTextEdit()
        self.evidence.setObjectName("doctorEvidence")
        self.evidence.setReadOnly(True)
        self.evidence.setLineWrapMode(QPlainTextEdit.LineWrapMode.WidgetWidth)
        mono = QFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        mono.setPointSizeF(max(QFont().pointSizeF() - 0.5, 8.0))
        self.evidence.setFont(mono)
        self.hint = QLabel()
        self.hint.setObjectName("doctorDetailsHint")
        self.hint.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.hint.setStyleSheet(f"color: {MUTED};")
        self.hint.setWordWrap(True)

        head = QHBoxLayout()
        head.addWidget(self.title, 1)
        head.addWidget(self.state, 0, Qt.AlignmentFlag.AlignTop)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(2, 6, 2, 2)
        layout.setSpacing(6)
        layout.addLayout(head)
        layout.addWidget(self.finding)
        layout.addWidget(self.fix_caption)
        layout.addWidget(self.fix)
        layout.addWidget(self.evidence_caption)
        layout.addWidget(self.evidence, 1)
        layout.addWidget(self.hint, 1)
        self._content: tuple[QWidget, ...] = (
            self.title,
            self.state,
            self.finding,
            self.fix_caption,
            self.fix,
            self.evidence_caption,
            self.evidence,
        )

    def show_hint(self, text: str) -> None:
        for widget in self._content:
            widget.hide()
        self.hint.setText(text)
        self.hint.show()

    def show_check(self, check: CheckId, state: RowState, result: CheckResult | None) -> None:
        presenter = self._ui.presenter
        self.hint.hide()
        self.title.setText(f"{check.order}. {TITLES[check]}")
        took = ""
        if result is not None and result.duration_ms is not None:
            took = f" · {seconds_text(result.duration_ms)}"
        self.state.setText(f"{STATE_LABELS[state]}{took}")
        colour = STATE_COLOURS[state]
        self.state.setStyleSheet(
            f"QLabel {{ color: white; background: {colour}; border-radius: 3px; "
            "padding: 2px 8px; font-weight: 600; }"
        )
        for label in (self.title, self.state, self.finding):
            label.show()
        if result is None:
            self.finding.setText(
                "Checking now…" if state is RowState.RUNNING else "Not checked yet in this run."
            )
            for widget in (self.fix_caption, self.fix, self.evidence_caption, self.evidence):
                widget.hide()
            return
        self.finding.setText(present(presenter, result.finding))
        has_fix = bool(result.fix) and result.status is not CheckStatus.PASS
        self.fix.setText(present(presenter, result.fix) if has_fix else "")
        tone = state if state in (RowState.FAIL, RowState.WARN) else RowState.SKIP
        background, border, text = TINTS[tone]
        self.fix.setStyleSheet(
            f"QLabel {{ background: {background}; border: 1px solid {border}; "
            f"border-left: 4px solid {STATE_COLOURS[tone]}; border-radius: 3px; "
            f"padding: 8px 10px; color: {text}; font-weight: 600; }}"
        )
        self.fix_caption.setVisible(has_fix)
        self.fix.setVisible(has_fix)
        evidence = "\n".join(f"• {present(presenter, line)}" for line in result.evidence)
        self.evidence.setPlainText(evidence or "No evidence recorded.")
        self.evidence_caption.show()
        self.evidence.show()
