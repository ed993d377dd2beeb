"""The 3CX call and recording ids a bridge writes into its log lines or a CRM activity's notes.

A bridge may name a call by any of 3CX's ids: the v20 call history's GUID-like ids
(MainCallHistoryId, CallHistoryId, CdrId), the Call Control or webhook id
("261118110003_2246", with a transfer-link suffix "-2"), or a plain numeric CallId. A bare
number is only taken when a label says it is a call ("call 8812", "CallId=8812"): numbers
alone are too common in a log line to be ids.

Ids are given in lower case (3CX writes its GUIDs so; case means nothing in them). A large
log runs these patterns on every line, so they run on lowered text and each starts with
literal text: Python's re then jumps to where that text is instead of trying every position.
"""

from __future__ import annotations

import re

GUID_ID = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
LIVE_ID = r"\d{12}_\d+(?:-\d+)?"
_WORD = r"[\w-]"
# A numeric id must not be the start of a date, time or version ("call 2026-11-18").
_NUMERIC_ID = r"\d{1,18}(?![\w-]|[.:/]\d)"
_AFTER_LABEL = rf"(?!{_WORD})[\"']?\s*[:=#]?\s*[\"']?({GUID_ID}|{LIVE_ID}|{_NUMERIC_ID})"
_ID_LABEL = r"(?:main[ _-]?)?(?:call[ _-]?(?:history[ _-]?)?id|cdr[ _-]?id|callobject)"
_LABELLED_ID = re.compile(_ID_LABEL + _AFTER_LABEL)
# "call 8812", as a bridge writes in a log line; in free text (a CRM note) too loose.
_LABELLED = re.compile(rf"(?:{_ID_LABEL}|call){_AFTER_LABEL}")
_LABEL_WORDS = ("main", "call", "cdr")
# The GUID found by its dashes, then checked for the eight hex digits (and no more) before.
_GUID_TAIL = re.compile(
    r"-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}(?![\w-])"
    rf"(?<=(?<!{_WORD})[0-9a-f]{{8}}-[0-9a-f]{{4}}-[0-9a-f]{{4}}-[0-9a-f]{{4}}-[0-9a-f]{{12}})"
)
_GUID_HEAD = 8
_LIVE = re.compile(rf"(?<!{_WORD}){LIVE_ID}(?!{_WORD})")
# v20's download is Recordings/Pbx.DownloadRecording(recId=N); bridges also write
# Recordings(N), recording_id=N or "recording N".
_RECORDING = re.compile(
    r"rec(?:ordings\((\d{1,18})\)"
    rf"|(?<!{_WORD}rec)id=(\d{{1,18}})(?!\d)"
    rf"|(?<!{_WORD}rec)ording(?:[ _-]?id)?(?!{_WORD})[\"']?\s*[:=#]?\s*[\"']?(\d{{1,18}})(?!{_WORD}))"
)
_CALL_ID_TEXT = re.compile(rf"{GUID_ID}|{LIVE_ID}|\d{{1,18}}")


def find_call_id(text: str, *, call_label: bool = True) -> str | None:
    """The first call id ``text`` names: a labelled one first, else a bare GUID or live id.

    ``call_label`` False takes a number only after a label with "id" in it ("3CX call id:
    8812"), not after "call" alone: for free text, where "call 2" is prose.
    """
    low = text.lower()
    labelled = match_at_words(low, _LABEL_WORDS, _LABELLED if call_label else _LABELLED_ID)
    if labelled is not None:
        return labelled.group(1)
    guid = _GUID_TAIL.search(low)
    if guid is not None:
        return low[guid.start() - _GUID_HEAD : guid.end()]
    live = _LIVE.search(low) if "_" in low else None
    return live.group(0) if live is not None else None


def find_recording_id(text: str) -> int | None:
    """The recording id in ``DownloadRecording(recId=123)``, ``Recordings(123)``,
    ``recording_id=123`` or "recording 123"."""
    found = _RECORDING.search(text.lower())
    if found is None:
        return None
    return int(next(group for group in found.groups() if group is not None))


def call_id_value(value: object) -> str | None:
    """A structured field's value as a call id (a JSON number or text), when it looks like one."""
    if isinstance(value, bool) or not isinstance(value, str | int):
        return None
    text = str(value).strip().lower()
    return text if _CALL_ID_TEXT.fullmatch(text) else None


def match_at_words(
    low: str, words: tuple[str, ...], pattern: re.Pattern[str]
) -> re.Match[str] | None:
    """The leftmost match of ``pattern`` that starts a word, tried only where ``words`` start.

    Much faster than searching with a leading word-boundary assertion, which re tries at
    every position of the line.
    """
    starts: list[int] = []
    for word in words:
        start = low.find(word)
        while start >= 0:
            starts.append(start)
            start = low.find(word, start + 1)
    for start in sorted(starts):
        before = low[start - 1 : start]
        if before and (before.isalnum() or before in "_-"):
            continue
        found = pattern.match(low, start)
        if found is not None:
            return found
    return None
