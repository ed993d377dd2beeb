"""The live feed's words: what each call's caller, contact and recording columns say.

Pure functions of a ``FeedCall`` and the presenter (masking), shared by the table and the
journey timeline.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from app.domain.bridge import BridgeMatch
from app.domain.business_hours import BusinessHours, customer_time
from app.domain.calls import CallDirection
from app.domain.clock import utc_now
from app.domain.contact_match import MatchKind, display_name
from app.domain.live import LiveState
from app.services.feed.live_feed import FeedCall
from app.services.recordings.watcher import JourneyState
from app.ui.presenter import Presenter

DIRECTION_LABELS = {
    CallDirection.INBOUND: "Inbound",
    CallDirection.OUTBOUND: "Outbound",
    CallDirection.INTERNAL: "Internal",
    CallDirection.UNKNOWN: "Unknown",
}
_EXTERNAL = (CallDirection.INBOUND, CallDirection.OUTBOUND)
# The cell's badge when the contact has the number only in another format: the bridge's whole
# sentence ("new contact would be created (stored as …, not E.164)") is the tooltip's.
NORMALISED_BADGE = "normalised"
NORMALISED_TEXT = f"New contact · {NORMALISED_BADGE}"


def time_header(hours: BusinessHours) -> str:
    """ "Time (NZDT)": the Time column names the customer's zone as it is now."""
    return f"Time ({utc_now().astimezone(hours.zone).tzname() or hours.timezone})"


def both_clocks(at: datetime, hours: BusinessHours) -> str:
    """The customer's time with the zone named, then the engineer's own, labelled."""
    mine = at.astimezone()  # the engineer's zone, said so
    return (
        f"{customer_time(at, hours, '%a %d %b %Y %H:%M:%S')} ({hours.timezone}, the "
        f"customer's time)\n{mine:%a %H:%M:%S} {mine.tzname()} (your time)"
    )


def seconds_text(value: float) -> str:
    """2.4 → "2.4", 7.02 → "7.0", 37.6 → "38": one decimal where it still means something."""
    return f"{value:.1f}" if value < 10 else f"{value:.0f}"


def clock_text(value: timedelta) -> str:
    total = int(value.total_seconds())
    hours, rest = divmod(total, 3600)
    minutes, seconds = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{seconds:02d}" if hours else f"{minutes}:{seconds:02d}"


def journey_summary(call: FeedCall, window_s: float) -> str:
    """The Recording column: pending, polling attempt n at +X s, ready at +Y s, missing."""
    journey = call.journey
    if journey is None:
        if call.journey_note:
            return call.journey_note.split(" (")[0]
        live = call.state in (LiveState.RINGING, LiveState.CONNECTED)
        return "" if live and call.direction in _EXTERNAL else "—"
    state = journey.state
    if state is JourneyState.READY and journey.ready_after_s is not None:
        after = seconds_text(journey.ready_after_s)
        if journey.attempts and "webhook add-on" in journey.attempts[-1].note:
            return f"ready at +{after} s (add-on link)"
        if journey.upper_bound_only:
            return f"ready by +{after} s (there at the first look)"
        return f"ready at +{after} s"
    if state is JourneyState.MISSING:
        return f"missing after {window_s:g} s"
    if state is JourneyState.BLOCKED:
        return "blocked: the API user may not fetch recordings"
    if journey.attempts:
        latest = journey.attempts[-1]
        return f"polling, attempt {latest.number} at +{seconds_text(latest.after_s)} s"
    return "pending"


def contact_text(call: FeedCall, presenter: Presenter, *, contacts_loading: bool = True) -> str:
    """The Contact column: who the customer's bridge attaches the call to, or what it does
    instead (``BridgeMatch.summary``, names and numbers through the presenter)."""
    if call.internal:
        return "Internal call"
    match = call.match
    if match is None:
        if not call.number:
            return "No caller id"
        return "Looking up contacts…" if contacts_loading else "Contacts not loaded"
    if match.kind is MatchKind.NORMALISED:
        return NORMALISED_TEXT
    return _summary(match, presenter)


def _summary(match: BridgeMatch, presenter: Presenter) -> str:
    words = match.summary(presenter.name, presenter.number)
    if match.attached is not None:
        return words  # the contact's name, as written
    return words[:1].upper() + words[1:]


def contact_tooltip(match: BridgeMatch, presenter: Presenter) -> str:
    """The Contact cell's tooltip: why, and the whole summary where the cell shows a badge."""
    reason = masked_reason(match, presenter)
    if match.kind is MatchKind.NORMALISED:
        return f"{_summary(match, presenter)}\n{reason}"
    return reason


def masked_reason(match: BridgeMatch, presenter: Presenter) -> str:
    """``BridgeMatch.reason`` with its names and numbers through the presenter."""
    if presenter.enabled:
        presenter.masker.learn_names(display_name(c) for c in match.contacts)
    return presenter.text(match.reason)


def digits_of(text: str | None) -> str:
    return "".join(ch for ch in text or "" if ch.isdigit())


def filter_text(call: FeedCall) -> str:
    """What the filter searches: state tags, then the raw (unmasked) values, lower case."""
    tags = [f"s:{call.state.value}"]
    if call.state is LiveState.RINGING or call.state is LiveState.CONNECTED:
        tags.append("live")
    if call.answered:
        tags.append("answered")
    if call.journey is not None and call.journey.state in (
        JourneyState.MISSING,
        JourneyState.BLOCKED,
    ):
        tags.append("rec:missing")
    names = [display_name(c) for c in call.match.contacts] if call.match else []
    values = [
        call.number or "",
        call.e164 or "",
        digits_of(call.number),
        digits_of(call.e164),
        *names,
        f"ext {call.extension}" if call.extension else "",
        call.extension or "",
        call.call_id,
        DIRECTION_LABELS[call.direction],
    ]
    return " ".join(tags) + "\x1f" + "\x1f".join(values).lower()
