"""Extensions and queues with the recording settings that decide whether a file is written."""

from __future__ import annotations

import enum
from dataclasses import dataclass


class RecordingMode(enum.StrEnum):
    ALL_CALLS = "all calls"
    EXTERNAL_ONLY = "external calls only"
    ON_DEMAND = "on demand"
    DISABLED = "disabled"
    FORBIDDEN = "forbidden"
    UNKNOWN = "unknown"  # the API does not tell (v18)

    @property
    def records_external_calls(self) -> bool | None:
        if self is RecordingMode.UNKNOWN:
            return None
        return self in (RecordingMode.ALL_CALLS, RecordingMode.EXTERNAL_ONLY)

    @classmethod
    def from_user_flags(
        cls,
        record_calls: bool | None,
        external_only: bool | None,
        forbid: bool | None,
        allow_own: bool | None,
    ) -> RecordingMode:
        """Map the v20 ``Users`` flags. ``ForbidRecording`` wins over everything."""
        if forbid:
            return cls.FORBIDDEN
        if record_calls:
            return cls.EXTERNAL_ONLY if external_only else cls.ALL_CALLS
        if record_calls is None and forbid is None:
            return cls.UNKNOWN
        if allow_own:
            return cls.ON_DEMAND
        return cls.DISABLED


class QueueRecording(enum.StrEnum):
    DISABLED = "Disabled"
    ALLOW_TO_OPT_OUT = "AllowToOptOut"
    ASK_TO_OPT_IN = "AskToOptIn"
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class Extension:
    number: str
    name: str
    recording: RecordingMode
    enabled: bool = True
    registered: bool | None = None
    email: str | None = None


@dataclass(frozen=True)
class Queue:
    number: str
    name: str
    recording: QueueRecording
    ring_all: bool = False
