"""Saved connections to simulated PBXs (keys held for the session), and a Fleet pane over them."""

from __future__ import annotations

import asyncio

from PySide6.QtCore import Qt

from app.domain.connection import ConnectionProfile, new_connection_id
from app.services.connections.store import ConnectionStore
from app.services.fleet.sweep import FleetSweep, SweepSettings
from app.sim import Simulator
from app.ui.context import UiContext
from app.ui.fleet.model import ID_ROLE, STATES_ROLE
from app.ui.fleet.pane import FleetPane

SWEEP_TIMEOUT_S = 90
QUICK = SweepSettings(concurrency=4, deadline_s=30)


async def session_store() -> ConnectionStore:
    store = await ConnectionStore.open()
    store.use_session_only()
    return store


async def save(
    store: ConnectionStore,
    name: str,
    url: str,
    key: str,
    *,
    customer: str = "",
    ca_file: str | None = None,
    connection_id: str | None = None,
) -> str:
    profile = ConnectionProfile(
        id=connection_id or new_connection_id(),
        name=name,
        url=url,
        client_id="900",
        customer=customer,
        ca_file=ca_file,
    )
    saved = await store.add(profile, key)
    return saved.id


async def save_sim(store: ConnectionStore, name: str, sim: Simulator, *, customer: str = "") -> str:
    return await save(
        store, name, sim.url, sim.client_secret, customer=customer, ca_file=sim.ca_file
    )


def make_pane(ui: UiContext, store: ConnectionStore) -> FleetPane:
    pane = FleetPane(ui, store)
    pane.settings = QUICK
    pane.resize(1100, 700)
    pane.show()
    return pane


async def sweep_to_end(pane: FleetPane) -> FleetSweep:
    pane.sweep_button.click()
    task = pane.sweep_task
    assert task is not None
    result = await asyncio.wait_for(task, SWEEP_TIMEOUT_S)
    assert result is not None
    return result


async def loaded(pane: FleetPane) -> None:
    task = pane.reload()
    assert task is not None
    await asyncio.wait_for(task, 20)


def view_ids(pane: FleetPane) -> list[str]:
    return pane.proxy.shown_ids()


def cell(pane: FleetPane, connection_id: str, column: int, role: int = 0) -> object:
    """What the view shows in a connection's row (``role`` 0: the text)."""
    for row in range(pane.proxy.rowCount()):
        index = pane.proxy.index(row, column)
        if index.data(ID_ROLE) == connection_id:
            return index.data(role or Qt.ItemDataRole.DisplayRole)
    raise AssertionError(f"{connection_id} is not shown")


def dots(pane: FleetPane, connection_id: str) -> tuple[object, ...]:
    from app.ui.fleet.model import CHECKS

    states = cell(pane, connection_id, CHECKS, STATES_ROLE)
    assert isinstance(states, tuple)
    return states
