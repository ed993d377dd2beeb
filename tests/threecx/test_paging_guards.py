"""Paging always ends (issue 18): the real v20 and v18 clients against a loopback aiohttp
server that pages badly on purpose. Each case asserts the named finding and a bounded number of
requests, counted by the server (no time is asserted)."""

from __future__ import annotations

from collections import Counter
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from aiohttp import web

from app.domain.calls import CallRecord
from app.domain.paging import MAX_EMPTY_PAGES, MAX_HISTORY_WINDOWS, MAX_ROWS
from app.threecx.errors import EndlessPaging, Unreachable, UnreachableKind, UnreadableAnswer
from app.threecx.paging import PageLedger
from app.threecx.polling import CallLogPoller
from app.threecx.transport import RetryPolicy, Transport
from app.threecx.v18.client import V18Client
from app.threecx.v20.client import PARALLEL_PAGES, V20Client
from tests.support.timeouts import ROOMY

Handler = Callable[[web.Request], dict[str, Any]]
UNTIL = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)  # pinned: nothing depends on today


@dataclass
class Pbx:
    """A loopback PBX whose collection answers come from ``answer``; it counts every request."""

    url: str
    answer: dict[str, Handler] = field(default_factory=dict)
    requests: Counter[str] = field(default_factory=Counter)

    def data_requests(self) -> int:
        return sum(n for path, n in self.requests.items() if path not in LOGIN_PATHS)


LOGIN_PATHS = {"/connect/token", "/api/login", "/api/SystemStatus"}


@pytest.fixture
async def pbx() -> AsyncIterator[Pbx]:
    state = Pbx(url="")

    async def handle(request: web.Request) -> web.StreamResponse:
        path = request.path
        state.requests[_key(path)] += 1
        if path == "/connect/token":
            return web.json_response({"access_token": "a.b.c", "expires_in": 3600})
        if path == "/api/login":
            return web.Response(text='"AuthSuccess"')
        if path == "/api/SystemStatus":
            return web.json_response({"Version": "18.0.9.20", "FQDN": "pbx.example.com"})
        handler = state.answer.get(_key(path))
        if handler is None:
            return web.json_response({"error": "no such route"}, status=404)
        return web.json_response(handler(request))

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    state.url = f"http://127.0.0.1:{port}"
    try:
        yield state
    finally:
        await runner.cleanup()


def _key(path: str) -> str:
    """Call-log function paths carry their arguments: count them under one name."""
    return path.split("(")[0]


@pytest.fixture
async def v20(pbx: Pbx) -> AsyncIterator[V20Client]:
    transport = Transport(pbx.url, timeouts=ROOMY, retry=RetryPolicy(attempts=1))
    client = V20Client(transport, "900", "key")
    yield client
    await client.aclose()


@pytest.fixture
async def v18(pbx: Pbx) -> AsyncIterator[V18Client]:
    transport = Transport(pbx.url, timeouts=ROOMY, retry=RetryPolicy(attempts=1))
    client = V18Client(transport, "admin", "password")
    yield client
    await client.aclose()


def user(n: int) -> dict[str, Any]:
    return {"Id": n, "Number": str(1000 + n), "FirstName": f"User {n}"}


def unmapped(n: int) -> dict[str, Any]:
    return {"Id": n, "Enabled": True}  # no Number: maps to nothing


ROWS = {
    "mapped": user,
    "unmapped": unmapped,
    "mixed": lambda n: user(n) if n % 2 else unmapped(n),
}


def top(request: web.Request) -> int:
    return int(request.query.get("$top", "100"))


# ---- a next-page link that loops ----------------------------------------------------------
async def test_next_link_to_itself_is_followed_once(pbx: Pbx, v20: V20Client) -> None:
    pbx.answer["/xapi/v1/Users"] = lambda r: {
        "value": [user(1), user(2)],
        "@odata.nextLink": f"{pbx.url}/xapi/v1/Users?$skiptoken=2",
    }
    with pytest.raises(EndlessPaging, match="next-page link pointed back at a page already read"):
        await v20.extensions()
    assert pbx.data_requests() <= 3


async def test_next_link_back_to_the_first_page(pbx: Pbx, v20: V20Client) -> None:
    """The link names a page never asked by link (the first one): its rows give it away."""
    pbx.answer["/xapi/v1/Users"] = lambda r: {
        "value": [user(1), user(2)],
        "@odata.nextLink": "/xapi/v1/Users?$top=100&$skip=0",
    }
    with pytest.raises(EndlessPaging, match="pointed back at a page already read") as caught:
        await v20.extensions()
    assert caught.value.endpoint == "/Users"
    assert pbx.data_requests() == 2


