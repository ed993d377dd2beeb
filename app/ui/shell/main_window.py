"""The window an engineer shares with a customer: connections on the left, the work on the right.

The window owns the open ``PbxSession`` (one per selected connection) and hands it to every
pane; panes never open their own clients. The guided setup ("Set up a PBX…") is a page of the
window's central stack that replaces connections and tabs while it is open: no second window,
no nested event loop. Closing the window closes the setup, cancels every task, closes the
session's client, and only then quits (``setQuitOnLastWindowClosed(False)``).

Start-up paints the window before it builds its panes: ``MainWindow()`` is the frame alone (Qt
only: toolbar, status bar, a "starting" page), which ``app.main`` shows at once; ``populate()``
then loads the panes and everything they import on the turn of the loop after that first
paint. ``MainWindow(ui, store, log_buffer)`` does both at once (tests, the self-test).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QCloseEvent
from PySide6.QtWidgets import (
    QDialog,
    QLabel,
    QMainWindow,
    QSplitter,
    QStackedWidget,
    QTabWidget,
)

from app import __version__
from app.ui.shell.frame_parts import (
    StartingPage,
    initial_size,
    sidebar_width,
    wide_enough_for_sidebar,
)
from app.ui.shell.toolbar import MainToolbar
from app.ui.shell.welcome import WelcomePage

# Only the frame's imports are at the top: the panes, the store and the session (httpx, the
# keyring, phone numbers...) load in populate(), after the first paint (startup time).
if TYPE_CHECKING:
    import asyncio

    from app.domain.connection import ConnectionProfile, LastCheck
    from app.domain.live import CallEvent
    from app.domain.triggers import SettledCall
    from app.services.connections.store import ConnectionStore
    from app.services.demo import DemoPbx
    from app.services.feed.webhook_receiver import WebhookReceiver
    from app.services.logs.buffer import LogBuffer
    from app.services.session import PbxSession
    from app.ui.connections.pane import ConnectionsPane
    from app.ui.context import SessionPane, UiContext
    from app.ui.doctor.pane import DoctorPane
    from app.ui.feed.pane import FeedPane
    from app.ui.reconcile.pane import ReconcilePane
    from app.ui.recordings.pane import RecordingsPane
    from app.ui.setup.wizard import SetupWizard
    from app.ui.shell.log_pane import LogPane
    from app.ui.shell.preferences_dialog import PreferencesDialog
    from app.ui.triggers.pane import TriggersPane

log = logging.getLogger(__name__)


class MainWindow(QMainWindow):
    """Connections, live calls, missed-call triggers, recordings, doctor, reconcile and log."""

    closed = Signal()
    sessionChanged = Signal(object)  # PbxSession | None, once every pane has it
    firstPainted = Signal()  # the frame is on screen: time to populate()

    # Set by populate(): the window's context, store, panes and work page.
    ui: UiContext
    store: ConnectionStore
    connections: ConnectionsPane
    feed: FeedPane
    triggers: TriggersPane
    recordings: RecordingsPane
    doctor: DoctorPane
    reconcile: ReconcilePane
    log_view: LogPane
    tabs: QTabWidget
    work_page: QSplitter

    def __init__(
        self,
        ui: UiContext | None = None,
        store: ConnectionStore | None = None,
        log_buffer: LogBuffer | None = None,
        *,
        feed_history_limit: int = 50_000,
    ) -> None:
        """With ``ui``, ``store`` and ``log_buffer``, the whole window; with none of them,
        the frame alone, until ``populate()``."""
        super().__init__()
        self.setWindowTitle("PBX Companion")
        self.setObjectName("mainWindow")
        self.resize(initial_size())
        self._session: PbxSession | None = None
        self._closing = False
        self._shutdown: asyncio.Task[None] | None = None
        self._receiver: WebhookReceiver | None = None  # started on demand
        self.preferences_dialog: PreferencesDialog | None = None
        self.wizard: SetupWizard | None = None  # the guided setup, while it is open
        self._wizard_closed: asyncio.Task[None] | None = None  # a finished setup's cleanup
        self.panes: list[SessionPane] = []  # handed the session; empty until populate()
        self._demo: DemoPbx | None = None  # the in-process demo PBX, once started
        self.populated = False
        self._sidebar_hidden_for_type = False  # Larger type hid the connections list

        self._build_frame()
        if ui is not None and store is not None and log_buffer is not None:
            self.populate(ui, store, log_buffer, feed_history_limit=feed_history_limit)
        elif ui is not None or store is not None or log_buffer is not None:
            raise TypeError("MainWindow takes ui, store and log_buffer together, or none")

    def _build_frame(self) -> None:
        """Toolbar, status bar and the starting page: what the first paint shows (Qt only)."""
        self._starting = StartingPage()
        self._starting.painted.connect(self.firstPainted)
        self.central = QStackedWidget()
        self.central.setObjectName("centralStack")
        self.central.addWidget(self._starting)
        self.setCentralWidget(self.central)
        self._build_toolbar()
        self._build_status_bar()

    def populate(
        self,
        ui: UiContext,
        store: ConnectionStore,
        log_buffer: LogBuffer,
        *,
        feed_history_limit: int = 50_000,
    ) -> None:
        """Build the panes in place of the starting page, and switch the toolbar on."""
        if self.populated:
            raise RuntimeError("the main window is already populated")
        self.ui = ui
        self.store = store
        self._build_panes(store, log_buffer, feed_history_limit)
        self._build_work_page()
        self._connect_panes()
        self._connect_toolbar()
        ui.presenter.changed.connect(self._on_presenter_changed)
        # Before the work page joins the window: at Larger type on a laptop the connections
        # list is hidden first, or the list and the tabs together would widen the window past
        # the screen (Qt grows a window to its minimum size, and never shrinks it back).
        self._on_presenter_changed()
        self.central.insertWidget(0, self.work_page)
        self.central.setCurrentWidget(self.work_page)
        self.central.removeWidget(self._starting)
        self._starting.deleteLater()
        self._connection_label.setText("No connection selected")
        self._show_welcome()
        self.populated = True

    def _build_panes(
        self, store: ConnectionStore, log_buffer: LogBuffer, feed_history_limit: int
    ) -> None:
        """The connections list, and the panes that are handed the session (``panes``)."""
        # Loaded here, after the first paint: they bring the services, httpx, the keyring.
        from app.ui.connections.pane import ConnectionsPane
        from app.ui.doctor.pane import DoctorPane
        from app.ui.feed.pane import FeedPane
        from app.ui.reconcile.pane import ReconcilePane
        from app.ui.recordings.pane import RecordingsPane
        from app.ui.shell.fleet_tab import fleet_pane
        from app.ui.shell.log_pane import LogPane
        from app.ui.triggers.pane import TriggersPane

        ui = self.ui
        self.connections = ConnectionsPane(ui, store)
        self.feed = FeedPane(ui, history_limit=feed_history_limit)
        self.triggers = TriggersPane(ui)
        self.recordings = RecordingsPane(ui)
        self.doctor = DoctorPane(ui, store=store)  # it may save a trusted certificate
        self.doctor.report_settings = lambda: store.settings  # read when a report is built
        self.reconcile = ReconcilePane(ui)
        self.reconcile.report_settings = lambda: store.settings
        self.reconcile.diagnosis_source = lambda: self.doctor.diagnosis  # for the support pack
        self.reconcile.form.attach_store(store)  # the connection remembers its CRM columns
        self.log_view = LogPane(ui, log_buffer)
        self.fleet = fleet_pane(self)  # every saved connection; its rows open in the doctor
        self.panes = [
            self.feed,
            self.triggers,
            self.recordings,
            self.doctor,
            self.reconcile,
            self.log_view,
        ]

    def _build_work_page(self) -> None:
        """Connections beside the tabs: the work page, first in the central stack."""
        self.tabs = QTabWidget()
        self.tabs.setDocumentMode(True)
        self.tabs.addTab(self.feed, "Live calls")
        self.tabs.addTab(self.triggers, "Missed-call triggers")
        self.tabs.addTab(self.recordings, "Recordings")
        self.tabs.addTab(self.doctor, "Doctor")
        self.tabs.addTab(self.reconcile, "Reconcile")
        self.tabs.addTab(self.fleet, "Fleet")
        self.tabs.addTab(self.log_view, "Log")

        self.welcome = WelcomePage()
        self.right = QStackedWidget()  # the welcome page while no connection is open
        self.right.addWidget(self.welcome)
        self.right.addWidget(self.tabs)
        splitter = QSplitter(Qt.Orientation.Horizontal)
        splitter.addWidget(self.connections)
        splitter.addWidget(self.right)
        splitter.setStretchFactor(0, 0)
        splitter.setStretchFactor(1, 1)
        sidebar = sidebar_width(self.width())
        splitter.setSizes([sidebar, max(self.width() - sidebar, 1)])
        self.work_page = splitter

    def _build_status_bar(self) -> None:
        self._connection_label = QLabel("Starting…")
        self._connection_label.setObjectName("connectionStatus")
        self.statusBar().addWidget(self._connection_label, 1)
        self.statusBar().addPermanentWidget(QLabel(f"v{__version__}"))

    def _connect_panes(self) -> None:
        self.connections.selected.connect(self._on_selected)
        self.connections.edited.connect(self._on_edited)
        self.connections.removed.connect(self._on_removed)
        self.connections.setupRequested.connect(self.show_setup)
        self.doctor.checked.connect(self._on_checked)
        self.doctor.trustSaved.connect(self._on_trust_saved)
        self.feed.callsSettled.connect(self._preview_triggers)
        self.welcome.setupRequested.connect(self.show_setup)
        self.welcome.demoRequested.connect(
            lambda: self.ui.tasks.start(self.start_demo(), name="start the demo")
        )
        self.welcome.nameGiven.connect(self._save_engineer_name)
        self.welcome.fleetRequested.connect(self.show_fleet)

    # ---- missed-call triggers and the webhook add-on -----------------------------------------
    def _preview_triggers(self, calls: list[SettledCall]) -> None:
        for call in calls:
            self.triggers.add_call(call)

    async def start_webhook_receiver(
        self, host: str = "127.0.0.1", port: int = 0, *, journal: bool = True
    ) -> str:
        """Listen for the 3CX webhook add-on on a local port; events join the live feed of
        the connection on screen, and (``journal``) the journal a reconciliation reads back.
        Returns the URL to put in the add-on's .ini file."""
        # aiohttp's server is loaded only when the receiver is wanted (startup time).
        from app.services.feed.webhook_journal import WebhookJournal
        from app.services.feed.webhook_receiver import WebhookReceiver

        if self._receiver is not None:
            await self._receiver.stop()
        receiver = WebhookReceiver(
            host,
            port,
            on_event=self._webhook_event,
            on_recording=self._webhook_recording,
            on_stats=lambda _stats: self._show_receiver_status(),
            journal=WebhookJournal() if journal else None,
        )
        url = await receiver.start()
        self._receiver = receiver
        self._show_receiver_status()
        return url

    def _webhook_event(self, event: CallEvent) -> None:
        feed, receiver = self.feed.feed, self._receiver
        if feed is not None and receiver is not None:
            feed.ingest(event, did=receiver.did_for(event.call_id))

    def _webhook_recording(self, call_id: str, urls: list[str]) -> None:
        if self.feed.feed is not None:
            self.feed.feed.recording_link(call_id, urls)

    def _show_receiver_status(self) -> None:
        if self._receiver is not None:
            self.triggers.set_receiver_status(self._receiver.status_text())

    # ---- toolbar -----------------------------------------------------------------------------
    def _build_toolbar(self) -> None:
        """The actions, shown at once but off until populate() wires them."""
        self.toolbar = MainToolbar(self)
        self.addToolBar(self.toolbar)
        self.presenter_action = self.toolbar.presenter
        self.large_type_action = self.toolbar.large_type
        self.sidebar_action = self.toolbar.sidebar
        self.setup_action = self.toolbar.setup
        self.doctor_action = self.toolbar.doctor
        self.settings_action = self.toolbar.settings

    def _connect_toolbar(self) -> None:
        self.presenter_action.setChecked(self.ui.presenter.enabled)
        self.presenter_action.toggled.connect(self._set_presenter)
        self.large_type_action.setChecked(self.ui.presenter.large_type)
        self.large_type_action.toggled.connect(self._set_large_type)
        self.sidebar_action.toggled.connect(self._show_sidebar)
        self.setup_action.triggered.connect(self.show_setup)
        self.doctor_action.triggered.connect(self._run_doctor)
        self.settings_action.triggered.connect(self.edit_preferences)
        self.toolbar.enable()

    def _show_sidebar(self, on: bool) -> None:
        self.connections.setVisible(on)
        self._sidebar_hidden_for_type = False  # the engineer's own choice from now on

    def _fit_sidebar(self) -> None:
        """Larger type on a laptop screen: the calls need the width more than the list does.
        The list comes back when Larger type goes off, unless the engineer chose otherwise."""
        large = self.ui.presenter.large_type
        if large and not wide_enough_for_sidebar(self.width()) and self.sidebar_action.isChecked():
            self.sidebar_action.setChecked(False)
            self._sidebar_hidden_for_type = True
        elif not large and self._sidebar_hidden_for_type:
            self.sidebar_action.setChecked(True)

    def _set_presenter(self, on: bool) -> None:
        self.ui.presenter.set_enabled(on)
        self._save_preferences()

    def _set_large_type(self, on: bool) -> None:
        self.ui.presenter.set_large_type(on)
        self._save_preferences()

    def _save_preferences(self) -> None:
        if self._closing:
            return
        self.ui.tasks.start(
            self.store.set_preferences(
                presenter_mode=self.ui.presenter.enabled,
                large_type=self.ui.presenter.large_type,
            ),
            name="save preferences",
        )

    def _on_presenter_changed(self) -> None:
        on = self.ui.presenter.enabled
        self.toolbar.presenter_badge.setVisible(on)
        self._fit_sidebar()
        if self.presenter_action.isChecked() != on:
            self.presenter_action.setChecked(on)
        if self.large_type_action.isChecked() != self.ui.presenter.large_type:
            self.large_type_action.setChecked(self.ui.presenter.large_type)

    def edit_preferences(self) -> asyncio.Task[None]:
        from app.ui.shell.preferences_dialog import PreferencesDialog  # after the first paint

        dialog = PreferencesDialog(self, self.store.settings)
        self.preferences_dialog = dialog
        return self.ui.tasks.start(self._edit_preferences(dialog), name="settings")

    async def _edit_preferences(self, dialog: PreferencesDialog) -> None:
        from app.ui.dialogs import run_dialog

        try:
            if await run_dialog(dialog) != QDialog.DialogCode.Accepted:
                return
            settings = await self.store.set_preferences(**dialog.values())
            self.connections.set_key_age_warning_days(settings.key_age_warning_days)
        finally:
            self.preferences_dialog = None
            dialog.deleteLater()

    def _run_doctor(self) -> None:
        self.tabs.setCurrentWidget(self.doctor)
        if self._session is not None:
            self.doctor.run()

    # ---- guided setup ------------------------------------------------------------------------
    def show_setup(self) -> SetupWizard | None:
        """Show the guided setup in place of connections and tabs; they come back when it
        finishes (the new connection selected) or is cancelled. None while closing."""
        if self._closing:
            return None
        if self.wizard is None:
            wizard = self._new_wizard()
            wizard.finished.connect(self._on_setup_finished)
            wizard.cancelled.connect(self._close_setup)
            self.central.addWidget(wizard)
            self.wizard = wizard
        self.central.setCurrentWidget(self.wizard)
        self.doctor_action.setEnabled(False)  # the doctor's tab is not on screen
        return self.wizard

    def _new_wizard(self) -> SetupWizard:
        # Loaded on first use: most sessions never open it (startup time).
        from app.ui.setup.wizard import SetupWizard

        return SetupWizard(self.ui, self.store, self)

    def _close_setup(self) -> None:
        wizard, self.wizard = self.wizard, None
        self.central.setCurrentWidget(self.work_page)
        self.doctor_action.setEnabled(True)
        if wizard is not None:
            self.central.removeWidget(wizard)
            wizard.hide()
            if not self._closing:
                self._wizard_closed = self.ui.tasks.start(self._dispose(wizard), name="close setup")

    @staticmethod
    async def _dispose(wizard: SetupWizard) -> None:
        # Its checks may still hold a client to the PBX: closed before the widget goes.
        try:
            await wizard.aclose()
        finally:
            wizard.deleteLater()

    def _on_setup_finished(self, connection_id: str) -> None:
        self._close_setup()
        self.connections.reload()
        self.connections.select(connection_id)

    # ---- first steps ---------------------------------------------------------------------------
    def _show_welcome(self) -> None:
        settings = self.store.settings
        self._show_welcome_state(name_known=bool(settings.engineer_name))
        self.right.setCurrentWidget(self.welcome)

    def _show_welcome_state(self, *, name_known: bool) -> None:
        connections = self.store.connections()
        self.welcome.show_state(
            has_connections=bool(connections),
            name_known=name_known,
            has_saved=any(not profile.demo for profile in connections),
        )

    def show_fleet(self) -> None:
        """The Fleet tab, whether or not a connection is open (it needs none)."""
        self.right.setCurrentWidget(self.tabs)
        self.tabs.setCurrentWidget(self.fleet)

    def _save_engineer_name(self, name: str) -> None:
        async def save() -> None:
            await self.store.set_preferences(engineer_name=name)
            self._show_welcome_state(name_known=True)

        self.ui.tasks.start(save(), name="save your name")

    async def start_demo(self) -> DemoPbx:
        """The demo PBX in this process, listed and opened; stopped when the window closes."""
        if self._demo is not None:
            self.connections.select(self._demo.profile.id)
            return self._demo
        from app.services.demo import start_demo  # the simulator: loaded only for the demo

        self._demo = demo = await start_demo()
        self.add_demo(demo.profile, demo.secret)
        self.tabs.setCurrentWidget(self.feed)
        # The demo PBX also plays the third-party webhook add-on, so that source shows too.
        # Its calls are not the customer's: they stay out of the receiver's journal.
        demo.sim.set_webhook_target(await self.start_webhook_receiver(journal=False))
        return demo

    # ---- connections -------------------------------------------------------------------------
    def add_demo(self, profile: ConnectionProfile, secret: str) -> None:
        """Show the in-process demo PBX as a connection; its key stays in memory."""
        self.store.add_demo(profile, secret)
        self.connections.add_demo(profile)
        self.connections.select(profile.id)

    @property
    def session(self) -> PbxSession | None:
        return self._session

    def _on_selected(self, connection_id: str | None) -> None:
        self.ui.tasks.start(self._switch_to(connection_id), name="open connection")

    async def _switch_to(self, connection_id: str | None) -> None:
        old, self._session = self._session, None
        for pane in self.panes:
            pane.set_session(None)
        if old is not None:
            await old.aclose()
        if connection_id is None:
            self._connection_label.setText("No connection selected")
            self._show_welcome()
            self.sessionChanged.emit(None)
            return
        try:
            session = await self._open(connection_id)
        except Exception as error:  # every failure reaches the engineer, never a crash
            log.warning("Could not open connection: %s", error)
            self._connection_label.setText(f"Could not open the connection: {error}")
            self._show_welcome()
            self.sessionChanged.emit(None)
            return
        self._session = session
        self.right.setCurrentWidget(self.tabs)
        for pane in self.panes:
            pane.set_session(session)
        profile = session.profile
        where = "demo PBX on this computer" if profile.demo else profile.url
        self._connection_label.setText(f"{profile.name}: {where}")
        self.sessionChanged.emit(session)
        if not profile.demo and not self._closing:
            self.ui.tasks.start(
                self.store.set_preferences(last_connection_id=profile.id), name="remember"
            )

    async def _open(self, connection_id: str) -> PbxSession:
        profile = self.store.get(connection_id)
        demo = profile is not None and profile.demo
        return await self.store.open_session(connection_id, poll_interval_s=2.0 if demo else 5.0)

    def _on_edited(self, connection_id: str) -> None:
        if self._session is not None and self._session.profile.id == connection_id:
            self._on_selected(connection_id)  # reopen with the new address or key

    def _on_trust_saved(self, profile: ConnectionProfile) -> None:
        """The doctor pinned a certificate: list and reopen the connection with it."""
        self.connections.reload()
        self._on_edited(profile.id)

    def _on_removed(self, connection_id: str) -> None:
        if self._session is not None and self._session.profile.id == connection_id:
            self._on_selected(None)

    def _on_checked(self, last_check: LastCheck) -> None:
        session = self._session
        if session is None:
            return
        # The pane shows it at once and saves it (demo connections are never saved).
        self.connections.refresh_status(session.profile.id, last_check)
        diagnosis = self.doctor.diagnosis
        if diagnosis is not None and not session.profile.demo:
            # The run joins the fleet's history, so `fleet changes` compares against it too.
            from app.services.fleet.tracking import keep_app_run

            days = self.store.settings.key_age_warning_days
            self.ui.tasks.start(keep_app_run(session.profile, diagnosis, days), name="history")

    # ---- shutdown ----------------------------------------------------------------------------
    def closeEvent(self, event: QCloseEvent) -> None:
        if self._closing:
            event.accept()
            return
        event.ignore()
        import asyncio  # not at the top: the frame paints before asyncio loads (startup)

        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # closed while start-up waited for the first paint: no loop yet
            event.accept()
            return
        self._closing = True
        self._shutdown = loop.create_task(self._shut_down())

    async def _shut_down(self) -> None:
        try:
            if self.populated:  # a frame closed before its panes were built has none to close
                await self._close_work()
        finally:
            self.hide()
            self.closed.emit()

    async def _close_work(self) -> None:
        import asyncio

        if self.preferences_dialog is not None:
            self.preferences_dialog.reject()
        if self.wizard is not None:
            try:
                # It discards a key staged for a connection that was never saved.
                await asyncio.wait_for(self.wizard.aclose(), 5)
            except Exception:
                log.exception("The guided setup did not close cleanly")
        if self._wizard_closed is not None:
            await asyncio.wait([self._wizard_closed], timeout=5)
        closing: list[SessionPane | ConnectionsPane] = [*self.panes, self.connections]
        for pane in closing:
            try:
                await asyncio.wait_for(pane.aclose(), 5)
            except Exception:
                log.exception("A pane did not close cleanly")
        if self._receiver is not None:
            await self._receiver.stop()
        if self._session is not None:
            await self._session.aclose()
            self._session = None
        if self._demo is not None:  # after the session that talks to it
            await self._demo.stop()
        await self.ui.tasks.aclose()
