"""The one async interface the rest of the app uses to talk to a 3CX PBX (v20 or v18)."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from datetime import datetime
from typing import Protocol

from app.domain.bridge import PhonebookResolution
from app.domain.business_hours import BusinessHours
from app.domain.calls import CallRecord
from app.domain.contacts import Contact
from app.domain.extensions import Extension, Queue
from app.domain.licence import Licence, NumberingPlan, SystemStatus
from app.domain.live import CallEvent
from app.domain.pbx import PbxIdentity
from app.domain.recordings import Recording, RetentionPolicy
from app.domain.wire_shapes import WireSeen


class PbxClient(Protocol):
    """Every method has a timeout and raises only ``app.threecx.errors.ThreeCXError``."""

    generation: str  # "v20" or "v18"
    wire_seen: WireSeen  # which live-PBX shapes it has shown so far (docs/3cx-wire.md)

    @property
    def identity(self) -> PbxIdentity: ...

    async def authenticate(self) -> PbxIdentity:
        """Sign in (token or session) and learn the version; raises ``AuthRejected``."""
        ...

    async def system_status(self) -> SystemStatus: ...

    async def licence(self) -> Licence: ...

    async def numbering_plan(self) -> NumberingPlan: ...

    async def office_hours(self) -> BusinessHours | None:
        """The customer's time zone, opening hours, breaks and holidays as the PBX keeps them;
        ``None`` when the PBX offers none to read (the engineer is asked instead)."""
        ...

    async def extensions(self) -> list[Extension]: ...

    async def queues(self) -> list[Queue]: ...

    async def call_history(
        self, since: datetime, until: datetime, *, limit: int = 1000
    ) -> list[CallRecord]:
        """Calls that started in [since, until], newest first, one entry per call."""
        ...

    async def recordings(
        self,
        *,
        since: datetime | None = None,
        until: datetime | None = None,
        limit: int = 100,
    ) -> list[Recording]:
        """Recordings newest first."""
        ...

    async def recording(self, rec_id: int) -> Recording | None: ...

    async def download_recording(self, rec_id: int) -> bytes:
        """The audio file (WAV); ``RecordingFileMissing`` when the PBX no longer has it."""
        ...

    async def retention(self) -> RetentionPolicy: ...

    async def contacts(self) -> list[Contact]: ...

    async def phonebook_settings(self) -> PhonebookResolution | None:
        """How 3CX matches a caller to a phonebook contact (exact number, the last N digits,
        or not at all); ``None`` when the PBX offers no such setting to read (v18)."""
        ...

    def watch_calls(self) -> AsyncGenerator[CallEvent, None]:
        """Live call events until cancelled: Call Control where available, else polling."""
        ...

    async def aclose(self) -> None: ...
