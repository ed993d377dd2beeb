"""Which bridge log lines can be about this period's calls, told cheaply from its text.

A 1 GB log holds months; a period's reconciliation keeps only the lines naming one of its calls
or recordings. ``CallFilter`` is that keep rule, and ``could_keep`` its cheap half: a line that
cannot hold one of the ids is not read in full (only classified, for the counts).

Why the cheap test is safe. Every call id the line reader gives is a GUID, a live id
("261118110003_2246") or digits, written literally in the line (lowered); every recording id is
a run of digits written after "rec" (in the text, or in a key that squashes to "recording"). So
a line can be kept only if it holds one of the period's GUIDs (found by its dashed tail) or
live ids (by their "_"), or one as a digit run, or a recording's number as the first digit run
after a "rec". Lines where the text may differ from what the reader sees (non-ASCII, where
Unicode digits and case folding apply, or a backslash, where JSON escapes apply) are always
read in full. The tests hold the two readings equal, line for line and count for count.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from collections.abc import Container, Iterable
from itertools import accumulate, compress, repeat
from operator import itemgetter, methodcaller

from app.domain.reconcile.records import BridgeEvent

# Each pattern starts with literal text, so re jumps from one "-", "_" or "r" to the next.
# A GUID is found by its tail ("-01dc-0000-0000-0000000008c6"; the four dashes at fixed places
# mean two tails never overlap), then read whole with the eight characters before it.
_GUID_TAILS = re.compile(r"-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
# The tail with the 36 characters it ends, on one line (a whole GUID when one is there).
_GUID_WINDOWS = re.compile(_GUID_TAILS.pattern + r"(?<=([^\n]{36}))")
_LIVE_TAILS = re.compile(r"_\d+(?:-\d+)?")  # "261118110003_2246-2" from its "_"
_DIGIT_RUNS = re.compile(r"\d+")
# A recording id is the first digit run after "rec" (or a key that squashes to "recording").
# No class crosses a line end, so a block of lines is searched as its lines are, one by one.
# Possessive: no class holds the letter or digit after it, so giving back never helps, and a
# possessive run is one tight loop in re (a lazy one tries the rest at every character).
_RECORDING_DIGITS = re.compile(r"r[^0-9a-z\n]*+e[^0-9a-z\n]*+c[^0-9\n]*+(\d+)")
# The same runs for a block: whole (1), and without leading zeros (2: "0" for zeros only), as
# the recording digits are written, so a run is looked up as it is.
_RECORDING_RUNS = re.compile(_RECORDING_DIGITS.pattern.replace(r"(\d+)", r"(0*(\d+))"))
_START = methodcaller("start")
_PLUS_ONE = (1).__add__
_GUID_HEAD = 8
_LIVE_HEAD = 12
_INT_DIGITS = 4000  # int() refuses more (3.11's limit); such a run is looked at in full


class CallFilter:
    """Keeps the events about the given calls (by any of their ids) or their recordings."""

    def __init__(self, call_ids: Iterable[str], recording_ids: Iterable[int]) -> None:
        # The PBX's own strings (ids come in lower case): a month's ids are not copied, and
        # every kept event shares its call's.
        self._ids: dict[str, str] = {}
        for call_id in call_ids:
            low = call_id.lower()
            key = call_id if low == call_id else low
            self._ids.setdefault(key, key)
        self._recordings = {r: r for r in recording_ids}  # the PBX's ints, shared likewise
        # As digits: a run n is kept when n or -n is one of them (could_keep's test).
        self._recording_digits = {str(abs(r)) for r in self._recordings}
        self._guids = any(len(i) > _GUID_HEAD and i[_GUID_HEAD] == "-" for i in self._ids)
        self._live = any("_" in i for i in self._ids)
        self._digits = any(i.isdigit() for i in self._ids)

    def __call__(self, event: BridgeEvent) -> bool:
        return self.wants(event.call_id, event.recording_id)

    def wants(self, call_id: str | None, recording_id: int | None) -> bool:
        if call_id is not None and call_id.lower() in self._ids:
            return True
        return recording_id is not None and recording_id in self._recordings

    def shared(self, call_id: str | None) -> str | None:
        """The one string held for ``call_id`` (equal to it), so kept events share it."""
        if call_id is None:
            return None
        return self._ids.get(call_id, call_id)

    def shared_recording(self, recording_id: int | None) -> int | None:
        """The PBX's own int for ``recording_id`` (equal to it)."""
        if recording_id is None:
            return None
        return self._recordings.get(recording_id, recording_id)

    def lines_it_could_keep(self, text: str, lines: list[str] | None = None) -> set[int]:
        """The lines (0-based) of ``text``, ASCII lines joined by "\\n", that ``could_keep``
        keeps: the same tests, run once over the whole text (``lines``: its lines, when the
        caller has them split already)."""
        low = text.lower()
        ids = self._ids
        starts: list[int] = []
        if self._guids:  # a head reaching into the line before is no id: as start < 0
            starts += _starts_where(list(_GUID_WINDOWS.finditer(low)), 1, ids)
        if self._live and "_" in low:
            for found in _LIVE_TAILS.finditer(low):
                start = found.start() - _LIVE_HEAD
                if start >= 0 and low[start : found.end()] in ids:
                    starts.append(start)
        if self._digits:
            starts += [m.start() for m in _DIGIT_RUNS.finditer(low) if m[0] in ids]
        if self._recordings:
            runs = list(_RECORDING_RUNS.finditer(low))
            starts += _starts_where(runs, 2, self._recording_digits)
            if max(map(len, map(itemgetter(1), runs)), default=0) > _INT_DIGITS:
                starts += [m.start() for m in runs if len(m[1]) > _INT_DIGITS]
        start = low.find("\\")
        while start >= 0:
            starts.append(start)
            start = low.find("\\", start + 1)
        if lines is not None:
            # Each line's end (its "\n" included), summed: a position's line is a bisection.
            ends = list(accumulate(map(_PLUS_ONE, map(len, lines))))
            return set(map(bisect_right, repeat(ends), starts))
        return _line_numbers(low, starts)

    def could_keep(self, text: str) -> bool:
        """False only when no reading of the line ``text`` can give an id this filter keeps."""
        if not text.isascii() or "\\" in text:
            return True
        low = text.lower()
        ids = self._ids
        if self._guids:
            for found in _GUID_TAILS.finditer(low):
                start = found.start() - _GUID_HEAD
                if start >= 0 and low[start : found.end()] in ids:
                    return True
        if self._live and "_" in low:
            for found in _LIVE_TAILS.finditer(low):
                start = found.start() - _LIVE_HEAD
                if start >= 0 and low[start : found.end()] in ids:
                    return True
        if self._digits and not ids.keys().isdisjoint(_DIGIT_RUNS.findall(low)):
            return True
        if self._recordings:
            for run in _RECORDING_DIGITS.findall(low):
                if len(run) > _INT_DIGITS:
                    return True
                number = int(run)
                if number in self._recordings or -number in self._recordings:
                    return True
        return False


def _starts_where(matches: list[re.Match[str]], group: int, wanted: Container[str]) -> list[int]:
    """Where the matches whose ``group`` is ``wanted`` start: a block has thousands of
    matches, so each is tested in C loops (map, compress), none in a Python one."""
    chosen = compress(matches, map(wanted.__contains__, map(itemgetter(group), matches)))
    return list(map(_START, chosen))


def _line_numbers(text: str, positions: list[int]) -> set[int]:
    """The 0-based lines of ``text`` that hold the ``positions``."""
    lines: set[int] = set()
    line = before = 0
    for position in sorted(positions):
        line += text.count("\n", before, position)
        before = position
        lines.add(line)
    return lines
