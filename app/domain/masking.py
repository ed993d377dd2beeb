"""Presenter mode's masking rules: what the customer may see on a shared screen.

Phone numbers keep their last 3 digits, names become initials, secrets are never shown. Free
text (doctor evidence, log lines) is masked by pattern for numbers and by the names learned
from the contacts and calls on screen.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from app.domain.phones import MASK, mask_number

SECRET_MASK = MASK * 8
_MIN_NAME_LENGTH = 3
# Digit runs that look like phone numbers: optional +, digits with single spaces, dashes, dots
# or brackets between them. Dates, times and IP addresses are excluded below.
# A colon may follow ("+61412345678: 2 contacts") unless a digit comes after it (a time).
_NUMBER_LIKE = re.compile(r"(?<![\w./-])\+?\(?\d(?:\d|[ .()-]{1,2}(?=[\d(])){5,22}\d(?![\w/]|:\d)")
_DATE_LIKE = re.compile(r"^\d{4}-\d{2}-\d{2}|^\d{1,3}(\.\d{1,3}){3}$")
# "20.0.10.1116": dotted groups, one of a single digit; nobody writes a phone number so.
_VERSION_LIKE = re.compile(r"\d+(?:\.\d+)*\.\d(?:\.\d+)*|\d\.\d+(?:\.\d+)+")
_MIN_DIGITS = 7
_MAX_DIGITS = 15


def initials(name: str) -> str:
    """ "Jane Q. Smith" -> "J. Q. S."; empty stays empty."""
    parts = [part for part in re.split(r"[\s,]+", name.strip()) if part]
    return " ".join(f"{part[0].upper()}." for part in parts if part[0].isalnum())


def _looks_like_number(candidate: str) -> bool:
    digits = sum(ch.isdigit() for ch in candidate)
    return (
        _MIN_DIGITS <= digits <= _MAX_DIGITS
        and not _DATE_LIKE.match(candidate)
        and not _VERSION_LIKE.fullmatch(candidate)
    )


class Masker:
    """Masks on-screen text while presenter mode is on; passes everything through otherwise."""

    def __init__(self, enabled: bool = False) -> None:
        self.enabled = enabled
        self._names: set[str] = set()
        self._name_pattern: re.Pattern[str] | None = None

    def learn_names(self, names: Iterable[str]) -> None:
        """Names to find in free text (contacts, caller display names)."""
        fresh = {n.strip() for n in names if len(n.strip()) >= _MIN_NAME_LENGTH} - self._names
        if fresh:
            self._names |= fresh
            self._name_pattern = re.compile(r"\b" + _trie_pattern(self._names) + r"\b")

    def number(self, text: str | None) -> str:
        if not text:
            return ""
        return mask_number(text) if self.enabled else text

    def name(self, text: str | None) -> str:
        if not text:
            return ""
        return initials(text) if self.enabled else text

    @staticmethod
    def secret(_text: str | None = None) -> str:
        """Secrets are masked whether or not presenter mode is on."""
        return SECRET_MASK

    def free_text(self, text: str | None) -> str:
        """Numbers and learned names inside prose (evidence, findings, log lines)."""
        if not text:
            return ""
        if not self.enabled:
            return text
        masked = _NUMBER_LIKE.sub(
            lambda m: mask_number(m.group(0)) if _looks_like_number(m.group(0)) else m.group(0),
            text,
        )
        if self._name_pattern is not None:
            masked = self._name_pattern.sub(lambda m: initials(m.group(0)), masked)
        return masked


def _trie_pattern(words: Iterable[str]) -> str:
    """One regex alternation shaped as a prefix tree: with hundreds of names, a flat
    ``a|b|c`` makes the engine retry every name at every position; a tree shares prefixes."""
    trie: dict[str, dict] = {}  # type: ignore[type-arg]
    for word in words:
        node = trie
        for ch in word:
            node = node.setdefault(ch, {})
        node[""] = {}

    def build(node: dict) -> str:  # type: ignore[type-arg]
        ends = "" in node
        branches = [re.escape(ch) + build(child) for ch, child in sorted(node.items()) if ch]
        if not branches:
            return ""
        body = branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"
        # Longest match first: a name that is a prefix of another is tried after it.
        return f"(?:{body})?" if ends else body

    return "(?:" + build(trie) + ")"
