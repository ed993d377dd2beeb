"""The webhook add-on's events of a period, read from the receiver's journal, as bridge-side
evidence for the reconciliation (issue 21: "the app's own webhook-receiver events, when it ran").

Each journal row becomes a ``BridgeEvent`` with ``source=BridgeSource.WEBHOOK``, the time the
receiver got it, and the add-on's call id without its transfer-link number (one id per call, as
the live feed showed it). Rows received up to ``LATE_MARGIN`` after the period are read too, but
kept only for calls already seen in it: a recording link comes after the call ended.

The add-on's ids ("261118110003_2246") are not the PBX's call history ids (API-NOTES §9.1), so
``tie_to_calls`` ties an add-on call to a PBX call by its external number and time, with the
domain's tolerance, as the CRM's activities are.

The journal is read-only here: reading never creates, migrates or prunes it. No journal is an
empty result that says so, not an error.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Final

from app.domain.clock import Clock, utc_now
from app.domain.phones import NumberError, is_e164, to_e164
from app.domain.reconcile.join import CALL_TOLERANCE, CallIndex
from app.domain.reconcile.records import BridgeEvent, BridgeSource, PbxCall
from app.services.feed.webhook_journal import (
    JournalKind,
    JournalUnreadable,
    ReceiverRun,
    StoredEvent,
    journal_path,
    read_journal,
)

log = logging.getLogger(__name__)

LATE_MARGIN: Final = timedelta(minutes=5)

_SAID: Final = {
    JournalKind.RINGING: "the add-on reported the call ringing",
    JournalKind.CONNECTED: "the add-on reported the call answered",
    JournalKind.ENDED: "the add-on reported the call ended",
    JournalKind.MISSED: "the add-on reported the call missed",
    JournalKind.VOICEMAIL: "the add-on reported the call gone to voicemail",
}


@dataclass(frozen=True)
class WebhookEvents:
    """The add-on's events of [since, until), and what the journal says about the receiver."""

    events: tuple[BridgeEvent, ...]
    journal: Path
    exists: bool  # False: the receiver has never run with a journal on this machine
    since: datetime
    until: datetime
    read_until: datetime  # until + LATE_MARGIN, for late recording links
    listened: timedelta = timedelta()  # how much of the period the receiver was listening
    last_run: ReceiverRun | None = None  # the receiver's latest start (and stop), any period
    # The add-on's call id -> the external number it sent, as it sent it (for tie_to_calls).
    numbers: Mapping[str, str] = field(default_factory=dict)
    problem: str | None = None  # the journal exists but could not be read

    @property
    def read(self) -> int:
        return len(self.events)

    @property
    def calls(self) -> int:
        return len({e.call_id for e in self.events})

    @property
    def covered(self) -> float:
        """The share of the period the receiver was listening, 0.0 to 1.0."""
        period = (self.until - self.since).total_seconds()
        return min(1.0, self.listened.total_seconds() / period) if period > 0 else 0.0

    @property
    def last_ran_at(self) -> datetime | None:
        """When the receiver last listened: its last stop, or its last start if it never
        stopped (it is running, or the app quit without stopping it)."""
        run = self.last_run
        return None if run is None else (run.stopped_at or run.started_at)

    def summary(self) -> str:
        """One line for the run's notes and the report."""
        if self.problem is not None:
            return f"The webhook journal could not be read: {self.problem}."
        if not self.exists:
            return "No webhook journal: the app's webhook receiver has not run on this machine."
        if self.listened <= timedelta():
            last = self.last_ran_at
            when = f" (it last ran {last:%Y-%m-%d %H:%M} UTC)" if last else ""
            return f"The app's webhook receiver was not listening in this period{when}."
        share = f"{self.covered:.0%}"
        return (
            f"Webhook add-on: {self.read:,} event(s) of {self.calls:,} call(s); the receiver "
            f"was listening for {share} of the period."
        )


