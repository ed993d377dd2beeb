"""One long-lived HTTP client per PBX: timeouts, retries of transient 5xx, typed errors."""

from __future__ import annotations

import asyncio
import logging
import socket
import ssl
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpx

from app.domain.limits import JSON_ANSWER_LIMIT, SCHEME_PROBE_TIMEOUT_S, describe_size
from app.threecx.answer_shape import describe_foreign, looks_like_html, plain_http_refused
from app.threecx.bounded_body import ACCEPT_ENCODING, decoded_response, read_bounded
from app.threecx.errors import (
    AnswerTooLarge,
    AuthRejected,
    BadRequest,
    Forbidden,
    MalformedResponse,
    NotFound,
    NotThreeCX,
    RecordingFileMissing,
    SchemeMismatch,
    ServerError,
    ThreeCXError,
    TlsFailure,
    TlsProblem,
    Unreachable,
    UnreachableKind,
)
from app.threecx.json_reading import read_json_text
from app.threecx.scheme_check import (
    host_and_port,
    http_to_tls_port,
    https_to_plain_port,
    port_speaks_plain_http,
    port_speaks_tls,
    ssl_says_not_tls,
)
from app.threecx.tls import TlsOptions, build_ssl_context, classify_ssl_error

log = logging.getLogger(__name__)

IDEMPOTENT = frozenset({"GET", "HEAD", "OPTIONS"})
RETRY_STATUSES = frozenset({500, 502, 503})


@dataclass(frozen=True)
class Timeouts:
    connect: float = 5.0
    read: float = 15.0
    total: float = 30.0  # a whole request including retries

    def httpx(self) -> httpx.Timeout:
        return httpx.Timeout(self.read, connect=self.connect)


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 3
    first_delay: float = 0.25
    factor: float = 2.0


