"""Licence and system status: what the PBX is allowed to do and whether it is recording."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime


class Edition(enum.StrEnum):
    ENTERPRISE = "Enterprise"
    PROFESSIONAL = "Professional"
    STANDARD = "Standard"
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class Licence:
    active: bool | None
    edition: Edition
    product_code: str | None
    expires_at: datetime | None
    maintenance_expires_at: datetime | None = None
    maintenance_expired: bool | None = None
    country_code: str | None = None  # ISO 3166 alpha-2, the default region for numbers
    max_sim_calls: int | None = None
    call_control_allowed: bool | None = None  # Enterprise with CFD access

    def expired(self, now: datetime) -> bool:
        return self.expires_at is not None and self.expires_at < now


@dataclass(frozen=True)
class SystemStatus:
    fqdn: str | None
    version: str | None
    activated: bool | None
    licence_active: bool | None
    expires_at: datetime | None
    recording_stopped: bool | None
    recording_quota_reached: bool | None
    recording_used_bytes: int | None = None
    recording_quota: int | None = None
    extensions_total: int | None = None
    calls_active: int | None = None


@dataclass(frozen=True)
class NumberingPlan:
    """``E164Settings``: how the PBX turns local numbers into E.164."""

    country_code: str | None  # the dialling code, "61"
    area_code: str | None
    national_prefix: str | None  # "0"
    international_prefix: str | None  # "0011" in Australia
