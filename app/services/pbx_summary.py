"""A quick, read-only look at a PBX: version, licence, recording settings, calls, retention.

Every read runs concurrently, and one failing read is reported beside the others instead of
hiding them. The full seven-cause doctor builds on the same client calls.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Generic, TypeVar

from app.domain.business_hours import (
    BusinessHours,
    customer_time,
    describe_hours,
    resolve_customer_hours,
)
from app.domain.calls import CallRecord
from app.domain.causes.recording import records_external_calls
from app.domain.clock import utc_now
from app.domain.extensions import Extension
from app.domain.licence import Licence
from app.domain.recordings import Recording, RetentionPolicy
from app.threecx.client import PbxClient
from app.threecx.errors import ThreeCXError, Unsupported

T = TypeVar("T")


@dataclass(frozen=True)
class Outcome(Generic[T]):
    value: T | None
    error: str | None = None
    unsupported: bool = False


@dataclass(frozen=True)
class PbxSummary:
    generation: str
    version: str
    licence: Outcome[Licence]
    extensions: Outcome[list[Extension]]
    calls: Outcome[list[CallRecord]]
    recordings: Outcome[list[Recording]]
    retention: Outcome[RetentionPolicy]
    # The customer's clock: the PBX's office hours, else the licence country's usual zone.
    hours: BusinessHours

    def lines(self) -> list[str]:
        out = [f"PBX {self.generation} {self.version}"]
        out.append(f"Customer's clock: {describe_hours(self.hours)}, {self.hours.source}")
        lic = self.licence
        if lic.value is not None:
            out.append(licence_line(lic.value))
        else:
            out.append(f"Licence: {lic.error}")
        if self.extensions.value is not None:
            # Off and on demand alike: a bridge cannot count on either (cause 3's terms).
            silent = [
                e for e in self.extensions.value if records_external_calls(e.recording) is False
            ]
            names = ", ".join(f"{e.number} {e.name} ({e.recording})" for e in silent[:6])
            more = f" and {len(silent) - 6} more" if len(silent) > 6 else ""
            known = any(
                records_external_calls(e.recording) is not None for e in self.extensions.value
            )
            if silent:
                state = f"{len(silent)} not recording external calls: {names}{more}"
            else:
                state = "all record" if known else "recording modes not reported by this API"
            out.append(f"Extensions: {len(self.extensions.value)}, {state}")
        else:
            out.append(f"Extensions: {self.extensions.error}")
        if self.calls.value is not None:
            answered = sum(1 for c in self.calls.value if c.answered)
            out.append(f"Calls in the last 7 days: {len(self.calls.value)} ({answered} answered)")
        else:
            out.append(f"Call history: {self.calls.error}")
        if self.recordings.value is not None:
            newest = self.recordings.value[0].started_at if self.recordings.value else None
            when = customer_time(newest, self.hours, "%Y-%m-%d %H:%M:%S") if newest else "none"
            out.append(f"Recordings: newest {when}")
        else:
            out.append(f"Recordings: {self.recordings.error}")
        ret = self.retention
        if ret.value is not None:
            days = ret.value.auto_delete_days if ret.value.auto_delete else None
            out.append(
                f"Retention: auto-delete after {days} days"
                if days
                else "Retention: kept until deleted by hand"
            )
        else:
            out.append(f"Retention: {ret.error}")
        return out


async def _attempt(awaitable: Awaitable[T]) -> Outcome[T]:
    try:
        return Outcome(await awaitable)
    except Unsupported as exc:
        return Outcome(None, exc.message, unsupported=True)
    except ThreeCXError as exc:
        return Outcome(None, exc.message)


async def summarise(client: PbxClient, now: datetime | None = None) -> PbxSummary:
    now = now or utc_now()
    licence, extensions, calls, recordings, retention, office = await asyncio.gather(
        _attempt(client.licence()),
        _attempt(client.extensions()),
        _attempt(client.call_history(now - timedelta(days=7), now, limit=2000)),
        _attempt(client.recordings(limit=5)),
        _attempt(client.retention()),
        _attempt(client.office_hours()),
    )
    country = licence.value.country_code if licence.value is not None else None
    hours = resolve_customer_hours(office.value, None, country)
    version = client.identity.version
    return PbxSummary(
        generation=client.generation,
        version=str(version) if version else "unknown version",
        licence=licence,
        extensions=extensions,
        calls=calls,
        recordings=recordings,
        retention=retention,
        hours=hours,
    )


def licence_line(licence: Licence) -> str:
    """The licence in one line. An answer that does not say whether the licence is active is
    "unknown", never "NOT active" (nor "active"); nor is a missing date "no expiry" then."""
    if licence.active is None:
        expiry = licence.expires_at.date().isoformat() if licence.expires_at else "unknown"
        return (
            f"Licence: {licence.edition}, state unknown (the PBX did not say whether it is "
            f"active), expires {expiry}"
        )
    state = "active" if licence.active else "NOT active"
    expiry = licence.expires_at.date().isoformat() if licence.expires_at else "no expiry"
    return f"Licence: {licence.edition} {state}, expires {expiry}"
