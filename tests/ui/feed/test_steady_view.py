"""Live calls stays put while calls arrive: the selected call keeps its place under the
cursor, the journey goes when the filter hides its call, and every column fits its text at
1366 x 768 in both type sizes."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from PySide6.QtCore import QModelIndex

from app.domain.live import LiveState
from app.ui.context import UiContext
from app.ui.feed.model import Column, StateFilter
from app.ui.feed.pane import FeedPane
from tests.ui.feed.fit_checks import cut_cells
from tests.ui.feed.test_model import make_call

SIDEBAR = 400  # the connections list beside the tabs at 1366 x 768


@pytest.fixture
async def pane(ui: UiContext) -> AsyncIterator[FeedPane]:
    shown = FeedPane(ui)
    shown.resize(1366 - SIDEBAR, 768 - 80)
    shown.show()
    yield shown
    await shown.aclose()
    shown.close()


async def arrive(pane: FeedPane, first: int, count: int, batch: int = 5) -> None:
    """``count`` new calls from call-``first`` on, in the model's batches, as the feed sends."""
    for start in range(first, first + count, batch):
        pane.model.enqueue([make_call(n) for n in range(start, min(start + batch, first + count))])
        pane.model.flush()
        await asyncio.sleep(0.02)  # the view lays out; the columns are fitted


def changed(pane: FeedPane, call_id: str, state: LiveState) -> None:
    """The feed changes its call in place and says which."""
    row = pane.model.row_of(call_id)
    assert row is not None
    call = pane.model.call_at(row)
    call.state = state
    pane.model.enqueue([call])
    pane.model.flush()


def selected_id(pane: FeedPane) -> str | None:
    rows = pane.table.selectionModel().selectedRows()
    if not rows:
        return None
    return pane.model.call_at(pane.proxy.mapToSource(rows[0]).row()).call_id


def proxy_index(pane: FeedPane, call_id: str) -> QModelIndex:
    row = pane.model.row_of(call_id)
    assert row is not None
    return pane.proxy.mapFromSource(pane.model.index(row, 0))


def top_of(pane: FeedPane, call_id: str) -> int:
    return pane.table.visualRect(proxy_index(pane, call_id)).top()


async def test_the_selected_call_stays_under_the_cursor_at_the_top(pane: FeedPane) -> None:
    await arrive(pane, 0, 30)
    assert pane.table.verticalScrollBar().value() == 0
    assert pane.select_call("call-27")  # the third row, at the top of the list
    before = top_of(pane, "call-27")
    await arrive(pane, 100, 20)
    assert selected_id(pane) == "call-27"
    assert pane.timeline.call is not None and pane.timeline.call.call_id == "call-27"
    assert top_of(pane, "call-27") == before  # a click there still hits this call


async def test_rows_in_view_stay_put_when_scrolled_down(pane: FeedPane) -> None:
    await arrive(pane, 0, 60)
    bar = pane.table.verticalScrollBar()
    bar.setValue(10)
    await asyncio.sleep(0.02)
    first_shown = pane.model.call_at(pane.proxy.mapToSource(pane.proxy.index(10, 0)).row())
    before = top_of(pane, first_shown.call_id)
    await arrive(pane, 100, 20)
    assert top_of(pane, first_shown.call_id) == before
    assert selected_id(pane) is None


async def test_with_nothing_selected_the_newest_call_shows_on_top(pane: FeedPane) -> None:
    await arrive(pane, 0, 10)
    await arrive(pane, 100, 20)
    assert pane.table.verticalScrollBar().value() == 0
    assert pane.table.rowAt(0) == 0
    assert pane.model.call_at(0).call_id == "call-119"


async def test_the_journey_goes_when_the_filter_hides_its_call(pane: FeedPane) -> None:
    await arrive(pane, 0, 10)
    assert pane.select_call("call-4")
    assert pane.timeline.call is not None
    pane.filter_edit.setText("call-7")
    pane._apply_filter()  # as the typing pause would
    await asyncio.sleep(0.02)
    assert pane.timeline.call is None and selected_id(pane) is None
    changed(pane, "call-4", LiveState.CONNECTED)  # the hidden call changes
    assert pane.timeline.call is None  # and does not come back


async def test_the_journey_goes_when_the_state_filter_hides_its_call(pane: FeedPane) -> None:
    await arrive(pane, 0, 5)
    assert pane.select_call("call-2")
    pane.state_filter.setCurrentIndex(list(StateFilter).index(StateFilter.LIVE))
    assert pane.timeline.call is not None  # ringing: still shown
    changed(pane, "call-2", LiveState.MISSED)
    await asyncio.sleep(0.02)
    assert pane.timeline.call is None


@pytest.mark.parametrize("large", [False, True])
async def test_every_column_fits_its_text(pane: FeedPane, ui: UiContext, large: bool) -> None:
    ui.presenter.set_large_type(large)
    calls = [make_call(n) for n in range(12)]
    calls[3] = make_call(3, LiveState.MISSED, number="+61 8 8359 0312 4")
    calls[5] = make_call(5, LiveState.ENDED, number="0412 345 678")
    pane.model.enqueue(calls)
    pane.model.flush()
    await asyncio.sleep(0.05)
    assert not cut_cells(pane.table, free=Column.CONTACT)
    texts = [str(pane.proxy.index(r, Column.CONTACT).data()) for r in range(12)]
    assert "New contact · normalised" in texts
