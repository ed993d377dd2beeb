"""The Fleet pane against simulated PBXs: Sweep now with live progress, each row's dots naming
the doctor's first failing cause, bad input as rows with findings, what changed since the last
good run with its fix, presenter initials, the filter, sorting, cancelling and the empty states.
"""

from __future__ import annotations

import asyncio
from dataclasses import replace

from PySide6.QtCore import Qt

from app.domain.clock import utc_now
from app.domain.connection import CheckStatusSummary
from app.domain.diagnosis import CHECK_ORDER, TITLES, CheckId
from app.domain.fleet.changes import CERT_CHANGED_FIX, KEY_ROTATED_FIX, UPGRADE_FIX
from app.services.fleet.history import FleetHistory
from app.services.fleet.since import rows_since_last_good
from app.services.fleet.sweep import SweepSettings
from app.sim import Simulator
from app.ui.context import UiContext
from app.ui.fleet.model import CHANGES, CHECKS, CUSTOMER, FINDING, NAME
from app.ui.fleet.text import NEVER_CHECKED, NO_CONNECTIONS
from app.ui.theme import Mark
from tests.conftest import SimFactory
from tests.support.waiting import until
from tests.support.widget_text import visible_texts
from tests.ui.conftest import profile_for
from tests.ui.connections.test_key_rotation_dialog import generate_in_console
from tests.ui.fleet.fleet_setup import (
    cell,
    dots,
    loaded,
    make_pane,
    save,
    save_sim,
    session_store,
    sweep_to_end,
    view_ids,
)

FAULTED = {
    "Harbour Main": ([], None),
    "Bayside Vets": (["retention-deleted"], CheckId.RETENTION),
    "Hillcrest": (["missing-recording-role"], CheckId.API_ROLES),
}


def first_fail(states: tuple[object, ...]) -> CheckId | None:
    return next((CHECK_ORDER[i] for i, s in enumerate(states) if s is Mark.FAIL), None)


async def test_sweep_now_shows_each_pbx_by_its_first_failing_cause_live(
    ui: UiContext, make_sim: SimFactory
) -> None:
    store = await session_store()
    ids: dict[str, str] = {}
    for name, (faults, _) in FAULTED.items():
        sim = await make_sim(tls=True, faults=faults)
        ids[name] = await save_sim(store, name, sim, customer=f"{name} Ltd")
    healthy = store.get(ids["Harbour Main"])
    assert healthy is not None
    ids["Old Site"] = await save(store, "Old Site", "https://pbx.invalid:5001", "k" * 32)
    ids["No Key"] = await save(store, "No Key", healthy.url, "k" * 32, ca_file=healthy.ca_file)
    await store._secrets.delete(ids["No Key"])  # type: ignore[union-attr]
    pane = make_pane(ui, store)
    await loaded(pane)
    for connection_id in ids.values():  # nothing stored yet
        assert cell(pane, connection_id, FINDING) == NEVER_CHECKED
        assert set(dots(pane, connection_id)) == {Mark.IDLE}
    said: list[str] = []
    pane.model.dataChanged.connect(lambda *_: said.append(pane.status_label.text()))
    swept: list[bool] = []
    pane.swept.connect(lambda: swept.append(True))

    result = await sweep_to_end(pane)

    # Live: every row was "checking" before its PBX answered, and the count went up to N.
    assert {f"Sweeping: {n} of 5 done…" for n in range(5)} <= set(said)
    assert len(result.rows) == 5 and swept == [True]
    for name, (_, cause) in FAULTED.items():
        assert first_fail(dots(pane, ids[name])) is cause, name
    assert Mark.FAIL not in dots(pane, ids["Harbour Main"])
    # A PBX that could not be checked is a row with a finding that says why.
    unreachable = dots(pane, ids["Old Site"])
    assert first_fail(unreachable) is CheckId.REACHABILITY
    assert str(cell(pane, ids["Old Site"], FINDING)).startswith("Unreachable: ")
    assert "pbx.invalid" in str(cell(pane, ids["Old Site"], FINDING))
    assert "No key is stored for No Key" in str(cell(pane, ids["No Key"], FINDING))
    assert set(dots(pane, ids["No Key"])) == {Mark.IDLE}
    # Each dot says its state in the doctor's words, not by colour alone.
    tip = str(cell(pane, ids["Bayside Vets"], CHECKS, Qt.ItemDataRole.ToolTipRole))
    assert f"6. {TITLES[CheckId.RETENTION]}: Fail — " in tip
    assert f"1. {TITLES[CheckId.LICENCE]}: Pass" in tip
    # Worst first: unreachable rows lead, the healthy one is last.
    shown = view_ids(pane)
    assert shown[0] in (ids["Old Site"],) and shown[-1] in (ids["Harbour Main"], ids["No Key"])
    # The sweep's runs are each connection's last check, as `fleet sweep` makes them.
    saved = store.get(ids["Bayside Vets"])
    assert saved is not None and saved.status is CheckStatusSummary.FAIL
    assert "1 unreachable" in pane.status_label.text()
    assert not pane.cancel_button.isVisible() and pane.sweep_button.isEnabled()

    # A fresh pane reads the same from the history (no PBX contacted).
    again = make_pane(ui, store)
    await loaded(again)
    assert dots(again, ids["Bayside Vets"]) == dots(pane, ids["Bayside Vets"])


