"""The doctor, in the window: the seven checks in the field docs' order, live as each completes.

Each row shows its state (waiting, running, pass, warn, fail, skip); the selected check's
finding, fix and evidence are shown below the list. When the PBX was not reached because the
connection does not trust its certificate, the certificate is shown above the list, to trust
(saved on the connection) and check again at once. Everything that can hold a number or a
name goes through the presenter. The copy-as-text is the CLI's rendering, redacted, and masked
in presenter mode.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QFrame, QLabel, QScrollArea, QVBoxLayout, QWidget

from app.domain.clock import utc_now
from app.domain.connection import ConnectionProfile
from app.domain.diagnosis import CHECK_ORDER, CheckId, CheckResult, CheckStatus, Diagnosis
from app.domain.report import Report
from app.services.connections.store import ConnectionStore, last_check_of
from app.services.doctor import Doctor
from app.services.doctor.text import render_text
from app.services.facts.connection_options import options_for_connection
from app.services.facts.options import DoctorOptions
from app.services.pbx_access import Timeouts
from app.services.recordings.watcher import RecordingJourney
from app.services.reports.meta import report_meta
from app.services.session import PbxSession, connection_params
from app.services.settings.file import Settings
from app.ui.context import UiContext
from app.ui.dialogs import run_dialog
from app.ui.doctor.banners import NoticeBanner, outcome, show_banner, watch_lines
from app.ui.doctor.check_details import CheckDetails
from app.ui.doctor.check_table import CheckTable
from app.ui.doctor.connection_trust import ConnectionTrust, trouble_for
from app.ui.doctor.model import CheckTableModel, RowState, present
from app.ui.doctor.off_thread_certificates import OffThreadCertificates, host_port
from app.ui.doctor.privacy import names_quoted, without_key
from app.ui.doctor.run_controls import RunControls
from app.ui.reports.dialog import ReportPreviewDialog

log = logging.getLogger(__name__)
STORED_RUN_TEXT = "The last stored run, from {when}. Press Run doctor to check the PBX again now."


class DoctorPane(QWidget):
    """Run the doctor for the selected connection and read its seven answers."""

    checked = Signal(object)  # LastCheck, after every completed run
    diagnosed = Signal(object)  # Diagnosis, after every completed run
    progressed = Signal(object)  # CheckResult, as each check completes
    runStarted = Signal()
    runEnded = Signal()  # completed, cancelled or failed
    trustSaved = Signal(object)  # ConnectionProfile, saved with the certificate trusted here

    def __init__(
        self,
        ui: UiContext,
        known_certificates_path: Path | None = None,
        *,
        timeouts: Timeouts | None = None,
        store: ConnectionStore | None = None,
        parent: QWidget | None = None,
    ) -> None:
        """``store``: where a certificate trusted here is saved (none: it is not offered)."""
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
        self._failure: str | None = None  # why the last run stopped, when it did not finish
        self._cancelled_after: int | None = None
        self.diagnosis: Diagnosis | None = None
        self._trusted: ConnectionProfile | None = None  # saved with new trust, for this session
        self._rerun_for: str | None = None  # the connection to check again once trusted

        self.trust = ConnectionTrust(ui, self)
        self.trust.store = store
        self.trust.saved.connect(self._trust_saved)
        self.model = CheckTableModel(ui, self)
        self._build()
        self._countdown = QTimer(self)
        self._countdown.setInterval(1000)
        self._countdown.timeout.connect(self._render_watch)
        ui.presenter.changed.connect(self._presenter_changed)
        self._render_all()

    # ---- layout --------------------------------------------------------------------------------
    @staticmethod
    def _scrolling(details: QWidget) -> QScrollArea:
        """The details scroll up and down on a short screen, so a long fix is never cut."""
        area = QScrollArea()
        area.setObjectName("doctorDetailsScroll")
        area.setWidget(details)
        area.setWidgetResizable(True)
        area.setFrameShape(QFrame.Shape.NoFrame)
        area.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        return area

    def _build(self) -> None:
        self.controls = RunControls()
        self.summary = _banner_label("doctorSummary")
        self.summary.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.watch_label = _banner_label("doctorJourney")
        self.notice = NoticeBanner(self._ui.presenter)
        self.table = CheckTable(self.model)
        self.table.selectionMoved.connect(self._render_details)
        self.details = CheckDetails(self._ui)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(10, 10, 10, 10)
        layout.setSpacing(8)
        layout.addLayout(self.controls.buttons_row)
        layout.addLayout(self.controls.options_row)
        layout.addWidget(self.summary)
        layout.addWidget(self.watch_label)
        layout.addWidget(self.notice)
        layout.addWidget(self.trust.panel)
        layout.addWidget(self.trust.problem)
        layout.addWidget(self.table)
        layout.addWidget(self._scrolling(self.details), 1)

        self.controls.run_button.clicked.connect(self.run)
        self.controls.cancel_button.clicked.connect(self.cancel)
        self.controls.copy_button.clicked.connect(self.copy_as_text)
        self.controls.export_button.clicked.connect(self.export_report)

    # ---- SessionPane ---------------------------------------------------------------------------
    def set_session(self, session: PbxSession | None) -> None:
        if session is self._session:
            return
        self.cancel()
        self._run_id += 1  # a cancelled run still winding down no longer touches the pane
        self._busy = False
        self._session = session
        self._trusted = None  # a session opened since carries what was saved
        rerun = session is not None and session.profile.id == self._rerun_for
        if session is not None and not rerun:
            self._rerun_for = None
        self._forget_run()
        self._countdown.stop()
        self.table.clearSelection()
        self._render_all()
        if rerun:
            self.run()

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
        return self.controls.options()

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
            known = OffThreadCertificates(self._known_path)
            doctor = await self._doctor(run_id, session, options, known)
            diagnosis = await doctor.run()
            await known.flush()
        except asyncio.CancelledError:
            if run_id == self._run_id:
                self._cancelled_after = self._checks_done()
            raise
        except Exception as exc:
            log.exception("The doctor stopped unexpectedly")
            if run_id == self._run_id:
                self._failure = f"The doctor stopped unexpectedly ({type(exc).__name__}): " + (
                    without_key(str(exc), session) or "see the log"
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
                self.notice.add(notice)
        return built.options

    async def _doctor(
        self,
        run_id: int,
        session: PbxSession,
        options: DoctorOptions,
        known: OffThreadCertificates,
    ) -> Doctor:
        """The doctor for this run, its one known certificate read beforehand."""
        params = session.params
        if self._trusted is not None:
            params = replace(params, tls=connection_params(self._trusted).tls)
        if self._timeouts is not None:
            params = replace(params, timeouts=self._timeouts)
        where = host_port(params.url)
        if where is not None:
            await known.prefetch(*where)
        return Doctor(
            params,
            session.secret,
            options,
            known_certificates=known,
            on_result=lambda result: self._result_arrived(run_id, result),
            on_journey=lambda journey: self._journey_arrived(run_id, journey),
        )

    def show_stored(self, diagnosis: Diagnosis, when: str) -> None:
        """Show a stored run (the Fleet's last of this connection, ``when`` on the customer's
        clock) until the next run. It is not announced as a new diagnosis: the other panes and
        the connection's last check keep what the window checked itself."""
        if self._busy:
            return
        self._forget_run()
        self.diagnosis = diagnosis
        self._settle_rows(diagnosis)
        self._render_all()
        self._select_first_problem(diagnosis)
        self.notice.add(STORED_RUN_TEXT.format(when=when), info=True)

    def _forget_run(self) -> None:
        """Drop what the last run left: its answer, notices, test calls and rows."""
        self.diagnosis = None
        self._failure = None
        self._cancelled_after = None
        self.notice.forget()
        self.trust.withdraw()
        self._journeys = {}
        self._watch_deadline = None
        self.model.reset()

    def _begin(self, options: DoctorOptions) -> None:
        self._busy = True
        self._forget_run()
        self.model.reset(RowState.WAITING)
        self._watch_s = options.watch_s
        self.model.set_state(CheckId.REACHABILITY, RowState.RUNNING)
        self.table.clearSelection()
        self._render_all()
        self.runStarted.emit()

    def _end(self, diagnosis: Diagnosis | None) -> None:
        """The run is over: completed (``diagnosis``), cancelled or failed."""
        self._busy = False
        self._stop_watching()
        self.diagnosis = diagnosis
        self._settle_rows(diagnosis)
        self._render_all()
        if diagnosis is not None:
            if self.table.current_check() is None:
                self._select_first_problem(diagnosis)
            self.diagnosed.emit(diagnosis)
            self.checked.emit(last_check_of(diagnosis))
            self._rerun_for = None
            if _stopped_at_tls(diagnosis):
                self._look_at_certificate()
        self.runEnded.emit()

    # ---- an untrusted certificate ----------------------------------------------------------------
    def _look_at_certificate(self) -> None:
        session = self._session
        if session is None or not self.trust.can_offer(session.profile):
            return
        profile = self._trusted or session.profile
        timeout_s = (self._timeouts or session.params.timeouts).connect
        self._ui.tasks.start(
            self._offer_trust(self._run_id, profile, timeout_s), name="doctor: read certificate"
        )

    async def _offer_trust(self, run_id: int, profile: ConnectionProfile, timeout_s: float) -> None:
        trouble = await trouble_for(profile, timeout_s)
        if trouble is not None and run_id == self._run_id and not self._busy:
            self.trust.offer(profile, trouble)

    def _trust_saved(self, saved: ConnectionProfile) -> None:
        """Check again at once with what was saved; the window may reopen the connection."""
        session = self._session
        if session is None or session.profile.id != saved.id:
            return
        self._trusted = saved
        self._rerun_for = saved.id
        self.trustSaved.emit(saved)
        self.run()  # should the window reopen the connection, set_session runs it again

    def _settle_rows(self, diagnosis: Diagnosis | None) -> None:
        if diagnosis is not None:
            for result in diagnosis.checks:  # the final word, should a callback have been missed
                self.model.set_result(result)
            return
        for check, state in self.model.states().items():
            if not state.done:
                self.model.set_state(check, RowState.NOT_RUN)

    def _select_first_problem(self, diagnosis: Diagnosis) -> None:
        focus = diagnosis.first_failure or next(
            (r.id for r in diagnosis.checks if r.status is CheckStatus.WARN), None
        )
        if focus is not None:
            self.select(focus)

    def _checks_done(self) -> int:
        return sum(1 for state in self.model.states().values() if state.done)

    def _result_arrived(self, run_id: int, result: CheckResult) -> None:
        if run_id != self._run_id:
            return
        self.model.set_result(result)
        if result.id is CheckId.REACHABILITY and result.status is not CheckStatus.FAIL:
            self._pbx_reached()
        if result.id is CheckId.LATE_RECORDING:
            self._stop_watching()
        names = names_quoted(result)
        if names:
            self._ui.presenter.masker.learn_names(names)
        self._render_summary()
        self._render_watch()
        if self.table.current_check() is result.id:
            self.details.show_check(result.id, self.model.state(result.id), result)
        self.progressed.emit(result)

    def _pbx_reached(self) -> None:
        """The other checks run at once, and the watch for a test call starts (when asked)."""
        for check in CHECK_ORDER:
            if self.model.state(check) is RowState.WAITING:
                self.model.set_state(check, RowState.RUNNING)
        if self._watch_s > 0:
            self._watch_deadline = time.monotonic() + self._watch_s
            self._countdown.start()

    def _stop_watching(self) -> None:
        self._countdown.stop()
        self._watch_deadline = None

    def _journey_arrived(self, run_id: int, journey: RecordingJourney) -> None:
        if run_id == self._run_id:
            self._journeys[journey.call_id] = journey
            self._render_watch()

    # ---- selection -----------------------------------------------------------------------------
    def select(self, check: CheckId) -> None:
        self.table.select(check)

    # ---- copy and export -----------------------------------------------------------------------
    def report_text(self) -> str | None:
        """The diagnosis as plain text: redacted, and masked while presenter mode is on."""
        if self.diagnosis is None:
            return None
        text = render_text(self.diagnosis, more_hint="the rest in the Doctor pane")
        return present(self._ui.presenter, without_key(text, self._session))

    def copy_as_text(self) -> str | None:
        text = self.report_text()
        if text is None:
            return None
        QGuiApplication.clipboard().setText(text)
        self.notice.add("Copied the seven results to the clipboard (no key in it).", info=True)
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

    # ---- rendering -----------------------------------------------------------------------------
    def _presenter_changed(self) -> None:
        self._render_all()

    def _render_all(self) -> None:
        self._render_controls()
        self._render_summary()
        self._render_watch()
        self.notice.refresh()
        self._render_details()

    def _render_controls(self) -> None:
        session = self._session
        if session is None:
            heading = "Doctor: no connection selected"
        else:
            heading = f"Doctor: {present(self._ui.presenter, session.profile.name)}"
        self.controls.render(
            heading,
            can_run=session is not None,
            busy=self.running,
            has_diagnosis=self.diagnosis is not None,
        )

    def _render_summary(self) -> None:
        text, tone = self._summary()
        self.summary.setText(text)
        show_banner(self.summary, tone)
        # The live-PBX shapes the client met, for the engineer who wonders why (hover).
        diagnosis = self.diagnosis
        wire = diagnosis.pbx.wire if diagnosis is not None and not self.running else ()
        self.summary.setToolTip("Wire as this PBX sends it: " + "; ".join(wire) if wire else "")

    def _summary(self) -> tuple[str, RowState]:
        presenter = self._ui.presenter
        if self.running:
            url = present(presenter, self._session.profile.url) if self._session else ""
            done = self._checks_done()
            return f"Checking {url}: {done} of {len(CHECK_ORDER)} done…", RowState.RUNNING
        if self.diagnosis is not None:
            return outcome(presenter, self.diagnosis)
        if self._failure is not None:
            return present(presenter, self._failure), RowState.FAIL
        if self._cancelled_after is not None:
            return (
                f"Cancelled after {self._cancelled_after} of {len(CHECK_ORDER)} checks. "
                "Run the doctor again for the full answer."
            ), RowState.SKIP
        if self._session is None:
            return "Select a connection, then run the doctor.", RowState.WAITING
        return (
            "Not run yet. The doctor checks the seven causes of a missing CRM recording in "
            "the field docs' order, and says what to fix first."
        ), RowState.WAITING

    def _render_watch(self) -> None:
        lines = watch_lines(
            self._ui.presenter,
            self._watch_deadline,
            self._journeys.values(),
            running=self.running,
        )
        self.watch_label.setText("\n".join(lines))
        self.watch_label.setVisible(bool(lines))

    def _render_details(self) -> None:
        check = self.table.current_check()
        if check is None:
            self.details.show_hint(
                "Select a check to see what was found, the fix, and the evidence."
                if self.diagnosis is not None or self.running
                else "Each check's finding, fix and evidence will show here."
            )
        else:
            self.details.show_check(check, self.model.state(check), self.model.result(check))


def _stopped_at_tls(diagnosis: Diagnosis) -> bool:
    """The PBX was not reached because the TLS handshake failed (trust, or otherwise)."""
    result = diagnosis.result(CheckId.REACHABILITY)
    steps = result.details.get("steps", ())
    return result.status is CheckStatus.FAIL and any(
        step.get("step") == "tls" and step.get("ok") is False for step in steps
    )


def _banner_label(name: str) -> QLabel:
    label = QLabel()
    label.setObjectName(name)
    label.setWordWrap(True)
    return label
