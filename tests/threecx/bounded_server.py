"""A misbehaving web server on loopback, for driving the real Transport against it.

Each route is one misbehaviour of something that may sit in front of a PBX (issue 18): gzip
bombs made on the fly (zlib streaming zeros, so the server never holds the inflated size),
pages, proxies, huge strings, absurd numbers and deep nesting.
"""

from __future__ import annotations

import tracemalloc
import zlib
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager, suppress
from typing import TypeVar

import pytest
from aiohttp import web

from app.threecx.errors import ThreeCXError
from app.threecx.transport import Transport
from tests.support.timeouts import ROOMY

MB = 1024 * 1024
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
JSON = "application/json"


T = TypeVar("T")


def _flush_all(packers: list[zlib._Compress]) -> bytes:
    data = b""
    for packer in packers:
        data = packer.compress(data) + packer.flush()
    return data


def bomb(total: int, layers: int = 1, chunk: int = MB) -> Iterator[bytes]:
    packers = [zlib.compressobj(6, zlib.DEFLATED, zlib.MAX_WBITS | 16) for _ in range(layers)]
    zeros = bytes(chunk)
    sent = 0
    while sent < total:
        data = zeros
        for packer in packers:
            data = packer.compress(data)
        sent += chunk
        if data:
            yield data
    yield _flush_all(packers)


async def _stream(
    request: web.Request, pieces: Iterator[bytes], headers: dict[str, str]
) -> web.StreamResponse:
    response = web.StreamResponse(headers=headers)
    await response.prepare(request)
    with suppress(ConnectionError, RuntimeError):  # the client stops reading: that is the point
        for piece in pieces:
            await response.write(piece)
        await response.write_eof()
    return response


def page(title: str, *, password: bool = False) -> str:
    form = '<form><input type="password" name="p"></form>' if password else ""
    return f"<!DOCTYPE html><html><head><title>{title}</title></head><body>{form}</body></html>"


def nested(depth: int) -> bytes:
    return b"[" * depth + b"]" * depth


def make_app(bomb_size: int = 128 * MB) -> web.Application:
    async def gzip_bomb(request: web.Request) -> web.StreamResponse:
        headers = {"Content-Type": JSON, "Content-Encoding": "gzip"}
        return await _stream(request, bomb(bomb_size), headers)

    async def double_bomb(request: web.Request) -> web.StreamResponse:
        headers = {"Content-Type": JSON, "Content-Encoding": "gzip, gzip"}
        return await _stream(request, bomb(bomb_size, layers=2), headers)

    async def audio_bomb(request: web.Request) -> web.StreamResponse:
        headers = {"Content-Type": "audio/x-wav", "Content-Encoding": "gzip"}
        return await _stream(request, bomb(bomb_size), headers)

    async def small_gzip(request: web.Request) -> web.Response:
        body = zlib.compress(b'{"value": [1, 2, 3]}', wbits=31)
        return web.Response(body=body, headers={"Content-Type": JSON, "Content-Encoding": "gzip"})

    async def declared_huge(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": JSON})
        response.content_length = 4 * 1024 * MB
        await response.prepare(request)
        with suppress(ConnectionError, RuntimeError):
            await response.write(b'{"value": [')
        return response

    async def brotli(request: web.Request) -> web.Response:
        headers = {"Content-Type": JSON, "Content-Encoding": "br"}
        return web.Response(body=b"\x0b\x02\x80{}\x03", headers=headers)

    def fixed(status: int, body: str | bytes, content_type: str, **headers: str) -> Handler:
        data = body.encode() if isinstance(body, str) else body

        async def handler(request: web.Request) -> web.StreamResponse:
            return web.Response(
                status=status, body=data, content_type=content_type, headers=headers
            )

        return handler

    app = web.Application()
    routes: dict[str, Handler] = {
        "/bomb": gzip_bomb,
        "/double-bomb": double_bomb,
        "/audio-bomb": audio_bomb,
        "/small-gzip": small_gzip,
        "/declared-huge": declared_huge,
        "/brotli": brotli,
        "/page-200": fixed(200, page("Sign in"), "text/html"),
        "/redirect-page": fixed(302, page("302 Found"), "text/html", Location="/elsewhere"),
        "/proxy-401": fixed(
            401, page("Corporate proxy", password=True), "text/html", Server="squid"
        ),
        "/proxy-403": fixed(403, page("Access denied"), "text/html"),
        "/proxy-407": fixed(407, "", "text/plain", **{"Proxy-Authenticate": "Basic"}),
        "/untyped-page": fixed(
            200, "  <html><body>hello</body></html>", "application/octet-stream"
        ),
        "/empty": fixed(200, b"", JSON),
        "/json-401": fixed(401, '{"error": "invalid_client"}', JSON),
        "/empty-401": fixed(401, b"", JSON),
        "/json-403": fixed(403, '{"error": {"message": "Forbidden"}}', JSON),
        "/page-404": fixed(404, page("404 Not Found"), "text/html"),
        "/page-502": fixed(502, page("502 Bad Gateway"), "text/html"),
        # Just under the JSON answer limit: read, with its one string cut.
        "/huge-string": fixed(200, b'{"value": "' + b"x" * (7 * MB) + b'"}', JSON),
        "/too-large-string": fixed(200, b'{"value": "' + b"x" * (10 * MB) + b'"}', JSON),
        "/long-number": fixed(200, b'{"value": ' + b"9" * 400 + b"}", JSON),
        "/huge-float": fixed(200, b'{"value": 1e400}', JSON),
        "/nan": fixed(200, b'{"value": NaN}', JSON),
        "/deep": fixed(200, nested(100_000), JSON),
        "/deep-100": fixed(200, nested(100), JSON),
        "/many-objects": fixed(200, b"[" + b",".join([b"{}"] * 600_000) + b"]", JSON),
        "/nginx-plain": fixed(
            400,
            "<html><head><title>400 The plain HTTP request was sent to HTTPS port</title></head>"
            "<body><center>The plain HTTP request was sent to HTTPS port</center></body></html>",
            "text/html",
        ),
        "/redirect-login": fixed(302, b"", "text/plain", Location="https://sso.example.com/login"),
    }
    for path, handler in routes.items():
        app.router.add_route("*", path, handler)
    return app


@asynccontextmanager
async def serve(app: web.Application) -> AsyncIterator[str]:
    """The app on a free loopback port; yields its http:// base URL."""
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.5)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    server = site._server
    assert server is not None
    port = server.sockets[0].getsockname()[1]  # type: ignore[attr-defined]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        await runner.cleanup()


# The transport under test and the bound on what reading one answer may hold in memory.
PEAK_LIMIT = 64 * MB


@pytest.fixture
async def transport() -> AsyncIterator[Transport]:
    """A real Transport against a fresh misbehaving server (import this fixture to use it)."""
    async with serve(make_app()) as base:
        client = Transport(base, timeouts=ROOMY)
        try:
            yield client
        finally:
            await client.aclose()


async def peak_of(action: Awaitable[T]) -> tuple[T | ThreeCXError, int]:
    """What ``action`` gave (or the ``ThreeCXError`` it raised) and tracemalloc's peak bytes."""
    tracemalloc.start()
    try:
        try:
            value: T | ThreeCXError = await action
        except ThreeCXError as exc:
            value = exc
        return value, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
