"""Paging that always ends: each paged read keeps a ledger of what it has read (issue 18).

The ledger notices a next-page link already followed, a page whose rows were all read before
(the PBX ignored the offset and sent an earlier page again) and a read past the caps of
``app.domain.paging``, and raises ``EndlessPaging`` naming what the PBX did. The rows read so
far are not returned: a list cut short would give wrong verdicts.
"""

from __future__ import annotations

import json
import marshal
from collections.abc import Sequence
from typing import Any

from app.domain.paging import MAX_EMPTY_PAGES, MAX_PAGES, MAX_ROWS, describe_cap
from app.threecx.errors import EndlessPaging

LINK_SHOWN = 120  # characters of a repeated link quoted in the finding


class PageLedger:
    """What one paged read has seen: links followed, row fingerprints, pages and rows."""

    def __init__(
        self,
        endpoint: str,
        *,
        offset_name: str = "$skip",
        max_pages: int = MAX_PAGES,
        max_rows: int = MAX_ROWS,
    ) -> None:
        self.endpoint = endpoint
        self.offset_name = offset_name
        self.max_pages = max_pages
        self.max_rows = max_rows
        self.pages = 0
        self.rows = 0
        self._links: set[str] = set()
        self._seen: set[int] = set()
        self._first: set[int] | None = None
        self._first_size = 0
        self._empty_run = 0

    def follow(self, link: str) -> None:
        """Before following ``link``: a link read once already is a loop."""
        if link in self._links:
            raise EndlessPaging(
                f"The next-page link pointed back at a page already read ({_shown(link)}).",
                endpoint=self.endpoint,
            )
        self._links.add(link)

    def page(
        self, items: Sequence[Any], *, offset: int | None = None, link: str | None = None
    ) -> None:
        """After reading one page of raw rows (mapped or not), asked for at ``offset`` or by
        following ``link``."""
        self.pages += 1
        self.rows += len(items)
        if self.pages > self.max_pages:
            raise EndlessPaging(
                f"The list went on past {describe_cap(self.max_pages, 'pages')}, the most "
                "PBX Companion reads of one list.",
                endpoint=self.endpoint,
            )
        if self.rows > self.max_rows:
            raise EndlessPaging(
                f"The list went on past {describe_cap(self.max_rows, 'rows')}, the most "
                "PBX Companion reads of one list.",
                endpoint=self.endpoint,
            )
        self._empty_run = self._empty_run + 1 if link is not None and not items else 0
        if self._empty_run > MAX_EMPTY_PAGES:
            raise EndlessPaging(
                f"The PBX sent {self._empty_run} empty pages in a row, each pointing at another.",
                endpoint=self.endpoint,
            )
        prints = {_fingerprint(item) for item in items}
        # A page sent again is as long as the first page and holds nothing new. A short last
        # page of rows read before is not one: rows shift when calls land between requests.
        if prints and prints <= self._seen and len(items) >= self._first_size:
            raise EndlessPaging(self._repeat(prints, offset, link), endpoint=self.endpoint)
        if self._first is None and items:
            self._first, self._first_size = prints, len(items)
        self._seen |= prints

    def _repeat(self, prints: set[int], offset: int | None, link: str | None) -> str:
        if link is not None:
            return f"The next-page link pointed back at a page already read ({_shown(link)})."
        which = (
            "the first page"
            if self._first is not None and prints <= self._first
            else ("a page already read")
        )
        asked = f" (asked for rows from {offset:,})" if offset is not None else ""
        return f"The PBX ignored {self.offset_name} and sent {which} again{asked}."


def _shown(link: str) -> str:
    return link if len(link) <= LINK_SHOWN else link[:LINK_SHOWN] + "…"


def _fingerprint(item: Any) -> int:
    """One row's identity for "read before?": its whole content, keys in the order sent.

    Every row of every page passes here (about 1,600 a doctor run), so it is hashed from
    ``marshal``'s bytes, written in C, not from ``json.dumps`` (four times the CPU). Format 0
    has no back-references, so equal rows give equal bytes whatever else holds their values.
    A page sent again comes from the same serialiser, keys in the same order.
    """
    try:
        return hash(marshal.dumps(item, 0))
    except ValueError:  # not plain JSON values, or nested past marshal's depth
        pass
    try:
        return hash(json.dumps(item, sort_keys=True, default=repr))
    except (TypeError, ValueError, RecursionError):
        return hash(repr(item))
