"""What an answer of the PBX means where the app asks it: the one definition of a 401 and a 403.

The app asks in three places: the sign-in (the token), the call history and the recordings. A
401 or 403 means something different at each, and the doctor (checks 2 and 7), the guided
setup's key check and a key rotation all take the meaning, and the fix, from here.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Final

# The field docs' names for the two capabilities; 3CX has no roles by these names (API-NOTES §3).
HISTORY: Final = "Reports User, for call history"
RECORDINGS: Final = "Recording Manager, for recording fetch"

KEY_REJECTED: Final = (
    "The PBX rejected the Client ID or API key (401): one of them is wrong, or the key was "
    "rotated since it was copied. 3CX gives the same answer for both."
)
KEY_FIX: Final = (
    "First check the Client ID and the key exactly as shown under Admin console > Integrations "
    "> API (on v18: the API user's extension number and password): the Client ID is the API "
    "client's number, and the key must be pasted in one piece. If the key was rotated (often by "
    "a 3CX upgrade), use the new one. Regenerate the key only if it is lost (3CX shows a key "
    "only once; v20: Admin console > Integrations > API, edit the API client; v18: Users, edit "
    "the API user): regenerating breaks every bridge and poller that holds the old key, so each "
    "then needs the new one."
)
# 3CX keeps one access token per API client (API-NOTES §2): a sign-in elsewhere withdraws ours.
REVOKED: Final = (
    "The PBX accepted the Client ID and key, then withdrew the access token at once (401 right "
    "after signing in, twice): another program signed in with the same API client meanwhile "
    "(a bridge, or a second PBX Companion), or the key was rotated. This is not a missing role."
)
REVOKED_FIX: Final = (
    "3CX keeps one access token per API client, so two programs sharing one client knock each "
    "other out. Give this app (and each bridge) its own API client under Admin console > "
    "Integrations > API, or run the check when nothing else uses the client; if the key was "
    "rotated, use the new key. Then check again."
)
SIGN_IN_FORBIDDEN: Final = "The PBX refused the sign-in (403) before the key was checked."
SIGN_IN_FORBIDDEN_FIX: Final = (
    "The PBX refused this machine (403) although the key may be right: the admin console "
    "restricts which IP addresses may use the console and API. Allow this machine's public IP "
    "(and the bridge's) in the PBX's console IP restrictions, or run the check from an allowed "
    "network; a web proxy in between can answer 403 too."
)
NOT_THE_API_FIX: Final = (
    "Check the address points at the PBX itself and not at a proxy or login page."
)
RETRY_FIX: Final = (
    "Check again in a minute; if it repeats, check the PBX's services in the admin console."
)
# v18's recording download path is unconfirmed (API-NOTES §7): when none of the known forms
# answers, that is the product's limit on this build, never the customer's fault.
DOWNLOAD_UNCONFIRMED: Final = (
    "PBX Companion could not confirm the recording download on this 3CX build (v18): none of "
    "the download paths it knows for v18 answered. This is a limit of PBX Companion, not a "
    "fault of the PBX."
)
DOWNLOAD_BY_HAND: Final = (
    "Nothing to change on the PBX for this. To hear a recording, play it in the 3CX admin "
    "console (Recordings)."
)


class Where(enum.StrEnum):
    SIGN_IN = "sign-in"
    CALL_HISTORY = "call history"
    RECORDINGS = "recordings"


class Answer(enum.StrEnum):
    """How the PBX answered one question; the values are the words the doctor's JSON keeps."""

    OK = "ok"
    REJECTED = "401 rejected"
    FORBIDDEN = "403 forbidden"
    FILE_MISSING = "file missing"  # a recording download: the file is not on the PBX
    # A v18 recording download: no known download path answered (the product's limit).
    UNCONFIRMED = "not confirmed on this 3CX build (v18)"
    # A 401 on a token issued just now, twice: another sign-in with the same API client, or a
    # rotated key. Never a missing role.
    REVOKED = "token withdrawn after sign-in"
    # The Client ID has a character no Client ID has; it was not sent.
    CLIENT_ID = "client id unusable"
    FAILED = "failed"  # anything else: unreachable, a server error, not a 3CX answer
    NOT_TRIED = "not tried"


