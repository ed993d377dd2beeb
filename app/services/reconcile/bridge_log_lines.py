"""One bridge log line read into the facts reconciliation needs, whatever its format.

Three formats, mixed freely in one file: JSON lines, logfmt (``key=value`` pairs) and plain
text. Structured lines are read by their keys (with the aliases loggers use: ``ts``,
``@timestamp``, ``callId``, ``status_code`` ...); what their keys leave out is looked for in
their message the way a plain text line is searched, so ``{"msg": "GET /x -> 404"}`` still
gives the request and its status.
"""

from __future__ import annotations

import enum
import functools
import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime, tzinfo
from urllib.parse import urlsplit

from app.services.contacts.crm_import import squash_header
from app.services.reconcile.call_ids import (
    call_id_value,
    find_call_id,
    find_recording_id,
    match_at_words,
)
from app.services.reconcile.timestamps import ISO_TIMESTAMP, iso_time, parse_log_time


class LogFormat(enum.StrEnum):
    JSON = "JSON lines"
    LOGFMT = "logfmt"
    TEXT = "plain text"


@dataclass(slots=True)
class LineFacts:
    """What one line says about a call; every field None when the line does not say."""

    at: datetime | None = None
    call_id: str | None = None
    recording_id: int | None = None
    method: str | None = None
    path: str | None = None
    status: int | None = None
    attempt: int | None = None

    @property
    def about_a_call(self) -> bool:
        """Whether the line names a call, a recording or an HTTP exchange: a bridge event."""
        return (
            self.call_id is not None
            or self.recording_id is not None
            or self.path is not None
            or self.status is not None
        )

    @property
    def readable(self) -> bool:
        return self.at is not None or self.about_a_call


# Keys as squashed by ``squash_header`` ("@timestamp" and "callId" become "timestamp" and
# "callid"), and the fact each one gives.
_KEYS: dict[str, str] = {
    **dict.fromkeys(("ts", "time", "timestamp", "datetime", "asctime", "t"), "at"),
    **dict.fromkeys(
        ("callid", "call", "callhistoryid", "maincallhistoryid", "cdrid", "callobject"),
        "call_id",
    ),
    **dict.fromkeys(("recordingid", "recording"), "recording_id"),
    **dict.fromkeys(("status", "statuscode", "httpstatus", "responsestatus"), "status"),
    **dict.fromkeys(("attempt", "try", "retry", "attemptnumber", "retrycount"), "attempt"),
    **dict.fromkeys(("method", "httpmethod", "verb"), "method"),
    **dict.fromkeys(("path", "url", "uri", "endpoint", "requesturl", "requestpath"), "path"),
    **dict.fromkeys(("msg", "message", "text", "event", "error", "err"), "message"),
}


def squashed_keys(fact: str) -> tuple[str, ...]:
    """The squashed keys that give ``fact`` ("at", "call_id", "message" ...)."""
    return tuple(key for key, named in _KEYS.items() if named == fact)


_METHODS = frozenset({"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"})

_LEADING_TIME = re.compile(rf"\s*[\[(]?(?:{ISO_TIMESTAMP.pattern})")
_LOGFMT_START = re.compile(r"\s*[\w.@/-]+=")
_LOGFMT_PAIR = re.compile(r"([\w.@/-]+)=(\"(?:[^\"\\]|\\.)*\"?|\S*)")
# Methods are upper case and the path keeps its case: this one runs on the line as written.
# The others run on the lowered line, each from literal text (see ``call_ids``).
_REQUEST = re.compile(
    r"(GET|POST|PUT|PATCH|DELETE|HEAD|OPTIONS) +[\"']?"
    r"((?:https?://[^\s/\"'<>]+)?/[^\s\"<>]*|https?://[^\s\"<>]+)"
)
_END = r"(?![\w.:/-])"
# Where a status is written, each cue with its pattern, in the order they are believed.
_STATUS_CUES: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("->", re.compile(rf"->\s*[\"']?([1-5]\d\d){_END}")),
    ("=>", re.compile(rf"=>\s*[\"']?([1-5]\d\d){_END}")),
    ("status", re.compile(rf"status(?:[ _-]?code)?[\"']?\s*[:=]?\s*[\"']?([1-5]\d\d){_END}")),
    ("http", re.compile(rf"http(?:/\d(?:\.\d)?)?[\"']?\s*[\"']?([1-5]\d\d){_END}")),
    (" - ", re.compile(rf" - \s*([1-5]\d\d){_END}")),
    (" error", re.compile(r"([1-5]\d\d) (?:client|server) error")),
    ("returned", re.compile(rf"returned\s+([1-5]\d\d){_END}")),
    ("got", re.compile(rf"got\s+([1-5]\d\d){_END}")),
    ("responded", re.compile(rf"responded(?: with)?\s+([1-5]\d\d){_END}")),
)
_ATTEMPT_WORDS = ("attempt", "try", "retry")
_ATTEMPT = re.compile(
    r"(?:attempt|try|retry)(?:[ _-]?(?:no|number|count))?\b\s*[#:=]?\s*(\d{1,4})(?![\w.])"
)
_STATUS_PREFIX = re.compile(r"\s*([1-5]\d\d)(?!\d)")
_PATH_END = ",;\"'"