class Transport:
    """Wraps ``httpx.AsyncClient`` so every caller gets the same timeouts, retries and errors."""

    def __init__(
        self,
        base_url: str,
        tls: TlsOptions | None = None,
        *,
        timeouts: Timeouts | None = None,
        retry: RetryPolicy | None = None,
        pinned_der: bytes | None = None,
        max_connections: int | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.tls = tls or TlsOptions()
        self.timeouts = timeouts or Timeouts()
        self.retry = retry or RetryPolicy()
        self.pinned = pinned_der is not None
        self.ssl_context: ssl.SSLContext | None = None
        if urlsplit(self.base_url).scheme == "https":
            self.ssl_context = build_ssl_context(self.tls, pinned_der)
        self._client = httpx.AsyncClient(
            base_url=self.base_url,
            verify=self.ssl_context if self.ssl_context is not None else True,
            timeout=self.timeouts.httpx(),
            limits=_pool_limits(max_connections),
            follow_redirects=False,
            headers={
                "User-Agent": "PBX-Companion",
                "Accept": "application/json",
                # Only what bounded_body inflates piece by piece.
                "Accept-Encoding": ACCEPT_ENCODING,
            },
        )
        self.last_version_header: str | None = None

    @property
    def cookies(self) -> httpx.Cookies:
        return self._client.cookies

    async def aclose(self) -> None:
        await self._client.aclose()

    async def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
        data: Mapping[str, str] | None = None,
        json_body: Any = None,
        files: Mapping[str, Any] | None = None,
        label: str | None = None,
        limit: int | None = None,
    ) -> httpx.Response:
        """Send a request and return a 2xx response, or raise a typed ``ThreeCXError``.

        The body is read within ``timeouts.total`` and up to ``limit`` decoded bytes (by
        default the limit for the answer's declared type, see ``bounded_body.limit_for``);
        the response returned holds it, already decompressed."""
        endpoint = label or path.split("?")[0]
        attempts = self.retry.attempts if method in IDEMPOTENT else 1
        delay = self.retry.first_delay
        last: ThreeCXError | None = None
        request = {
            "params": params,
            "headers": headers,
            "data": data,
            "json": json_body,
            "files": files,
        }
        for attempt in range(1, attempts + 1):
            try:
                response = await self._send(method, path, request, limit, endpoint)
            except (httpx.HTTPError, ssl.SSLError, OSError, TimeoutError) as exc:
                last = await self._explain(exc, endpoint)
                if attempt == attempts or not _network_blip(last):
                    raise last from exc
                delay = await self._pause(delay)
                continue
            error = self._answer_error(response, endpoint)
            if error is None:
                return response
            if not (isinstance(error, ServerError) and error.status in RETRY_STATUSES):
                raise error
            last = error
            if attempt == attempts:
                raise error
            log.info("PBX answered %s on %s; retrying", error.status, endpoint)
            delay = await self._pause(delay)
        assert last is not None
        raise last

    async def _pause(self, delay: float) -> float:
        """Wait before the next try; the wait after it is longer."""
        await asyncio.sleep(delay)
        return delay * self.retry.factor

    async def _send(
        self, method: str, path: str, request: Mapping[str, Any], limit: int | None, endpoint: str
    ) -> httpx.Response:
        # Not wait_for: on 3.11 it returns the answer when a cancel lands in the tick the
        # answer arrives, so a caller's one-shot deadline (the doctor's watch) is lost and its
        # poll loop never ends.
        async with asyncio.timeout(self.timeouts.total):
            outgoing = self._client.build_request(method, path, **request)
            return await self._read(outgoing, limit, endpoint)

    def _answer_error(self, response: httpx.Response, endpoint: str) -> ThreeCXError | None:
        """What is wrong with an answer, or None when it is fine; notes the PBX's version.
        A success that is not 3CX's raises ``NotThreeCX``: no retry can change it."""
        version = response.headers.get("X-3CX-Version")
        if version:
            self.last_version_header = version
        if response.is_success:
            foreign = describe_foreign(response.status_code, response.headers, response.content)
            if foreign is not None:
                raise NotThreeCX(foreign, endpoint=endpoint, status=response.status_code)
            return None
        return self._wrong_scheme(response, endpoint) or status_error(response, endpoint)

    async def _read(
        self, outgoing: httpx.Request, limit: int | None, endpoint: str
    ) -> httpx.Response:
        """Send and read the body within a size limit, counted as it decompresses."""
        streamed = await self._client.send(outgoing, stream=True)
        try:
            body = await read_bounded(streamed, limit, endpoint=endpoint)
        finally:
            await streamed.aclose()
        return decoded_response(streamed, body)

    async def _explain(self, exc: BaseException, endpoint: str) -> ThreeCXError:
        """The typed error, after checking on the wire whether the address's http:// or
        https:// is the wrong one for its port (a dropped connection or a failed handshake
        says nothing clearer)."""
        error = self._translate_exception(exc, endpoint)
        host, port = host_and_port(self.base_url)
        wait = min(SCHEME_PROBE_TIMEOUT_S, self.timeouts.total)
        scheme = urlsplit(self.base_url).scheme
        if (
            scheme == "http"
            and isinstance(error, Unreachable)
            and error.kind is UnreachableKind.NETWORK
            and await port_speaks_tls(host, port, wait)
        ):
            return http_to_tls_port(host, port, endpoint)
        if (
            scheme == "https"
            and isinstance(error, TlsFailure)
            and error.problem is TlsProblem.HANDSHAKE
            and ssl_says_not_tls(error.detail)
            and await port_speaks_plain_http(host, port, wait)
        ):
            return https_to_plain_port(port, endpoint)
        return error

    def _wrong_scheme(self, response: httpx.Response, endpoint: str) -> ThreeCXError | None:
        """A TLS port's web server refusing plain HTTP, or sending us on to https://."""
        if urlsplit(self.base_url).scheme != "http":
            return None
        host, port = host_and_port(self.base_url)
        if response.status_code == 400 and plain_http_refused(response.content):
            return http_to_tls_port(host, port, endpoint)
        location = response.headers.get("location", "")
        target = urlsplit(location)
        if response.is_redirect and target.scheme == "https" and target.hostname == host:
            secure = target.port or 443
            error = http_to_tls_port(host, secure, endpoint)
            if secure != port:
                error = SchemeMismatch(
                    f"The address says http:// on port {port}, and the server sends every "
                    f"request on to {location[:120]}: use https://{target.netloc}",
                    f"Change the PBX address to https://{target.netloc} and run again.",
                    endpoint=endpoint,
                )
            return error
        return None

    async def get_json(self, path: str, **kwargs: Any) -> Any:
        response = await self.request("GET", path, **kwargs)
        return parse_json(response, kwargs.get("label") or path.split("?")[0])

    def _translate_exception(self, exc: BaseException, endpoint: str) -> ThreeCXError:
        text = str(exc) or type(exc).__name__
        # Timeouts first: a read that times out over TLS carries SSLWantReadError in its chain.
        if isinstance(exc, httpx.ConnectTimeout):
            return Unreachable(UnreachableKind.TIMEOUT, "Connecting timed out.", endpoint=endpoint)
        if isinstance(
            exc, (httpx.ReadTimeout, httpx.WriteTimeout, httpx.PoolTimeout, TimeoutError)
        ):
            return Unreachable(
                UnreachableKind.TIMEOUT,
                "The PBX accepted the connection but did not answer in time.",
                endpoint=endpoint,
            )
        ssl_cause = _find_cause(exc, ssl.SSLError)
        if ssl_cause is not None:
            problem = classify_ssl_error(ssl_cause)
            if self.pinned and problem in (TlsProblem.UNTRUSTED, TlsProblem.HOSTNAME):
                problem = TlsProblem.CHANGED
            return TlsFailure(problem, str(ssl_cause), endpoint=endpoint)
        lowered = text.lower()
        if _find_cause(exc, ConnectionRefusedError) is not None:
            return Unreachable(UnreachableKind.REFUSED, "Connection refused.", endpoint=endpoint)
        if _find_cause(exc, socket.gaierror) is not None:
            return Unreachable(UnreachableKind.DNS, "The name does not resolve.", endpoint=endpoint)
        if isinstance(exc, httpx.ConnectError):
            if (
                "name or service not known" in lowered
                or "nodename nor servname" in lowered
                or "getaddrinfo" in lowered
                or "no address associated" in lowered
                or "temporary failure in name resolution" in lowered
            ):
                return Unreachable(UnreachableKind.DNS, text, endpoint=endpoint)
            if "refused" in lowered:
                return Unreachable(UnreachableKind.REFUSED, text, endpoint=endpoint)
            return Unreachable(UnreachableKind.NETWORK, text, endpoint=endpoint)
        if isinstance(exc, (httpx.RemoteProtocolError, httpx.ReadError)):
            return Unreachable(
                UnreachableKind.NETWORK,
                "The connection was dropped mid-response.",
                endpoint=endpoint,
            )
        if isinstance(exc, httpx.UnsupportedProtocol | httpx.InvalidURL):
            return MalformedResponse(f"Unusable address: {text}", endpoint=endpoint)
        return Unreachable(UnreachableKind.NETWORK, text, endpoint=endpoint)


