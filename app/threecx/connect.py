"""Open a client for a PBX: normalise the address, check a pinned certificate, detect v20/v18."""

from __future__ import annotations

from dataclasses import dataclass, field

from app.domain.addresses import parse_pbx_address
from app.domain.connection import ClientIdError, normalise_client_id
from app.threecx.client import PbxClient
from app.threecx.errors import (
    ThreeCXError,
    TlsFailure,
    TlsProblem,
)
from app.threecx.generation import detect_generation
from app.threecx.tls import (
    TlsOptions,
    certificate_fingerprint,
    fetch_peer_certificate,
    normalise_fingerprint,
)
from app.threecx.transport import RetryPolicy, Timeouts, Transport
from app.threecx.v18.client import V18Client
from app.threecx.v20.client import V20Client


class ClientIdUnusable(ThreeCXError):
    """The Client ID was not sent: it has a character no 3CX Client ID has (named in the
    detail). Never the key's fault, and the PBX was not asked."""

    what = "The Client ID cannot be used as typed; it was not sent to the PBX."
    next_step = (
        "Copy the Client ID again exactly as shown under Admin console > Integrations > API (on "
        "v18: the API user's extension number), or type it by hand. The key is not at fault."
    )


@dataclass(frozen=True)
class ConnectionParams:
    url: str
    client_id: str
    tls: TlsOptions = field(default_factory=TlsOptions)
    timeouts: Timeouts = field(default_factory=Timeouts)
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    generation: str | None = None  # "v20" or "v18" to skip detection
    poll_interval_s: float = 5.0
    # At most this many connections to the PBX at once (None: httpx's default of 100). A fleet
    # sweep bounds each PBX's pool so its sockets and TLS handshakes stay few; requests past it
    # queue for a kept-alive connection.
    max_connections: int | None = None


async def open_client(params: ConnectionParams, secret: str) -> PbxClient:
    """A client ready to ``authenticate()``; raises ``AddressError`` or ``ThreeCXError``.

    Every path to a PBX (CLI, guided setup, saved connections) passes here, so the Client ID is
    cleaned (or refused, naming the character) here, before it is sent.
    """
    address = parse_pbx_address(params.url)
    try:
        client_id = normalise_client_id(params.client_id)
    except ClientIdError as exc:
        raise ClientIdUnusable(str(exc)) from None
    pinned_der: bytes | None = None
    if params.tls.pin_sha256 and address.scheme == "https":
        expected = normalise_fingerprint(params.tls.pin_sha256)
        pinned_der = await fetch_peer_certificate(
            address.host, address.port, params.timeouts.connect
        )
        presented = certificate_fingerprint(pinned_der)
        if presented != expected:
            raise TlsFailure(
                TlsProblem.CHANGED,
                f"The PBX now presents a certificate with SHA-256 {presented}.",
            )
    transport = Transport(
        address.base_url,
        params.tls,
        timeouts=params.timeouts,
        retry=params.retry,
        pinned_der=pinned_der,
        max_connections=params.max_connections,
    )
    try:
        generation = params.generation or await detect_generation(transport)
    except BaseException:
        await transport.aclose()
        raise
    if generation == "v18":
        return V18Client(transport, client_id, secret, poll_interval_s=params.poll_interval_s)
    return V20Client(transport, client_id, secret, poll_interval_s=params.poll_interval_s)
