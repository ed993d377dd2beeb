"""Cause 2: the API user is missing one of the two roles the field docs name.

3CX has no roles called "Reports User" or "Recording Manager" (API-NOTES §3): they are two
capabilities, so they are proven by probing (read the call log; list and download a recording)
and judged here from the answers. The doctor's check 2, the guided setup's "verify the key" and a
key rotation all ask this module, so a 401 or 403 reads the same everywhere.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final, NamedTuple

from app.domain.causes import fields
from app.domain.causes.api_answers import (
    DOWNLOAD_BY_HAND,
    DOWNLOAD_UNCONFIRMED,
    HISTORY,
    NOT_TRIED,
    RECORDINGS,
    REVOKED,
    REVOKED_FIX,
    SIGNED_IN,
    Answer,
    ProbeAnswer,
    Where,
    fix_for,
    roles_fix,
    sign_in_finding,
)
from app.domain.causes.wording import plural
from app.domain.diagnosis import CheckId, CheckResult, CheckStatus

TOKEN: Final = "token"
CALL_HISTORY: Final = "call_history"
RECORDING_LIST: Final = "recording_list"
RECORDING_DOWNLOAD: Final = "recording_download"

LABELS: Final[dict[str, str]] = {
    TOKEN: "API key accepted (access token)",
    CALL_HISTORY: "Call history (Reports User)",
    RECORDING_LIST: "Recording list (Recording Manager)",
    RECORDING_DOWNLOAD: "Recording download (Recording Manager)",
}

BLAST_RADIUS_FIX: Final = (
    "Use a dedicated API user with only the two capabilities the bridge needs. If these "
    "credentials leak, an admin-level key gives the attacker the keys to the PBX: acceptable "
    "for a quick test, not for production."
)
NO_RECORDING_YET: Final = (
    "Place a recorded test call, then check again to prove the recording download."
)
BOTH_ROLES: Final = (
    "Both roles are in place: the API user reads call history (Reports User) and lists and "
    "downloads recordings (Recording Manager)."
)


@dataclass(frozen=True)
class RolesFacts:
    """The answers to the capability probes. The doctor asks only once signed in."""

    v20: bool
    call_history: ProbeAnswer  # count: calls read
    recording_list: ProbeAnswer  # count: recordings in the newest page
    recording_download: ProbeAnswer = NOT_TRIED  # count: bytes; not tried when none to try
    admin_claims: tuple[str, ...] = ()  # admin-level role claims in the token
    sign_in: ProbeAnswer = SIGNED_IN
    version: str | None = None  # as the PBX said it at sign-in


@dataclass(frozen=True)
class RolesDetails:
    """The three probes' answers, in the words reports read ("ok", "403 forbidden", ...)."""

    call_history: str
    recording_list: str
    recording_download: str

    def as_json(self) -> dict[str, Any]:
        return {
            "call_history": self.call_history,
            "recording_list": self.recording_list,
            "recording_download": self.recording_download,
        }

    @classmethod
    def from_json(cls, data: object) -> RolesDetails:
        item = fields.obj(data, "api_roles.details")
        return cls(
            *(
                fields.text(item.get(key), f"api_roles.details.{key}")
                for key in (CALL_HISTORY, RECORDING_LIST, RECORDING_DOWNLOAD)
            )
        )


@dataclass(frozen=True)
class CapabilityTick:
    """One tick of the setup's "verify the key". ``ok`` None: not tried, or nothing to try on."""

    key: str  # TOKEN, CALL_HISTORY, RECORDING_LIST or RECORDING_DOWNLOAD
    ok: bool | None
    detail: str
    fix: str | None

    @property
    def label(self) -> str:
        return LABELS[self.key]


class _Verdict(NamedTuple):
    status: CheckStatus
    finding: str
    fix: str
    more_evidence: tuple[str, ...] = ()  # lines after the probes' own


def judge_roles(facts: RolesFacts) -> CheckResult:
    details = RolesDetails(
        facts.call_history.word, facts.recording_list.word, facts.recording_download.word
    ).as_json()
    verdict = _not_signed_in(facts)
    if verdict is None:
        verdict = _not_proven(facts)
    if verdict is None:
        verdict = _proven(facts)
    evidence = (*_evidence(facts), *verdict.more_evidence)
    return CheckResult(
        CheckId.API_ROLES, verdict.status, verdict.finding, verdict.fix, evidence, details
    )


