"""Bridge log lines classified a block at a time, by one compiled pattern run in C.

A 1 GB log holds millions of lines about other periods' calls; the counts still need each
one's format and whether it is readable and about a call (``line_kind``). Most such lines come
in a few plain shapes whose answer can be proved from the shape alone:

- a flat JSON object of simple values (strings without escapes, numbers, true/false/null),
  either with a key that names a call, a status or a path with a value that settles it, or with
  no such key, messages without a digit, "/" or "-" (so they name nothing) and a valid ISO time;
- logfmt pairs separated by single spaces (quoted values without escapes), likewise;
- a plain text line (it cannot be read as JSON or logfmt) with a GUID after a space.

``outcomes`` gives, for every line of an ASCII text, the name of the shape it has, or ``REST``
when none settles it: those lines are read one by one with ``line_kind``. Each shape is
stricter than what the line reader accepts (a duplicated key, a second time key, a message
with digits, a date on the 29th of February all go to ``REST``), so the counts are exactly
the full reading's; the tests compare the two on every shape and on generated lines.
"""

from __future__ import annotations

import re
from operator import attrgetter

from app.services.reconcile.bridge_log_lines import LogFormat, squashed_keys

REST = "rest"
# Each shape's answer: (format, readable, about a call).
SETTLED: dict[str, tuple[LogFormat, bool, bool]] = {
    "json_about": (LogFormat.JSON, True, True),
    "json_other": (LogFormat.JSON, True, False),
    "logfmt_about": (LogFormat.LOGFMT, True, True),
    "logfmt_other": (LogFormat.LOGFMT, True, False),
    "text_about": (LogFormat.TEXT, True, True),
}

_HEX = "[0-9a-fA-F]"
_GUID = rf"{_HEX}{{8}}-{_HEX}{{4}}-{_HEX}{{4}}-{_HEX}{{4}}-{_HEX}{{12}}"
_EOL = r"(?=\n|\Z)"
# A time every reading accepts: a real date (the 29th of February excepted), a real clock.
_DAY = (
    r"(?:(?:0[1-9]|1[0-2])-(?:0[1-9]|1[0-9]|2[0-8])"
    r"|(?:0[13-9]|1[0-2])-(?:29|30)|(?:0[13578]|1[02])-31)"
)
_CLOCK = r"(?:[01][0-9]|2[0-3]):[0-5][0-9](?::[0-5][0-9](?:[.,][0-9]{1,9})?)?"
_ZONE = r"(?:Z|[+-](?:[01][0-9]|2[0-3])(?::?[0-5][0-9])?)?"
_ISO = rf"[12][0-9]{{3}}-{_DAY}[T ]{_CLOCK}{_ZONE}"
_ISO_T = rf"[12][0-9]{{3}}-{_DAY}T{_CLOCK}{_ZONE}"  # unquoted logfmt: a space ends the value


_Trie = dict[str, "_Trie"]  # a name's next letters ("" ends a name)


def _named(fact: str, sep: str) -> str:
    """Any key that squashes to one of ``fact``'s names (case and separators aside)."""
    return _named_any((fact,), sep)


def _named_any(facts: tuple[str, ...], sep: str) -> str:
    """The names as a trie: each branch starts with its letter, so re skips it at once."""
    trie: _Trie = {}
    for fact in facts:
        for name in squashed_keys(fact):
            node = trie
            for char in name:
                node = node.setdefault(char, {})
            node[""] = {}
    return sep + _branches(trie, sep)


def _branches(node: _Trie, sep: str) -> str:
    ends = "" in node
    parts = [f"[{c}{c.upper()}]{sep}{_branches(child, sep)}" for c, child in node.items() if c]
    if not parts:
        return ""
    body = "(?:" + "|".join(parts) + ")"
    return f"{body}?" if ends else body


_DECISIVE = ("call_id", "recording_id", "status", "path")


# ---- JSON: a flat object of simple values (what json.loads reads as a flat dict) ----------
# Read pair by pair in one pass; a key's fact is told at its opening quote.
_JSEP = r'[^0-9A-Za-z"\\\x00-\x1f\n]*+'
_CHARS = r'[^"\\\x00-\x1f\n]*+'
_STR = rf'"{_CHARS}"'
_NUM = r"-?(?:0|[1-9][0-9]*+)(?:\.[0-9]++)?+(?:[eE][-+]?[0-9]++)?+"
_W = r"[ \t]*+"
_SIMPLE = rf"(?:{_STR}|{_NUM}|true|false|null)"
_CLEAN = r'(?:"[^"\\\x00-\x1f\n0-9/-]*+"|' + _NUM + "|true|false|null)"
_QUOTED_GUID = f'"{_GUID}"'
_QUOTED_PATH = f'"/{_CHARS}"'
_QUOTED_ISO = f'"{_ISO}"'
_STATUS = "[1-5][0-9][0-9]"
_JSON_STATUS = _STATUS + "(?![0-9.eE])"  # an int, not a float
_LOGFMT_TIME = f"(?:{_ISO_T}|{_QUOTED_ISO})"


