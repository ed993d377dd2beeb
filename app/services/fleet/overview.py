"""What the desktop Fleet view asks of the history: each saved connection's latest stored run
against its last good run (the same rows as ``fleet changes``), and the next date that runs out.

The next expiry is read from the same facts the change rules compare (``facts_of``): the
licence's and the certificate's end, and the day the key passes the engineer's age limit
(from the connection's own rotation date, which may be newer than its last run).
"""

from __future__ import annotations

import asyncio
import enum
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from app.domain.connection import ConnectionProfile
from app.domain.diagnosis import Diagnosis
from app.domain.fleet.changes import EXPIRY_WARNING_DAYS
from app.domain.fleet.facts import facts_of
from app.services.fleet.history import FleetHistory
from app.services.fleet.since import rows_since_last_good
from app.services.fleet.sweep import FleetRow


class Expires(enum.StrEnum):
    LICENCE = "licence"
    MAINTENANCE = "maintenance"
    CERTIFICATE = "certificate"
    KEY = "key"


class Due(enum.StrEnum):
    LATER = "later"
    SOON = "soon"  # inside the window the change rules warn about
    PASSED = "passed"


@dataclass(frozen=True)
class Expiry:
    """The soonest of the licence's, maintenance's and certificate's ends and the key's age
    limit."""

    what: Expires
    at: datetime
    warn_days: int  # how early the change rules speak of it

    def due(self, now: datetime) -> Due:
        if self.at <= now:
            return Due.PASSED
        if self.at < now + timedelta(days=self.warn_days):
            return Due.SOON
        return Due.LATER


def next_expiry(
    diagnosis: Diagnosis | None,
    key_rotated_at: datetime | None,
    *,
    key_warning_days: int,
) -> Expiry | None:
    """The next date that runs out for this PBX; None when no date is known."""
    found: list[Expiry] = []
    if diagnosis is not None:
        facts = facts_of(diagnosis, key_rotated_at=key_rotated_at)
        if facts.licence_expires_at is not None:
            found.append(Expiry(Expires.LICENCE, facts.licence_expires_at, EXPIRY_WARNING_DAYS))
        if facts.maintenance_expires_at is not None:
            found.append(
                Expiry(Expires.MAINTENANCE, facts.maintenance_expires_at, EXPIRY_WARNING_DAYS)
            )
        if facts.certificate_not_after is not None:
            found.append(
                Expiry(Expires.CERTIFICATE, facts.certificate_not_after, EXPIRY_WARNING_DAYS)
            )
    if key_rotated_at is not None:
        # The key "expires" when it reaches the age the change rules call old: warned on the day.
        limit = key_rotated_at + timedelta(days=key_warning_days)
        found.append(Expiry(Expires.KEY, limit, 0))
    return min(found, key=lambda expiry: expiry.at, default=None)


def read_overview(
    profiles: Sequence[ConnectionProfile], *, now: datetime, key_warning_days: int
) -> list[FleetRow]:
    """Each profile's latest stored run and its changes (blocking: opens the history).

    Raises FleetHistoryError when the history cannot be opened or read."""
    with FleetHistory.open() as history:
        return rows_since_last_good(history, profiles, now=now, key_warning_days=key_warning_days)


async def overview(
    profiles: Sequence[ConnectionProfile], *, now: datetime, key_warning_days: int
) -> list[FleetRow]:
    """``read_overview`` in a worker thread, for the window."""
    return await asyncio.to_thread(
        read_overview, profiles, now=now, key_warning_days=key_warning_days
    )