async def test_an_upgrade_and_a_renewed_certificate_show_against_the_last_good_run(
    ui: UiContext, make_sim: SimFactory
) -> None:
    store = await session_store()
    sim = await make_sim(tls=True)
    connection_id = await save_sim(store, "Harbour Main", sim, customer="Harbour Dental")
    pane = make_pane(ui, store)
    await sweep_to_end(pane)
    pane.select(connection_id)
    assert cell(pane, connection_id, CHANGES) == "0"
    assert pane.details.text() == "No good run stored before this one to compare with."

    sim.version = "20.0.11.2001"  # the customer's 3CX was upgraded
    sim.faults.enable("tls-renewed")
    await sweep_to_end(pane)

    pane.select(connection_id)
    details = pane.details.text()
    assert details.startswith("Changes since the last good run (")
    assert (
        f"{CheckId.REACHABILITY.order}. {TITLES[CheckId.REACHABILITY]} — 3CX was upgraded from 20.0.10.1116 to 20.0.11.2001."
        in details
    )
    assert f"What to do: {UPGRADE_FIX}" in details
    assert "another certificate than at the last good run" in details
    assert f"What to do: {CERT_CHANGED_FIX}" in details
    assert int(str(cell(pane, connection_id, CHANGES))) >= 2
    # The same changes as `fleet changes` reads from the history, in a fresh pane.
    with FleetHistory.open() as history:
        [row] = rows_since_last_good(
            history, store.connections(), now=utc_now(), key_warning_days=180
        )
    fresh = make_pane(ui, store)
    await loaded(fresh)
    fresh.select(connection_id)
    assert fresh.details.text() == details
    assert all(change.finding in details for change in row.changes)


async def test_a_rotated_key_shows_against_the_last_good_run(ui: UiContext, sim: Simulator) -> None:
    store = await session_store()
    connection_id = await save_sim(store, "Harbour Main", sim)
    pane = make_pane(ui, store)
    await sweep_to_end(pane)
    rotation = await store.rotate_key(connection_id, await generate_in_console(sim))
    assert rotation.profile.key_rotated_at is not None
    await sweep_to_end(pane)
    pane.select(connection_id)
    assert "The API key was rotated on " in pane.details.text()
    assert f"What to do: {KEY_ROTATED_FIX}" in pane.details.text()


async def test_presenter_mode_shows_other_customers_as_initials(
    ui: UiContext, sim: Simulator, session: object
) -> None:
    store = await session_store()
    mine = profile_for(sim)
    await store.add(mine, sim.client_secret)
    other = await save(
        store, "Bayside Main", "https://bayside.invalid", "k" * 32, customer="Bayside Vets"
    )
    pane = make_pane(ui, store)
    pane.set_session(session)  # type: ignore[arg-type]
    ui.presenter.set_enabled(True)
    assert cell(pane, other, NAME) == "B. M."
    assert cell(pane, other, CUSTOMER) == "B. V."
    assert cell(pane, mine.id, NAME) == mine.name  # the connection on screen, as the list does
    pane.select(other)
    texts = " ".join(seen.text for seen in visible_texts(pane))
    assert "Bayside" not in texts
    pane.filter_edit.setText("bayside")  # still filters by the real name, shown as bullets
    assert view_ids(pane) == [other]
    assert "bayside" not in pane.filter_edit.displayText()
    ui.presenter.set_enabled(False)
    assert cell(pane, other, NAME) == "Bayside Main"