async def test_empty_pages_that_point_on_forever(pbx: Pbx, v20: V20Client) -> None:
    def answer(request: web.Request) -> dict[str, Any]:
        token = int(request.query.get("$skiptoken", "0"))
        return {"value": [], "@odata.nextLink": f"/xapi/v1/Users?$skiptoken={token + 1}"}

    pbx.answer["/xapi/v1/Users"] = answer
    with pytest.raises(EndlessPaging, match="empty pages in a row"):
        await v20.extensions()
    assert pbx.data_requests() <= MAX_EMPTY_PAGES + 2


# ---- a PBX that ignores $skip -------------------------------------------------------------
@pytest.mark.parametrize("kind", sorted(ROWS))
@pytest.mark.parametrize("counted", [False, True], ids=["no-count", "count"])
async def test_ignored_skip_is_named(pbx: Pbx, v20: V20Client, kind: str, counted: bool) -> None:
    """The first page again at every $skip: with rows that map, that don't, or both."""

    def answer(request: web.Request) -> dict[str, Any]:
        body: dict[str, Any] = {"value": [ROWS[kind](n) for n in range(top(request))]}
        if counted:
            body["@odata.count"] = 5_000
        return body

    pbx.answer["/xapi/v1/Users"] = answer
    with pytest.raises(EndlessPaging, match=r"ignored \$skip and sent the first page again"):
        await v20.extensions()
    # The first page, then at most one batch of pages side by side.
    assert pbx.data_requests() <= 1 + PARALLEL_PAGES


async def test_ignored_skip_on_a_silently_capped_page(pbx: Pbx, v20: V20Client) -> None:
    """Contacts ask 500 rows; the PBX serves 50, counts 10,000 and always the same 50."""
    pbx.answer["/xapi/v1/Contacts"] = lambda r: {
        "value": [{"Id": n} if n % 3 else {"Id": n, "FirstName": "A"} for n in range(50)],
        "@odata.count": 10_000,
    }
    with pytest.raises(EndlessPaging, match="first page again"):
        await v20.contacts()
    assert pbx.data_requests() <= 1 + PARALLEL_PAGES


# ---- lists that never end --------------------------------------------------------------------
async def test_rows_past_the_cap(pbx: Pbx, v20: V20Client) -> None:
    """Every page new and full, for ever: the read stops at the row cap and says so."""

    def answer(request: web.Request) -> dict[str, Any]:
        skip = int(request.query.get("$skip", "0"))
        return {"value": [{"Id": f"c{skip + n}"} for n in range(top(request))]}

    pbx.answer["/xapi/v1/Contacts"] = answer
    with pytest.raises(EndlessPaging, match=f"past {MAX_ROWS:,} rows"):
        await v20.contacts()
    assert pbx.data_requests() <= MAX_ROWS // 500 + 2


async def test_a_count_past_the_rows_sent_ends_at_the_first_empty_page(
    pbx: Pbx, v20: V20Client
) -> None:
    """A count of a billion over 250 real rows: read to the first empty page, no further."""

    def answer(request: web.Request) -> dict[str, Any]:
        skip = int(request.query.get("$skip", "0"))
        rows = [user(n) for n in range(skip, min(250, skip + 100))]
        return {"value": rows, "@odata.count": 10**9}

    pbx.answer["/xapi/v1/Users"] = answer
    found = await v20.extensions()
    assert [e.number for e in found] == [str(1000 + n) for n in range(250)]
    assert pbx.data_requests() <= 1 + 2 * PARALLEL_PAGES


async def test_a_count_beyond_safe_numbers_is_not_believed(pbx: Pbx, v20: V20Client) -> None:
    pbx.answer["/xapi/v1/Users"] = lambda r: {"value": [user(1)], "@odata.count": 2**60}
    assert [e.number for e in await v20.extensions()] == ["1001"]
    assert pbx.data_requests() == 1


async def test_honest_paging_with_a_shifted_last_row_is_read_whole(
    pbx: Pbx, v20: V20Client
) -> None:
    """A call landing between requests shifts the rows: the short last page repeats a row of
    the page before. That is not a PBX ignoring $skip."""

    def answer(request: web.Request) -> dict[str, Any]:
        skip = int(request.query.get("$skip", "0"))
        if skip == 0:
            return {"value": [user(n) for n in range(100)]}
        return {"value": [user(99)]}  # the last row of page one, shifted onto page two

    pbx.answer["/xapi/v1/Users"] = answer
    assert len(await v20.extensions()) == 101
    assert pbx.data_requests() == 2


# ---- call history: time windows that never end ------------------------------------------------
async def test_history_whose_count_always_says_more(pbx: Pbx, v20: V20Client) -> None:
    """Every window, however small, holds more legs than one read: the same legs of one call,
    so the walk back never gathers the calls asked for."""

    def answer(request: web.Request) -> dict[str, Any]:
        legs = [
            {"MainCallHistoryId": "call-1", "CdrId": f"leg-{n}", "Answered": True}
            for n in range(top(request))
        ]
        return {"value": legs, "@odata.count": 10**9}

    pbx.answer["/xapi/v1/ReportCallLogData/Pbx.GetCallLogData"] = answer
    with pytest.raises(EndlessPaging, match="time windows"):
        await v20.call_history(UNTIL - timedelta(days=365), UNTIL, limit=5)
    assert pbx.data_requests() <= 2 * MAX_HISTORY_WINDOWS


