"""Reconcile: did every call of a period land? The PBX's calls against the CRM's activity export
and the bridge's logs, each call with one state and its cause (issue 21, seed 000, seed 003).

The pane composes the inputs form and the ledger view; it holds the session, the customer's
clock and the running reconciliation. The files are read off the GUI loop by the service
(``run_reconcile``); its progress shows under the form, and Cancel stops it with the inputs
and the last ledger kept. A bad file, unreadable columns or a PBX failure is said in words
under the form, and the inputs stay as they were.

Each finished run is kept in the ledger database (``run_history``): a re-run of the same days
says what the fix fixed. The run's report and the support pack are written from the row above
the ledger (``run_actions``, ``exports``), after a non-blocking save dialog, off the GUI loop.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QVBoxLayout, QWidget

from app.domain.business_hours import BusinessHours
from app.domain.clock import utc_now
from app.domain.diagnosis import Diagnosis
from app.domain.reconcile.ledger import ledger_names
from app.services.pbx_access import ThreeCXError
from app.services.reconcile.activity_columns import ActivityColumnsError
from app.services.reconcile.bridge_log import BridgeLogError
from app.services.reconcile.crm_activities import ActivitiesFileError
from app.services.reconcile.ledger_store import LedgerStoreError
from app.services.reconcile.ledger_store_compare import Comparison
from app.services.reconcile.run import ReconcileInputs, ReconcileResult, run_reconcile
from app.services.reconcile.support_pack import SupportPackError
from app.services.reports.export import ReportExportError
from app.services.session import PbxSession
from app.services.settings.file import Settings
from app.ui.context import UiContext
from app.ui.reconcile import exports
from app.ui.reconcile.inputs_form import ReconcileInputsForm
from app.ui.reconcile.ledger_view import LedgerView
from app.ui.reconcile.model import LedgerModel
from app.ui.reconcile.run_actions import RunActions
from app.ui.reconcile.run_history import RunHistory
from app.ui.reconcile.text import KEPT_FIRST, KEPT_ROLLING, changes_text
from app.ui.widgets.pane_tasks import PaneTasks

log = logging.getLogger(__name__)

T = TypeVar("T")

CHOOSE_A_CONNECTION = "Choose a connection on the left to reconcile its calls."
HOW_TO_RUN = (
    "Choose the CRM's call activity export and add the bridge's logs, then press Run.\n"
    "Every call of the period gets one state: logged, no recording, wrong contact, duplicated, "
    "missing, or for a missed call whether the workflow fired."
)
# What the files and the PBX raise with a message meant for the engineer.
FILE_ERRORS = (ActivitiesFileError, ActivityColumnsError, BridgeLogError)
HIDDEN_WHERE = "the chosen file (its path is hidden while presenting)"


class ReconcilePane(QWidget):
    """The period's call ledger, filtered by state, with the selected call's timeline."""

    reconciled = Signal(object)  # ReconcileResult, after every completed run
    saveDialogOpened = Signal(object)  # the QFileDialog, just before it is shown

    def __init__(self, ui: UiContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("reconcilePane")
        self._ui = ui
        self._presenter = ui.presenter
        self._session: PbxSession | None = None
        self._tasks = PaneTasks(ui.tasks, self._finished)
        self._run_task: asyncio.Task[ReconcileResult | None] | None = None
        self._export_task: asyncio.Task[Path | None] | None = None
        self.hours_task: asyncio.Task[BusinessHours] | None = None  # the customer's clock read
        self.keep_task: asyncio.Task[None] | None = None  # the last run, being kept
        self.result: ReconcileResult | None = None
        self.comparison: Comparison | None = None  # the result's before and after, if any
        # Read when a report or a pack is made; the window wires them to its settings and to
        # the Doctor tab's last diagnosis (None: the pack runs the doctor's checks itself).
        self.report_settings: Callable[[], Settings] = Settings
        self.diagnosis_source: Callable[[], Diagnosis | None] = lambda: None
        self.history = RunHistory()
        self.demo_history = RunHistory(scratch=True)  # the demo's runs are never saved
        self._outcome: tuple[str, str | None, Path | None] = ("", None, None)
        self._changes: tuple[str, str | None] = ("", None)
        self.model = LedgerModel(self._presenter, self)
        self.form = ReconcileInputsForm(self._presenter, tasks=ui.tasks)
        self.form.runRequested.connect(self.run)
        self.run_actions = RunActions()
        self.run_actions.cancel_button.clicked.connect(self.cancel)
        self.run_actions.report_button.clicked.connect(self.export_report)
        self.run_actions.pack_button.clicked.connect(self.support_pack)
        self._chooser = exports.SaveChooser(self, self.saveDialogOpened.emit)
        self.ledger_view = LedgerView(self.model, self._presenter)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(12, 10, 12, 10)
        layout.setSpacing(6)
        layout.addWidget(self.form)
        layout.addWidget(self.run_actions)
        layout.addWidget(self.ledger_view, 1)
        self.table = self.ledger_view.table
        self.error_label = self.form.error_label
        self.progress_label = self.form.progress_label
        self._presenter.changed.connect(self._presenter_changed)
        self.form.reset_dates(self.model.hours.zone)
        self.ledger_view.set_empty(CHOOSE_A_CONNECTION)
        self._render_state()

    # ---- the pane contract -----------------------------------------------------------------
    def set_session(self, session: PbxSession | None) -> None:
        if session is self._session:
            return
        self._cancel_all()
        self._session = session
        self.form.set_connection(session.profile if session is not None else None)
        self.result = None
        self.comparison = None
        self.ledger_view.show_ledger(None)
        self.ledger_view.set_empty(CHOOSE_A_CONNECTION if session is None else HOW_TO_RUN)
        self.form.say_progress("")
        self.form.show_error("", "")
        self._say_changes("")
        self._say_outcome("")
        self._use_hours(session.saved_hours if session is not None else BusinessHours())
        self._render_state()
        if session is not None:
            self.hours_task = self._start(self._read_hours(session), "reconcile-customer-clock")

    async def aclose(self) -> None:
        await asyncio.gather(*self._cancel_all(), return_exceptions=True)
        await self.history.aclose()
        await self.demo_history.aclose()

    # ---- the customer's clock --------------------------------------------------------------
    def _use_hours(self, hours: BusinessHours) -> None:
        untouched = self.form.dates_are_default(self.model.hours.zone)
        self.model.set_hours(hours)
        self.form.set_customer_zone(hours.zone)  # "The customer's (zone)" in the zone choices
        if untouched:  # the customer's "today" may be another day than the guess's
            self.form.reset_dates(hours.zone)
        self.ledger_view.render_summary(self.result.notes if self.result else ())
        self.ledger_view.render_timeline()
        if self.comparison is not None:  # its "that run" time is on the customer's clock
            self._say_changes(changes_text(self.comparison, hours))

    async def _read_hours(self, session: PbxSession) -> BusinessHours:
        hours = await session.customer_hours()
        if session is self._session and hours != self.model.hours:
            self._use_hours(hours)
        return hours

    # ---- tasks -----------------------------------------------------------------------------
    def _cancel_all(self) -> list[asyncio.Task[Any]]:
        self._chooser.close()
        tasks = self._tasks.cancel_all()
        self._run_task = None
        self._export_task = None
        self.keep_task = None
        return tasks

    def _start(self, coro: Coroutine[Any, Any, T], name: str) -> asyncio.Task[T]:
        return self._tasks.start(coro, name)

    def _finished(self, task: asyncio.Task[Any]) -> None:
        if task is self.keep_task:
            self.keep_task = None
        if task is self._run_task:
            self._run_task = None
            if task.cancelled():
                kept = " The ledger below is the last finished run." if self.result else ""
                self.form.say_progress(f"Cancelled.{kept}")
            self._render_state()
        elif task is self._export_task:
            self._export_task = None
            if task.cancelled():
                self._say_outcome("")
            elif task.exception() is not None:  # logged by the task keeper, with its trace
                self._say_outcome(
                    "Not written: something unexpected stopped it (see the Log tab).", "fail"
                )
            self._render_state()

    @property
    def running(self) -> bool:
        return self._run_task is not None

    @property
    def run_task(self) -> asyncio.Task[ReconcileResult | None] | None:
        return self._run_task

    @property
    def export_task(self) -> asyncio.Task[Path | None] | None:
        return self._export_task

    # ---- run -------------------------------------------------------------------------------
    def run(self) -> asyncio.Task[ReconcileResult | None] | None:
        """Reconcile what the form holds; None when there is nothing to run (error shown)."""
        session = self._session
        if session is None:
            return None
        if self._run_task is not None:
            return self._run_task
        inputs = self.form.inputs()  # None: the problem is shown under the form
        period = self.form.period(self.model.hours.zone) if inputs is not None else None
        if inputs is None or period is None:
            return None
        self.form.show_error("", "")
        self._run_task = self._start(self._run(session, period, inputs), "reconcile-run")
        self._render_state()
        return self._run_task

    def cancel(self) -> None:
        """Stop the run now: the inputs and the last finished ledger stay as they were. A file
        being read in a worker thread is left to finish there; its answer is dropped."""
        task = self._run_task
        if task is not None and not task.done() and not task.cancelling():
            self.form.say_progress("Cancelling…")
            task.cancel()

    async def _run(
        self, session: PbxSession, period: tuple[datetime, datetime], inputs: ReconcileInputs
    ) -> ReconcileResult | None:
        self.form.say_progress("Starting…")
        try:
            zone = (await self._read_hours(session)).zone
            # The days are the customer's: read again on their clock, now that it is known
            # (the same dates must give the same period, or before and after never meet).
            period = self.form.period(zone) or period
            rolling = self.form.dates_are_default(zone)
            result = await run_reconcile(
                session, period[0], period[1], inputs, progress=self.form.say_progress
            )
        except FILE_ERRORS as error:
            self._failed(str(error), "logs" if isinstance(error, BridgeLogError) else "crm")
            return None
        except ThreeCXError as error:
            self._failed(f"{error.message} {error.next_step}".strip(), "")
            return None
        if session is not self._session:
            return None
        self._show(result)
        self.keep_task = self._start(self._keep(session, inputs, result, rolling), "reconcile-keep")
        return result

    def _failed(self, message: str, field: str) -> None:
        log.info("Reconcile did not run: %s", message)
        self.form.say_progress("")
        self.form.show_error(message, field)

    def _show(self, result: ReconcileResult) -> None:
        self.result = result
        self.comparison = None
        self._learn_names(result)
        s = result.ledger.summary
        self.form.say_progress(f"Reconciled {s.calls:,} calls.")
        self.ledger_view.show_ledger(result.ledger, result.notes)
        if not result.ledger.entries:
            self.ledger_view.set_empty("No external calls in this period. Widen the dates.")
        self._say_changes("")
        self.reconciled.emit(result)

    def _learn_names(self, result: ReconcileResult) -> None:
        """Names turn up inside the evidence: presenter mode masks them there too."""
        self._presenter.masker.learn_names(ledger_names(result.ledger))

    # ---- before and after ------------------------------------------------------------------
    async def _keep(
        self, session: PbxSession, inputs: ReconcileInputs, result: ReconcileResult, rolling: bool
    ) -> None:
        """Keep the run in the ledger database; show what changed since the period's last."""
        profile = session.profile
        contacts = Path(profile.contacts_csv) if profile.contacts_csv else None
        try:
            history = self.demo_history if profile.demo else self.history
            kept = await history.keep(
                result, connection_id=profile.id, inputs=inputs, contacts=contacts
            )
        except LedgerStoreError as exc:
            log.warning("Reconcile run not kept for before and after: %s", exc)
            if result is self.result:
                self._say_changes(f"This run was not kept, so no before and after: {exc}", "warn")
            return
        if result is not self.result:  # another run has been shown since
            return
        self.comparison = kept.comparison
        if kept.comparison is not None:
            text = changes_text(kept.comparison, self.model.hours)
        else:
            text = KEPT_ROLLING if rolling else KEPT_FIRST
        self._say_changes(" ".join((*kept.problems, text)), "warn" if kept.problems else None)

    # ---- the support pack and the report ---------------------------------------------------
    def support_pack(self) -> asyncio.Task[Path | None] | None:
        """Ask where, then write the support pack (no nested loop); None: nothing to pack."""
        return self._export(self._ask_pack(), "reconcile-support-pack")

    def export_report(self) -> asyncio.Task[Path | None] | None:
        """Ask where, then write the ledger report; the suffix picks PDF, HTML or JSON."""
        return self._export(self._ask_report(), "reconcile-report")

    def _export(
        self, coro: Coroutine[Any, Any, Path | None], name: str
    ) -> asyncio.Task[Path | None] | None:
        if self.result is None or self._session is None or self.running or self._export_task:
            coro.close()
            return None
        self._export_task = self._start(coro, name)
        self._render_state()
        return self._export_task

    async def _ask_pack(self) -> Path | None:
        assert self.result is not None
        day = utc_now().astimezone(self.model.hours.zone)
        suggested = self._folder() / f"support-pack-{day:%Y-%m-%d}.zip"
        chosen = await self._chooser.ask(
            "Save the support pack", suggested, [exports.PACK_FILTER], "zip"
        )
        return None if chosen is None else await self.write_support_pack_to(chosen[0])

    async def write_support_pack_to(self, path: Path) -> Path | None:
        """Write the pack to ``path`` (".zip" added when missing); the outcome is said."""
        result, session = self.result, self._session
        if result is None or session is None:
            return None
        path = exports.pack_path(path)
        try:
            diagnosis = self.diagnosis_source()
            if diagnosis is None:
                self._say_outcome("Running the doctor's seven checks for the support pack…")
                diagnosis = await exports.diagnose_for_pack(session)
            self._say_outcome("Writing the support pack…")
            pack = await exports.write_pack(
                path,
                result=result,
                session=session,
                diagnosis=diagnosis,
                settings=self.report_settings(),
            )
        except (SupportPackError, ThreeCXError, OSError) as exc:
            self._not_written("Support pack not written", exc, path)
            return None
        self._say_outcome(
            f"Support pack written to {{where}}: {exports.pack_contents(pack)}. No key is in "
            "it; numbers and names are masked.",
            "pass",
            pack.path,
        )
        return pack.path

    async def _ask_report(self) -> Path | None:
        ledger = self.result.ledger if self.result else None
        assert ledger is not None
        hours = self.model.hours
        first, last = (at.astimezone(hours.zone) for at in (ledger.period_from, ledger.period_to))
        name = f"reconcile-report-{first:%Y-%m-%d}-to-{last:%Y-%m-%d}.pdf"
        chosen = await self._chooser.ask(
            "Save the ledger report", self._folder() / name, exports.report_filters(), "pdf"
        )
        if chosen is None:
            return None
        return await self.write_report_to(exports.report_path(*chosen))

    async def write_report_to(self, path: Path) -> Path | None:
        """Write the ledger report to ``path`` (its suffix picks the format); masked while
        presenter mode is on, or when the report preferences say so."""
        result, session = self.result, self._session
        if result is None or session is None:
            return None
        settings = self.report_settings()
        masked = self._presenter.enabled or settings.masks_report_details
        self._say_outcome("Writing the report…")
        try:
            written = await exports.write_report(
                path,
                result=result,
                hours=self.model.hours,
                masked=masked,
                customer=session.profile.customer,
                comparison=self.comparison,
                secrets=(session.secret,),
                logo=settings.logo_path,
            )
        except (ReportExportError, OSError) as exc:
            self._not_written("Report not written", exc, path)
            return None
        masking = " Numbers and names are masked." if masked else ""
        self._say_outcome(f"Report written to {{where}}.{masking}", "pass", written)
        return written

    def _not_written(self, what: str, exc: Exception, path: Path) -> None:
        log.warning("%s: %s", what, exc)
        self._say_outcome(f"{what}: {exc}", "fail", path)

    def _folder(self) -> Path:
        crm = self.form.crm_path
        return crm.parent if crm is not None else Path.home()

    # ---- the window's helpers and rendering ------------------------------------------------
    def select_call(self, call_id: str) -> bool:
        return self.ledger_view.select_call(call_id)

    def _render_state(self) -> None:
        self.form.render_state(connected=self._session is not None, busy=self.running)
        self.run_actions.render_state(
            running=self.running,
            finished=self.result is not None,
            exporting=self._export_task is not None,
        )

    def _say_changes(self, text: str, tone: str | None = None) -> None:
        self._changes = (text, tone)
        self.run_actions.show_changes(self._presenter.text(text), tone or "muted")

    def _say_outcome(self, text: str, tone: str | None = None, path: Path | None = None) -> None:
        """``{where}`` in ``text`` is ``path``, hidden while presenting (paths name folks)."""
        self._outcome = (text, tone, path)
        self._render_outcome()

    def _render_outcome(self) -> None:
        text, tone, path = self._outcome
        presenting = self._presenter.enabled
        if path is not None:
            shown = HIDDEN_WHERE if presenting else str(path)
            if "{where}" in text:
                text = text.replace("{where}", shown)
            elif presenting:  # an error quoting the path
                text = text.replace(str(path), "the chosen file")
        self.run_actions.show_outcome(self._presenter.text(text), tone)

    def _presenter_changed(self) -> None:
        self.form.render_error()
        self.ledger_view.render_summary(self.result.notes if self.result else ())
        self.ledger_view.render_timeline()
        self._say_changes(*self._changes)
        self._render_outcome()