def _not_signed_in(facts: RolesFacts) -> _Verdict | None:
    if facts.sign_in.answer is Answer.REVOKED:
        return _Verdict(CheckStatus.WARN, f"Not checked: {REVOKED}", REVOKED_FIX)
    if not facts.sign_in.ok:
        return _Verdict(
            CheckStatus.SKIP,
            "Not checked: " + sign_in_finding(facts.sign_in),
            fix_for(Where.SIGN_IN, facts.sign_in, facts.v20),
        )
    return None


def _not_proven(facts: RolesFacts) -> _Verdict | None:
    """A FAIL for a refused probe; a WARN for one that was cut off or failed otherwise."""
    # Only a refusal proves a role missing; a token withdrawn after sign-in (another program
    # signed in with the same API client) says nothing about the roles.
    history_denied = facts.call_history.refused
    recordings_denied = facts.recording_list.refused or facts.recording_download.refused
    missing = [HISTORY] * history_denied + [RECORDINGS] * recordings_denied
    if missing:
        return _Verdict(
            CheckStatus.FAIL,
            _missing_finding(history_denied, recordings_denied),
            roles_fix(facts.v20, missing),
        )
    revoked = [label for label, probe in _named_probes(facts) if probe.answer is Answer.REVOKED]
    if revoked:
        return _Verdict(
            CheckStatus.WARN,
            f"Could not check the roles ({', '.join(revoked)}): {REVOKED}",
            REVOKED_FIX,
        )
    problems = [
        (where, probe)
        for where, probe in _probes(facts)
        if probe.answer in (Answer.FAILED, Answer.FILE_MISSING)
    ]
    if not problems:
        return None
    fixes = [
        NO_RECORDING_YET if p.answer is Answer.FILE_MISSING else fix_for(w, p, facts.v20)
        for w, p in problems
    ]
    return _Verdict(
        CheckStatus.WARN,
        "Could not prove both capabilities: " + "; ".join(p.message or p.word for _, p in problems),
        " ".join(dict.fromkeys(fixes)),
    )


def _proven(facts: RolesFacts) -> _Verdict:
    """Nothing refused or failed: a PASS, unless the download, privileges or proof fall short."""
    if facts.recording_download.answer is Answer.UNCONFIRMED:
        # Not the customer's to fix, and nothing was refused: "could not tell", not a warning.
        return _Verdict(
            CheckStatus.SKIP,
            "Call history reads (Reports User) and the recordings list answers (Recording "
            f"Manager). {DOWNLOAD_UNCONFIRMED}",
            DOWNLOAD_BY_HAND,
        )
    if facts.admin_claims:
        claims = ", ".join(facts.admin_claims)
        return _Verdict(
            CheckStatus.WARN,
            "Both capabilities work, but the API user is over-privileged: its token carries "
            f"admin-level claims ({claims}).",
            BLAST_RADIUS_FIX,
            (f"Token role claims: {claims}",),
        )
    if not facts.recording_list.count:
        return _Verdict(
            CheckStatus.WARN,
            "Call history reads, and the recordings list answers, but there is no recording yet "
            "to prove the download.",
            NO_RECORDING_YET,
        )
    return _Verdict(CheckStatus.PASS, BOTH_ROLES, "")


def capability_ticks(facts: RolesFacts) -> tuple[CapabilityTick, ...]:
    """The four ticks in order: the key, call history, the recordings list and a download."""
    v20 = facts.v20
    if not facts.sign_in.ok:
        why = (
            "Not tried: the PBX withdrew the access token."
            if facts.sign_in.answer is Answer.REVOKED
            else "Not tried: the PBX did not accept the key."
        )
        return (
            CapabilityTick(
                TOKEN,
                False,
                sign_in_finding(facts.sign_in),
                fix_for(Where.SIGN_IN, facts.sign_in, v20),
            ),
            *(
                CapabilityTick(key, None, why, None)
                for key in (CALL_HISTORY, RECORDING_LIST, RECORDING_DOWNLOAD)
            ),
        )
    api = "v20 XAPI" if v20 else "v18 web API"
    token = CapabilityTick(
        TOKEN, True, f"Signed in to 3CX {facts.version or '(version not reported)'} ({api}).", None
    )
    history, listed = facts.call_history, facts.recording_list
    return (
        token,
        CapabilityTick(
            CALL_HISTORY,
            history.ok,
            history_line(history, v20),
            None if history.ok else fix_for(Where.CALL_HISTORY, history, v20),
        ),
        CapabilityTick(
            RECORDING_LIST,
            listed.ok,
            list_line(listed),
            None if listed.ok else fix_for(Where.RECORDINGS, listed, v20),
        ),
        _download_tick(facts),
    )


