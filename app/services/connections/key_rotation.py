"""Replacing a connection's key: proved against the PBX first, and what to tell the engineer."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Final

from app.domain.connection import ConnectionProfile
from app.services.connections.validation import ConnectionStoreError
from app.services.session import connection_params
from app.services.setup.capabilities import CapabilityReport, verify_capabilities

VerifyKey = Callable[[ConnectionProfile, str], Awaitable[CapabilityReport]]

# Cause 7 of the field docs: a rotated key silently breaks every bridge still holding the old one.
BRIDGES_REMINDER: Final = (
    "Give the new key to every bridge, poller and CRM integration that holds the old one: 3CX "
    "accepts only the key it generated last, and a bridge left on the old key stops syncing "
    "calls and recordings without warning (cause 7, the API key is rejected)."
)


class KeyRotationRejected(ConnectionStoreError):
    """The PBX did not accept the new key (or it lacks a capability); the old key stays.

    ``report`` holds every probe's tick, detail and fix for the engineer.
    """

    def __init__(self, message: str, report: CapabilityReport) -> None:
        super().__init__(message, field="secret")
        self.report = report


@dataclass(frozen=True)
class KeyRotation:
    """A verified rotation: the profile as saved (with ``key_rotated_at``) and the proof."""

    profile: ConnectionProfile
    report: CapabilityReport
    bridges_reminder: str = BRIDGES_REMINDER


def rejection(profile: ConnectionProfile, report: CapabilityReport) -> str:
    problem = report.first_problem
    what = f"{problem.label}: {problem.detail}" if problem else "the PBX did not prove both roles"
    return f"The new key for {profile.name} was not rotated in; the old key stays. {what}"


async def verify_against_profile(profile: ConnectionProfile, key: str) -> CapabilityReport:
    return await verify_capabilities(connection_params(profile), key)
