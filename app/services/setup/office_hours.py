"""Step 5 (once the key works): the customer's time zone and office hours, for the engineer
to confirm or change before they are saved with the connection.

The PBX is asked first (v20 ``GET /OfficeHours``); a v18 PBX, or one that refuses, leaves the
licence country's usual zone, flagged as a guess. Whose clock wins is decided in one place,
``resolve_customer_hours``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from app.domain.business_hours import (
    BusinessHours,
    HoursSource,
    resolve_customer_hours,
)
from app.threecx.client import PbxClient
from app.threecx.errors import ThreeCXError

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class CustomerClock:
    """The hours to show the engineer, and why the PBX's own are not among them (if so)."""

    hours: BusinessHours
    problem: str | None = None

    @property
    def needs_confirming(self) -> bool:
        """A guess (the region's zone, or nothing at all) that the engineer should confirm."""
        return self.hours.source in (HoursSource.REGION, HoursSource.UNSET)


async def read_customer_clock(client: PbxClient, region: str | None) -> CustomerClock:
    """The PBX's office hours, else the ``region``'s usual zone (ISO country, may be None)."""
    problem: str | None = None
    pbx: BusinessHours | None = None
    try:
        pbx = await client.office_hours()
    except ThreeCXError as error:
        log.info("Office hours not read: %s", error.message)
        problem = f"{error.message} {error.next_step}".strip()
    if pbx is None and problem is None:
        problem = "This PBX does not offer its office hours to the API (3CX v18)."
    return CustomerClock(
        resolve_customer_hours(pbx, None, region), problem if pbx is None else None
    )
