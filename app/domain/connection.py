"""A customer's PBX as the engineer keeps it: address, identity, hours, and the last check.

No secret lives here: the API key is in the OS keyring under the connection's ``id``.
"""

from __future__ import annotations

import enum
import unicodedata
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Final

from app.domain.activity_columns import ActivityColumns
from app.domain.bridge import Bridge
from app.domain.business_hours import BusinessHours


class CheckStatusSummary(enum.StrEnum):
    """The connection list's status column: the worst result of the last doctor run."""

    NEVER = "not checked"
    PASS = "pass"
    WARN = "warn"
    FAIL = "fail"
    UNREACHABLE = "unreachable"


@dataclass(frozen=True)
class LastCheck:
    status: CheckStatusSummary
    at: datetime
    summary: str  # one line, e.g. "First failure: 6. Retention"; never a secret


@dataclass(frozen=True)
class ContactColumns:
    """The CRM export's columns as the engineer mapped them, where detection got them wrong.

    Headers as written in the file; kept with the connection so every later read of the same
    export (live feed, doctor, CLI) uses the engineer's mapping, not a fresh guess.
    """

    phone: tuple[str, ...]
    name: tuple[str, ...] = ()
    id: str | None = None
    company: str | None = None
    email: str | None = None


def new_connection_id() -> str:
    return uuid.uuid4().hex


_DID_CHARS: Final = frozenset("+0123456789 -().")
_MIN_DID_DIGITS: Final = 3


def looks_like_did(text: str) -> bool:
    """A DID as an engineer types it: digits with the usual separators, at least three digits.

    Loose on purpose: the number is compared with the PBX's own, not dialled.
    """
    digits = sum(ch.isdigit() for ch in text)
    return digits >= _MIN_DID_DIGITS and all(ch in _DID_CHARS for ch in text)


@dataclass(frozen=True)
class ConnectionProfile:
    """One customer PBX. ``id`` is stable (the keyring entry's user name); the rest is editable."""

    id: str
    name: str
    url: str
    client_id: str
    customer: str = ""
    # The engineer's own labels ("monthly-review", "region-north"): ``fleet sweep --only TAG``
    # and an MSP's shards across its RMM agents pick connections by them.
    tags: tuple[str, ...] = ()
    version: str | None = None  # last detected, e.g. "20.0.10.1116"
    hosting: str | None = None  # "self-hosted", "3CX-hosted", ... as last guessed
    region: str | None = None  # ISO country for number normalisation; None: the PBX's own
    ca_file: str | None = None
    pin_sha256: str | None = None
    business_hours: BusinessHours = field(default_factory=BusinessHours)
    did_sources: dict[str, str] = field(default_factory=dict, hash=False)  # DID -> source list
    contacts_csv: str | None = None  # a CRM export to match callers against
    contacts_columns: ContactColumns | None = None  # None: detect them from the headers
    # The CRM activity export's columns as the engineer mapped them (Reconcile); None: detect.
    activity_columns: ActivityColumns | None = None
    bridge: Bridge = field(default_factory=Bridge)  # which store it searches, how it compares
    last_check: LastCheck | None = None
    key_rotated_at: datetime | None = None
    demo: bool = False  # the in-process simulator; never saved

    @property
    def status(self) -> CheckStatusSummary:
        return self.last_check.status if self.last_check else CheckStatusSummary.NEVER


TAG_MAX_LENGTH: Final = 40


def parse_tags(text: str | Iterable[str]) -> tuple[str, ...]:
    """Tags as typed ("north, Monthly review,north"): split on commas, spaces inside a tag
    collapsed, empty ones dropped, and a repeat (in any case) kept once, first spelling first.
    """
    parts = text.split(",") if isinstance(text, str) else list(text)
    tags: list[str] = []
    seen: set[str] = set()
    for part in parts:
        tag = " ".join(part.split())
        if tag and tag.casefold() not in seen:
            seen.add(tag.casefold())
            tags.append(tag)
    return tuple(tags)


def tag_problem(tags: Iterable[str]) -> str | None:
    """Why these tags cannot be kept (a long one is a paste gone wrong), or None."""
    for tag in tags:
        if len(tag) > TAG_MAX_LENGTH:
            return (
                f"The tag {tag[:20]!r}… is {len(tag)} characters long: keep each tag to "
                f"{TAG_MAX_LENGTH} (separate tags with commas)."
            )
    return None


