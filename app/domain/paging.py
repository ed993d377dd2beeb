"""How far PBX Companion pages through one list before it calls the paging endless (issue 18).

A PBX, or a proxy in front of it, can repeat a next-page link, ignore ``$skip``, or count rows
it never sends. Every paged read asks these limits; none hard-codes its own. Past a limit the
read fails with a finding that names it: a list cut short would give wrong verdicts (a missing
call reads as "not logged", a missing contact as "not in the phonebook").
"""

from __future__ import annotations

from typing import Final

# Rows of one list, mapped or not. The largest real lists are phonebooks of tens of thousands
# of contacts; past 100,000 the rows alone cost hundreds of MB, so it is not a list we read.
MAX_ROWS: Final = 100_000

# Pages of one list. At the 100-row pages some entities force (API-NOTES: /Users) that is
# 200,000 rows, more than MAX_ROWS; more pages than this means the paging never ends.
MAX_PAGES: Final = 2_000

# Empty pages in a row that still point at a next page. OData never sends one on purpose;
# a few are tolerated (a filter that emptied a page), an endless run is a paging loop.
MAX_EMPTY_PAGES: Final = 3

# Time windows read for one call-history request (each is one or two requests). A real read
# takes a handful: quiet windows double, busy ones are split at most ~20 times down to a
# minute. A PBX whose count always says "more" would otherwise walk a year minute by minute.
MAX_HISTORY_WINDOWS: Final = 200


def describe_cap(count: int, what: str) -> str:
    """ "2,000 pages": a cap as the finding names it."""
    return f"{count:,} {what}"
