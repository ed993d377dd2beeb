"""3CX version numbers and what each generation can do."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import total_ordering

_VERSION = re.compile(r"^\s*(\d+)(?:\.(\d+))?(?:\.(\d+))?(?:\.(\d+))?(?:$|[^\d.])")


@total_ordering
@dataclass(frozen=True)
class PbxVersion:
    """A 3CX version such as ``20.0.10.1116``.

    The field docs' floor "v18 build 11" is read as the third component (``18.0.11``): the
    fourth component is the build counter 3CX shows in its banner and is never that small.
    """

    major: int
    minor: int = 0
    update: int = 0
    build: int = 0

    @classmethod
    def parse(cls, text: str | None) -> PbxVersion | None:
        if not text:
            return None
        match = _VERSION.match(text)
        if match is None:
            return None
        parts = [int(p) if p is not None else 0 for p in match.groups()]
        return cls(*parts)

    def __str__(self) -> str:
        return f"{self.major}.{self.minor}.{self.update}.{self.build}"

    def _key(self) -> tuple[int, int, int, int]:
        return (self.major, self.minor, self.update, self.build)

    def __lt__(self, other: object) -> bool:
        if not isinstance(other, PbxVersion):
            return NotImplemented
        return self._key() < other._key()

    @property
    def is_v20(self) -> bool:
        return self.major >= 20

    @property
    def token_lifetime_in_minutes(self) -> bool:
        """Before 20.0.9 the token's ``expires_in`` counted minutes; from 20.0.9, seconds."""
        return self.major == 20 and (self.minor, self.update) < (0, 9)

    @property
    def meets_floor(self) -> bool:
        return self >= SUPPORTED_FLOOR


SUPPORTED_FLOOR = PbxVersion(18, 0, 11, 0)
