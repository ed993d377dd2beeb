"""A page, a proxy or the wrong scheme is named as such, never read as a 3CX verdict.

Real sockets: a misbehaving aiohttp server on loopback, the simulator over TLS, the real
Transport.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from urllib.parse import urlsplit

import pytest

from app.threecx.errors import (
    AuthRejected,
    Forbidden,
    NotFound,
    NotThreeCX,
    SchemeMismatch,
    ServerError,
    TlsFailure,
    Unreachable,
)
from app.threecx.tls import TlsOptions
from app.threecx.transport import RetryPolicy, Transport
from tests.conftest import SimFactory
from tests.support.timeouts import ROOMY
from tests.threecx.bounded_server import make_app, serve

ONCE = RetryPolicy(attempts=2, first_delay=0.01)


@pytest.fixture
async def base() -> AsyncIterator[str]:
    async with serve(make_app()) as url:
        yield url


@pytest.fixture
async def transport(base: str) -> AsyncIterator[Transport]:
    client = Transport(base, timeouts=ROOMY, retry=ONCE)
    try:
        yield client
    finally:
        await client.aclose()


@pytest.mark.parametrize(
    ("path", "named"),
    [
        ("/page-200", "An HTML page titled 'Sign in' (HTTP 200"),
        (
            "/proxy-401",
            "A sign-in page titled 'Corporate proxy' (HTTP 401, from a server calling itself 'squid')",
        ),
        ("/proxy-403", "An HTML page titled 'Access denied' (HTTP 403"),
        ("/proxy-407", "A proxy asking for its own sign-in (407)"),
        ("/untyped-page", "An HTML page without a title (HTTP 200"),
        ("/redirect-login", "A redirect (302) to https://sso.example.com/login"),
        ("/redirect-page", "A redirect (302) to /elsewhere"),
    ],
)
async def test_a_page_or_a_proxy_is_named_not_blamed_on_the_key(
    transport: Transport, path: str, named: str
) -> None:
    with pytest.raises(NotThreeCX) as caught:
        await transport.request("GET", path)
    assert named in str(caught.value)
    assert not isinstance(caught.value, (AuthRejected, Forbidden))
    assert "The key is not at fault" in caught.value.next_step


async def test_an_empty_answer_where_json_is_expected_is_named(transport: Transport) -> None:
    with pytest.raises(NotThreeCX, match="An empty answer"):
        await transport.get_json("/empty")


async def test_3cx_own_refusals_keep_their_meaning(transport: Transport) -> None:
    # 3CX answers 401 and 403 in JSON or with an empty body: those stay its verdicts.
    for path in ("/json-401", "/empty-401"):
        with pytest.raises(AuthRejected):
            await transport.request("GET", path)
    with pytest.raises(Forbidden, match="Forbidden"):
        await transport.request("GET", "/json-403")


async def test_a_404_page_stays_not_found_and_a_502_page_stays_retried(
    transport: Transport,
) -> None:
    with pytest.raises(NotFound, match="'404 Not Found'"):
        await transport.request("GET", "/page-404")
    with pytest.raises(ServerError, match="'502 Bad Gateway'") as caught:
        await transport.request("GET", "/page-502")
    assert caught.value.status == 502


async def test_nginx_refusing_plain_http_on_its_tls_port_says_use_https(
    transport: Transport, base: str
) -> None:
    port = urlsplit(base).port
    with pytest.raises(SchemeMismatch) as caught:
        await transport.request("GET", "/nginx-plain")
    assert f"port {port} speaks HTTPS: use https://127.0.0.1:{port}" in str(caught.value)


async def test_http_to_a_tls_port_says_use_https(make_sim: SimFactory) -> None:
    sim = await make_sim(tls=True)
    port = urlsplit(sim.url).port
    transport = Transport(f"http://127.0.0.1:{port}", timeouts=ROOMY, retry=ONCE)
    try:
        with pytest.raises(SchemeMismatch) as caught:
            await transport.request("GET", "/xapi/v1/Defs")
    finally:
        await transport.aclose()
    assert (
        f"The address says http:// but port {port} speaks HTTPS: use https://127.0.0.1:{port}"
        in str(caught.value)
    )
    assert (
        caught.value.next_step
        == f"Change the PBX address to https://127.0.0.1:{port} and run again."
    )


async def test_https_to_a_plain_http_port_says_so(base: str) -> None:
    port = urlsplit(base).port
    transport = Transport(f"https://127.0.0.1:{port}", TlsOptions(), timeouts=ROOMY, retry=ONCE)
    try:
        with pytest.raises(SchemeMismatch) as caught:
            await transport.request("GET", "/page-200")
    finally:
        await transport.aclose()
    assert f"port {port} speaks plain HTTP, not HTTPS" in str(caught.value)
    assert "does not send the API key over plain HTTP" in caught.value.next_step


async def test_a_port_that_drops_every_connection_is_not_called_https() -> None:
    # Neither TLS nor HTTP answers there: the dropped connection is reported as it was.
    async def drop(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.close()

    server = await asyncio.start_server(drop, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        for scheme, kind in (("http", Unreachable), ("https", TlsFailure)):
            transport = Transport(f"{scheme}://127.0.0.1:{port}", timeouts=ROOMY, retry=ONCE)
            try:
                with pytest.raises(kind) as caught:
                    await transport.request("GET", "/")
            finally:
                await transport.aclose()
            assert not isinstance(caught.value, SchemeMismatch)
    finally:
        server.close()
        await server.wait_closed()
