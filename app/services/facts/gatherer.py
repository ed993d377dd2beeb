"""The facts about one PBX, each fetched once and shared by whoever awaits it: concurrently,
unless the run is sequential."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Coroutine
from datetime import datetime, timedelta
from typing import Any, TypeVar, overload

from app.domain.bridge import PhonebookResolution
from app.domain.business_hours import BusinessHours, resolve_customer_hours
from app.domain.calls import CallRecord, merge_call_segments
from app.domain.contacts import Contact
from app.domain.extensions import Extension, Queue
from app.domain.licence import Licence, NumberingPlan, SystemStatus
from app.domain.recent_window import RecentWindow, choose_window, widening_steps
from app.domain.recordings import Recording, RetentionPolicy
from app.services.facts.options import DoctorOptions
from app.threecx.client import PbxClient
from app.threecx.errors import ThreeCXError

T = TypeVar("T")
T1 = TypeVar("T1")
T2 = TypeVar("T2")
T3 = TypeVar("T3")
T4 = TypeVar("T4")

DAY = timedelta(days=1)
# Call-log windows fetched side by side: a huge range can time out on a real PBX (504).
WINDOW_EDGES_DAYS = (1, 7, 30, 60, 90)
LONG_WINDOW_DAYS = 90  # past the listed edges, one window per 90 days


def window_edge(index: int) -> int:
    """How many days back the index-th call-log window reaches."""
    if index < len(WINDOW_EDGES_DAYS):
        return WINDOW_EDGES_DAYS[index]
    return WINDOW_EDGES_DAYS[-1] + LONG_WINDOW_DAYS * (index - len(WINDOW_EDGES_DAYS) + 1)


HISTORY_LIMIT = 5000  # calls per window


async def _quietly(aw: Awaitable[T]) -> T | None:
    """A fact that only refines the wording: whatever went wrong, a check reports it."""
    try:
        return await aw
    except ThreeCXError:
        return None


class Facts:
    """Lazily fetched PBX data; each fact is one task, shared by every check that awaits it."""

    def __init__(self, client: PbxClient, options: DoctorOptions, now: datetime) -> None:
        self.client = client
        self.options = options
        self.now = now
        self._tasks: dict[str, asyncio.Future[Any]] = {}

    @overload
    async def gather(self, a: Awaitable[T1], /) -> tuple[T1]: ...
    @overload
    async def gather(self, a: Awaitable[T1], b: Awaitable[T2], /) -> tuple[T1, T2]: ...
    @overload
    async def gather(
        self, a: Awaitable[T1], b: Awaitable[T2], c: Awaitable[T3], /
    ) -> tuple[T1, T2, T3]: ...
    @overload
    async def gather(
        self, a: Awaitable[T1], b: Awaitable[T2], c: Awaitable[T3], d: Awaitable[T4], /
    ) -> tuple[T1, T2, T3, T4]: ...
    @overload
    async def gather(self, *aws: Awaitable[T]) -> tuple[T, ...]: ...
    async def gather(self, *aws: Awaitable[Any]) -> tuple[Any, ...]:
        """All of ``aws``: side by side, or one after another in a sequential run."""
        if self.options.concurrent:
            return tuple(await asyncio.gather(*aws))
        return tuple([await aw for aw in aws])

    async def _fact(self, key: str, make: Callable[[], Coroutine[Any, Any, T]]) -> T:
        # The task starts when first awaited, so a sequential run really is one at a time.
        task = self._tasks.get(key)
        if task is None:
            task = asyncio.ensure_future(make())
            self._tasks[key] = task
        result: T = await asyncio.shield(task)
        return result

    async def aclose(self) -> None:
        for task in self._tasks.values():
            task.cancel()
        await asyncio.gather(*self._tasks.values(), return_exceptions=True)

    # ---- the facts ------------------------------------------------------------------------
    def system_status(self) -> Awaitable[SystemStatus]:
        return self._fact("status", self.client.system_status)

    def licence(self) -> Awaitable[Licence]:
        return self._fact("licence", self.client.licence)

    def numbering_plan(self) -> Awaitable[NumberingPlan]:
        return self._fact("plan", self.client.numbering_plan)

    def extensions(self) -> Awaitable[list[Extension]]:
        return self._fact("extensions", self.client.extensions)

    def queues(self) -> Awaitable[list[Queue]]:
        return self._fact("queues", self.client.queues)

    def retention(self) -> Awaitable[RetentionPolicy]:
        return self._fact("retention", self.client.retention)

    def phonebook(self) -> Awaitable[list[Contact]]:
        return self._fact("phonebook", self.client.contacts)

    def phonebook_settings(self) -> Awaitable[PhonebookResolution | None]:
        """How 3CX resolves callers in its phonebook; None on a PBX that does not say (v18)."""
        return self._fact("phonebook-settings", self.client.phonebook_settings)

    def newest_recordings(self) -> Awaitable[list[Recording]]:
        return self._fact("newest", lambda: self.client.recordings(limit=5))

    def history_window(self, index: int) -> Awaitable[list[CallRecord]]:
        """Calls in the index-th window back from now (0 = the last day)."""
        newer = 0 if index == 0 else window_edge(index - 1)
        older = window_edge(index)
        since, until = self.now - older * DAY, self.now - newer * DAY
        return self._fact(
            f"history-{index}",
            lambda: self.client.call_history(since, until, limit=HISTORY_LIMIT),
        )

    def history_day(self) -> Awaitable[list[CallRecord]]:
        """``GetCallLogData`` over the last day: the call-history capability probe."""
        return self.history_window(0)

    async def history(self, days: int) -> list[CallRecord]:
        """Every call of the last ``days`` days (rounded up to a window edge), newest first."""
        count = 1
        while window_edge(count - 1) < days:
            count += 1
        windows = await self.gather(*(self.history_window(i) for i in range(count)))
        merged = merge_call_segments([call for window in windows for call in window])
        cutoff = self.now - days * DAY
        recent = [c for c in merged if c.started_at is None or c.started_at >= cutoff]
        return sorted(recent, key=lambda c: c.started_at or self.now, reverse=True)

    def recent_history(self) -> Awaitable[tuple[RecentWindow, list[CallRecord]]]:
        """Recent calls, widened past a weekend or holiday until there are enough to judge."""
        return self._fact("recent", self._recent_history)

    async def recent_calls(self) -> list[CallRecord]:
        return (await self.recent_history())[1]

    async def recent_window(self) -> RecentWindow | None:
        """The window ``recent_calls`` used (None when the call history could not be read)."""
        try:
            return (await self.recent_history())[0]
        except ThreeCXError:
            return None

    async def recent_label(self) -> str:
        """ "last 7 days" (or the wider window a quiet week needed), for a finding's words."""
        window = await self.recent_window()
        return window.label() if window else f"last {self.options.recent_days} days"

    async def _recent_history(self) -> tuple[RecentWindow, list[CallRecord]]:
        asked = self.options.recent_days
        for days in widening_steps(asked):
            calls = await self.history(days)
            window = choose_window(asked, self.now, (c.started_at for c in calls))
            if window.days <= days:
                return window, [
                    c for c in calls if c.started_at is None or c.started_at >= window.since
                ]
        raise AssertionError("unreachable: the widest step always returns")

    def office_hours(self) -> Awaitable[BusinessHours | None]:
        return self._fact("office-hours", self.client.office_hours)

    def customer_hours(self) -> Awaitable[BusinessHours]:
        """The customer's clock for this run: see ``resolve_customer_hours``."""
        return self._fact("customer-hours", self._customer_hours)

    async def _customer_hours(self) -> BusinessHours:
        pbx, licence = await self.gather(_quietly(self.office_hours()), _quietly(self.licence()))
        country = licence.country_code if licence is not None else None
        return resolve_customer_hours(pbx, self.options.business_hours, country)

    def recordings_since(self, days: int) -> Awaitable[list[Recording]]:
        since = self.now - days * DAY
        return self._fact(
            f"recordings-{days}", lambda: self.client.recordings(since=since, limit=20000)
        )