# ---- v18 --------------------------------------------------------------------------------------
async def test_v18_call_log_that_ignores_start_row(pbx: Pbx, v18: V18Client) -> None:
    """Rows that map to nothing and HasMoreRows for ever, whatever startRow says."""
    pbx.answer["/api/CallLog"] = lambda r: {
        "CallLogRows": [{"Status": "odd", "Row": n} for n in range(100)],
        "HasMoreRows": True,
    }
    with pytest.raises(EndlessPaging, match="ignored startRow and sent the first page again"):
        await v18.call_history(UNTIL - timedelta(days=1), UNTIL, limit=10)
    assert pbx.data_requests() == 2


async def test_v18_recordings_that_ignore_start(pbx: Pbx, v18: V18Client) -> None:
    pbx.answer["/api/RecordingList"] = lambda r: {
        "list": [{"Id": n} for n in range(100)],  # no date: none is kept
        "TotalRowsCount": 10**12,
    }
    with pytest.raises(EndlessPaging, match="ignored start and sent the first page again"):
        await v18.recordings(limit=10)
    assert pbx.data_requests() == 2


# ---- unreadable answers from a collection -------------------------------------------------------
async def test_a_row_with_an_absurd_identity_fails_the_read_by_name(
    pbx: Pbx, v20: V20Client
) -> None:
    pbx.answer["/xapi/v1/Recordings"] = lambda r: {"value": [{"Id": 7}, {"Id": [1, 2]}]}
    with pytest.raises(UnreadableAnswer, match="Id was a list") as caught:
        await v20.recordings()
    assert caught.value.endpoint == "/Recordings"


async def test_value_that_is_not_a_list(pbx: Pbx, v20: V20Client) -> None:
    pbx.answer["/xapi/v1/Users"] = lambda r: {"value": "none today"}
    with pytest.raises(UnreadableAnswer, match="value was the text 'none today'"):
        await v20.extensions()


# ---- the ledger on its own ------------------------------------------------------------------
def test_ledger_names_the_page_cap() -> None:
    ledger = PageLedger("/Users", max_pages=3)
    for n in range(3):
        ledger.page([{"Id": n}], offset=n)
    with pytest.raises(EndlessPaging, match="past 3 pages"):
        ledger.page([{"Id": 9}], offset=3)


def test_ledger_keeps_rows_it_cannot_serialise() -> None:
    ledger = PageLedger("/Users")
    ledger.page([{"Id": float("nan")}, [1, [2]], "x", None], offset=0)
    with pytest.raises(EndlessPaging):
        ledger.page([{"Id": float("nan")}, [1, [2]], "x", None], offset=4)


def test_ledger_knows_a_page_sent_again_by_its_rows_content() -> None:
    """Rows are told apart by their whole content: a page sent again (fresh objects, same
    values) is caught, and rows differing only in a value's JSON type are different rows."""
    page = [{"Id": n, "Answered": True, "Cost": 1.0, "Legs": [{"Dn": "101"}]} for n in range(3)]
    ledger = PageLedger("/Recordings")
    ledger.page(page, offset=0)
    ledger.page([row | {"Answered": 1, "Cost": 1} for row in page], offset=3)
    ledger.page([row | {"Legs": [{"Dn": 101}]} for row in page], offset=6)
    with pytest.raises(EndlessPaging, match=r"sent the first page again \(asked for rows from 9\)"):
        ledger.page([dict(row) for row in page], offset=9)


# ---- the live feed's poller: a PBX that pages without end is said, not polled forever -------
@pytest.mark.expect_log(
    "app.threecx.polling",
    r"^Polling the call log failed: The PBX could not be reached\. no answer$",
)
async def test_the_poller_ends_its_stream_on_an_answer_it_cannot_read_but_not_on_a_blip() -> None:
    """A blip (the PBX unreachable for a poll) is polled through; endless paging is not: the
    stream ends with the named error, so the feed says it and backs off instead of polling a
    broken PBX every few seconds in silence."""
    answers: list[Exception | None] = [
        Unreachable(UnreachableKind.TIMEOUT, "no answer"),
        None,
        EndlessPaging("the PBX ignored $skip and sent the first page again"),
    ]
    asked: list[datetime] = []

    async def fetch(since: datetime, until: datetime, *, limit: int) -> list[CallRecord]:
        asked.append(since)
        answer = answers.pop(0)
        if answer is not None:
            raise answer
        return []

    poller = CallLogPoller(fetch, interval_s=0)
    with pytest.raises(EndlessPaging, match="ignored \\$skip"):
        async for _ in poller.events():
            pass
    assert poller.polls == 2 and len(asked) == 3
