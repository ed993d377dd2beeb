"""The Fleet pane as the main window holds it: a row opens its connection in the Doctor tab,
the connection open in the window shows in full in presenter mode, and a sweep's results reach
the connections list.

The shell composes the features (they do not import one another); kept beside the window's
module so it adds the tab in one line.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

from PySide6.QtCore import SignalInstance
from PySide6.QtWidgets import QTabWidget

from app.ui.fleet.pane import FleetPane

if TYPE_CHECKING:
    from app.domain.diagnosis import Diagnosis
    from app.services.connections.store import ConnectionStore
    from app.services.session import PbxSession
    from app.ui.connections.pane import ConnectionsPane
    from app.ui.context import UiContext
    from app.ui.doctor.pane import DoctorPane


class MainWindow(Protocol):
    """What of the main window the Fleet tab uses (its module imports this one)."""

    sessionChanged: SignalInstance
    ui: UiContext
    store: ConnectionStore
    connections: ConnectionsPane
    doctor: DoctorPane
    tabs: QTabWidget

    @property
    def session(self) -> PbxSession | None: ...


def fleet_pane(window: MainWindow) -> FleetPane:
    """The pane, wired to ``window`` (its connections list, Doctor tab and session)."""
    pane = FleetPane(window.ui, window.store)
    pane.swept.connect(window.connections.reload)  # each run is the connection's last check
    pane.openRequested.connect(
        lambda connection_id: open_in_doctor(window, connection_id, pane.stored_run(connection_id))
    )
    window.sessionChanged.connect(pane.set_session)
    return pane


def open_in_doctor(
    window: MainWindow, connection_id: str, stored: tuple[Diagnosis, str] | None = None
) -> None:
    """Select the connection and show the Doctor tab as soon as its session is open (at once
    when it is open already): with its stored run when there is one, else checking it now."""

    def check() -> None:
        window.tabs.setCurrentWidget(window.doctor)
        if window.doctor.running:
            return
        if stored is not None:
            window.doctor.show_stored(*stored)
        else:
            window.doctor.run()

    def when_open(session: PbxSession | None) -> None:
        # Once: the window says so when the switch is done (None: it could not be opened).
        window.sessionChanged.disconnect(when_open)
        if session is not None and session.profile.id == connection_id:
            check()

    current = window.session
    if current is not None and current.profile.id == connection_id:
        check()
        return
    window.sessionChanged.connect(when_open)
    window.connections.select(connection_id)