def read_webhook_events(
    since: datetime,
    until: datetime,
    *,
    path: Path | None = None,
    clock: Clock = utc_now,
) -> WebhookEvents:
    """The journal's events of [since, until) as ``BridgeEvent``s (blocking: run it off the
    event loop). Never raises for the journal's sake: a missing or unreadable one says so."""
    if since.tzinfo is None or until.tzinfo is None:
        raise ValueError("the period needs aware datetimes")
    path = path or journal_path()
    read_until = until + LATE_MARGIN
    empty = WebhookEvents((), path, path.exists(), since, until, read_until)
    if not empty.exists:
        return empty
    try:
        contents = read_journal(path, since, read_until)
    except JournalUnreadable as exc:
        log.warning("Webhook journal not read: %s", exc)
        return replace(empty, problem=str(exc))
    in_period = {row.call_key for row in contents.events if row.received_at < until}
    rows = [row for row in contents.events if row.call_key in in_period]
    numbers: dict[str, str] = {}
    for row in rows:
        if row.external_number:
            numbers.setdefault(row.call_key, row.external_number)
    return WebhookEvents(
        events=tuple(_bridge_event(row) for row in rows),
        journal=path,
        exists=True,
        since=since,
        until=until,
        read_until=read_until,
        listened=_listened(contents.runs, since, until, clock()),
        last_run=contents.runs[-1] if contents.runs else None,
        numbers=numbers,
    )


def tie_to_calls(
    read: WebhookEvents, calls: Sequence[PbxCall], *, region: str | None
) -> list[BridgeEvent]:
    """The events, each add-on call's id replaced by the id of the PBX call it is.

    An id the PBX knows stays as it is; otherwise the add-on's external number (E.164 in
    ``region``) and its first event's time find the nearest call within the domain's
    tolerance. An add-on call that matches none keeps its id (a line about no call).
    """
    index = CallIndex(calls)
    first: dict[str, datetime] = {}
    for event in read.events:
        if event.call_id is not None and event.at is not None:
            first.setdefault(event.call_id, event.at)
    tied: dict[str, str] = {}
    for key, number in read.numbers.items():
        if index.find(key) is not None or key not in first:
            continue
        e164 = _e164(number, region)
        by_number = index.by_number.get(e164) if e164 else None
        found = by_number.nearest(first[key], CALL_TOLERANCE) if by_number else None
        if found is not None:
            tied[key] = found[0].call_id
    return [replace(e, call_id=tied[e.call_id]) if e.call_id in tied else e for e in read.events]


def _e164(number: str, region: str | None) -> str | None:
    if is_e164(number):
        return number
    if region is None:
        return None
    try:
        return to_e164(number, region)
    except NumberError:
        return None


def _bridge_event(row: StoredEvent) -> BridgeEvent:
    if row.kind is JournalKind.RECORDING_LINK:
        noun = "link" if row.links == 1 else "links"
        text = f"the add-on sent the recording link ({row.links} {noun})"
    else:
        text = _SAID[row.kind]
    return BridgeEvent(
        line=row.id,  # the journal's row: where to find it again
        at=row.received_at,
        call_id=row.call_key,
        text=text,
        source=BridgeSource.WEBHOOK,
    )


def _listened(
    runs: Sequence[ReceiverRun], since: datetime, until: datetime, now: datetime
) -> timedelta:
    """How much of [since, until) some run of the receiver covered (overlaps counted once).

    A run that never noted its stop ended at the next start (the app quit without stopping
    it), or is still running when it is the last.
    """
    spans: list[tuple[datetime, datetime]] = []
    for i, run in enumerate(runs):
        end = run.stopped_at
        if end is None:
            end = runs[i + 1].started_at if i + 1 < len(runs) else max(now, run.started_at)
        start, end = max(run.started_at, since), min(end, until)
        if start < end:
            spans.append((start, end))
    total = timedelta()
    reach: datetime | None = None
    for start, end in sorted(spans):
        if reach is not None and start < reach:
            start = reach
        if start < end:
            total += end - start
            reach = end
    return total