def _pool_limits(max_connections: int | None) -> httpx.Limits:
    """httpx's own limits, or at most ``max_connections`` at once, all kept alive: requests past
    it wait for a free connection (within the pool timeout) instead of opening one more."""
    if max_connections is None:
        return httpx.Limits(max_connections=100, max_keepalive_connections=20)
    if max_connections < 1:
        raise ValueError("max_connections must be at least 1")
    return httpx.Limits(max_connections=max_connections, max_keepalive_connections=max_connections)


def _network_blip(error: ThreeCXError) -> bool:
    """A network failure worth another try; a wrong scheme would fail the same way again."""
    return (
        isinstance(error, Unreachable)
        and error.kind is UnreachableKind.NETWORK
        and not isinstance(error, SchemeMismatch)
    )


def _find_cause(exc: BaseException, kind: type[BaseException]) -> BaseException | None:
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        if isinstance(current, kind):
            return current
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return None


def parse_json(
    response: httpx.Response, endpoint: str, *, absurd_numbers_absent: bool = False
) -> Any:
    """The JSON of a 3CX answer, read within the limits of ``app.domain.limits``.

    Raises ``NotThreeCX`` for an empty answer or a page, ``AnswerTooLarge`` past the JSON
    limit and ``UnreadableAnswer`` (see ``read_json_text``) for anything else unreadable."""
    body = response.content
    status = response.status_code
    if not body.strip():
        raise NotThreeCX(f"An empty answer (HTTP {status}).", endpoint=endpoint, status=status)
    if looks_like_html(response.headers.get("content-type"), body):
        foreign = describe_foreign(status, response.headers, body)
        raise NotThreeCX(foreign or "An HTML page.", endpoint=endpoint, status=status)
    if len(body) > JSON_ANSWER_LIMIT:
        raise AnswerTooLarge(
            f"A JSON answer of {describe_size(len(body))}, over the "
            f"{describe_size(JSON_ANSWER_LIMIT)} PBX Companion reads.",
            endpoint=endpoint,
            status=status,
        )
    return read_json_text(body, endpoint, absurd_numbers_absent=absurd_numbers_absent)


def odata_error_messages(response: httpx.Response) -> list[str]:
    """The ``message`` texts of an OData error body, outermost first."""
    if not response.content.strip() or len(response.content) > JSON_ANSWER_LIMIT:
        return []
    try:
        body = read_json_text(response.content)
    except ThreeCXError:
        return []
    if not isinstance(body, dict):
        return []
    error = body.get("error")
    if isinstance(error, str):
        return [error, str(body.get("error_description", ""))]
    if not isinstance(error, dict):
        return []
    messages = [str(error.get("message", ""))]
    for detail in error.get("details") or []:
        if isinstance(detail, dict):
            messages.append(str(detail.get("message", "")))
    return [m for m in messages if m]


def status_error(response: httpx.Response, endpoint: str) -> ThreeCXError:
    status = response.status_code
    location = response.headers.get("location")
    if response.is_redirect and location:
        return NotThreeCX(
            f"A redirect ({status}) to {location[:120]}.", endpoint=endpoint, status=status
        )
    foreign = describe_foreign(status, response.headers, response.content)
    if foreign is not None and status != 404 and status < 500:
        # A page or a proxy's sign-in: never "the key is wrong" nor "a role is missing". A 404
        # stays a 404 (the path is not there, whoever says so), a 5xx stays retried.
        return NotThreeCX(foreign, endpoint=endpoint, status=status)
    messages = odata_error_messages(response)
    detail = "; ".join(messages)[:200] or (foreign or "")
    if any("FILE_NOT_FOUND" in m for m in messages):
        return RecordingFileMissing(detail, endpoint=endpoint)
    if status == 401:
        return AuthRejected(detail, endpoint=endpoint)
    if status == 403:
        return Forbidden(detail, endpoint=endpoint)
    if status == 404:
        return NotFound(detail, endpoint=endpoint)
    if status >= 500:
        return ServerError(status, detail, endpoint=endpoint)
    if status == 400:
        return BadRequest(detail, endpoint=endpoint)
    return MalformedResponse(f"Unexpected HTTP {status}.", endpoint=endpoint, status=status)
