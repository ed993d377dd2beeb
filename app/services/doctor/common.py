"""What every check needs: the shared context, a safe way to await a fact, plain wording."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Generic, TypeVar

from app.domain.pbx import PbxIdentity
from app.services.doctor.context import Facts
from app.services.doctor.options import DoctorOptions
from app.services.recording_watcher import RecordingJourney
from app.threecx.client import PbxClient
from app.threecx.errors import AuthRejected, Forbidden, ThreeCXError, Unsupported

T = TypeVar("T")


@dataclass(frozen=True)
class Outcome(Generic[T]):
    """A fact or the reason it could not be read."""

    value: T | None = None
    error: ThreeCXError | None = None

    @property
    def ok(self) -> bool:
        return self.error is None

    @property
    def denied(self) -> bool:
        return isinstance(self.error, (AuthRejected, Forbidden))

    @property
    def unsupported(self) -> bool:
        return isinstance(self.error, Unsupported)

    def get(self) -> T:
        if self.error is not None:
            raise self.error
        assert self.value is not None
        return self.value


async def attempt(aw: Awaitable[T]) -> Outcome[T]:
    try:
        return Outcome(value=await aw)
    except ThreeCXError as exc:
        return Outcome(error=exc)


@dataclass(frozen=True)
class CheckContext:
    client: PbxClient
    facts: Facts
    options: DoctorOptions
    identity: PbxIdentity
    now: datetime
    on_journey: Callable[[RecordingJourney], None] | None = None

    @property
    def is_v20(self) -> bool:
        return self.client.generation == "v20"


def plural(count: int, one: str, many: str | None = None) -> str:
    return f"{count} {one if count == 1 else (many or one + 's')}"


def listing(items: list[str], limit: int = 6) -> str:
    """'101, 102 and 103' (and 'and 4 more' past the limit)."""
    if not items:
        return ""
    shown = items[:limit]
    rest = len(items) - len(shown)
    if rest:
        return ", ".join(shown) + f" and {rest} more"
    if len(shown) == 1:
        return shown[0]
    return ", ".join(shown[:-1]) + f" and {shown[-1]}"


def day(value: datetime | None) -> str:
    return value.date().isoformat() if value else "unknown"


def blocked_by(check_title: str, order: int) -> str:
    return f"Not checked: blocked by check {order} ({check_title})."