async def test_the_filter_narrows_the_rows_and_the_sweep_and_columns_sort(
    ui: UiContext,
) -> None:
    store = await session_store()
    ids = {
        name: await save(store, name, f"https://{n}.invalid", "k" * 32, customer=customer)
        for n, (name, customer) in enumerate(
            [("Zeta", "Harbour Dental"), ("Alpha", "Bayside Vets"), ("Mid", "Harbour Dental")]
        )
    }
    pane = make_pane(ui, store)
    pane.table.sortByColumn(NAME, Qt.SortOrder.AscendingOrder)
    assert view_ids(pane) == [ids["Alpha"], ids["Mid"], ids["Zeta"]]
    pane.table.sortByColumn(NAME, Qt.SortOrder.DescendingOrder)
    assert view_ids(pane) == [ids["Zeta"], ids["Mid"], ids["Alpha"]]
    pane.filter_edit.setText("  harbour ")
    assert sorted(view_ids(pane)) == sorted([ids["Zeta"], ids["Mid"]])
    assert pane.sweep_button.text() == "Sweep shown"
    pane.settings = replace(pane.settings, deadline_s=5)
    result = await sweep_to_end(pane)
    assert {row.name for row in result.rows} == {"Zeta", "Mid"}  # only what the filter shows
    pane.filter_edit.clear()
    assert cell(pane, ids["Alpha"], FINDING) == NEVER_CHECKED
    assert str(cell(pane, ids["Zeta"], FINDING)).startswith("Unreachable: ")
    pane.table.sortByColumn(FINDING, Qt.SortOrder.AscendingOrder)
    assert view_ids(pane)[0] == ids["Alpha"]  # "Never checked…" before "Unreachable…"


async def test_cancel_keeps_what_finished_and_leaves_the_rest_on_their_last_run(
    ui: UiContext, make_sim: SimFactory
) -> None:
    store = await session_store()
    hung = await save_sim(store, "Hung", await make_sim(tls=True, faults=["hang"]))
    healthy = await save_sim(store, "Healthy", await make_sim(tls=True))
    pane = make_pane(ui, store)
    pane.settings = SweepSettings(concurrency=2, deadline_s=600)
    pane.sweep_button.click()
    task = pane.sweep_task
    assert task is not None
    await until(lambda: pane.progress.value() == 1, "the healthy PBX's run", 60)
    assert pane.status_label.text() == "Sweeping: 1 of 2 done…"
    assert pane.cancel_button.isVisible() and not pane.sweep_button.isEnabled()
    assert cell(pane, hung, FINDING) == "Checking…"
    pane.cancel_button.click()
    await asyncio.gather(task, return_exceptions=True)
    assert task.cancelled()
    assert pane.status_label.text() == "Cancelled after 1 of 2: the rest show their last run."
    assert cell(pane, hung, FINDING) == NEVER_CHECKED
    assert Mark.PASS in dots(pane, healthy)
    assert pane.sweep_button.isEnabled() and not pane.cancel_button.isVisible()


async def test_empty_states(ui: UiContext) -> None:
    store = await session_store()
    pane = make_pane(ui, store)
    assert pane.stack.currentWidget() is pane.empty_label
    assert pane.empty_label.text() == NO_CONNECTIONS
    assert not pane.sweep_button.isEnabled() and pane.sweep() is None
    connection_id = await save(store, "New Site", "https://new.invalid", "k" * 32)
    await loaded(pane)
    assert pane.stack.currentWidget() is pane.table
    assert cell(pane, connection_id, FINDING) == NEVER_CHECKED
    assert cell(pane, connection_id, CHANGES) == ""
    pane.select(connection_id)
    assert pane.details.text() == NEVER_CHECKED + "."
    assert pane.sweep_button.isEnabled()
