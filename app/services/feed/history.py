"""The live feed's rows: one ``FeedCall`` per call, newest last, bounded.

One call can reach the feed through two sources (the PBX's own API and the webhook add-on),
each with its own call id. The history joins them: a second source's event finds the row the
first one made (same number, within ``TWIN_WINDOW``) and its id is kept as an alias, so one
call is one row whose sources show both agree.
"""

from __future__ import annotations

from collections import OrderedDict

from app.domain.live import CallEvent
from app.services.feed.calls import SOURCE_WEBHOOK, TWIN_WINDOW, FeedCall, number_key

_TWINS_PER_NUMBER = 4  # recent calls remembered per number: enough for a caller who retries


class FeedHistory:
    """Rows by call id, oldest first, at most ``limit`` of them."""

    def __init__(self, limit: int) -> None:
        if limit < 1:
            raise ValueError(f"history_limit must be at least 1, not {limit}")
        self.limit = limit
        self.dropped = 0  # calls pushed out by newer ones
        self._calls: OrderedDict[str, FeedCall] = OrderedDict()
        self._aliases: dict[str, str] = {}  # another source's call id -> the row's call id
        self._by_number: dict[str, list[str]] = {}  # number tail -> recent call ids

    def __len__(self) -> int:
        return len(self._calls)

    def get(self, call_id: str) -> FeedCall | None:
        return self._calls.get(call_id)

    def find(self, call_id: str) -> FeedCall | None:
        """The row for a call id, or for another source's id of the same call."""
        return self._calls.get(self._aliases.get(call_id, call_id))

    def rows(self) -> list[FeedCall]:
        return list(self._calls.values())

    def row_of(self, event: CallEvent) -> FeedCall | None:
        """The row this event belongs to: by its id, else the same call from the other source
        (whose id is remembered from then on)."""
        call = self.find(event.call_id)
        if call is not None:
            return call
        call = self._twin_of(event)
        if call is not None:
            self._aliases[event.call_id] = call.call_id
            if len(self._aliases) > self.limit:  # dicts keep insertion order
                del self._aliases[next(iter(self._aliases))]
        return call

    def add(self, call: FeedCall) -> FeedCall | None:
        """Keep a new row; returns the oldest row when it had to make room."""
        self._calls[call.call_id] = call
        self._remember_number(call)
        if len(self._calls) <= self.limit:
            return None
        _, dropped = self._calls.popitem(last=False)
        self._forget_number(dropped)
        self.dropped += 1
        return dropped

    def _twin_of(self, event: CallEvent) -> FeedCall | None:
        key = number_key(event.external_number)
        if key is None:
            return None
        from_webhook = event.source == SOURCE_WEBHOOK
        for call_id in reversed(self._by_number.get(key, ())):
            call = self._calls.get(call_id)
            if call is None or abs(call.first_seen - event.at) > TWIN_WINDOW:
                continue
            seen_by_webhook = SOURCE_WEBHOOK in call.sources
            only_webhook = call.sources == (SOURCE_WEBHOOK,)
            if (from_webhook and not seen_by_webhook) or (not from_webhook and only_webhook):
                return call
        return None

    def _remember_number(self, call: FeedCall) -> None:
        key = number_key(call.number)
        if key is not None:
            recent = self._by_number.setdefault(key, [])
            recent.append(call.call_id)
            del recent[:-_TWINS_PER_NUMBER]

    def _forget_number(self, call: FeedCall) -> None:
        key = number_key(call.number)
        recent = self._by_number.get(key or "")
        if recent is not None and call.call_id in recent:
            recent.remove(call.call_id)
            if not recent:
                del self._by_number[key or ""]
