"""What changed on one PBX since its last good run, each with the check it threatens and the fix.

The rules compare two runs' facts (``RunFacts``): the last good run (no check failed) and this
one. Three of them look at this run alone, because a date coming close is news whatever the
last run said: the licence, maintenance and the certificate expiring. Time is an input (``now``):
nothing here reads a clock.

A fact one of the runs could not establish (None) never makes a change: "not known" is not
"lost".
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Final

from app.domain.causes.api_answers import Answer
from app.domain.causes.wording import listing, plural
from app.domain.diagnosis import CHECK_ORDER, TITLES, CheckId
from app.domain.fleet.facts import CAPABILITIES, RunFacts
from app.domain.version import PbxVersion

EXPIRY_WARNING_DAYS: Final = 30  # the "expiring within 30 days", licence and certificate


class ChangeKind(enum.StrEnum):
    VERSION = "version_changed"
    LICENCE_EXPIRING = "licence_expiring"
    MAINTENANCE_EXPIRED = "maintenance_expired"
    MAINTENANCE_EXPIRING = "maintenance_expiring"
    CERTIFICATE_CHANGED = "certificate_changed"
    CERTIFICATE_EXPIRING = "certificate_expiring"
    KEY_OLD = "key_old"
    KEY_ROTATED = "key_rotated"
    CAPABILITY_LOST = "capability_lost"
    STOPPED_RECORDING = "extension_stopped_recording"
    RETENTION_LOWERED = "retention_lowered"
    MONITORED_EMPTIED = "monitored_list_emptied"
    NEWLY_FAILING = "newly_failing"


@dataclass(frozen=True)
class Change:
    """One change: what it is, the check (cause) it threatens, and what to do, in customer words."""

    kind: ChangeKind
    threatens: CheckId
    finding: str
    fix: str
    was: str | None = None
    now: str | None = None

    def as_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind.value,
            "threatens": self.threatens.value,
            "threatens_order": self.threatens.order,
            "threatens_title": TITLES[self.threatens],
            "finding": self.finding,
            "fix": self.fix,
            "was": self.was,
            "now": self.now,
        }


# ---- the fixes, in the words an engineer passes to the customer ------------------------------
UPGRADE_FIX: Final = (
    "An upgrade can rotate the API key and reset recording, retention and API settings: confirm "
    "every bridge still signs in, place a recorded test call and check it reaches the CRM "
    "contact."
)
DOWNGRADE_FIX: Final = (
    "The PBX runs an older build than before (a restore from backup?): confirm with the customer "
    "which build they meant to run, then check the bridge still signs in and records."
)
LICENCE_FIX: Final = (
    "Renew the 3CX licence before it expires (3CX partner portal): when it lapses the PBX stops "
    "recording and the API stops answering."
)
MAINTENANCE_FIX: Final = (
    "Renew maintenance (3CX partner portal) so the PBX can take updates and stay on a "
    "supported build."
)
CERT_CHANGED_FIX: Final = (
    "If the certificate was renewed on purpose, give the new certificate (or its chain) to every "
    "bridge that pins the old one; if nobody renewed it, stop sending the key until it is "
    "explained."
)
CERT_EXPIRING_FIX: Final = (
    "Renew the PBX's certificate before it expires (3CX renews its own for 3CX-hosted domains; "
    "otherwise the admin console's certificate settings): bridges refuse an expired one."
)
KEY_OLD_FIX: Final = (
    "Generate a new API key (v20: Admin console > Integrations > API, edit the API client; v18: "
    "Users, edit the API user), rotate it here with `pbx-companion keys rotate`, then give it to "
    "every bridge that holds the old key."
)
KEY_ROTATED_FIX: Final = (
    "The key was rotated since the last good run: give the new key to every bridge, poller and "
    "CRM integration that holds the old one, or they stop syncing without warning."
)
NEWLY_FAILING_FIX: Final = "Run the doctor on this PBX and follow the failing check's fix."


def capability_fix(lost: list[str]) -> str:
    return (
        f"Give the API client back the right to {listing(lost)} (v20: Admin console > "
        "Integrations > API, edit the API client's role; v18: the API user's rights group): "
        "without it the bridge cannot fetch calls or recordings."
    )


def recording_fix(numbers: list[str]) -> str:
    return (
        f"Turn recording back on for {listing(numbers)} (v20: Admin console > Users, edit the "
        "user, Options, Record calls; v18: Extensions, Options, Recording: All Calls), then "
        "place a test call and check its recording appears."
    )


def retention_fix(days: int, was: str) -> str:
    return (
        f"Recordings are now deleted after {plural(days, 'day')} ({was} before): set the retention "
        "back in 3CX, System, Settings, Storage, or the CRM's links to older recordings break."
    )


MONITORED_FIX: Final = (
    "Edit the API client (Admin console > Integrations > API) and select the Extensions to "
    "Monitor again: with none selected Call Control raises no call events, so a bridge that "
    "listens to it logs nothing."
)


# ---- the rules ---------------------------------------------------------------------------------
def changes_since(
    before: RunFacts | None,
    after: RunFacts,
    *,
    now: datetime,
    key_warning_days: int,
    fixes: Mapping[CheckId, str] | None = None,
) -> list[Change]:
    """The changes from ``before`` (the last good run; None: there is none) to ``after``.

    ``fixes`` are this run's fixes per check, for a check that newly fails. The list is in the
    field docs' order of the checks threatened.
    """
    found: list[Change] = []
    found += _expiring(after, now)
    found += _key_age(after, now, key_warning_days)
    if before is not None:
        found += _version(before, after)
        found += _certificate(before, after)
        found += _key_rotated(before, after)
        found += _capabilities(before, after)
        found += _recording(before, after)
        found += _retention(before, after)
        found += _monitored(before, after)
        found += _newly_failing(before, after, fixes or {})
    return sorted(found, key=lambda change: CHECK_ORDER.index(change.threatens))


def _days_left(when: datetime, now: datetime) -> int:
    return (when - now) // timedelta(days=1)


def _expiring(after: RunFacts, now: datetime) -> list[Change]:
    found: list[Change] = []
    window = timedelta(days=EXPIRY_WARNING_DAYS)
    lic = after.licence_expires_at
    if lic is not None and now <= lic < now + window:
        found.append(
            Change(
                ChangeKind.LICENCE_EXPIRING,
                CheckId.LICENCE,
                f"The 3CX licence expires on {lic.date().isoformat()}, in "
                f"{plural(_days_left(lic, now), 'day')}.",
                LICENCE_FIX,
                now=lic.isoformat(),
            )
        )
    maintenance = after.maintenance_expires_at
    if not after.maintenance_expired and maintenance and now <= maintenance < now + window:
        found.append(
            Change(
                ChangeKind.MAINTENANCE_EXPIRING,
                CheckId.LICENCE,
                f"3CX maintenance ends on {maintenance.date().isoformat()}, in "
                f"{plural(_days_left(maintenance, now), 'day')}.",
                MAINTENANCE_FIX,
                now=maintenance.isoformat(),
            )
        )
    if after.maintenance_expired:
        found.append(
            Change(
                ChangeKind.MAINTENANCE_EXPIRED,
                CheckId.LICENCE,
                "Maintenance has expired: the PBX cannot take updates.",
                MAINTENANCE_FIX,
            )
        )
    cert = after.certificate_not_after
    if cert is not None and cert < now + window:
        left = _days_left(cert, now)
        when = (
            f"expired on {cert.date().isoformat()}"
            if cert < now
            else f"expires on {cert.date().isoformat()}, in {plural(left, 'day')}"
        )
        found.append(
            Change(
                ChangeKind.CERTIFICATE_EXPIRING,
                CheckId.REACHABILITY,
                f"The PBX's certificate {when}.",
                CERT_EXPIRING_FIX,
                now=cert.isoformat(),
            )
        )
    return found


def _key_age(after: RunFacts, now: datetime, warning_days: int) -> list[Change]:
    if warning_days < 1:
        raise ValueError("key_warning_days must be at least 1.")
    set_at = after.key_rotated_at
    if set_at is None:
        return []
    days = max(0, (now - set_at).days)
    if days < warning_days:
        return []
    return [
        Change(
            ChangeKind.KEY_OLD,
            CheckId.REACHABILITY,
            f"The API key was set {plural(days, 'day')} ago, past the {warning_days} days "
            "chosen in the settings.",
            KEY_OLD_FIX,
            now=set_at.isoformat(),
        )
    ]


def _version(before: RunFacts, after: RunFacts) -> list[Change]:
    old, new = PbxVersion.parse(before.version), PbxVersion.parse(after.version)
    if old is None or new is None or old == new:
        return []
    upgraded = new > old
    word = "upgraded" if upgraded else "went back"
    return [
        Change(
            ChangeKind.VERSION,
            CheckId.REACHABILITY,
            f"3CX was {word} from {before.version} to {after.version}.",
            UPGRADE_FIX if upgraded else DOWNGRADE_FIX,
            was=before.version,
            now=after.version,
        )
    ]


def _certificate(before: RunFacts, after: RunFacts) -> list[Change]:
    old, new = before.certificate_sha256, after.certificate_sha256
    if old is None or new is None or old == new:
        return []
    return [
        Change(
            ChangeKind.CERTIFICATE_CHANGED,
            CheckId.REACHABILITY,
            f"The PBX presents another certificate than at the last good run (SHA-256 "
            f"{new[:23]}…, was {old[:23]}…).",
            CERT_CHANGED_FIX,
            was=old,
            now=new,
        )
    ]


def _key_rotated(before: RunFacts, after: RunFacts) -> list[Change]:
    old, new = before.key_rotated_at, after.key_rotated_at
    if old is None or new is None or new <= old:
        return []
    return [
        Change(
            ChangeKind.KEY_ROTATED,
            CheckId.REACHABILITY,
            f"The API key was rotated on {new.date().isoformat()}, after the last good run.",
            KEY_ROTATED_FIX,
            was=old.isoformat(),
            now=new.isoformat(),
        )
    ]


def _capabilities(before: RunFacts, after: RunFacts) -> list[Change]:
    if before.capabilities is None or after.capabilities is None:
        return []
    lost = [
        name
        for name in CAPABILITIES
        if before.capabilities.get(name) == Answer.OK
        and after.capabilities.get(name) == Answer.FORBIDDEN
    ]
    if not lost:
        return []
    words = [CAPABILITIES[name] for name in lost]
    return [
        Change(
            ChangeKind.CAPABILITY_LOST,
            CheckId.API_ROLES,
            f"The API client may no longer {listing(words)}: the PBX now answers 403.",
            capability_fix(words),
            was=", ".join(lost),
        )
    ]


def _recording(before: RunFacts, after: RunFacts) -> list[Change]:
    if before.recording_extensions is None or after.silent_extensions is None:
        return []
    stopped = [n for n in before.recording_extensions if n in set(after.silent_extensions)]
    if not stopped:
        return []
    verb = "has" if len(stopped) == 1 else "have"
    return [
        Change(
            ChangeKind.STOPPED_RECORDING,
            CheckId.EXTENSION_RECORDING,
            f"{plural(len(stopped), 'extension').capitalize()} stopped recording since the last "
            f"good run: {listing(stopped)} {verb} recording off or only on demand now.",
            recording_fix(stopped),
            now=", ".join(stopped),
        )
    ]


def _retention_words(days: int) -> str:
    return "kept for ever" if days == 0 else plural(days, "day")


def _retention(before: RunFacts, after: RunFacts) -> list[Change]:
    old, new = before.retention_days, after.retention_days
    if old is None or new is None or new == 0:
        return []
    if old != 0 and new >= old:
        return []
    was = _retention_words(old)
    return [
        Change(
            ChangeKind.RETENTION_LOWERED,
            CheckId.RETENTION,
            f"Recording retention was lowered to {plural(new, 'day')} (was {was}).",
            retention_fix(new, was),
            was=str(old),
            now=str(new),
        )
    ]


def _monitored(before: RunFacts, after: RunFacts) -> list[Change]:
    if not before.monitored or after.monitored is None or after.monitored:
        return []
    return [
        Change(
            ChangeKind.MONITORED_EMPTIED,
            CheckId.LATE_RECORDING,
            f"Call Control's monitored list is empty (it held {listing(list(before.monitored))}).",
            MONITORED_FIX,
            was=", ".join(before.monitored),
            now="",
        )
    ]


def _newly_failing(before: RunFacts, after: RunFacts, fixes: Mapping[CheckId, str]) -> list[Change]:
    return [
        Change(
            ChangeKind.NEWLY_FAILING,
            check,
            f"Check {check.order} ({TITLES[check]}) fails now; it did not at the last good run.",
            fixes.get(check) or NEWLY_FAILING_FIX,
        )
        for check in after.failed
        if check not in before.failed
    ]
