"""Reading an HTTP body with a size limit, counted on the decoded bytes as they decompress.

httpx's own decoders inflate each network chunk whole: one 64 KB chunk of a gzip bomb becomes
about 64 MB at once, and "gzip, gzip" multiplies that by a thousand. So the raw bytes are read
here and inflated with zlib's ``max_length``, a piece at a time, and reading stops the moment
the decoded total passes the limit.
"""

from __future__ import annotations

import io
import zlib
from collections.abc import Iterator

import httpx

from app.domain.limits import (
    BINARY_ANSWER_LIMIT,
    JSON_ANSWER_LIMIT,
    MAX_CONTENT_ENCODINGS,
    describe_size,
)
from app.threecx.errors import AnswerTooLarge, UnreadableAnswer

# The most one zlib call may produce: small, so no single step holds much of a bomb.
PIECE = 64 * 1024
GZIP_NAMES = frozenset({"gzip", "x-gzip"})
# What we ask for; anything else is decoded by no one here.
ACCEPT_ENCODING = "gzip, deflate"
_TEXTUAL = ("json", "text/", "html", "xml", "javascript")


def limit_for(content_type: str | None) -> int:
    """The size limit for an answer of this declared type: JSON and pages are small, audio
    (a recording download) is large. An answer with no type is held to the small limit."""
    kind = (content_type or "").lower()
    if not kind or any(mark in kind for mark in _TEXTUAL):
        return JSON_ANSWER_LIMIT
    return BINARY_ANSWER_LIMIT


def content_encodings(header: str | None) -> list[str]:
    """The encodings applied, in the order they were applied ("identity" left out)."""
    names = [part.strip().lower() for part in (header or "").split(",")]
    return [name for name in names if name and name != "identity"]


class _Inflater:
    """One gzip or deflate layer, producing at most ``PIECE`` bytes per zlib call."""

    def __init__(self, encoding: str, describe: str, status: int | None, endpoint: str | None):
        self.encoding = encoding
        self._describe = describe
        self._status = status
        self._endpoint = endpoint
        self._gzip = encoding in GZIP_NAMES
        self._started = False
        self._zlib = self._fresh(raw=False)

    def _fresh(self, *, raw: bool) -> zlib._Decompress:
        if raw:
            return zlib.decompressobj(-zlib.MAX_WBITS)
        return zlib.decompressobj(zlib.MAX_WBITS | 16 if self._gzip else zlib.MAX_WBITS)

    def feed(self, data: bytes) -> Iterator[bytes]:
        while True:
            try:
                out = self._zlib.decompress(data, PIECE)
            except zlib.error as exc:
                if self.encoding == "deflate" and not self._started:
                    # Some servers send raw deflate under "deflate": try that once.
                    self._started = True
                    self._zlib = self._fresh(raw=True)
                    continue
                raise UnreadableAnswer(
                    f"{self._describe} that does not decompress ({exc}).",
                    endpoint=self._endpoint,
                    status=self._status,
                ) from exc
            self._started = True
            data = self._zlib.unconsumed_tail
            if out:
                yield out
            if self._zlib.eof:
                rest = self._zlib.unused_data
                if not (self._gzip and rest.startswith(b"\x1f\x8b")):
                    return  # bytes after the end of the stream are ignored, as browsers do
                self._zlib = self._fresh(raw=False)  # a further gzip member
                data = rest
                continue
            if not data and len(out) < PIECE:
                return  # all input taken and nothing left pending inside zlib

    def finish(self) -> Iterator[bytes]:
        tail = self._zlib.flush(PIECE)
        if tail:
            yield tail


