"""Small word helpers every cause's findings share, so "2 extensions" reads alike everywhere."""

from __future__ import annotations


def plural(count: int, one: str, many: str | None = None) -> str:
    """ "1 call", "3 calls"; ``many`` for irregular plurals ("does", "do")."""
    return f"{count} {one if count == 1 else (many or one + 's')}"


def listing(items: list[str], limit: int = 6) -> str:
    """'101, 102 and 103' (and 'and 4 more' past the limit)."""
    shown = items[:limit]
    rest = len(items) - len(shown)
    if rest > 0:
        return ", ".join(shown) + f" and {rest} more"
    if len(shown) <= 1:
        return "".join(shown)
    return ", ".join(shown[:-1]) + f" and {shown[-1]}"
