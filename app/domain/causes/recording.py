"""What "records" means, decided once: every check, pane and report asks these terms.

- Which extension settings record a bridge's calls. All Calls and External calls only do. On
  Demand does not: 3CX writes a file only for the calls the user chooses to record, so a bridge
  cannot count on one, and an on-demand extension that lost calls is named as the cause (3).
  Disabled and Forbidden never record. v18 does not say (unknown).
- How long after hang-up a missing recording is still only late (cause 4), not lost (cause 3).
- The bridge retry window a well-built bridge uses (field docs: two minutes).
- What "Call Control monitors nothing" means: no DN besides the route point. 3CX shows every
  API client the route point, whatever its "Extensions to Monitor" say (API-NOTES §6), so the
  route point alone proves nothing is monitored.
- Where the recording setting lives in the admin console, v20 or v18.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final

from app.domain.calls import CallRecord
from app.domain.extensions import Extension, RecordingMode


class Recorder(enum.StrEnum):
    """What an extension's setting does with a bridge's (external) calls."""

    RECORDS = "records"
    ON_DEMAND = "records only on demand"
    OFF = "does not record"
    UNKNOWN = "not reported"  # v18's API does not give the mode


RECORDS_EXTERNAL_CALLS: Final = frozenset({RecordingMode.ALL_CALLS, RecordingMode.EXTERNAL_ONLY})
RECORDS_ONLY_ON_DEMAND: Final = frozenset({RecordingMode.ON_DEMAND})
NEVER_RECORDS: Final = frozenset({RecordingMode.DISABLED, RecordingMode.FORBIDDEN})


def recorder(mode: RecordingMode) -> Recorder:
    if mode in RECORDS_EXTERNAL_CALLS:
        return Recorder.RECORDS
    if mode in RECORDS_ONLY_ON_DEMAND:
        return Recorder.ON_DEMAND
    if mode in NEVER_RECORDS:
        return Recorder.OFF
    return Recorder.UNKNOWN


def records_external_calls(mode: RecordingMode) -> bool | None:
    """True / False, or None when the PBX does not say (v18)."""
    kind = recorder(mode)
    return None if kind is Recorder.UNKNOWN else kind is Recorder.RECORDS


def records_call(mode: RecordingMode, *, external: bool) -> bool | None:
    """Whether a call on an extension with this setting gets a recording, whatever the timing."""
    if mode is RecordingMode.EXTERNAL_ONLY and not external:
        return False
    return records_external_calls(mode)


def does_not_record(number: str, mode: RecordingMode) -> str:
    """ "extension 104 does not record (on demand)": the words every pane uses for it."""
    return f"extension {number} does not record ({mode})"


def unrecorded_reason(extension: Extension | None, *, external: bool) -> str | None:
    """Why a call on ``extension`` will have no recording whatever the timing (cause 3, not 4).

    None when a recording is expected, or when nothing is known about the extension.
    """
    if extension is None or records_call(extension.recording, external=external) is not False:
        return None
    if recorder(extension.recording) is Recorder.RECORDS:
        return f"extension {extension.number} records external calls only"
    return does_not_record(extension.number, extension.recording)


# ---- timing -----------------------------------------------------------------------------------
# Field docs: "How long should I wait before assuming a recording is missing? Two minutes after
# hang-up." 3CX writes the file seconds to about a minute after hang-up, later when busy.
WRITE_WINDOW: Final = timedelta(minutes=2)
# Field docs: a bridge "polls ... for up to two minutes"; Connect Zero's default.
DEFAULT_BRIDGE_WINDOW_S: Final = 120.0
# A missing recording counts as lost (cause 3) only once 3CX's usual write time AND a bridge's
# whole retry window after it have passed: before that a busy or hosted PBX may still write it
# (cause 4 territory), so calling it lost would blame the wrong cause.
SETTLE_AFTER_HANG_UP: Final = WRITE_WINDOW + timedelta(seconds=DEFAULT_BRIDGE_WINDOW_S)


def hung_up_at(call: CallRecord) -> datetime | None:
    """When the call ended: its start plus ringing plus talking (the call log's own figures)."""
    if call.started_at is None:
        return None
    return call.started_at + (call.ringing or timedelta()) + (call.talking or timedelta())


def settled(call: CallRecord, now: datetime) -> bool:
    """Past the settle window: a recording still missing now is lost, not late.

    A call whose times the PBX did not give is treated as settled: it is not a fresh one.
    """
    ended = hung_up_at(call)
    return ended is None or now - ended >= SETTLE_AFTER_HANG_UP


def settle_words() -> str:
    """ "4 minutes": the settle window as the findings say it."""
    minutes = SETTLE_AFTER_HANG_UP.total_seconds() / 60
    return f"{minutes:g} minutes"


# ---- Call Control -----------------------------------------------------------------------------
ROUTE_POINT: Final = "Wroutepoint"


@dataclass(frozen=True)
class VisibleDn:
    """A DN Call Control shows this API client, with its 3CX type ("Wextension", ...)."""

    dn: str
    kind: str


def monitored_dns(visible: Iterable[VisibleDn]) -> tuple[str, ...]:
    """The DNs the API client's "Extensions to Monitor" chose (the route point is not one)."""
    return tuple(v.dn for v in visible if v.dn and v.kind != ROUTE_POINT)


def monitors_nothing(visible: Iterable[VisibleDn]) -> bool:
    """Call Control answers but no call on an extension will ever raise an event."""
    return not monitored_dns(visible)


# ---- the admin console ------------------------------------------------------------------------
def recording_setting(v20: bool) -> str:
    """Where the recording setting is and what to set, in the admin console's own words."""
    if v20:
        return (
            "Admin console > Users, edit the user, Options: tick Record calls (all calls, or "
            "external calls only) and make sure Forbid recording is off"
        )
    return "Extensions, choose the user, Options: set Recording to All Calls"


def recording_fix(v20: bool, who: str) -> str:
    """The fix for extensions that do not record, ``who`` naming them ("104 and 107")."""
    return (
        f"Turn recording on for {who}: {recording_setting(v20)}. Inbound rules can override the "
        "extension setting, so check the rule for the number the customer called too. Then "
        "place a test call from the extension and confirm it appears in the 3CX call history "
        "with a recording within two minutes."
    )
