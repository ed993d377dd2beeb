"""Does the port speak what the address says? Checked on the wire after a request failed.

``http://`` to a TLS port and ``https://`` to a plain-HTTP port both fail as an unclear
"connection dropped" or "wrong version number". Each check here opens its own connection,
with its own short timeout, and answers only yes when the port plainly speaks the other one.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from urllib.parse import urlsplit

from app.threecx.errors import SchemeMismatch
from app.threecx.tls import unverified_context

# OpenSSL's words for "the other side did not answer in TLS" (1.1, 3.0 and 3.2+).
_NOT_TLS_MARKS = (
    "wrong version number",
    "record layer failure",
    "packet length too long",
    "unknown protocol",
    "http request",
)


def host_and_port(base_url: str) -> tuple[str, int]:
    parts = urlsplit(base_url)
    default = 443 if parts.scheme == "https" else 80
    try:
        port = parts.port or default
    except ValueError:
        port = default
    return parts.hostname or "", port


def _authority(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def ssl_says_not_tls(exc: BaseException | str) -> bool:
    text = str(exc).lower()
    return any(mark in text for mark in _NOT_TLS_MARKS)


def http_to_tls_port(host: str, port: int, endpoint: str | None = None) -> SchemeMismatch:
    address = f"https://{_authority(host, port)}"
    return SchemeMismatch(
        f"The address says http:// but port {port} speaks HTTPS: use {address}",
        f"Change the PBX address to {address} and run again.",
        endpoint=endpoint,
    )


def https_to_plain_port(port: int, endpoint: str | None = None) -> SchemeMismatch:
    return SchemeMismatch(
        f"The address says https:// but port {port} speaks plain HTTP, not HTTPS.",
        "Use the port that serves HTTPS (443 for 3CX-hosted PBXs, usually 5001 for "
        "self-managed ones); PBX Companion does not send the API key over plain HTTP.",
        endpoint=endpoint,
    )


async def port_speaks_tls(host: str, port: int, timeout_s: float) -> bool:
    """True when a TLS handshake completes on the port (the certificate is not judged here)."""
    try:
        async with asyncio.timeout(timeout_s):
            _, writer = await asyncio.open_connection(
                host, port, ssl=unverified_context(), server_hostname=host
            )
    except (OSError, ssl.SSLError, TimeoutError):
        return False
    await _close(writer, timeout_s)
    return True


async def port_speaks_plain_http(host: str, port: int, timeout_s: float) -> bool:
    """True when the port answers a plain HTTP request with an HTTP status line."""
    try:
        async with asyncio.timeout(timeout_s):
            reader, writer = await asyncio.open_connection(host, port)
            try:
                authority = _authority(host, port)
                writer.write(f"HEAD / HTTP/1.0\r\nHost: {authority}\r\n\r\n".encode("ascii"))
                await writer.drain()
                start = await reader.read(5)
            finally:
                await _close(writer, timeout_s)
    except (OSError, TimeoutError, UnicodeEncodeError):
        return False
    return start == b"HTTP/"


async def _close(writer: asyncio.StreamWriter, timeout_s: float) -> None:
    writer.close()
    with contextlib.suppress(OSError, TimeoutError, ssl.SSLError):
        async with asyncio.timeout(timeout_s):
            await writer.wait_closed()
