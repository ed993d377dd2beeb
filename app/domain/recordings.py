"""Recordings, where they stand, and the retention policy that eventually deletes them."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime, timedelta

from app.domain.calls import CallRecord


class RecordingCallType(enum.StrEnum):
    LOCAL = "Local"
    INBOUND_EXTERNAL = "InboundExternal"
    OUTBOUND_EXTERNAL = "OutboundExternal"
    UNKNOWN = "unknown"


class RecordingState(enum.StrEnum):
    READY = "ready"
    PENDING = "pending"  # the call ended; 3CX has not written the file yet
    MISSING = "missing"  # the window passed and it never appeared
    ARCHIVED = "archived"  # only downloadable from the archive
    DELETED_BY_RETENTION = "deleted by retention"


@dataclass(frozen=True)
class Recording:
    id: int
    started_at: datetime | None
    ended_at: datetime | None
    call_type: RecordingCallType
    from_number: str
    to_number: str
    from_dn: str | None = None
    to_dn: str | None = None
    url: str | None = None  # relative path as the PBX gives it; never built by hand
    archived: bool = False
    archived_url: str | None = None
    did: str | None = None

    @property
    def state(self) -> RecordingState:
        return RecordingState.ARCHIVED if self.archived else RecordingState.READY


@dataclass(frozen=True)
class RetentionPolicy:
    auto_delete: bool | None
    auto_delete_days: int | None
    archive_enabled: bool | None = None
    quota_mb: int | None = None

    def deletes_before(self, now: datetime) -> datetime | None:
        """Recordings that started before this moment have been removed by auto-delete."""
        if not self.auto_delete or not self.auto_delete_days:
            return None
        return now - timedelta(days=self.auto_delete_days)

    def days_left(self, started_at: datetime, now: datetime) -> int | None:
        if not self.auto_delete or not self.auto_delete_days:
            return None
        return self.auto_delete_days - (now - started_at).days


def retry_delays(window_s: float, *, first_s: float = 0.5, factor: float = 2.0) -> list[float]:
    """A bridge's polling schedule after hang-up: exponential backoff until ``window_s``.

    Returns the offsets from hang-up (seconds) at which to look, the last one at the window.
    The step never grows past a quarter of the window, so a late file is seen soon after it lands.
    """
    if window_s <= 0:
        return [0.0]
    cap = max(first_s, window_s / 4)
    offsets: list[float] = []
    at, step = first_s, first_s
    while round(at, 3) < round(window_s, 3):
        offsets.append(round(at, 3))
        step = min(step * factor, cap)
        at += step
    offsets.append(round(window_s, 3))
    return offsets


def _digits(text: str | None) -> str:
    return "".join(ch for ch in text or "" if ch.isdigit())


def recording_for_call(
    call: CallRecord, recordings: list[Recording], tolerance: timedelta = timedelta(minutes=2)
) -> Recording | None:
    """The recording of ``call`` when the call log carries no reference to it (v18).

    Same outside number (compared on the last 8 digits: formats differ between the two
    lists) and a start within ``tolerance``.
    """
    if call.started_at is None:
        return None
    number = _digits(call.external_number)[-8:]
    for rec in recordings:
        if rec.started_at is None or abs(rec.started_at - call.started_at) > tolerance:
            continue
        parties = (_digits(rec.from_number)[-8:], _digits(rec.to_number)[-8:])
        if number and number in parties:
            return rec
        if not number and call.extension and call.extension in (rec.from_dn, rec.to_dn):
            return rec
    return None