def _jpair(key: str, value: str = _SIMPLE) -> str:
    return rf"{_W}{key}{_W}:{_W}{value}{_W}"


def _jkey(fact: str) -> str:
    return f'"{_named(fact, _JSEP)}"'


def _jkey_not(facts: tuple[str, ...]) -> str:
    return f'"(?!{_named_any(facts, _JSEP)}"){_CHARS}"'


# About a call: the last key for a call id, status or path settles it (json.loads keeps a
# repeated key's last value, so no such key may follow).
_JSON_ABOUT = (
    rf"{_W}\{{(?:{_jpair(_STR)},)*"
    rf"(?:{_jpair(_jkey('call_id'), _QUOTED_GUID)}"
    rf"|{_jpair(_jkey('status'), _JSON_STATUS)}"
    rf"|{_jpair(_jkey('path'), _QUOTED_PATH)})"
    rf"(?:,{_jpair(_jkey_not(_DECISIVE))})*+\}}{_W}{_EOL}"
)
# About nothing: no such key, messages that cannot name a call, and one time key, valid.
_JSON_NEUTRAL = (
    rf"(?:{_jpair(_jkey_not((*_DECISIVE, 'at', 'message')))}"
    rf"|{_jpair(_jkey('message'), _CLEAN)})"
)
_JSON_OTHER = (
    rf"{_W}\{{(?:{_JSON_NEUTRAL},)*?{_jpair(_jkey('at'), _QUOTED_ISO)}"
    rf"(?:,{_JSON_NEUTRAL})*+\}}{_W}{_EOL}"
)

# ---- logfmt: key=value pairs one space apart, so each pair is one the reader finds --------
_KEY_CHAR = "[0-9A-Za-z_.@/-]"
_LSEP = "[_.@/-]*+"
_LVALUE = r'(?:"[^"\\\n]*+"|[^\s"]*+)'
_LCLEAN = r'(?:"[^"\\\n0-9/-]*+"|[^\s"0-9/-]*+)'
_LEND = rf"(?= |{_EOL})"


def _lpair(key: str, value: str = _LVALUE) -> str:
    return rf"{key}={value}{_LEND}"


def _lkey_not(facts: tuple[str, ...]) -> str:
    return rf"(?!{_named_any(facts, _LSEP)}=){_KEY_CHAR}++"


# The reader stops at the first pair that names a call: what follows it does not matter.
_LOGFMT_ABOUT = (
    rf"(?:{_lpair(f'{_KEY_CHAR}++')} )*?"
    rf"(?:{_lpair(_named('call_id', _LSEP), _GUID)}"
    rf"|{_lpair(_named('status', _LSEP), _STATUS)}"
    rf"|{_named('path', _LSEP)}=/)[^\n]*+"
)
_LOGFMT_NEUTRAL = (
    rf"(?:{_lpair(_lkey_not((*_DECISIVE, 'message')))}"
    rf"|{_lpair(_named('message', _LSEP), _LCLEAN)})"
)
_LOGFMT_OTHER = (
    rf"(?:{_LOGFMT_NEUTRAL} )*?"
    rf"{_lpair(_named('at', _LSEP), _LOGFMT_TIME)}"
    rf"(?: {_LOGFMT_NEUTRAL})*+{_EOL}"
)

# ---- plain text: not JSON, not logfmt (its first word is not followed by "="), or "[" first.
# A GUID after a space is a call id however the line's leading time is read: no time ends in
# a space followed by a hex digit.
_TEXT_ABOUT = rf"(?:{_KEY_CHAR}++[^=0-9A-Za-z_.@/\-\n]|\[)[^\n]*? {_GUID}(?![\w-])[^\n]*+"

_LINE = re.compile(
    rf"\n(?:(?P<json_about>{_JSON_ABOUT})|(?P<json_other>{_JSON_OTHER})"
    rf"|(?P<logfmt_about>{_LOGFMT_ABOUT})|(?P<logfmt_other>{_LOGFMT_OTHER})"
    rf"|(?P<text_about>{_TEXT_ABOUT})"
    rf"|(?P<{REST}>[^\n]*+))"
)
_SHAPE = attrgetter("lastgroup")


def outcomes(text: str) -> list[str]:
    """Each line's shape (a key of ``SETTLED``) or ``REST``, for an ASCII text of whole lines
    joined by "\\n" (no "\\r"): one entry per line, in order."""
    return list(map(_SHAPE, _LINE.finditer("\n" + text)))
