"""TLS trust for a PBX connection: the OS trust store, a private CA, or a pinned certificate."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import hashlib
import os
import ssl
from dataclasses import dataclass

import truststore

from app.threecx.errors import TlsFailure, TlsProblem, Unreachable, UnreachableKind


@dataclass(frozen=True)
class TlsOptions:
    ca_file: str | None = None
    pin_sha256: str | None = None  # hex SHA-256 of the server certificate (DER), colons allowed
    verify: bool = True  # only for plain-http simulators; https always verifies

    def __repr__(self) -> str:
        return f"TlsOptions(ca_file={self.ca_file!r}, pinned={self.pin_sha256 is not None})"


def normalise_fingerprint(text: str) -> str:
    cleaned = text.strip().lower().replace(":", "").replace(" ", "")
    if cleaned.startswith("sha256/") or cleaned.startswith("sha256="):
        cleaned = cleaned[7:]
    if len(cleaned) != 64 or any(c not in "0123456789abcdef" for c in cleaned):
        raise ValueError("A SHA-256 pin is 64 hexadecimal digits (colons allowed).")
    return cleaned


def certificate_fingerprint(der: bytes) -> str:
    return hashlib.sha256(der).hexdigest()


def build_ssl_context(options: TlsOptions, pinned_der: bytes | None = None) -> ssl.SSLContext:
    """The context every request of a connection uses.

    With a pin, the pinned certificate itself becomes the only trust anchor (partial-chain
    verification), so a changed certificate fails the handshake before any secret is sent.

    Built once per trust and shared by every connection that trusts the same: loading a CA file
    (or the OS store) per connection costs more than the handshake itself on a fleet sweep. A
    CA file is known by its path, size and change time, so an edited file is read again.
    """
    if pinned_der is not None:
        return _pinned_context(pinned_der)
    if options.ca_file:
        try:
            stat = os.stat(options.ca_file)
        except OSError as exc:
            raise ValueError(f"The CA file {options.ca_file!r} cannot be read: {exc}") from exc
        return _ca_file_context(options.ca_file, stat.st_size, stat.st_mtime_ns, stat.st_ino)
    return _os_trust_context()


@functools.lru_cache(maxsize=64)
def _pinned_context(pinned_der: bytes) -> ssl.SSLContext:
    ctx = ssl.create_default_context(cadata=ssl.DER_cert_to_PEM_cert(pinned_der))
    ctx.verify_flags |= ssl.VERIFY_X509_PARTIAL_CHAIN
    return ctx


@functools.lru_cache(maxsize=1024)  # a fleet sweep's PBXs may each have a private CA
def _ca_file_context(path: str, size: int, mtime_ns: int, inode: int) -> ssl.SSLContext:
    del size, mtime_ns, inode  # the cache key only: a changed file is a new context
    try:
        return ssl.create_default_context(cafile=path)
    except (OSError, ssl.SSLError) as exc:
        raise ValueError(f"The CA file {path!r} cannot be read: {exc}") from exc


@functools.lru_cache(maxsize=1)
def _os_trust_context() -> ssl.SSLContext:
    return truststore.SSLContext(ssl.PROTOCOL_TLS_CLIENT)


@functools.lru_cache(maxsize=1)
def unverified_context() -> ssl.SSLContext:
    """A context that takes any certificate: only to look at what a server presents, or whether
    a port speaks TLS at all, never to send anything secret. Without the OS trust store, which
    it would never consult (loading it costs tens of milliseconds)."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


async def fetch_peer_certificate(host: str, port: int, wait_s: float) -> bytes:
    """The server's leaf certificate, fetched without trusting it (for pinning and display)."""
    try:
        _, writer = await asyncio.wait_for(
            asyncio.open_connection(host, port, ssl=unverified_context(), server_hostname=host),
            wait_s,
        )
    except TimeoutError as exc:
        raise Unreachable(UnreachableKind.TIMEOUT, f"No TLS answer within {wait_s:g} s.") from exc
    except ConnectionRefusedError as exc:
        raise Unreachable(UnreachableKind.REFUSED, str(exc)) from exc
    except ssl.SSLError as exc:
        raise TlsFailure(TlsProblem.HANDSHAKE, str(exc)) from exc
    except OSError as exc:
        raise Unreachable(UnreachableKind.NETWORK, str(exc)) from exc
    try:
        ssl_object = writer.get_extra_info("ssl_object")
        der = ssl_object.getpeercert(binary_form=True) if ssl_object else None
    finally:
        writer.close()
        with contextlib.suppress(OSError, TimeoutError, ssl.SSLError):
            await asyncio.wait_for(writer.wait_closed(), wait_s)
    if not der:
        raise TlsFailure(TlsProblem.HANDSHAKE, "The server sent no certificate.")
    return bytes(der)


def classify_ssl_error(exc: BaseException) -> TlsProblem:
    text = str(exc).lower()
    verify_code = getattr(exc, "verify_code", None)
    if "hostname mismatch" in text or "doesn't match" in text or "ip address mismatch" in text:
        return TlsProblem.HOSTNAME
    if "expired" in text or verify_code == 10:
        return TlsProblem.EXPIRED
    if "certificate verify failed" in text or "self-signed" in text or "unable to get" in text:
        return TlsProblem.UNTRUSTED
    return TlsProblem.HANDSHAKE