@dataclass(frozen=True)
class ProbeAnswer:
    """One question put to the PBX and its answer (never the key)."""

    answer: Answer
    message: str = ""  # what went wrong, in the client's words
    next_step: str = ""  # the client's own advice, for a failure that is not a 401 or 403
    what: str = ""  # the failure's short name, e.g. "The PBX answered with a server error."
    endpoint: str | None = None
    count: int | None = None  # calls read, recordings listed or bytes downloaded
    detail: str = ""  # the client's detail alone, e.g. which credential the PBX's answer names

    @property
    def ok(self) -> bool:
        return self.answer is Answer.OK

    @property
    def refused(self) -> bool:
        return self.answer in (Answer.REJECTED, Answer.FORBIDDEN)

    @property
    def tried(self) -> bool:
        return self.answer is not Answer.NOT_TRIED

    @property
    def word(self) -> str:
        """The answer in the doctor's JSON: "ok", "403 forbidden", "401 rejected", "not tried",
        or the failure's short name."""
        if self.answer in (Answer.FILE_MISSING, Answer.FAILED):
            return self.what or self.message or str(self.answer)
        return str(self.answer)


NOT_TRIED: Final = ProbeAnswer(Answer.NOT_TRIED)
SIGNED_IN: Final = ProbeAnswer(Answer.OK)


def roles_fix(v20: bool, missing: list[str]) -> str:
    """Assign the missing capability: the field docs' words, then the PBX's real settings."""
    what = "; ".join(missing)
    where = (
        "On v20 the API client's rights come from its role: Admin console > Integrations > API, "
        "edit the API client, and give it a Department and Role that may read call reports and "
        "recordings (field reports: System Administrator gets 403 on recordings and call "
        "reports; System Owner has both, but it is admin-level: keep that key dedicated to the "
        "bridge, because its blast radius is the whole PBX)."
        if v20
        else "On v18: Users, edit the API user, and set its rights group so it may read the "
        "call log and recordings."
    )
    return (
        f"Assign the missing role ({what}). In the 3CX admin console open Users, edit the API "
        "user (the dedicated crm-bridge user, not your personal admin account), assign both the "
        "Recording Manager and Reports User rights groups, save, and trigger the bridge to retry "
        f"the call. {where}"
    )


def sign_in_finding(probe: ProbeAnswer) -> str:
    """What a failed sign-in means (the network path itself is judged by check 7)."""
    if probe.answer is Answer.REJECTED:
        # The PBX's own answer may name the Client ID or the key (the client passes it on).
        return f"{KEY_REJECTED} {probe.detail}" if probe.detail else KEY_REJECTED
    if probe.answer is Answer.FORBIDDEN:
        return SIGN_IN_FORBIDDEN
    if probe.answer is Answer.REVOKED:
        return REVOKED
    return probe.message


def fix_for(where: Where, probe: ProbeAnswer, v20: bool) -> str:
    """What to do about a failed answer at ``where``.

    A token withdrawn right after sign-in is another sign-in with the same API client, wherever
    it happens. A 401 at sign-in is the key (or Client ID); a 403 there is the console's IP restriction. A
    401 or 403 on the call history is the missing Reports User capability, on the recordings
    (list or download) the missing Recording Manager: the seed lists both codes for it.
    """
    if probe.answer is Answer.REVOKED:
        return REVOKED_FIX
    if where is Where.SIGN_IN:
        if probe.answer is Answer.REJECTED:
            return KEY_FIX
        if probe.answer is Answer.FORBIDDEN:
            return SIGN_IN_FORBIDDEN_FIX
        return probe.next_step or NOT_THE_API_FIX
    if probe.refused:
        return roles_fix(v20, [HISTORY if where is Where.CALL_HISTORY else RECORDINGS])
    return probe.next_step or RETRY_FIX