def _download_tick(facts: RolesFacts) -> CapabilityTick:
    listed, download = facts.recording_list, facts.recording_download
    if not listed.ok:
        return CapabilityTick(
            RECORDING_DOWNLOAD, None, "Not tried: the recordings list did not answer.", None
        )
    if not listed.count:
        return CapabilityTick(
            RECORDING_DOWNLOAD,
            None,
            "No recording on the PBX yet, so the download cannot be proven.",
            NO_RECORDING_YET,
        )
    line = download_line(download)
    if download.ok:
        return CapabilityTick(RECORDING_DOWNLOAD, True, line, None)
    if download.answer is Answer.UNCONFIRMED:
        return CapabilityTick(RECORDING_DOWNLOAD, None, line, None)
    if download.answer in (Answer.FILE_MISSING, Answer.NOT_TRIED):
        return CapabilityTick(RECORDING_DOWNLOAD, None, line, NO_RECORDING_YET)
    return CapabilityTick(
        RECORDING_DOWNLOAD, False, line, fix_for(Where.RECORDINGS, download, facts.v20)
    )


def _missing_finding(history_denied: bool, recordings_denied: bool) -> str:
    if history_denied and recordings_denied:
        return (
            "Neither role is assigned: the API user can read neither call history (Reports "
            "User) nor recordings (Recording Manager)."
        )
    if recordings_denied:
        return (
            "Role 1 of 2 is assigned, role 2 of 2 is not: the API user reads call history "
            "(Reports User) but is refused the recordings (Recording Manager). Calls reach the "
            "CRM without their recording."
        )
    return (
        "Role 2 of 2 is assigned, role 1 of 2 is not: the API user fetches recordings "
        "(Recording Manager) but is refused the call history (Reports User), so the bridge "
        "never learns of the calls."
    )


def _named_probes(facts: RolesFacts) -> tuple[tuple[str, ProbeAnswer], ...]:
    return (
        ("call history", facts.call_history),
        ("recordings list", facts.recording_list),
        ("recording download", facts.recording_download),
    )


def _probes(facts: RolesFacts) -> tuple[tuple[Where, ProbeAnswer], ...]:
    return (
        (Where.CALL_HISTORY, facts.call_history),
        (Where.RECORDINGS, facts.recording_list),
        (Where.RECORDINGS, facts.recording_download),
    )


def _evidence(facts: RolesFacts) -> tuple[str, ...]:
    lines = [history_line(facts.call_history, facts.v20), list_line(facts.recording_list)]
    if facts.recording_download.tried:
        lines.append(download_line(facts.recording_download))
    return tuple(lines)


def history_line(history: ProbeAnswer, v20: bool) -> str:
    source = "GetCallLogData" if v20 else "/api/CallLog"
    if history.ok:
        calls = plural(history.count or 0, "call")
        return f"Call history ({source}, last day): readable, {calls}"
    return f"Call history ({source}, last day): {history.word}"


def list_line(listed: ProbeAnswer) -> str:
    if listed.ok:
        found = plural(listed.count or 0, "recording")
        return f"Recordings list: readable, {found} in the newest page"
    return f"Recordings list: {listed.word}"


def download_line(download: ProbeAnswer) -> str:
    if download.ok:
        return f"Recording download: ok ({download.count or 0:,} bytes of audio)"
    if download.answer in (Answer.FILE_MISSING, Answer.NOT_TRIED):
        return "Recording download: the newest recordings are not on the PBX (archived or gone)"
    if download.answer is Answer.UNCONFIRMED:
        return (
            f"Recording download: {download.word}: none of the download paths PBX Companion "
            "knows for v18 answered (a limit of PBX Companion, not a fault of the PBX)"
        )
    return f"Recording download: {download.word}"
