"""Reading the customer's clock from a PBX, for the screens that have no doctor run behind them.

The rule (which hours win) is the domain's ``resolve_customer_hours``; this only gathers what it
needs: the PBX's OfficeHours and, where the PBX does not say, its licence country.
"""

from __future__ import annotations

import logging

from app.domain.business_hours import BusinessHours, resolve_customer_hours
from app.threecx.client import PbxClient
from app.threecx.errors import ThreeCXError

log = logging.getLogger(__name__)


async def read_customer_hours(
    client: PbxClient, saved: BusinessHours | None = None, region: str | None = None
) -> BusinessHours:
    """The customer's hours; a PBX that cannot say falls back, never fails the caller."""
    pbx: BusinessHours | None = None
    try:
        pbx = await client.office_hours()
    except ThreeCXError as error:
        log.info("Office hours not read from the PBX: %s", error.message)
    country = region
    if pbx is None and country is None:
        try:
            country = (await client.licence()).country_code
        except ThreeCXError as error:
            log.info("Licence country not read: %s", error.message)
    return resolve_customer_hours(pbx, saved, country)
