"""The live calls model: Qt's model rules, one update per tick, the bound, presenter masking."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

from PySide6.QtCore import QModelIndex, Qt

from app.domain.bridge import Bridge, BridgeIndex, NumberMatch
from app.domain.business_hours import BusinessHours, HoursSource
from app.domain.calls import CallDirection
from app.domain.clock import utc_now
from app.domain.contacts import Contact, ContactSource, PhoneEntry
from app.domain.live import LiveState
from app.services.feed.live_feed import FeedCall
from app.services.recordings.watcher import JourneyState, PollAttempt, RecordingJourney
from app.ui.feed.model import (
    CALL_ID_ROLE,
    FILTER_ROLE,
    MAX_SPANS,
    SORT_ROLE,
    CallFeedFilter,
    CallFeedModel,
    Column,
    StateFilter,
)
from app.ui.presenter import Presenter
from app.ui.theme import colours
from tests.support.waiting import until

NOW = datetime(2026, 3, 2, 1, 15, tzinfo=UTC)
JANE = Contact(
    "c1",
    "Jane Citizen",
    "Harbour Dental",
    (PhoneEntry("Mobile", "0412 345 678"),),
    ContactSource.CRM_EXPORT,
)
# Jane's number is stored in a local format: the field docs' bridge (exact E.164) misses her.
INDEX = BridgeIndex.build([JANE], "AU", Bridge())
NOT_E164 = "New contact would be created (stored as 0412 345 678, not E.164)"


def make_call(
    n: int,
    state: LiveState = LiveState.RINGING,
    *,
    number: str | None = "0412 345 678",
    direction: CallDirection = CallDirection.INBOUND,
) -> FeedCall:
    match = INDEX.match(number) if number else None
    return FeedCall(
        call_id=f"call-{n}",
        first_seen=NOW + timedelta(seconds=n),
        state=state,
        direction=direction,
        number=number,
        e164=match.e164 if match else None,
        match=match,
        extension="101",
    )


class Spy:
    """Counts a model's change signals."""

    def __init__(self, model: CallFeedModel) -> None:
        self.inserted: list[tuple[int, int]] = []
        self.removed: list[tuple[int, int]] = []
        self.changed: list[tuple[int, int, int, int]] = []
        model.rowsInserted.connect(lambda _p, a, b: self.inserted.append((a, b)))
        model.rowsRemoved.connect(lambda _p, a, b: self.removed.append((a, b)))
        model.dataChanged.connect(
            lambda tl, br, *_: self.changed.append((tl.row(), br.row(), tl.column(), br.column()))
        )

    def reset(self) -> None:
        self.inserted.clear()
        self.removed.clear()
        self.changed.clear()


async def next_tick(model: CallFeedModel) -> None:
    """Until the model's flush timer has fired (on the real Qt event loop)."""
    flushed = asyncio.get_running_loop().create_future()

    def done() -> None:
        if not flushed.done():
            flushed.set_result(None)

    model.flushed.connect(done)
    try:
        await asyncio.wait_for(flushed, 5)
    finally:
        model.flushed.disconnect(done)


def text(model: CallFeedModel, row: int, column: Column, role: int = 0) -> Any:
    return model.data(model.index(row, column), role)


def several_states() -> list[FeedCall]:
    ended = make_call(3, LiveState.ENDED)
    ended.connected_at, ended.ended_at = NOW + timedelta(seconds=4), NOW + timedelta(seconds=64)
    ended.journey = RecordingJourney(
        "call-3",
        ended.ended_at,
        "101",
        ended.number,
        state=JourneyState.READY,
        attempts=(PollAttempt(1, 0.5, False), PollAttempt(2, 2.4, True)),
        ready_after_s=2.4,
    )
    missed = make_call(4, LiveState.MISSED, number="+61882999999")
    missed.ended_at = NOW + timedelta(seconds=12)
    missed.match = INDEX.match("+61882999999")
    talking = make_call(5, LiveState.CONNECTED)
    talking.connected_at = NOW
    internal = make_call(6, LiveState.ENDED, number=None, direction=CallDirection.INTERNAL)
    return [make_call(1), make_call(2, LiveState.VOICEMAIL), ended, missed, talking, internal]


async def test_the_model_follows_qts_rules(qtmodeltester: Any) -> None:
    model = CallFeedModel(Presenter())
    model.enqueue(several_states())
    model.flush()
    assert model.rowCount() == 6
    qtmodeltester.check(model)
    proxy = CallFeedFilter()
    proxy.setSourceModel(model)
    qtmodeltester.check(proxy)


