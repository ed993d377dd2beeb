"""Reconcile: did every call of a period land? The PBX's calls against the CRM's activity export
and the bridge's logs, each call with one state and its cause (issue 21, seed 000, seed 003).

The pane composes the inputs form and the ledger view; it holds the session, the customer's
clock and the running reconciliation. The files are read off the GUI loop by the service
(``run_reconcile``); its progress shows under the form. A bad file, unreadable columns or a
PBX failure is said in words under the form, and the inputs stay as they were.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine
from datetime import datetime
from typing import Any, TypeVar

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QVBoxLayout, QWidget

from app.domain.business_hours import BusinessHours
from app.domain.contact_match import display_name
from app.services.pbx_access import ThreeCXError
from app.services.reconcile.activity_columns import ActivityColumnsError
from app.services.reconcile.bridge_log import BridgeLogError
from app.services.reconcile.crm_activities import ActivitiesFileError
from app.services.reconcile.run import ReconcileInputs, ReconcileResult, run_reconcile
from app.services.session import PbxSession
from app.ui.context import UiContext
from app.ui.reconcile.inputs_form import ReconcileInputsForm
from app.ui.reconcile.ledger_view import LedgerView
from app.ui.reconcile.model import LedgerModel
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


class ReconcilePane(QWidget):
    """The period's call ledger, filtered by state, with the selected call's timeline."""

    reconciled = Signal(object)  # ReconcileResult, after every completed run

    def __init__(self, ui: UiContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("reconcilePane")
        self._ui = ui
        self._presenter = ui.presenter
        self._session: PbxSession | None = None
        self._tasks = PaneTasks(ui.tasks, self._finished)
        self._run_task: asyncio.Task[ReconcileResult | None] | None = None
        self.hours_task: asyncio.Task[BusinessHours] | None = None  # the customer's clock read
        self.result: ReconcileResult | None = None
        self.model = LedgerModel(self._presenter, self)
        self.form = ReconcileInputsForm(self._presenter)
        self.form.runRequested.connect(self.run)
        self.ledger_view = LedgerView(self.model, self._presenter)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(12, 10, 12, 10)
        layout.setSpacing(6)
        layout.addWidget(self.form)
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
        self.result = None
        self.ledger_view.show_ledger(None)
        self.ledger_view.set_empty(CHOOSE_A_CONNECTION if session is None else HOW_TO_RUN)
        self.form.say_progress("")
        self.form.show_error("", "")
        self._use_hours(session.saved_hours if session is not None else BusinessHours())
        self._render_state()
        if session is not None:
            self.hours_task = self._start(self._read_hours(session), "reconcile-customer-clock")

    async def aclose(self) -> None:
        await asyncio.gather(*self._cancel_all(), return_exceptions=True)

    # ---- the customer's clock --------------------------------------------------------------
    def _use_hours(self, hours: BusinessHours) -> None:
        untouched = self.form.dates_are_default(self.model.hours.zone)
        self.model.set_hours(hours)
        if untouched:  # the customer's "today" may be another day than the guess's
            self.form.reset_dates(hours.zone)
        self.ledger_view.render_summary(self.result.notes if self.result else ())
        self.ledger_view.render_timeline()

    async def _read_hours(self, session: PbxSession) -> BusinessHours:
        hours = await session.customer_hours()
        if session is self._session and hours != self.model.hours:
            self._use_hours(hours)
        return hours

    # ---- tasks -----------------------------------------------------------------------------
    def _cancel_all(self) -> list[asyncio.Task[Any]]:
        tasks = self._tasks.cancel_all()
        self._run_task = None
        return tasks

    def _start(self, coro: Coroutine[Any, Any, T], name: str) -> asyncio.Task[T]:
        return self._tasks.start(coro, name)

    def _finished(self, task: asyncio.Task[Any]) -> None:
        if task is self._run_task:
            self._run_task = None
            if task.cancelled():
                self.form.say_progress("Reconciliation cancelled.")
            self._render_state()

    @property
    def running(self) -> bool:
        return self._run_task is not None

    @property
    def run_task(self) -> asyncio.Task[ReconcileResult | None] | None:
        return self._run_task

    # ---- run -------------------------------------------------------------------------------
    def run(self) -> asyncio.Task[ReconcileResult | None] | None:
        """Reconcile what the form holds; None when there is nothing to run (error shown)."""
        session = self._session
        if session is None:
            return None
        if self._run_task is not None:
            return self._run_task
        problem = self.form.problem()
        period = self.form.period(self.model.hours.zone) if problem is None else None
        if problem is not None:
            self.form.show_error(*problem)
        if period is None:
            return None
        crm = self.form.crm_path
        assert crm is not None  # problem() said so
        inputs = ReconcileInputs(crm, self.form.bridge_logs)
        self.form.show_error("", "")
        self._run_task = self._start(self._run(session, period, inputs), "reconcile-run")
        self._render_state()
        return self._run_task

    async def _run(
        self, session: PbxSession, period: tuple[datetime, datetime], inputs: ReconcileInputs
    ) -> ReconcileResult | None:
        self.form.say_progress("Starting…")
        try:
            await self._read_hours(session)
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
        return result

    def _failed(self, message: str, field: str) -> None:
        log.info("Reconcile did not run: %s", message)
        self.form.say_progress("")
        self.form.show_error(message, field)

    def _show(self, result: ReconcileResult) -> None:
        self.result = result
        self._learn_names(result)
        s = result.ledger.summary
        self.form.say_progress(f"Reconciled {s.calls:,} calls.")
        self.ledger_view.show_ledger(result.ledger, result.notes)
        if not result.ledger.entries:
            self.ledger_view.set_empty("No external calls in this period. Widen the dates.")
        self.reconciled.emit(result)

    def _learn_names(self, result: ReconcileResult) -> None:
        """Names turn up inside the evidence: presenter mode masks them there too."""
        names = [m.activity.contact for e in result.ledger.entries for m in e.crm]
        for entry in result.ledger.entries:
            match = entry.call.bridge_match
            if match is not None:
                names += [display_name(c) for c in match.contacts]
        self._presenter.masker.learn_names(n for n in names if n)

    # ---- the window's helpers and rendering ------------------------------------------------
    def select_call(self, call_id: str) -> bool:
        return self.ledger_view.select_call(call_id)

    def _render_state(self) -> None:
        self.form.render_state(connected=self._session is not None, busy=self.running)

    def _presenter_changed(self) -> None:
        self.form.render_error()
        self.ledger_view.render_summary(self.result.notes if self.result else ())
        self.ledger_view.render_timeline()
