"""Recordings, where they stand, and the retention policy that eventually deletes them."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime, timedelta


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