def has_tag(profile: ConnectionProfile, tag: str) -> bool:
    """Whether ``profile`` carries ``tag``, compared as the engineer reads it (any case)."""
    wanted = " ".join(tag.split()).casefold()
    return any(t.casefold() == wanted for t in profile.tags)


def key_age_days(profile: ConnectionProfile, *, now: datetime) -> int | None:
    """Whole days since the key was stored or rotated; None when not recorded."""
    if profile.key_rotated_at is None:
        return None
    return max(0, (now - profile.key_rotated_at).days)  # a clock set back is "today"


def key_age_text(profile: ConnectionProfile, *, now: datetime) -> str:
    """The key's age in words: "set today", "set 12 days ago", "age not known"."""
    days = key_age_days(profile, now=now)
    if days is None:
        return "age not known"
    if days == 0:
        return "set today"
    return f"set {days} day{'' if days == 1 else 's'} ago"


def key_age_warning(profile: ConnectionProfile, *, now: datetime, warn_days: int) -> str | None:
    """What to do when the key is ``warn_days`` old or older (the engineer's preference)."""
    if warn_days < 1:
        raise ValueError("warn_days must be at least 1.")
    days = key_age_days(profile, now=now)
    if days is None or days < warn_days:
        return None
    return (
        f"The API key for {profile.name} was set {days} days ago, past the {warn_days} days "
        "chosen in the settings. Generate a new key (v20: Admin console > Integrations > API, "
        "edit the API client; v18: Users, edit the API user), rotate it here, then give it to "
        "every bridge that holds the old key."
    )


# Characters a copy from a web page or chat brings along unseen: soft hyphen, Mongolian vowel
# separator, zero-width space/non-joiner/joiner, word joiner, byte-order mark.
INVISIBLE: Final = frozenset("\u00ad\u180e\u200b\u200c\u200d\u2060\ufeff")


class ClientIdError(ValueError):
    """A Client ID that cannot be sent as typed; the message names the character and where."""


@dataclass(frozen=True)
class PasteFlaw:
    """What is wrong inside a pasted credential: a space or line break, or an unseen character."""

    space: bool
    where: str  # "character 7 of 32"
    char: str


def tidy_paste(text: str) -> str:
    """``text`` without invisible characters and surrounding whitespace."""
    return "".join(char for char in text if char not in INVISIBLE).strip()


def paste_flaw(cleaned: str) -> PasteFlaw | None:
    """The first space, line break or unprintable character inside a tidied credential."""
    for position, char in enumerate(cleaned, start=1):
        where = f"character {position} of {len(cleaned)}"
        if char.isspace():
            return PasteFlaw(True, where, char)
        if not char.isprintable() or unicodedata.category(char) == "Cf":
            return PasteFlaw(False, where, char)
    return None


def normalise_client_id(text: str) -> str:
    """The Client ID as 3CX shows it: invisible characters and surrounding whitespace dropped.

    3CX answers a wrong Client ID with the same 401 as a wrong key (API-NOTES §2), so a pasted
    zero-width space would be blamed on the key: it is dropped here, on every path, before the
    ID is sent. A space, line break or control character inside is named instead, since
    guessing which part is the ID could sign in as another client.
    """
    cleaned = tidy_paste(text)
    if not cleaned:
        raise ClientIdError(
            "The Client ID is empty: copy it from Admin console > Integrations > API (on v18: "
            "the API user's extension number)."
        )
    flaw = paste_flaw(cleaned)
    if flaw is not None and flaw.space:
        raise ClientIdError(
            f"The Client ID has a space or line break inside it ({flaw.where}); a 3CX Client "
            "ID never does: copy it again from Admin console > Integrations > API."
        )
    if flaw is not None:
        name = unicodedata.name(flaw.char, f"U+{ord(flaw.char):04X}")
        raise ClientIdError(
            f"The Client ID contains an invisible character ({name}, {flaw.where}); type the "
            "Client ID by hand as shown under Admin console > Integrations > API."
        )
    return cleaned
