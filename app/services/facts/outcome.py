"""A fact read from the PBX, or the reason it could not be: and that answer as the rules read it."""

from __future__ import annotations

from collections.abc import Awaitable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from app.domain.causes.api_answers import Answer, ProbeAnswer
from app.threecx.connect import ClientIdUnusable
from app.threecx.errors import (
    AuthRejected,
    DownloadUnconfirmed,
    Forbidden,
    RecordingFileMissing,
    ThreeCXError,
    TokenRevoked,
    Unsupported,
)

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
        """Refused (401 or 403). A token withdrawn after sign-in is not: it is ``revoked``."""
        return isinstance(self.error, (AuthRejected, Forbidden)) and not self.revoked

    @property
    def revoked(self) -> bool:
        return isinstance(self.error, TokenRevoked)

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


def probe_answer(outcome: Outcome[Any]) -> ProbeAnswer:
    """An outcome as the rules read it: how the PBX answered, never the exception. The count is
    the number of rows read, or the value itself when it is a number (bytes downloaded)."""
    error = outcome.error
    if error is None:
        value = outcome.value
        count = value if isinstance(value, int) else len(value) if isinstance(value, list) else None
        return ProbeAnswer(Answer.OK, count=count)
    if isinstance(error, TokenRevoked):  # first: it is never a refusal, whatever it extends
        answer = Answer.REVOKED
    elif isinstance(error, ClientIdUnusable):
        answer = Answer.CLIENT_ID
    elif isinstance(error, AuthRejected):
        answer = Answer.REJECTED
    elif isinstance(error, Forbidden):
        answer = Answer.FORBIDDEN
    elif isinstance(error, RecordingFileMissing):
        answer = Answer.FILE_MISSING
    elif isinstance(error, DownloadUnconfirmed):
        answer = Answer.UNCONFIRMED
    else:
        answer = Answer.FAILED
    return ProbeAnswer(
        answer, error.message, error.next_step, error.what, error.endpoint, detail=error.detail
    )
