"""The slice of OData v4 that 3CX's XAPI clients use: $filter, $orderby, $select, paging."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from functools import partial
from typing import Any

from app.sim.timefmt import parse_iso

Row = dict[str, Any]


class ODataQueryError(ValueError):
    """Maps to a 400 OData error."""


def error_body(message: str, detail: str = "", target: str = "") -> dict[str, Any]:
    body: dict[str, Any] = {"error": {"code": "", "message": message}}
    if detail:
        body["error"]["details"] = [{"code": "", "message": detail, "target": target}]
    return body


_TOKEN = re.compile(
    r"\s*(?:(?P<str>'(?:[^']|'')*')|(?P<lp>\()|(?P<rp>\))|(?P<comma>,)"
    r"|(?P<dt>\d{4}-\d{2}-\d{2}T[0-9:.]+(?:Z|[+-]\d{2}:\d{2})?)"
    r"|(?P<num>-?\d+(?:\.\d+)?)|(?P<word>[A-Za-z_][A-Za-z0-9_./]*))"
)

_OPS = {"eq", "ne", "gt", "ge", "lt", "le"}


def _tokens(text: str) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    pos = 0
    text = text.strip()
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if not m or m.end() == pos:
            raise ODataQueryError(f"Syntax error at position {pos} in '{text}'.")
        kind = m.lastgroup or ""
        out.append((kind, m.group(kind)))
        pos = m.end()
        while pos < len(text) and text[pos].isspace():
            pos += 1
    return out


def _literal(kind: str, value: str) -> Any:
    if kind == "str":
        return value[1:-1].replace("''", "'")
    if kind == "dt":
        return parse_iso(value)
    if kind == "num":
        return float(value) if "." in value else int(value)
    if kind == "word":
        if value == "true":
            return True
        if value == "false":
            return False
        if value == "null":
            return None
    raise ODataQueryError(f"Unsupported literal '{value}'.")


def _compare(left: Any, op: str, right: Any) -> bool:
    if isinstance(right, datetime) and isinstance(left, str):
        try:
            left = parse_iso(left)
        except ValueError:
            return False
    if op == "eq":
        return bool(left == right)
    if op == "ne":
        return bool(left != right)
    if left is None or right is None:
        return False
    try:
        if op == "gt":
            return bool(left > right)
        if op == "ge":
            return bool(left >= right)
        if op == "lt":
            return bool(left < right)
        return bool(left <= right)
    except TypeError:
        return False


Predicate = Callable[[Row], bool]


def parse_filter(text: str, fields: set[str] | None = None) -> Predicate:
    """Clauses joined by `and`: `F op literal`, `contains(F,'x')`, `startswith(F,'x')`."""
    toks = _tokens(text)
    clauses: list[Predicate] = []
    i = 0
    while i < len(toks):
        kind, val = toks[i]
        if kind == "word" and val in _TEXT_FUNCTIONS:
            clauses.append(_function_clause(toks, i, fields))
            i += 6
        elif (
            kind == "word"
            and i + 2 < len(toks)
            and toks[i + 1] == ("word", toks[i + 1][1])
            and toks[i + 1][1] in _OPS
        ):
            clauses.append(_comparison_clause(toks, i, fields))
            i += 3
        else:
            raise ODataQueryError(f"The query specified in the URI is not valid: '{text}'.")
        i = _skip_and(toks, i, text)
    return lambda row: all(c(row) for c in clauses)


_TEXT_FUNCTIONS = ("contains", "startswith", "endswith")


def _field_name(name: str, fields: set[str] | None) -> str:
    if fields is not None and name not in fields:
        raise ODataQueryError(f"Could not find a property named '{name}'.")
    return name


def _function_clause(toks: list[tuple[str, str]], i: int, fields: set[str] | None) -> Predicate:
    """`fn(Field,'needle')` starting at ``toks[i]``: six tokens."""
    fn = toks[i][1]
    if (
        i + 5 >= len(toks)
        or toks[i + 1][0] != "lp"
        or toks[i + 2][0] != "word"
        or toks[i + 3][0] != "comma"
        or toks[i + 4][0] != "str"
        or toks[i + 5][0] != "rp"
    ):
        raise ODataQueryError(f"Malformed function call '{fn}'.")
    fname = _field_name(toks[i + 2][1], fields)
    needle = str(_literal("str", toks[i + 4][1])).lower()
    return partial(_text_match, fn, fname, needle)


def _text_match(fn: str, field: str, needle: str, row: Row) -> bool:
    hay = row.get(field)
    if not isinstance(hay, str):
        return False
    hay = hay.lower()
    if fn == "contains":
        return needle in hay
    if fn == "startswith":
        return hay.startswith(needle)
    return hay.endswith(needle)


def _comparison_clause(toks: list[tuple[str, str]], i: int, fields: set[str] | None) -> Predicate:
    """`Field op literal` starting at ``toks[i]``: three tokens."""
    fname = _field_name(toks[i][1], fields)
    op = toks[i + 1][1]
    lit = _literal(*toks[i + 2])
    return lambda row: _compare(row.get(fname), op, lit)


def _skip_and(toks: list[tuple[str, str]], i: int, text: str) -> int:
    """Past the `and` that must join a clause to the next one, if any follows."""
    if i >= len(toks):
        return i
    if toks[i] != ("word", "and"):
        raise ODataQueryError(f"Only 'and' is supported between clauses: '{text}'.")
    i += 1
    if i >= len(toks):
        raise ODataQueryError(f"Expression expected at the end of '{text}'.")
    return i


def _sort_key(value: Any) -> tuple[int, Any]:
    if value is None:
        return (0, "")
    if isinstance(value, bool):
        return (1, int(value))
    if isinstance(value, int | float):
        return (1, value)
    return (2, str(value))


def apply_orderby(rows: list[Row], text: str, fields: set[str] | None) -> list[Row]:
    for part in reversed([p.strip() for p in text.split(",") if p.strip()]):
        bits = part.split()
        if len(bits) > 2 or (len(bits) == 2 and bits[1].lower() not in ("asc", "desc")):
            raise ODataQueryError(f"Invalid $orderby '{text}'.")
        name = _field_name(bits[0], fields)
        desc = len(bits) == 2 and bits[1].lower() == "desc"
        rows = sorted(rows, key=partial(_field_sort_key, name), reverse=desc)
    return rows


def _int_option(query: Mapping[str, str], name: str) -> int | None:
    raw = query.get(name)
    if raw is None:
        return None
    try:
        value = int(raw)
    except ValueError:
        raise ODataQueryError(f"Invalid value '{raw}' for {name}.") from None
    if value < 0:
        raise ODataQueryError(f"Invalid value '{raw}' for {name}.")
    return value


def select_fields(query: Mapping[str, str], fields: set[str] | None) -> list[str] | None:
    raw = query.get("$select")
    if not raw:
        return None
    names = [s.strip() for s in raw.split(",") if s.strip()]
    for n in names:
        if fields is not None and n not in fields:
            raise ODataQueryError(f"Could not find a property named '{n}'.")
    return names


def expanded(query: Mapping[str, str]) -> set[str]:
    raw = query.get("$expand", "")
    names: set[str] = set()
    depth = 0
    cur = ""
    for ch in raw:
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        elif ch == "," and depth == 0:
            names.add(cur.strip())
            cur = ""
        elif depth == 0:
            cur += ch
    if cur.strip():
        names.add(cur.strip())
    return names


def _field_sort_key(name: str, row: Row) -> Any:
    return _sort_key(row.get(name))


def collection(
    rows: Sequence[Row],
    query: Mapping[str, str],
    *,
    context: str,
    fields: set[str] | None = None,
    max_top: int | None = None,
    keep: frozenset[str] = frozenset(),
) -> dict[str, Any]:
    """Apply $filter/$orderby/$count/$skip/$top/$select; return the OData collection body.
    ``keep`` names the expanded navigation properties, which $select does not drop."""
    data = list(rows)
    if query.get("$filter"):
        pred = parse_filter(query["$filter"], fields)
        data = [r for r in data if pred(r)]
    if query.get("$orderby"):
        data = apply_orderby(data, query["$orderby"], fields)
    count = len(data)
    top = _int_option(query, "$top")
    skip = _int_option(query, "$skip") or 0
    if top is not None and max_top is not None and top > max_top:
        raise ODataQueryError(
            f"The limit of '{max_top}' for Top query has been exceeded. "
            f"The value from the incoming request is '{top}'."
        )
    data = data[skip:]
    if top is not None:
        data = data[:top]
    sel = select_fields(query, fields)
    ctx = context
    if sel is not None:
        data = [_selected(r, sel, keep) for r in data]
        ctx = f"{context}({','.join(sel)})"
    body: dict[str, Any] = {"@odata.context": ctx}
    count_raw = query.get("$count", "").lower()
    if count_raw not in ("", "true", "false"):
        raise ODataQueryError(f"Invalid value '{count_raw}' for $count.")
    if count_raw == "true":
        body["@odata.count"] = count
    body["value"] = data
    return body


def _selected(row: Row, sel: list[str], keep: frozenset[str]) -> Row:
    """The $select'ed fields of a row, and its expanded navigation properties."""
    return {k: row.get(k) for k in sel} | {k: row[k] for k in keep if k in row}


def entity(
    row: Row,
    query: Mapping[str, str],
    *,
    context: str,
    singleton: bool = True,
    keep: frozenset[str] = frozenset(),
) -> dict[str, Any]:
    """A single entity; singletons (`SystemStatus`, `Defs`) carry no `/$entity` suffix."""
    sel = select_fields(query, set(row))
    suffix = "" if singleton else "/$entity"
    if sel is None:
        return {"@odata.context": f"{context}{suffix}", **row}
    return {"@odata.context": f"{context}({','.join(sel)}){suffix}", **_selected(row, sel, keep)}
