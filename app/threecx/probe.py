"""The network half of the reachability check: DNS, TCP, TLS and one HTTP request, each timed.

Every step has its own timeout and the probe stops at the first failure, so it never hangs and
says where the path to the PBX breaks. It sends no credential: the HTTP step asks the XAPI
without a token, and a 401 is the good answer.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import errno
import ipaddress
import re
import socket
import ssl
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlsplit

from cryptography import x509

from app.domain.addresses import PbxAddress, parse_pbx_address
from app.domain.clock import system_clock
from app.threecx.errors import (
    MalformedResponse,
    ThreeCXError,
    TlsFailure,
    TlsProblem,
    Unreachable,
    UnreachableKind,
)
from app.threecx.scheme_check import (
    http_to_tls_port,
    https_to_plain_port,
    port_speaks_plain_http,
    port_speaks_tls,
    ssl_says_not_tls,
)
from app.threecx.tls import (
    TlsOptions,
    build_ssl_context,
    certificate_fingerprint,
    classify_ssl_error,
    fetch_peer_certificate,
    normalise_fingerprint,
    unverified_context,
)

PROBE_ENDPOINT = "/xapi/v1/Defs"
PROBE_TARGET = f"{PROBE_ENDPOINT}?$select=Id"
_STATUS_LINE = re.compile(rb"HTTP/\d(?:\.\d)? (\d{3})(?: [^\r\n]*)?\r?\n")
_MAX_HEADER_LINES = 100
# Closing is housekeeping: it must not stretch a probe that has already reached its verdict.
_CLOSE_WAIT_S = 1.0

# A step returns its detail on success and raises a ThreeCXError on failure.
_Action = Callable[[], Awaitable[str]]


class ProbeStep(enum.StrEnum):
    DNS = "dns"
    TCP = "tcp"
    TLS = "tls"
    HTTP = "http"


@dataclass(frozen=True)
class CertificateInfo:
    subject: str  # RFC 4514
    issuer: str  # RFC 4514
    not_before: datetime  # UTC
    not_after: datetime  # UTC
    sha256: str  # lowercase hex without colons, as certificate_fingerprint
    names: tuple[str, ...]  # subjectAltName DNS names, then IP addresses

    def days_left(self, now: datetime) -> float:
        return (self.not_after - now).total_seconds() / 86400


@dataclass(frozen=True)
class StepResult:
    step: ProbeStep
    ok: bool
    duration_ms: float
    detail: str
    error: ThreeCXError | None = None


@dataclass(frozen=True)
class NetworkProbe:
    url: str  # the normalised base URL that was probed
    host: str
    port: int
    steps: tuple[StepResult, ...]
    certificate: CertificateInfo | None  # what the server presented, trusted or not
    tls_version: str | None
    http_status: int | None
    latency_ms: float | None  # TCP connect time

    @property
    def ok(self) -> bool:
        return bool(self.steps) and all(step.ok for step in self.steps)

    @property
    def failed(self) -> StepResult | None:
        return next((step for step in self.steps if not step.ok), None)


def parse_certificate(der: bytes) -> CertificateInfo:
    """Read a DER certificate for display; raises ``ValueError`` if it is not one."""
    cert = x509.load_der_x509_certificate(der)
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        names: tuple[str, ...] = ()
    else:
        names = tuple(san.get_values_for_type(x509.DNSName)) + tuple(
            str(ip) for ip in san.get_values_for_type(x509.IPAddress)
        )
    return CertificateInfo(
        subject=cert.subject.rfc4514_string(),
        issuer=cert.issuer.rfc4514_string(),
        not_before=cert.not_valid_before_utc,
        not_after=cert.not_valid_after_utc,
        sha256=certificate_fingerprint(der),
        names=names,
    )


async def probe_network(url: str, tls: TlsOptions, *, timeout_s: float = 5.0) -> NetworkProbe:
    """Walk DNS, TCP, TLS and HTTP towards the PBX, stopping at the first step that fails.

    Raises ``AddressError`` for an unusable address and ``ValueError`` for an unusable pin or CA
    file (both before any network traffic); every network failure is a failed step instead.
    """
    address = parse_pbx_address(url)
    run = _ProbeRun(address, tls, timeout_s)
    await run.run()
    return NetworkProbe(
        url=address.base_url,
        host=address.host,
        port=address.port,
        steps=tuple(run.steps),
        certificate=run.certificate,
        tls_version=run.tls_version,
        http_status=run.http_status,
        latency_ms=run.latency_ms,
    )


class _ProbeRun:
    def __init__(self, address: PbxAddress, tls: TlsOptions, timeout_s: float) -> None:
        self.address = address
        self.timeout_s = timeout_s
        self.pin = normalise_fingerprint(tls.pin_sha256) if tls.pin_sha256 else None
        self.ssl_context: ssl.SSLContext | None = None
        if address.scheme == "https":
            # With a pin the pin is the trust: take whatever is presented, then compare.
            self.ssl_context = unverified_context() if self.pin else build_ssl_context(tls)
        self.steps: list[StepResult] = []
        self.addresses: list[str] = []
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None
        self.certificate: CertificateInfo | None = None
        self.tls_version: str | None = None
        self.http_status: int | None = None
        self.latency_ms: float | None = None

    @property
    def target(self) -> str:
        ip = self.addresses[0]
        return f"[{ip}]:{self.address.port}" if ":" in ip else f"{ip}:{self.address.port}"

    async def run(self) -> None:
        try:
            steps: tuple[tuple[ProbeStep, _Action], ...] = (
                (ProbeStep.DNS, self._resolve),
                (ProbeStep.TCP, self._connect),
                (ProbeStep.TLS, self._handshake),
                (ProbeStep.HTTP, self._request),
            )
            for step, action in steps:
                if not await self._step(step, action):
                    break
        finally:
            await self._close()

    async def _step(self, step: ProbeStep, action: _Action) -> bool:
        started = time.perf_counter()
        try:
            detail = await action()
        except ThreeCXError as exc:
            error = exc
        except OSError as exc:
            error = Unreachable(UnreachableKind.NETWORK, str(exc) or type(exc).__name__)
        else:
            self.steps.append(StepResult(step, True, _elapsed_ms(started), detail))
            return True
        # The detail says why at this step; the error adds what it means and what to do.
        why = error.detail or error.message
        self.steps.append(StepResult(step, False, _elapsed_ms(started), why, error))
        return False

    # ---- the steps: each returns its detail or raises a ThreeCXError -----------------------
    async def _resolve(self) -> str:
        host, wait = self.address.host, self.timeout_s
        with contextlib.suppress(ValueError):
            ipaddress.ip_address(host)
            self.addresses = [host]
            return f"{host} is an IP address: nothing to resolve"
        loop = asyncio.get_running_loop()
        try:
            async with asyncio.timeout(wait):
                infos = await loop.getaddrinfo(host, self.address.port, type=socket.SOCK_STREAM)
        except TimeoutError as exc:
            raise Unreachable(
                UnreachableKind.DNS, f"No DNS answer for {host} within {wait:g} s."
            ) from exc
        except socket.gaierror as exc:
            raise Unreachable(
                UnreachableKind.DNS, f"{host} does not resolve ({exc.strerror or exc})."
            ) from exc
        self.addresses = list(dict.fromkeys(str(info[4][0]) for info in infos))
        if not self.addresses:
            raise Unreachable(UnreachableKind.DNS, f"{host} has no address.")
        return f"{host} → {', '.join(self.addresses)}"

    async def _connect(self) -> str:
        target, wait = self.target, self.timeout_s
        started = time.perf_counter()
        try:
            async with asyncio.timeout(wait):
                self.reader, self.writer = await asyncio.open_connection(
                    self.addresses[0], self.address.port
                )
        except TimeoutError as exc:
            raise Unreachable(
                UnreachableKind.TIMEOUT, f"No TCP answer from {target} within {wait:g} s."
            ) from exc
        except OSError as exc:
            if isinstance(exc, ConnectionRefusedError) or exc.errno == errno.ECONNREFUSED:
                raise Unreachable(
                    UnreachableKind.REFUSED, f"{target} refused the connection."
                ) from exc
            raise Unreachable(
                UnreachableKind.NETWORK, f"Connecting to {target} failed: {exc.strerror or exc}."
            ) from exc
        self.latency_ms = _elapsed_ms(started)
        return f"connected to {target} in {self.latency_ms:.0f} ms"

    async def _handshake(self) -> str:
        if self.ssl_context is None:
            return "plain HTTP: no TLS"
        assert self.writer is not None
        host, wait = self.address.host, self.timeout_s
        try:
            async with asyncio.timeout(wait):
                await self.writer.start_tls(self.ssl_context, server_hostname=host)
        except TimeoutError as exc:
            raise Unreachable(
                UnreachableKind.TIMEOUT,
                f"The TLS handshake with {self.target} did not complete within {wait:g} s: "
                "the port accepts connections but does not answer TLS.",
            ) from exc
        except ssl.SSLError as exc:
            if ssl_says_not_tls(exc) and await port_speaks_plain_http(
                self.addresses[0], self.address.port, wait
            ):
                raise https_to_plain_port(self.address.port) from exc
            await self._fetch_presented_certificate()
            raise TlsFailure(classify_ssl_error(exc), self._tls_error_detail(exc)) from exc
        except OSError as exc:
            raise TlsFailure(
                TlsProblem.HANDSHAKE,
                f"{self.target} closed the connection during the TLS handshake ({exc}).",
            ) from exc
        ssl_object = self.writer.get_extra_info("ssl_object")
        der = ssl_object.getpeercert(binary_form=True) if ssl_object else None
        if not der:
            raise TlsFailure(TlsProblem.HANDSHAKE, "The server sent no certificate.")
        with contextlib.suppress(ValueError):
            self.certificate = parse_certificate(bytes(der))
        self.tls_version = str(ssl_object.version())
        fingerprint = certificate_fingerprint(bytes(der))
        if self.pin:
            self._check_pinned(fingerprint)
        pinned = ", the pinned certificate" if self.pin else ""
        return f"{self.tls_version}{pinned}, {_describe(self.certificate)}"

    def _check_pinned(self, fingerprint: str) -> None:
        """With a pin nothing was verified by the handshake; check what the bridge would check."""
        if fingerprint != self.pin:
            raise TlsFailure(
                TlsProblem.CHANGED,
                f"The PBX now presents a certificate with SHA-256 {fingerprint} "
                f"({_describe(self.certificate)}); the pin is {self.pin}.",
            )
        cert = self.certificate
        if cert is None:
            return
        # Certificates are judged on the real clock, as the TLS library that verifies them does.
        if cert.not_after < system_clock():
            raise TlsFailure(
                TlsProblem.EXPIRED,
                f"The pinned certificate expired on {cert.not_after:%Y-%m-%d}.",
            )
        if not _names_match(self.address.host, cert.names):
            raise TlsFailure(
                TlsProblem.HOSTNAME,
                f"The pinned certificate is for {', '.join(cert.names) or 'no name'}, "
                f"not {self.address.host}.",
            )

    async def _request(self) -> str:
        assert self.reader is not None and self.writer is not None
        wait = self.timeout_s
        host = urlsplit(self.address.base_url).netloc
        request = (
            f"GET {PROBE_TARGET} HTTP/1.1\r\nHost: {host}\r\nUser-Agent: PBX-Companion\r\n"
            "Accept: application/json\r\nConnection: close\r\n\r\n"
        )
        try:
            async with asyncio.timeout(wait):
                self.writer.write(request.encode("ascii"))
                await self.writer.drain()
                status_line = await self.reader.readline()
                headers = await self._read_headers() if status_line else {}
        except TimeoutError as exc:
            raise Unreachable(
                UnreachableKind.TIMEOUT,
                f"The PBX accepted the connection but sent no HTTP answer within {wait:g} s.",
                endpoint=PROBE_ENDPOINT,
            ) from exc
        except ValueError as exc:  # a line longer than the stream's limit
            raise MalformedResponse(
                "The answer is not HTTP (an endless line).", endpoint=PROBE_ENDPOINT
            ) from exc
        except OSError as exc:
            await self._check_not_tls()
            raise Unreachable(
                UnreachableKind.NETWORK,
                f"The connection broke before the PBX answered ({exc}).",
                endpoint=PROBE_ENDPOINT,
            ) from exc
        if not status_line:
            await self._check_not_tls()
            raise Unreachable(
                UnreachableKind.NETWORK,
                "The PBX closed the connection without answering.",
                endpoint=PROBE_ENDPOINT,
            )
        match = _STATUS_LINE.fullmatch(status_line)
        if match is None:
            await self._check_not_tls()
            raise MalformedResponse(
                f"The answer is not HTTP: {status_line[:60]!r}.", endpoint=PROBE_ENDPOINT
            )
        self.http_status = int(match.group(1))
        detail = (
            f"HTTP {self.http_status} from {PROBE_ENDPOINT} ({_meaning(self.http_status, headers)})"
        )
        version = headers.get("x-3cx-version")
        return f"{detail}, X-3CX-Version {version}" if version else detail

    # ---- helpers ---------------------------------------------------------------------------
    async def _check_not_tls(self) -> None:
        """Plain HTTP got no HTTP answer: say so when the port speaks TLS (http:// to 5001)."""
        if self.ssl_context is None and await port_speaks_tls(
            self.addresses[0], self.address.port, self.timeout_s
        ):
            raise http_to_tls_port(self.address.host, self.address.port, PROBE_ENDPOINT)

    async def _read_headers(self) -> dict[str, str]:
        assert self.reader is not None
        headers: dict[str, str] = {}
        for _ in range(_MAX_HEADER_LINES):
            line = await self.reader.readline()
            if line in (b"", b"\r\n", b"\n"):
                break
            name, sep, value = line.decode("latin-1").partition(":")
            if sep:
                headers[name.strip().lower()] = value.strip()
        return headers

    async def _fetch_presented_certificate(self) -> None:
        """The certificate behind a failed handshake, fetched unverified so it can be shown."""
        with contextlib.suppress(ThreeCXError, ValueError):
            der = await fetch_peer_certificate(self.address.host, self.address.port, self.timeout_s)
            self.certificate = parse_certificate(der)

    def _tls_error_detail(self, exc: ssl.SSLError) -> str:
        reason = str(getattr(exc, "verify_message", None) or exc.reason or exc).rstrip(".")
        cert = self.certificate
        if cert is None:
            return f"{reason}."
        names = ", ".join(cert.names) or "no name"
        return f"{reason}; the server presents a certificate for {names}, {_describe(cert)}."

    async def _close(self) -> None:
        writer, self.writer, self.reader = self.writer, None, None
        if writer is None:
            return
        writer.close()
        with contextlib.suppress(OSError, TimeoutError, ssl.SSLError):
            await asyncio.wait_for(writer.wait_closed(), min(self.timeout_s, _CLOSE_WAIT_S))


def _elapsed_ms(started: float) -> float:
    return (time.perf_counter() - started) * 1000


def _describe(cert: CertificateInfo | None) -> str:
    if cert is None:
        return "an unreadable certificate"
    days = cert.days_left(system_clock())
    when = f"in {days:.0f} days" if days >= 0 else f"{-days:.0f} days ago"
    return f"issued by {cert.issuer}, expires {cert.not_after:%Y-%m-%d} ({when})"


def _names_match(host: str, names: tuple[str, ...]) -> bool:
    """Hostname check as OpenSSL does it: subjectAltName only, one wildcard label at most."""
    try:
        ip: ipaddress.IPv4Address | ipaddress.IPv6Address | None = ipaddress.ip_address(host)
    except ValueError:
        ip = None
    for name in names:
        if ip is not None:
            with contextlib.suppress(ValueError):
                if ipaddress.ip_address(name) == ip:
                    return True
            continue
        name = name.lower().rstrip(".")
        if name == host:
            return True
        if name.startswith("*.") and host.partition(".")[2] == name[2:]:
            return True
    return False


def _meaning(status: int, headers: dict[str, str]) -> str:
    content_type = headers.get("content-type", "")
    if status == 401:
        return "an API that wants a token: good"
    if status == 403:
        return "refused before any token: console IP restrictions or a proxy?"
    if status == 404:
        return "no v20 XAPI here: a v18 PBX, or not a 3CX PBX"
    if 200 <= status < 300:
        if "json" in content_type:
            return "an XAPI that answers without a token"
        return f"{content_type or 'no content type'}, not the API: a login page or a proxy"
    if 300 <= status < 400:
        return f"a redirect to {headers.get('location', 'elsewhere')}: a proxy, or the wrong port"
    if status >= 500:
        return "a server error from the PBX or a proxy in front of it"
    return "not an answer a 3CX PBX gives"