def read_line(text: str, zone: tzinfo) -> tuple[LogFormat, LineFacts]:
    """The line's format and facts (never raises: an unreadable line has no facts)."""
    start = text.lstrip()[:1]
    if start == "{":
        fields = _json_fields(text)
        if fields is not None:
            return LogFormat.JSON, _structured(fields, zone)
    elif start != "[" and _LOGFMT_START.match(text):
        return LogFormat.LOGFMT, _structured(_logfmt_fields(text), zone)
    return LogFormat.TEXT, _plain(text, zone)


def line_kind(text: str, zone: tzinfo) -> tuple[LogFormat, bool, bool]:
    """What ``read_line`` says of the line: its format, whether it is readable and whether it
    is about a call; with less work, stopping at the first fact that settles it.

    For the lines a reader only counts (a large log's lines about other periods' calls).
    """
    start = text.lstrip()[:1]
    if start == "{":
        parsed = _json_object(text)
        if parsed is not None:
            # Flat objects (most logs) need no flattening: their items are the fields.
            fields = _flattened(parsed) if _nested(parsed) else parsed.items()
            return LogFormat.JSON, *_structured_kind(fields, zone)
    elif start != "[" and _LOGFMT_START.match(text):
        return LogFormat.LOGFMT, *_structured_kind(_logfmt_fields(text), zone)
    readable, about = _plain_kind(text, zone)
    return LogFormat.TEXT, readable, about


def _structured_kind(fields: Iterable[tuple[str, object]], zone: tzinfo) -> tuple[bool, bool]:
    """``_structured``'s readable and about_a_call: any key that names a call settles both."""
    times: list[object] = []  # read only when nothing else makes the line readable
    message: str | None = None
    for key, value in fields:
        fact = _fact_named(key)
        if fact is None or value is None:
            continue
        if fact == "message":
            message = message or (value if isinstance(value, str) else None)
        elif fact == "at":
            times.append(value)
        elif (
            (fact == "call_id" and call_id_value(value) is not None)
            or (fact == "status" and _status(value) is not None)
            or (fact == "recording_id" and _number(value) is not None)
            or (fact == "path" and isinstance(value, str) and _path(value) is not None)
        ):
            return True, True
    if message and _names_a_call(message):
        return True, True
    return any(parse_log_time(value, zone) is not None for value in times), False


def _plain_kind(text: str, zone: tzinfo) -> tuple[bool, bool]:
    leading = _LEADING_TIME.match(text)
    timed = False
    if leading is not None:
        timed = iso_time(leading, zone) is not None
        text = text[leading.end() :]
    about = _names_a_call(text)
    return timed or about, about


def _names_a_call(text: str) -> bool:
    """Whether ``_search`` finds a request, a call id, a recording id or a status in ``text``."""
    request = _REQUEST.search(text)
    if (
        request is not None
        and not text[request.start() - 1 : request.start()].isalnum()
        and _path(request.group(2)) is not None
    ):
        return True
    if find_call_id(text) is not None or find_recording_id(text) is not None:
        return True
    return _status_in(text.lower()) is not None


def _json_fields(text: str) -> Iterable[tuple[str, object]] | None:
    parsed = _json_object(text)
    if parsed is None:
        return None
    # Flat objects (most logs) need no flattening: their items are the fields, in order.
    return _flattened(parsed) if _nested(parsed) else parsed.items()


def _json_object(text: str) -> dict[str, object] | None:
    try:
        parsed = json.loads(text)
    except (ValueError, RecursionError):  # cut short, not JSON after all, or absurdly deep
        return None
    return parsed if isinstance(parsed, dict) else None


def _nested(parsed: dict[str, object]) -> bool:
    """Whether a parsed line holds an object in an object (json.loads makes plain dicts only,
    so their type says it, tested in a C loop)."""
    return dict in map(type, parsed.values())


def _flattened(entry: dict[str, object]) -> Iterator[tuple[str, object]]:
    """The top level's keys, then one level of nested objects' ({"res": {"statusCode": 404}})."""
    nested: list[dict[str, object]] = []
    for key, value in entry.items():
        if isinstance(value, dict):
            nested.append(value)
        else:
            yield key, value
    for inner in nested:
        yield from ((k, v) for k, v in inner.items() if not isinstance(v, dict))


def _logfmt_fields(text: str) -> list[tuple[str, object]]:
    return [
        (key, _unquoted(value) if value[:1] == '"' else value)
        for key, value in _LOGFMT_PAIR.findall(text)
    ]


