"""Recordings: find a call's recording by number, extension, dates or call id, and play it.

Each result says whether the recording exists (ready, archived, deleted by retention, missing,
not recorded, nothing to record), its age and the days left before auto-delete; the selected
row's status is explained below the table with the fix. Play streams the file into the
lookup's private temporary folder and hands it to the OS player; Save… writes it where the
engineer chooses. Nothing is copied anywhere by default: the PBX stays the system of record.
Every number and name on screen goes through the presenter.

The pane composes the search form, the results view (table, summary, details box) and the
downloads; it holds the connection's lookup, the customer's clock and the running tasks.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any, TypeVar

from PySide6.QtCore import QSortFilterProxyModel, Signal
from PySide6.QtWidgets import QVBoxLayout, QWidget

from app.domain.business_hours import BusinessHours
from app.services.pbx_access import ThreeCXError
from app.services.recordings.lookup import (
    QueryError,
    RecordingLookup,
    RecordingLookupError,
    RecordingQuery,
    RecordingRow,
    SearchResult,
)
from app.services.session import ContactsUnavailable, PbxSession
from app.ui.context import UiContext
from app.ui.recordings.downloads import RecordingDownloads, open_with_os_player
from app.ui.recordings.model import SORT_ROLE, RecordingResultsModel
from app.ui.recordings.results_view import RecordingResultsView
from app.ui.recordings.search_form import RecordingSearchForm
from app.ui.recordings.text import nothing_found_text
from app.ui.widgets.pane_tasks import PaneTasks

log = logging.getLogger(__name__)

T = TypeVar("T")

CHOOSE_A_CONNECTION = "Choose a connection on the left to look up its recordings."
HOW_TO_SEARCH = (
    "Search by number (any format), extension, dates or call id.\n"
    "Recordings stay on the PBX: nothing is downloaded until you press Play or Save…"
)


class RecordingsPane(QWidget):
    """Search a connection's calls and recordings; play, save or verify the selected one."""

    searched = Signal(object)  # SearchResult, after every completed search
    saveDialogOpened = Signal(object)  # the QFileDialog, just before it is shown

    def __init__(
        self,
        ui: UiContext,
        open_file: Callable[[Path], bool] | None = None,
        *,
        lookup_factory: Callable[[PbxSession], RecordingLookup] = RecordingLookup,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("recordingsPane")
        self._ui = ui
        self._presenter = ui.presenter
        self._lookup_factory = lookup_factory
        self._session: PbxSession | None = None
        self.lookup: RecordingLookup | None = None
        self._lookups: list[RecordingLookup] = []  # every one opened, closed in aclose()
        self._tasks = PaneTasks(ui.tasks, self._finished)
        self._search_task: asyncio.Task[SearchResult | None] | None = None
        self._contacts_task: asyncio.Task[None] | None = None
        self.result: SearchResult | None = None
        self.model = RecordingResultsModel(self._presenter, self)
        self.proxy = QSortFilterProxyModel(self)
        self.proxy.setSourceModel(self.model)
        self.proxy.setSortRole(SORT_ROLE)
        self._build(open_file or open_with_os_player)  # tests pass their own opener
        self._presenter.changed.connect(self._presenter_changed)
        self.results.set_empty(CHOOSE_A_CONNECTION)
        self._render_form_state()
        self.results.render_details()

    # ---- layout ----------------------------------------------------------------------------
    def _build(self, open_file: Callable[[Path], bool]) -> None:
        self.form = RecordingSearchForm(self._presenter)
        self.form.searchRequested.connect(self.search)
        self.form.cancelRequested.connect(self.cancel)
        self.results = RecordingResultsView(self.model, self.proxy, self._presenter)
        box = self.results.details_box
        box.play_button.clicked.connect(self.play)
        box.save_button.clicked.connect(self.save)
        box.verify_button.clicked.connect(self.verify)
        self.downloads = RecordingDownloads(self, box, self._presenter, open_file)
        self.downloads.saveDialogOpened.connect(self.saveDialogOpened)
        self.downloads.rowChecked.connect(self.results.row_checked)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(12, 10, 12, 10)
        layout.setSpacing(6)
        layout.addWidget(self.form)
        layout.addWidget(self.results, 1)
        self._name_widgets()
        self.form.reset_dates(self.results.zone)

    def _name_widgets(self) -> None:
        """The parts' widgets under the names the window and the tests know them by."""
        form, results, box = self.form, self.results, self.results.details_box
        self.number_edit = form.number_edit
        self.extension_edit = form.extension_edit
        self.from_date = form.from_date
        self.to_date = form.to_date
        self.call_id_edit = form.call_id_edit
        self.search_button = form.search_button
        self.cancel_button = form.cancel_button
        self.busy = form.busy
        self.error_label = form.error_label
        self.summary_label = results.summary_label
        self.notes_label = results.notes_label
        self.table = results.table
        self.empty_label = results.empty_label
        self.stack = results.stack
        self.details = box.details
        self.play_button = box.play_button
        self.save_button = box.save_button
        self.verify_button = box.verify_button
        self.action_label = box.action_label

    # ---- the customer's clock --------------------------------------------------------------
    async def _read_hours(self, session: PbxSession) -> BusinessHours:
        hours = await session.customer_hours()
        if session is self._session and hours != self.results.hours:
            untouched = self.form.dates_are_default(self.results.zone)
            self.results.use_hours(hours)
            if untouched:  # the customer's "today" may be another day than the guess's
                self.form.reset_dates(self.results.zone)
            self._render_summary()
            self.results.render_details()
        return hours

    # ---- the pane contract -----------------------------------------------------------------
    def set_session(self, session: PbxSession | None) -> None:
        if session is self._session:
            return
        self._cancel_all()
        if self.lookup is not None:
            # Its temporary recordings go now, not when the window closes.
            self._start(self.lookup.aclose(), "recordings-close-lookup")
        self._session = session
        self.lookup = self._lookup_factory(session) if session is not None else None
        if self.lookup is not None:
            self._lookups.append(self.lookup)
        self.results.use_hours(session.saved_hours if session is not None else BusinessHours())
        self._forget_results()
        self.results.set_empty(CHOOSE_A_CONNECTION if session is None else HOW_TO_SEARCH)
        self._render_form_state()
        self._render_summary()
        self.results.render_details()
        if session is not None:
            self._start(self._read_hours(session), "recordings-customer-clock")

    def _forget_results(self) -> None:
        """A new connection: nothing of the last one's results, contacts, errors or dates."""
        self.model.set_contacts(None)
        self.model.set_rows([])
        self.result = None
        self.form.forget_error()
        self.results.details_box.forget_action()
        self.form.reset_dates(self.results.zone)

    async def aclose(self) -> None:
        tasks = self._cancel_all()
        await asyncio.gather(*tasks, return_exceptions=True)
        lookups, self._lookups = self._lookups, []
        for lookup in lookups:
            await lookup.aclose()

    # ---- tasks -----------------------------------------------------------------------------
    def _cancel_all(self) -> list[asyncio.Task[Any]]:
        tasks = self._tasks.cancel_all()
        self._search_task = None
        self._contacts_task = None
        return tasks

    def _start(self, coro: Coroutine[Any, Any, T], name: str) -> asyncio.Task[T]:
        return self._tasks.start(coro, name)

    def _finished(self, task: asyncio.Task[Any]) -> None:
        if task is self._search_task:
            self._search_task = None
            self._render_form_state()
            if task.cancelled():
                # Also when cancelled before it ran: the coroutine's own handlers never ran.
                self._render_summary()
                self.summary_label.setText("Search cancelled.")
                if self.model.rowCount() == 0:
                    self.results.set_empty("Search cancelled. Change the search and press Search.")

    @property
    def searching(self) -> bool:
        return self._search_task is not None

    @property
    def contacts_task(self) -> asyncio.Task[None] | None:
        """The contacts being read for the Contact column, if they are."""
        return self._contacts_task

    @property
    def search_task(self) -> asyncio.Task[SearchResult | None] | None:
        """The search running now, if any."""
        return self._search_task

    # ---- search ----------------------------------------------------------------------------
    def search(self) -> asyncio.Task[SearchResult | None] | None:
        """Start a search with what the form holds; None when there is nothing to search."""
        if self.lookup is None or self._session is None:
            return None
        if self._search_task is not None:
            return self._search_task
        query = self.form.query(self.results.zone)
        if query is None:
            return None
        self.form.forget_error()
        self.results.details_box.forget_action()
        self.form.render_error()
        self._search_task = self._start(self._run_search(self.lookup, query), "recordings-search")
        self._render_form_state()
        return self._search_task

    def cancel(self) -> None:
        if self._search_task is not None:
            self._search_task.cancel()

    async def _run_search(
        self, lookup: RecordingLookup, query: RecordingQuery
    ) -> SearchResult | None:
        self.results.say_busy("Reading the call history and the recordings list…")
        query = await self._on_customer_days(query)
        try:
            if self.model.rowCount() == 0:
                self.results.set_empty("Searching the call history and recordings…")
            self._ensure_contacts()  # the Contact column fills in when they are read
            result = await lookup.search(query)
        except QueryError as error:
            self._search_failed(str(error), error.field)
            return None
        except RecordingLookupError as error:
            self._search_failed(f"{error.what} {error.fix}".strip(), "")
            return None
        except ThreeCXError as error:
            self._search_failed(f"{error.what} {error.next_step}".strip(), "")
            return None
        self._show_result(result)
        return result

    async def _on_customer_days(self, query: RecordingQuery) -> RecordingQuery:
        """The dates are the customer's days: on their clock, once it is known."""
        if self._session is None:
            return query
        await self._read_hours(self._session)
        return dataclasses.replace(
            query,
            since=query.since.replace(tzinfo=self.results.zone) if query.since else None,
            until=query.until.replace(tzinfo=self.results.zone) if query.until else None,
        )

    def _search_failed(self, message: str, field: str) -> None:
        self.form.show_error(message, field)
        self._render_summary()
        if self.model.rowCount() == 0 and self.result is None and self._session is not None:
            self.results.set_empty(HOW_TO_SEARCH)

    def _show_result(self, result: SearchResult) -> None:
        self.result = result
        self.model.set_rows(result.rows)
        self.results.show_rows()
        if not result.rows:
            self.results.set_empty(nothing_found_text(result, self._presenter, self.results.zone))
        self._render_summary()
        self.results.render_details()
        self.searched.emit(result)

    def _ensure_contacts(self) -> asyncio.Task[None] | None:
        """Start reading the contacts the customer's bridge searches, once per connection."""
        session = self._session
        if session is None or self._contacts_task is not None:
            return self._contacts_task
        self._contacts_task = self._start(self._load_contacts(session), "recordings-contacts")
        return self._contacts_task

    async def _load_contacts(self, session: PbxSession) -> None:
        try:
            contacts = await session.contact_matcher()
        except (ThreeCXError, ValueError, ContactsUnavailable) as error:
            log.warning("Contacts not read for the recordings lookup: %s", error)
            return
        if session is self._session:
            self.model.set_contacts(contacts)
            self.results.render_details()

    # ---- play, save, verify ----------------------------------------------------------------
    def selected_row(self) -> RecordingRow | None:
        return self.results.selected_row()

    def select_call(self, key: str) -> bool:
        """Select the row of call ``key``; False when the results do not hold it."""
        return self.results.select_call(key)

    def play(self) -> asyncio.Task[Path | None] | None:
        row = self.selected_row()
        if row is None or self.lookup is None or not row.playable:
            return None
        return self._start(self.downloads.play(self.lookup, row), "recordings-play")

    def save(self) -> asyncio.Task[Path | None] | None:
        row = self.selected_row()
        if row is None or self.lookup is None or not row.playable:
            return None
        return self._start(
            self.downloads.save(self.lookup, row, self.results.zone), "recordings-save"
        )

    def verify(self) -> asyncio.Task[RecordingRow | None] | None:
        row = self.selected_row()
        if row is None or self.lookup is None or row.recording_id is None:
            return None
        return self._start(self.downloads.verify(self.lookup, row), "recordings-verify")

    # ---- rendering -------------------------------------------------------------------------
    def _presenter_changed(self) -> None:
        self._render_form_state()
        self.form.render_error()
        self._render_summary()
        self.results.render_details()
        self.results.details_box.render_action()
        if self.result is not None and not self.result.rows:
            self.results.set_empty(
                nothing_found_text(self.result, self._presenter, self.results.zone)
            )

    def _render_form_state(self) -> None:
        self.form.render_state(connected=self._session is not None, busy=self.searching)

    def _render_summary(self) -> None:
        self.results.render_summary(self.result, connected=self._session is not None)
