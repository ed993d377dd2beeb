"""The contact preview's table columns: when, the caller id, its E.164 form, the outcome, why.

Kept apart from the step so the step module stays about widgets and work; every cell is a
function of (row, presenter), so presenter mode masks numbers and names here too.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from app.domain.business_hours import BusinessHours, customer_time
from app.services.setup.contact_preview import AttachPreviewRow
from app.ui.setup.table import Column
from app.ui.theme import Mark, mark_icon

OUTCOMES = {
    "attaches": ("Attaches", Mark.PASS),
    # The bridge misses these: the contact exists, but its number is stored in a local format.
    "attaches-after-normalising": ("Missed: number stored locally", Mark.FAIL),
    "orphan": ("Orphan (no contact)", Mark.FAIL),
    "ambiguous": ("Ambiguous", Mark.FAIL),
    "invalid-number": ("Not a phone number", Mark.SKIP),
    "internal": ("Internal call", Mark.SKIP),
}


def outcome_words(outcome: str) -> str:
    return OUTCOMES.get(outcome, (outcome, Mark.SKIP))[0]


def preview_columns(clock: Callable[[], BusinessHours]) -> tuple[Column[AttachPreviewRow], ...]:
    """The table's columns; "When" is on the customer's clock (``clock()``), zone named."""
    return (
        Column(
            "When (customer's time)",
            lambda r, p: customer_time(r.when, clock(), "%d %b %H:%M"),
            tooltip=lambda r, p: when_tooltip(r.when, clock()),
        ),
        *COLUMNS,
    )


def when_tooltip(at: datetime, hours: BusinessHours) -> str:
    """The customer's time with the zone, and the engineer's own beside it, labelled."""
    mine = at.astimezone()  # the engineer's zone, said so
    return (
        f"{customer_time(at, hours, '%a %d %b %Y %H:%M')} ({hours.timezone}, the customer's "
        f"time)\n{mine:%a %d %b %H:%M} {mine.tzname()} (your time)"
    )


COLUMNS: tuple[Column[AttachPreviewRow], ...] = (
    Column("Caller id", lambda r, p: p.number(r.raw_caller_id)),
    Column("E.164", lambda r, p: p.number(r.e164) if r.e164 else "—"),
    Column(
        "Outcome",
        lambda r, p: outcome_words(r.outcome),
        icon=lambda r: mark_icon(OUTCOMES.get(r.outcome, ("", Mark.SKIP))[1]),
    ),
    Column("Contact", lambda r, p: p.name(r.contact) if r.contact else "—"),
    Column("Why", lambda r, p: p.text(r.reason), tooltip=lambda r, p: p.text(r.reason)),
)