async def test_a_burst_is_one_insert_and_one_change_per_tick() -> None:
    model = CallFeedModel(Presenter(), flush_interval_ms=100)
    spy = Spy(model)
    calls = [make_call(n) for n in range(500)]
    for call in calls:
        model.enqueue([call])  # one event at a time, as the feed reports them
    assert spy.inserted == [] and model.rowCount() == 0  # nothing before the tick
    await next_tick(model)
    assert spy.inserted == [(0, 499)] and spy.changed == []
    assert model.row_of("call-499") == 0 and model.row_of("call-0") == 499  # newest on top
    spy.reset()
    for call in calls[100:300]:
        call.state = LiveState.CONNECTED
        model.enqueue([call])
        model.enqueue([call])  # and again: still one change
    await next_tick(model)
    assert spy.inserted == []
    assert spy.changed == [(200, 399, 0, len(Column) - 1)]


async def test_scattered_changes_are_a_few_spans_not_the_whole_table() -> None:
    model = CallFeedModel(Presenter())
    calls = [make_call(n) for n in range(5000)]
    model.enqueue(calls)
    model.flush()
    spy = Spy(model)
    for n in (0, 1, 1000, 1001, 2500, 4000, 4999):
        model.enqueue([calls[n]])
    model.flush()
    assert len(spy.changed) == MAX_SPANS
    covered = sum(last - first + 1 for first, last, *_ in spy.changed)
    assert covered < 2000  # not the 5,000-row span from the first to the last change


async def test_the_history_is_bounded_and_the_oldest_go(qtmodeltester: Any) -> None:
    model = CallFeedModel(Presenter(), history_limit=10)
    spy = Spy(model)
    model.enqueue([make_call(n) for n in range(6)])
    model.flush()
    model.enqueue([make_call(n) for n in range(6, 14)])
    model.flush()
    assert model.rowCount() == 10
    assert spy.removed == [(2, 5)]  # the four oldest, at the bottom, before the insert
    assert model.row_of("call-3") is None and model.row_of("call-4") == 9
    model.enqueue([make_call(n) for n in range(14, 40)])  # more than the bound in one tick
    model.flush()
    assert [c.call_id for c in model.calls()] == [f"call-{n}" for n in range(39, 29, -1)]
    qtmodeltester.check(model)


async def test_rows_show_state_contact_and_recording_journey() -> None:
    model = CallFeedModel(Presenter(), window_s=120)
    model.enqueue(several_states())
    model.flush()
    rows = {model.call_at(r).call_id: r for r in range(model.rowCount())}
    ended, missed, internal = rows["call-3"], rows["call-4"], rows["call-6"]
    assert text(model, ended, Column.CALLER) == "+61412345678"
    assert text(model, ended, Column.CONTACT) == "New contact · normalised"
    assert text(model, ended, Column.CONTACT, int(Qt.ItemDataRole.ToolTipRole)).startswith(
        "New contact · normalised\n" + NOT_E164 + "\n"
    )
    assert text(model, ended, Column.DURATION) == "1:00"
    assert text(model, ended, Column.RECORDING) == "ready at +2.4 s"
    assert text(model, missed, Column.CONTACT) == "New contact would be created"
    assert text(model, missed, Column.STATE) == "Missed"
    assert text(model, missed, Column.DURATION) == "rang 0:08"
    assert text(model, internal, Column.CONTACT) == "Internal call"
    assert text(model, internal, Column.RECORDING) == "—"
    assert text(model, missed, Column.TIME, CALL_ID_ROLE) == "call-4"
    assert text(model, ended, Column.DURATION, SORT_ROLE) == 60.0
    colour = text(model, missed, Column.STATE, int(Qt.ItemDataRole.ForegroundRole))
    assert colour.color().name() == colours().fail
    model.call_at(ended).journey = None
    model.call_at(ended).journey_note = "not followed: 25 recordings already being followed"
    assert (
        text(model, ended, Column.RECORDING) == "not followed: 25 recordings already being followed"
    )


async def test_the_contact_column_says_what_the_customers_bridge_does() -> None:
    model = CallFeedModel(Presenter())
    local = make_call(1)  # from Jane's number, which she stored as 0412 345 678
    normalising = BridgeIndex.build([JANE], "AU", Bridge(NumberMatch.NORMALISED))
    attached = make_call(2)
    attached.match = normalising.match("0412 345 678")
    model.enqueue([local, attached])
    model.flush()
    tooltip = int(Qt.ItemDataRole.ToolTipRole)
    missed_row, attached_row = model.row_of("call-1"), model.row_of("call-2")
    assert missed_row is not None and attached_row is not None
    # Exact E.164 strings: a new contact, for the reason the doctor gives (cause 5).
    assert text(model, missed_row, Column.CONTACT) == "New contact · normalised"
    assert local.contact_name is None
    assert text(model, missed_row, Column.CONTACT, tooltip) == (
        "New contact · normalised\n" + NOT_E164 + "\n"
        "Jane Citizen has this number stored as '0412 345 678', not in E.164: a bridge that "
        "compares E.164 will miss the contact and create a new one."
    )
    # A bridge that normalises both numbers lands the same call on Jane.
    assert text(model, attached_row, Column.CONTACT) == "Jane Citizen"
    assert attached.contact_name == "Jane Citizen"
    assert "Attaches to Jane Citizen" in text(model, attached_row, Column.CONTACT, tooltip)