class BoundedDecoder:
    """Decodes a body's Content-Encoding layers and keeps at most ``limit`` decoded bytes."""

    def __init__(
        self,
        encodings: list[str],
        limit: int,
        *,
        status: int | None = None,
        endpoint: str | None = None,
    ) -> None:
        self.limit = limit
        self.status = status
        self.endpoint = endpoint
        self.received = 0
        self.decoded = 0
        self._out = io.BytesIO()
        joined = ", ".join(encodings)
        self._what = f"A {joined} answer" if encodings else "An answer"
        if len(encodings) > MAX_CONTENT_ENCODINGS:
            raise UnreadableAnswer(
                f"{self._what}: {len(encodings)} layers of compression, more than any web "
                "server sends.",
                endpoint=endpoint,
                status=status,
            )
        unknown = [name for name in encodings if name not in GZIP_NAMES and name != "deflate"]
        if unknown:
            raise UnreadableAnswer(
                f"An answer compressed as {unknown[0]!r}, which PBX Companion did not ask for "
                f"(it asks for {ACCEPT_ENCODING}).",
                endpoint=endpoint,
                status=status,
            )
        # Decoded outermost first: the header lists the encodings in the order applied.
        self._layers = [
            _Inflater(name, self._what, status, endpoint) for name in reversed(encodings)
        ]

    @property
    def compressed(self) -> bool:
        return bool(self._layers)

    def too_large(self) -> AnswerTooLarge:
        limit = describe_size(self.limit)
        if self.compressed:
            detail = (
                f"{self._what} that grew past {limit} while decompressing (after "
                f"{describe_size(self.received)} received); reading stopped there."
            )
        else:
            detail = f"An answer larger than {limit}; reading stopped there."
        return AnswerTooLarge(detail, endpoint=self.endpoint, status=self.status)

    def check_declared(self, content_length: str | None) -> None:
        """Refuse before reading when the answer itself says it is too large."""
        try:
            declared = int(content_length or "")
        except ValueError:
            return
        if declared > self.limit:
            raise AnswerTooLarge(
                f"An answer of {describe_size(declared)} by its Content-Length, over the "
                f"{describe_size(self.limit)} PBX Companion reads; nothing was read.",
                endpoint=self.endpoint,
                status=self.status,
            )

    def feed(self, raw: bytes) -> None:
        self.received += len(raw)
        for piece in self._through(0, raw):
            self._keep(piece)

    def finish(self) -> bytes:
        for index, layer in enumerate(self._layers):
            for piece in layer.finish():
                for out in self._through(index + 1, piece):
                    self._keep(out)
        # BytesIO hands back its own buffer here, so the body is not copied a second time.
        return self._out.getvalue()

    def _through(self, index: int, data: bytes) -> Iterator[bytes]:
        if index == len(self._layers):
            yield data
            return
        for piece in self._layers[index].feed(data):
            yield from self._through(index + 1, piece)

    def _keep(self, piece: bytes) -> None:
        self.decoded += len(piece)
        if self.decoded > self.limit:
            raise self.too_large()
        self._out.write(piece)


async def read_bounded(
    response: httpx.Response, limit: int | None = None, *, endpoint: str | None = None
) -> bytes:
    """The decoded body of a streamed response, refused past ``limit`` (by default the one
    for its declared content type). Raises ``AnswerTooLarge`` or ``UnreadableAnswer``."""
    chosen = limit if limit is not None else limit_for(response.headers.get("content-type"))
    decoder = BoundedDecoder(
        content_encodings(response.headers.get("content-encoding")),
        chosen,
        status=response.status_code,
        endpoint=endpoint,
    )
    decoder.check_declared(response.headers.get("content-length"))
    async for raw in response.aiter_raw():
        decoder.feed(raw)
    return decoder.finish()


def decoded_response(response: httpx.Response, body: bytes) -> httpx.Response:
    """A complete response carrying the already decoded ``body``, for callers that use
    ``.content``, ``.json()``, ``.text``, ``.headers`` and ``.status_code``."""
    headers = [
        (name, value)
        for name, value in response.headers.multi_items()
        if name.lower() not in ("content-encoding", "content-length", "transfer-encoding")
    ]
    return httpx.Response(
        response.status_code,
        headers=headers,
        content=body,
        request=response.request,
        extensions=response.extensions,
    )