def _unquoted(value: str) -> str:
    if not value.startswith('"'):
        return value
    if "\\" not in value:  # no escape: what json.loads gives, or its fallback, is the inside
        return value.strip('"')
    try:
        text = json.loads(value)
    except ValueError:
        return value.strip('"')
    return text if isinstance(text, str) else value


def _structured(fields: Iterable[tuple[str, object]], zone: tzinfo) -> LineFacts:
    facts = LineFacts()
    message: str | None = None
    for key, value in fields:
        fact = _fact_named(key)
        if fact is None or value is None:
            continue
        if fact == "message":
            message = message or (value if isinstance(value, str) else None)
        else:
            _set(facts, fact, value, zone)
    if facts.recording_id is None and facts.path is not None:
        facts.recording_id = _recording_in_path(facts.path)
    if message:
        _fill_in(facts, _message_facts(message))
    return facts


# An endpoint is asked on every call ("/crm/v3/objects/calls"): its path is searched once.
_recording_in_path = functools.lru_cache(maxsize=4096)(find_recording_id)


@functools.lru_cache(maxsize=4096)
def _message_facts(message: str) -> LineFacts:
    """What a structured line's message says on its own: a logger repeats a few messages
    ("fetch recording") on every line, so each is searched once. Never changed by callers."""
    facts = LineFacts()
    _search(message, facts)
    return facts


def _fill_in(facts: LineFacts, said: LineFacts) -> None:
    """``_search(message, facts)``, from the message's own facts: each fact is searched for
    independently of the others, except the method, taken with the request's path."""
    if facts.path is None and said.method is not None:  # the message names a request
        facts.method = facts.method or said.method
        facts.path = said.path
    if facts.call_id is None:
        facts.call_id = said.call_id
    if facts.recording_id is None:
        facts.recording_id = said.recording_id
    if facts.status is None:
        facts.status = said.status
    if facts.attempt is None:
        facts.attempt = said.attempt


@functools.lru_cache(maxsize=1024)
def _fact_named(key: str) -> str | None:
    """The fact a key gives (a log repeats its keys on every line: each is squashed once)."""
    return _KEYS.get(squash_header(key))


def _set(facts: LineFacts, fact: str, value: object, zone: tzinfo) -> None:
    """The first readable value for each fact wins (top-level keys come first)."""
    if fact == "at" and facts.at is None:
        facts.at = parse_log_time(value, zone)
    elif fact == "call_id" and facts.call_id is None:
        facts.call_id = call_id_value(value)
    elif fact == "recording_id" and facts.recording_id is None:
        facts.recording_id = _number(value)
    elif fact == "status" and facts.status is None:
        facts.status = _status(value)
    elif fact == "attempt" and facts.attempt is None:
        facts.attempt = _number(value)
    elif fact == "method" and facts.method is None and isinstance(value, str):
        facts.method = value.strip().upper() if value.strip().upper() in _METHODS else None
    elif fact == "path" and facts.path is None and isinstance(value, str):
        facts.path = _path(value)


def _plain(text: str, zone: tzinfo) -> LineFacts:
    facts = LineFacts()
    leading = _LEADING_TIME.match(text)
    if leading is not None:
        facts.at = iso_time(leading, zone)
        text = text[leading.end() :]
    _search(text, facts)
    return facts


def _search(text: str, facts: LineFacts) -> None:
    """Fill in what ``facts`` lacks from free text (a plain line, or a structured message)."""
    if facts.path is None:
        request = _REQUEST.search(text)
        if request is not None and not text[request.start() - 1 : request.start()].isalnum():
            facts.method = facts.method or request.group(1)
            facts.path = _path(request.group(2))
    if facts.call_id is None:
        facts.call_id = find_call_id(text)
    if facts.recording_id is None:
        facts.recording_id = find_recording_id(text)
    low = text.lower()
    if facts.status is None:
        facts.status = _status_in(low)
    if facts.attempt is None:
        attempt = match_at_words(low, _ATTEMPT_WORDS, _ATTEMPT)
        if attempt is not None:
            facts.attempt = int(attempt.group(1))


def _status_in(low: str) -> int | None:
    for cue, pattern in _STATUS_CUES:
        if cue in low:
            found = pattern.search(low)
            if found is not None:
                return int(found.group(1))
    return None


def _path(target: str) -> str | None:
    """The request's path and query, without the scheme and host (the host adds nothing)."""
    target = target.strip().rstrip(_PATH_END)
    if target.lower().startswith(("http://", "https://")):
        parts = urlsplit(target)
        target = parts.path + (f"?{parts.query}" if parts.query else "")
    return target or None


def _status(value: object) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if 100 <= value <= 599 else None
    if isinstance(value, str):
        found = _STATUS_PREFIX.match(value)
        return int(found.group(1)) if found else None
    return None


def _number(value: object) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().isdigit() and len(value.strip()) <= 18:
        try:
            return int(value)
        except ValueError:  # digits int() does not read ("²" is a digit to isdigit)
            return None
    return None
