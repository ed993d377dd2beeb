"""One row of the live call feed, and how the feed's sources name and match calls.

A ``FeedCall`` is what the window shows and the triggers read; the webhook add-on's call ids
and outside numbers are normalised here so its events land on the PBX's own row of a call.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from app.domain.bridge import BridgeMatch
from app.domain.calls import CallDirection
from app.domain.contact_match import display_name
from app.domain.live import LiveState
from app.domain.reconnect import Gap, StreamStatus
from app.domain.triggers import SettledCall
from app.services.recordings.watcher import RecordingJourney

SOURCE_WEBHOOK = "webhook"
# The webhook add-on names calls its own way ("210701165649_698-2"), so its events are matched
# to the PBX's own view of the same call by the outside number and the time it started.
TWIN_WINDOW = timedelta(seconds=15)
TWIN_NUMBER_DIGITS = 9
SETTLED_STATES = frozenset({LiveState.ENDED, LiveState.MISSED, LiveState.VOICEMAIL})


@dataclass(slots=True, eq=False)
class FeedCall:
    """One call in the feed. Mutated in place by ``LiveFeed``; subscribers are told when."""

    call_id: str
    first_seen: datetime
    state: LiveState
    direction: CallDirection
    number: str | None  # the outside party's number as the PBX gave it
    e164: str | None
    match: BridgeMatch | None  # None until the contacts are loaded (or no outside number)
    extension: str | None
    connected_at: datetime | None = None
    ended_at: datetime | None = None
    talked: timedelta | None = None  # from the call log, when the feed never saw the connect
    sources: tuple[str, ...] = ()
    voicemail: bool = False
    did: str | None = None
    journey: RecordingJourney | None = None
    journey_note: str | None = None  # why the recording is not followed, if it is not
    settled_reported: bool = False
    filled: Gap | None = None  # known only from the call log, read after the stream was down

    @property
    def settled(self) -> bool:
        return self.state in SETTLED_STATES

    @property
    def internal(self) -> bool:
        return self.direction is CallDirection.INTERNAL

    @property
    def answered(self) -> bool:
        return self.connected_at is not None or self.talked is not None

    @property
    def duration(self) -> timedelta | None:
        """Talk time: hang-up minus connect (or the call log's figure)."""
        if self.connected_at is not None and self.ended_at is not None:
            return max(self.ended_at - self.connected_at, timedelta())
        return self.talked

    @property
    def rang_for(self) -> timedelta | None:
        """How long an unanswered call rang before it was settled."""
        if self.connected_at is None and self.ended_at is not None:
            return max(self.ended_at - self.first_seen, timedelta())
        return None

    @property
    def contact_name(self) -> str | None:
        """The one contact the customer's bridge attaches the call to, if it attaches it to one."""
        attached = self.match.attached if self.match is not None else None
        return display_name(attached) if attached is not None else None


def settled_call(call: FeedCall) -> SettledCall:
    """A missed call or one that reached voicemail, as the missed-call triggers take it."""
    return SettledCall(
        call_id=call.call_id,
        at=call.first_seen,
        number=call.number,
        e164=call.e164,
        did=call.did,
        voicemail_left=call.voicemail,
        internal=call.internal,
        contact_name=call.contact_name,
        outbound=call.direction is CallDirection.OUTBOUND,
        caller_match=call.match,
    )


@dataclass(frozen=True)
class FeedStatus:
    """Where events come from and what went wrong, for the pane's status line."""

    source: str  # "Call Control websocket", "polling every 5 s", "connecting"
    error: str | None = None  # "Live feed stopped: ... Retrying in 5 s"
    webhook: bool = False  # webhook add-on events are arriving too
    contacts: str = "loading contacts"  # "230 contacts", "contacts not loaded: ..."
    contacts_loading: bool = True
    stream: StreamStatus = field(
        default_factory=StreamStatus
    )  # reconnects and skipped frames, in shared words


def webhook_call_id(raw: str) -> str:
    """``210701165649_698-2`` → ``210701165649_698``: the link number changes on each transfer
    of one call, so it does not name a call of its own."""
    head, sep, link = raw.rpartition("-")
    return head if sep and head and link.isdigit() else raw


def number_key(number: str | None) -> str | None:
    """The last digits of an outside number: enough to tell callers apart, and the same
    whether a source wrote it in E.164 or in the local format."""
    digits = "".join(ch for ch in number or "" if ch.isdigit())
    return digits[-TWIN_NUMBER_DIGITS:] if len(digits) >= 6 else None
