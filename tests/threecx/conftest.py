"""The 3CX client against the simulator: real loopback sockets, real TLS, no mocks."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest

from app.sim import Simulator
from app.threecx.client import PbxClient
from app.threecx.connect import ConnectionParams, open_client
from app.threecx.tls import TlsOptions
from app.threecx.transport import RetryPolicy
from tests.conftest import SimFactory
from tests.support.timeouts import timeouts_for

FAST_RETRY = RetryPolicy(attempts=4, first_delay=0.05, factor=2.0)


def params_for(sim: Simulator, **overrides: Any) -> ConnectionParams:
    values: dict[str, Any] = {
        "url": sim.url,
        "client_id": sim.client_id,
        "tls": TlsOptions(ca_file=sim.ca_file),
        "timeouts": timeouts_for(sim),
        "retry": FAST_RETRY,
        "poll_interval_s": 0.2,
    }
    values.update(overrides)
    return ConnectionParams(**values)


__all__ = ["ClientFactory", "SimFactory"]

ClientFactory = Callable[..., Awaitable[PbxClient]]


@pytest.fixture
async def connect() -> AsyncIterator[ClientFactory]:
    """Opens (but does not authenticate) a client; every client is closed after the test."""
    opened: list[PbxClient] = []

    async def factory(sim: Simulator, secret: str | None = None, **overrides: Any) -> PbxClient:
        client = await open_client(params_for(sim, **overrides), secret or sim.client_secret)
        opened.append(client)
        return client

    yield factory
    for client in opened:
        await client.aclose()
