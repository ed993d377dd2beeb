"""Read call history newest first from a PBX that may not sort it (API-NOTES §9.3).

Live PBXs were seen ignoring ``$orderby`` on call history ("always the oldest first"). Asking
for the first N rows of a busy period then gives its *oldest* N, and the newest calls, the ones
an engineer is asking about, fall past the cut-off. So the client never trusts the server's
order: it reads the period in time windows from the newest backwards, splits a window that
holds more rows than it will read, drops rows outside the window, folds legs into calls and
sorts them itself.
"""

from __future__ import annotations

import itertools
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta

from app.domain.calls import CallRecord, merge_call_segments, newest_first
from app.domain.paging import MAX_HISTORY_WINDOWS, describe_cap
from app.domain.wire_shapes import WireSeen, WireShape
from app.threecx.errors import EndlessPaging

# Returns the legs that started in [start, end], in any order, at most ``cap`` of them.
LegFetch = Callable[[datetime, datetime, int], Awaitable[list[CallRecord]]]
# How many legs started in [start, end], if the PBX says ($count); None if it does not.
LegCount = Callable[[datetime, datetime], Awaitable[int | None]]

MIN_WINDOW = timedelta(minutes=1)  # below this a window is read as it is, even if capped


async def newest_calls(
    fetch: LegFetch,
    since: datetime,
    until: datetime,
    *,
    limit: int,
    row_cap: int,
    seen: WireSeen | None = None,
    count: LegCount | None = None,
) -> list[CallRecord]:
    """The newest ``limit`` calls that started in [since, until], each once, newest first."""
    legs: dict[tuple[object, ...], CallRecord] = {}
    end = until
    span = until - since
    served_in_order: bool | None = None
    asked = 0  # windows read and counts asked: bounded, whatever the PBX answers
    while end > since or (end == since and not legs):
        asked = _one_more(asked)
        # Compared, not subtracted: end - span could fall before year 1 and overflow.
        start = since if span >= end - since else end - span
        rows = await fetch(start, end, row_cap + 1)
        ignores_range = any(not _within(row, start, end) for row in rows)
        if ignores_range:
            # The PBX did not honour the period (v18's parameters are unconfirmed, §9.9):
            # narrower windows would return the same rows, so keep what is in range and stop.
            if seen is not None:
                seen.note(WireShape.ROWS_OUTSIDE_RANGE)
            legs.update((_leg_key(row), row) for row in rows if _within(row, since, until))
            break
        if len(rows) > row_cap and end - start > MIN_WINDOW:
            # Too busy: the newest may be cut off. Size the window from the PBX's count when
            # it gives one (one request), else halve it.
            total = None
            if count is not None:
                asked = _one_more(asked)
                total = await count(start, end)
            share = row_cap / total * 0.8 if total and total > 0 else 0.5
            span = max(MIN_WINDOW, (end - start) * min(0.5, share))
            continue
        if served_in_order is None and len(rows) > 1:
            served_in_order = _newest_first(rows)
        legs.update((_leg_key(row), row) for row in rows)
        if len(rows) < row_cap // 4 and span < until - since:
            span *= 2  # a quiet window: take a longer one next (never past the whole period)
        if start <= since or len({leg.call_id for leg in legs.values()}) >= limit:
            break
        end = start
    if seen is not None and served_in_order is False:
        seen.note(WireShape.OLDEST_FIRST)
    merged = merge_call_segments(list(legs.values()))
    if seen is not None and len(merged) < len(legs):
        seen.note(WireShape.LEGS_FOLDED)
    return newest_first(merged)[:limit]


def _one_more(asked: int) -> int:
    if asked >= MAX_HISTORY_WINDOWS:
        raise EndlessPaging(
            f"Reading the call history took more than "
            f"{describe_cap(MAX_HISTORY_WINDOWS, 'time windows')} without reaching the start "
            "of the period: the PBX kept answering each window with more calls than one read "
            "holds.",
            endpoint="call history",
        )
    return asked + 1


def _within(leg: CallRecord, start: datetime, end: datetime) -> bool:
    return leg.started_at is None or start <= leg.started_at <= end


def _leg_key(leg: CallRecord) -> tuple[object, ...]:
    """One leg read twice (windows meet at an instant) is kept once."""
    if leg.segment_id:
        return (leg.call_id, leg.segment_id)
    return (leg.call_id, leg.started_at, leg.extension, leg.caller, leg.callee, leg.answered)


def _newest_first(rows: list[CallRecord]) -> bool:
    times = [r.started_at for r in rows if r.started_at is not None]
    return all(a >= b for a, b in itertools.pairwise(times))
