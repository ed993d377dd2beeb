"""Telling an answer from 3CX apart from a web page, a login form or a proxy in front of it.

3CX's API answers in JSON (or with an empty body); an HTML page on a 200, 401 or 403 is a
captive portal, a reverse proxy's sign-in or the wrong web server, and must never be read as
"the key is wrong" or "a role is missing" (issue 18).
"""

from __future__ import annotations

import html
import re
from collections.abc import Mapping

# Only the start of a page is looked at: a title sits in the head.
_HEAD_BYTES = 64 * 1024
_TITLE = re.compile(rb"<title[^>]*>(.*?)</title\s*>", re.IGNORECASE | re.DOTALL)
_PASSWORD = re.compile(rb"<input[^>]+type\s*=\s*[\"']?password", re.IGNORECASE)
_TITLE_CHARS = 80
# nginx's answer to plain HTTP on its TLS port (400, "The plain HTTP request was sent to HTTPS
# port"); other servers word it alike.
_PLAIN_ON_TLS = (b"plain http request was sent to https port", b"speaking plain http to an ssl")


def looks_like_html(content_type: str | None, body: bytes) -> bool:
    kind = (content_type or "").lower()
    if "html" in kind:
        return True
    if "json" in kind or "xml" in kind:
        return False  # judged as what it says it is, even when it is broken
    return body[:_HEAD_BYTES].lstrip().startswith(b"<")


def html_title(body: bytes) -> str | None:
    found = _TITLE.search(body[:_HEAD_BYTES])
    if found is None:
        return None
    title = " ".join(html.unescape(found.group(1).decode("utf-8", "replace")).split())
    if not title:
        return None
    return title if len(title) <= _TITLE_CHARS else title[: _TITLE_CHARS - 1] + "…"


def describe_page(body: bytes) -> str:
    """ "An HTML page titled 'Sign in'", "A sign-in page titled 'Portal'"."""
    head = body[:_HEAD_BYTES]
    kind = "A sign-in page" if _PASSWORD.search(head) else "An HTML page"
    title = html_title(head)
    return f"{kind} titled {title!r}" if title else f"{kind} without a title"


def plain_http_refused(body: bytes) -> bool:
    """The answer of a TLS port's web server to a request sent in plain HTTP."""
    head = body[:_HEAD_BYTES].lower()
    return any(text in head for text in _PLAIN_ON_TLS)


def describe_foreign(status: int, headers: Mapping[str, str], body: bytes) -> str | None:
    """What a non-3CX answer looked like, or None when it may well be 3CX's own."""
    if status == 407:
        return "A proxy asking for its own sign-in (407)."
    if not looks_like_html(headers.get("content-type"), body):
        return None
    page = describe_page(body)
    server = headers.get("server")
    said = f", from a server calling itself {server[:40]!r}" if server else ""
    return f"{page} (HTTP {status}{said})."
