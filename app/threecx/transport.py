"""One long-lived HTTP client per PBX: timeouts, retries of transient 5xx, typed errors."""

from __future__ import annotations

import asyncio
import json
import logging
import socket
import ssl
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpx

from app.threecx.errors import (
    AuthRejected,
    BadRequest,
    Forbidden,
    MalformedResponse,
    NotFound,
    RecordingFileMissing,
    ServerError,
    ThreeCXError,
    TlsFailure,
    TlsProblem,
    Unreachable,
    UnreachableKind,
)
from app.threecx.tls import TlsOptions, build_ssl_context, classify_ssl_error

log = logging.getLogger("pbx.threecx")

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
            follow_redirects=False,
            headers={"User-Agent": "PBX-Companion", "Accept": "application/json"},
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
    ) -> httpx.Response:
        """Send a request and return a 2xx response, or raise a typed ``ThreeCXError``."""
        endpoint = label or path.split("?")[0]
        attempts = self.retry.attempts if method in IDEMPOTENT else 1
        delay = self.retry.first_delay
        last: ThreeCXError | None = None
        for attempt in range(1, attempts + 1):
            try:
                # Not wait_for: on 3.11 it returns the answer when a cancel lands in the tick
                # the answer arrives, so a caller's one-shot deadline (the doctor's watch) is
                # lost and its poll loop never ends.
                async with asyncio.timeout(self.timeouts.total):
                    response = await self._client.request(
                        method,
                        path,
                        params=params,
                        headers=headers,
                        data=data,
                        json=json_body,
                        files=files,
                    )
            except (httpx.HTTPError, ssl.SSLError, OSError, TimeoutError) as exc:
                last = self._translate_exception(exc, endpoint)
                if (
                    attempt < attempts
                    and isinstance(last, Unreachable)
                    and last.kind is UnreachableKind.NETWORK
                ):
                    await asyncio.sleep(delay)
                    delay *= self.retry.factor
                    continue
                raise last from exc
            version = response.headers.get("X-3CX-Version")
            if version:
                self.last_version_header = version
            if response.is_success:
                return response
            error = status_error(response, endpoint)
            if isinstance(error, ServerError) and error.status in RETRY_STATUSES:
                last = error
                if attempt < attempts:
                    log.info("PBX answered %s on %s; retrying", error.status, endpoint)
                    await asyncio.sleep(delay)
                    delay *= self.retry.factor
                    continue
            raise error
        assert last is not None
        raise last

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


def _find_cause(exc: BaseException, kind: type[BaseException]) -> BaseException | None:
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        if isinstance(current, kind):
            return current
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return None


def parse_json(response: httpx.Response, endpoint: str) -> Any:
    try:
        return response.json()
    except (json.JSONDecodeError, UnicodeDecodeError, ValueError) as exc:
        snippet = response.text[:60].replace("\n", " ") if response.content else "an empty body"
        raise MalformedResponse(
            f"Expected JSON, got {response.headers.get('content-type', 'no content type')}: {snippet!r}",
            endpoint=endpoint,
        ) from exc


def odata_error_messages(response: httpx.Response) -> list[str]:
    """The ``message`` texts of an OData error body, outermost first."""
    try:
        body = response.json()
    except ValueError:
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
    messages = odata_error_messages(response)
    detail = "; ".join(messages)[:200]
    if any("FILE_NOT_FOUND" in m for m in messages):
        return RecordingFileMissing(detail, endpoint=endpoint)
    if status == 401:
        return AuthRejected(endpoint=endpoint)
    if status == 403:
        return Forbidden(detail, endpoint=endpoint)
    if status == 404:
        return NotFound(detail, endpoint=endpoint)
    if status >= 500:
        return ServerError(status, detail, endpoint=endpoint)
    if status == 400:
        return BadRequest(detail, endpoint=endpoint)
    return MalformedResponse(f"Unexpected HTTP {status}.", endpoint=endpoint, status=status)