async def test_presenter_mode_masks_numbers_and_names_in_data() -> None:
    presenter = Presenter()
    model = CallFeedModel(presenter)
    model.enqueue(several_states())
    model.flush()
    spy = Spy(model)
    tooltip = int(Qt.ItemDataRole.ToolTipRole)
    row = model.row_of("call-3")
    assert row is not None
    presenter.set_enabled(True)
    assert spy.changed == [(0, model.rowCount() - 1, 0, len(Column) - 1)]
    assert text(model, row, Column.CALLER) == "+••••••••678"
    assert text(model, row, Column.CONTACT) == "New contact · normalised"
    assert str(text(model, row, Column.CONTACT, tooltip)).startswith(
        "New contact · normalised\nNew contact would be created (stored as •••• ••• 678, not E.164)\n"
    )
    shown = [
        str(text(model, r, column, role) or "")
        for r in range(model.rowCount())
        for column in Column
        for role in (0, tooltip)
    ]
    for secret in ("Jane", "Citizen", "412345678", "0412 345", "882999"):
        assert not [s for s in shown if secret in s], secret
    # The filter still reads the raw values, so the engineer can find a masked call.
    assert "0412 345 678" in text(model, row, Column.TIME, FILTER_ROLE)


async def test_the_filter_works_on_raw_values_and_states(qtmodeltester: Any) -> None:
    presenter = Presenter(enabled=True)
    model = CallFeedModel(presenter)
    model.enqueue(several_states())
    model.flush()
    proxy = CallFeedFilter()
    proxy.setSourceModel(model)

    def shown() -> list[str]:
        return sorted(proxy.data(proxy.index(r, 0), CALL_ID_ROLE) for r in range(proxy.rowCount()))

    proxy.set_text("0412 345")  # as the customer reads it out; the table shows +••••••••678
    assert shown() == ["call-1", "call-2", "call-3", "call-5"]
    proxy.set_text("+61 412 345 678")
    assert shown() == ["call-1", "call-2", "call-3", "call-5"]
    proxy.set_text("jane")
    assert shown() == ["call-1", "call-2", "call-3", "call-5"]
    proxy.set_text("")
    proxy.set_state(StateFilter.MISSED)
    assert shown() == ["call-4"]
    proxy.set_state(StateFilter.LIVE)
    assert shown() == ["call-1", "call-5"]
    proxy.set_text("999")
    assert shown() == []
    proxy.set_state(StateFilter.ALL)
    assert shown() == ["call-4"]
    qtmodeltester.check(proxy)


async def test_a_talking_calls_duration_runs() -> None:
    model = CallFeedModel(Presenter())
    talking = make_call(1, LiveState.CONNECTED)
    talking.connected_at = utc_now() - timedelta(seconds=65)
    model.enqueue([talking, make_call(2)])
    model.flush()
    spy = Spy(model)
    assert text(model, 1, Column.DURATION) == "1:05" and model.ticking
    duration = (1, 1, Column.DURATION, Column.DURATION)
    # The next second's refresh, of that column only.
    await until(lambda: duration in spy.changed, "the duration to tick", 5)
    talking.state = LiveState.ENDED
    talking.ended_at = utc_now()
    model.enqueue([talking])
    model.flush()
    await until(lambda: not model.ticking, "the timer to stop", 5)  # nobody is talking
    spy.reset()
    await asyncio.sleep(1.1)
    assert spy.changed == []


def test_header_names_the_columns() -> None:
    model = CallFeedModel(Presenter())
    names = [model.headerData(c, Qt.Orientation.Horizontal) for c in Column]
    assert names == [
        "Time (UTC)",  # no customer's clock yet: said so, never the laptop's
        "Direction",
        "Caller",
        "Contact",
        "Ext.",
        "Duration",
        "State",
        "Recording",
    ]
    tip = model.headerData(Column.EXTENSION, Qt.Orientation.Horizontal, Qt.ItemDataRole.ToolTipRole)
    assert "extension" in tip
    assert model.rowCount(model.index(0, 0)) == 0 and model.columnCount(QModelIndex()) == 8
    model.set_hours(BusinessHours(timezone="Pacific/Auckland", source=HoursSource.PBX))
    # The pinned clock is in November: New Zealand daylight time.
    assert model.headerData(Column.TIME, Qt.Orientation.Horizontal) == "Time (NZDT)"
    tip = model.headerData(Column.TIME, Qt.Orientation.Horizontal, Qt.ItemDataRole.ToolTipRole)
    assert tip == "Times in Pacific/Auckland, the customer's clock (read from the PBX)"
