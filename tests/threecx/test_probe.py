"""The network probe against the simulator and small loopback servers: real sockets, real TLS."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime

import pytest

from app.domain.addresses import AddressError
from app.sim import Simulator
from app.threecx.errors import (
    MalformedResponse,
    SchemeMismatch,
    ThreeCXError,
    TlsFailure,
    TlsProblem,
    Unreachable,
    UnreachableKind,
)
from app.threecx.probe import NetworkProbe, ProbeStep, StepResult, probe_network
from app.threecx.tls import TlsOptions, certificate_fingerprint, fetch_peer_certificate
from tests.conftest import SimFactory
from tests.support.timeouts import ROOMY

SHORT = 0.5  # seconds: the timeout for probes that are meant to run into one
# Probes of a working server: roomy, so a loaded CI machine is never read as a fault (a failed
# handshake fetches the certificate again on a new connection, within this limit too).
WORKING = ROOMY.connect
# Generous bound for "the probe gave up by itself": well above the timeouts, far below forever.
GAVE_UP_WITHIN_MS = 10_000


def trusted(sim: Simulator) -> TlsOptions:
    return TlsOptions(ca_file=sim.ca_file)


def port_of(sim: Simulator) -> int:
    return int(sim.url.rsplit(":", 1)[1])


async def presented_fingerprint(sim: Simulator) -> str:
    return certificate_fingerprint(await fetch_peer_certificate("127.0.0.1", port_of(sim), 2.0))


def steps_of(probe: NetworkProbe) -> list[tuple[ProbeStep, bool]]:
    return [(step.step, step.ok) for step in probe.steps]


def failure(probe: NetworkProbe) -> tuple[StepResult, ThreeCXError]:
    failed = probe.failed
    assert failed is not None and failed.error is not None
    assert failed is probe.steps[-1]  # the probe stops at the first failed step
    assert not probe.ok
    return failed, failed.error


Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


@pytest.fixture
async def loopback_server() -> AsyncIterator[Callable[[Handler], Awaitable[int]]]:
    """Starts raw TCP servers on 127.0.0.1 and returns their ports; all are closed after."""
    servers: list[asyncio.Server] = []
    handlers: set[asyncio.Task[None]] = set()

    async def start(handler: Handler) -> int:
        async def tracked(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            task = asyncio.current_task()
            assert task is not None
            handlers.add(task)
            try:
                await handler(reader, writer)
            finally:
                writer.close()

        server = await asyncio.start_server(tracked, "127.0.0.1", 0)
        servers.append(server)
        return int(server.sockets[0].getsockname()[1])

    yield start
    for server in servers:
        server.close()
        await server.wait_closed()
    for task in handlers:
        task.cancel()
    await asyncio.gather(*handlers, return_exceptions=True)


async def never_answers(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Accepts the connection, reads whatever comes, and never says a word."""
    while await reader.read(4096):
        pass


async def test_healthy_pbx_over_tls(make_sim: SimFactory) -> None:
    sim = await make_sim(tls=True)
    probe = await probe_network(sim.url, trusted(sim), timeout_s=WORKING)

    assert probe.ok and probe.failed is None
    assert steps_of(probe) == [
        (ProbeStep.DNS, True),
        (ProbeStep.TCP, True),
        (ProbeStep.TLS, True),
        (ProbeStep.HTTP, True),
    ]
    assert all(step.error is None and step.duration_ms >= 0 for step in probe.steps)
    assert (probe.host, probe.port, probe.url) == ("127.0.0.1", port_of(sim), sim.url)
    assert probe.latency_ms is not None and probe.latency_ms >= 0
    assert probe.tls_version is not None and probe.tls_version.startswith("TLSv1.")
    assert probe.http_status == 401

    cert = probe.certificate
    assert cert is not None
    assert "PBX Companion Simulator CA" in cert.issuer
    assert cert.sha256 == await presented_fingerprint(sim)
    assert cert.not_after.tzinfo is not None and cert.days_left(datetime.now(UTC)) > 365
    assert set(cert.names) == {"localhost", "127.0.0.1", "::1"}

    dns, tcp, tls, http = (step.detail for step in probe.steps)
    assert "IP address" in dns
    assert f"connected to 127.0.0.1:{port_of(sim)}" in tcp
    assert probe.tls_version in tls and "issued by" in tls and "expires" in tls
    assert "HTTP 401 from /xapi/v1/Defs" in http and "wants a token" in http


async def test_connection_refused() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    probe = await probe_network(f"https://127.0.0.1:{port}", TlsOptions(), timeout_s=WORKING)

    step, error = failure(probe)
    assert steps_of(probe) == [(ProbeStep.DNS, True), (ProbeStep.TCP, False)]
    assert isinstance(error, Unreachable) and error.kind is UnreachableKind.REFUSED
    assert "refused" in step.detail and "port" in error.next_step
    assert probe.certificate is None and probe.latency_ms is None


async def test_name_that_does_not_resolve() -> None:
    probe = await probe_network("https://pbx.does-not-exist.invalid:5001", TlsOptions())

    step, error = failure(probe)
    assert steps_of(probe) == [(ProbeStep.DNS, False)]
    assert isinstance(error, Unreachable) and error.kind is UnreachableKind.DNS
    assert "pbx.does-not-exist.invalid" in step.detail


async def test_a_name_is_resolved_before_connecting(make_sim: SimFactory) -> None:
    sim = await make_sim()
    probe = await probe_network(f"http://localhost:{port_of(sim)}", TlsOptions(), timeout_s=WORKING)
    dns = probe.steps[0]
    assert dns.step is ProbeStep.DNS and dns.ok
    assert dns.detail.startswith("localhost → ")


async def test_tls_handshake_that_never_completes_times_out(loopback_server) -> None:
    port = await loopback_server(never_answers)
    probe = await probe_network(f"https://127.0.0.1:{port}", TlsOptions(), timeout_s=SHORT)

    step, error = failure(probe)
    assert steps_of(probe)[-1] == (ProbeStep.TLS, False)
    assert isinstance(error, Unreachable) and error.kind is UnreachableKind.TIMEOUT
    assert "TLS handshake" in step.detail
    assert SHORT * 1000 <= step.duration_ms < GAVE_UP_WITHIN_MS


async def test_http_request_that_is_never_answered_times_out(loopback_server) -> None:
    port = await loopback_server(never_answers)
    probe = await probe_network(f"http://127.0.0.1:{port}", TlsOptions(), timeout_s=SHORT)

    step, error = failure(probe)
    assert steps_of(probe) == [
        (ProbeStep.DNS, True),
        (ProbeStep.TCP, True),
        (ProbeStep.TLS, True),
        (ProbeStep.HTTP, False),
    ]
    assert probe.steps[2].detail == "plain HTTP: no TLS"
    assert isinstance(error, Unreachable) and error.kind is UnreachableKind.TIMEOUT
    assert error.endpoint == "/xapi/v1/Defs"
    assert SHORT * 1000 <= step.duration_ms < GAVE_UP_WITHIN_MS


async def test_hanging_pbx_behind_good_tls_times_out_at_http(make_sim: SimFactory) -> None:
    sim = await make_sim(tls=True, faults=["hang"])
    probe = await probe_network(sim.url, trusted(sim), timeout_s=SHORT)

    _, error = failure(probe)
    assert steps_of(probe)[-2:] == [(ProbeStep.TLS, True), (ProbeStep.HTTP, False)]
    assert isinstance(error, Unreachable) and error.kind is UnreachableKind.TIMEOUT
    assert probe.certificate is not None and probe.http_status is None


async def test_non_http_answer_is_malformed_and_no_credential_is_sent(loopback_server) -> None:
    received: list[bytes] = []

    async def ssh_banner(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            received.append(await reader.readuntil(b"\r\n\r\n"))
        except asyncio.IncompleteReadError:
            return  # the probe's second look (does the port speak TLS?) sends a ClientHello
        writer.write(b"SSH-2.0-OpenSSH_9.6\r\n")
        await writer.drain()

    port = await loopback_server(ssh_banner)
    probe = await probe_network(f"http://127.0.0.1:{port}", TlsOptions(), timeout_s=WORKING)

    step, error = failure(probe)
    assert step.step is ProbeStep.HTTP
    assert isinstance(error, MalformedResponse)
    assert "SSH-2.0" in step.detail
    request = received[0]
    assert request.startswith(b"GET /xapi/v1/Defs?$select=Id HTTP/1.1\r\n")
    assert f"Host: 127.0.0.1:{port}\r\n".encode() in request
    assert b"authorization" not in request.lower() and b"cookie" not in request.lower()


@pytest.mark.parametrize(
    ("fault", "problem"),
    [("tls-wrong-host", TlsProblem.HOSTNAME), ("tls-expired", TlsProblem.EXPIRED)],
)
async def test_certificate_faults_still_show_the_certificate(
    make_sim: SimFactory, fault: str, problem: TlsProblem
) -> None:
    sim = await make_sim(tls=True, faults=[fault])
    probe = await probe_network(sim.url, trusted(sim), timeout_s=WORKING)

    step, error = failure(probe)
    assert step.step is ProbeStep.TLS
    assert isinstance(error, TlsFailure) and error.problem is problem
    cert = probe.certificate
    assert cert is not None and cert.sha256 == await presented_fingerprint(sim)
    assert probe.tls_version is None and probe.http_status is None
    if problem is TlsProblem.HOSTNAME:
        assert cert.names == ("pbx.wrong-host.example",)
        assert "pbx.wrong-host.example" in step.detail
    else:
        assert cert.days_left(datetime.now(UTC)) < 0
        assert cert.not_after.strftime("%Y-%m-%d") in step.detail


async def test_certificate_from_an_unknown_ca_is_untrusted(make_sim: SimFactory) -> None:
    sim = await make_sim(tls=True)
    probe = await probe_network(sim.url, TlsOptions(), timeout_s=WORKING)  # OS store only

    step, error = failure(probe)
    assert step.step is ProbeStep.TLS
    assert isinstance(error, TlsFailure) and error.problem is TlsProblem.UNTRUSTED
    assert probe.certificate is not None


async def test_pin_of_another_certificate_is_a_change(make_sim: SimFactory) -> None:
    sim = await make_sim(tls=True)
    presented = await presented_fingerprint(sim)
    probe = await probe_network(sim.url, TlsOptions(pin_sha256="ab" * 32), timeout_s=WORKING)

    step, error = failure(probe)
    assert step.step is ProbeStep.TLS
    assert isinstance(error, TlsFailure) and error.problem is TlsProblem.CHANGED
    assert presented in error.message  # the engineer sees what to re-pin
    assert probe.certificate is not None and probe.certificate.sha256 == presented


async def test_matching_pin_is_trusted_without_a_ca(make_sim: SimFactory) -> None:
    sim = await make_sim(tls=True)
    pin = await presented_fingerprint(sim)
    probe = await probe_network(sim.url, TlsOptions(pin_sha256=pin.upper()), timeout_s=WORKING)

    assert probe.ok and probe.http_status == 401
    assert "pinned" in probe.steps[2].detail


@pytest.mark.parametrize(
    ("fault", "problem"),
    [("tls-wrong-host", TlsProblem.HOSTNAME), ("tls-expired", TlsProblem.EXPIRED)],
)
async def test_matching_pin_still_checks_name_and_dates(
    make_sim: SimFactory, fault: str, problem: TlsProblem
) -> None:
    sim = await make_sim(tls=True, faults=[fault])
    pin = await presented_fingerprint(sim)
    probe = await probe_network(sim.url, TlsOptions(pin_sha256=pin), timeout_s=WORKING)

    _, error = failure(probe)
    assert isinstance(error, TlsFailure) and error.problem is problem


async def test_certificate_about_to_expire_is_reachable(make_sim: SimFactory) -> None:
    sim = await make_sim(tls=True, faults=["tls-expiring=5"])
    probe = await probe_network(sim.url, trusted(sim), timeout_s=WORKING)

    assert probe.ok
    assert probe.certificate is not None
    assert 4 < probe.certificate.days_left(datetime.now(UTC)) < 14
    assert "in 5 days" in probe.steps[2].detail


async def test_plain_http_pbx(make_sim: SimFactory) -> None:
    sim = await make_sim()
    probe = await probe_network(sim.url, TlsOptions(), timeout_s=WORKING)

    assert probe.ok and probe.http_status == 401
    assert probe.steps[2].step is ProbeStep.TLS and probe.steps[2].detail == "plain HTTP: no TLS"
    assert probe.certificate is None and probe.tls_version is None


async def test_v18_pbx_has_no_xapi(make_sim: SimFactory) -> None:
    sim = await make_sim(pbx_version="18.0.11.200")
    probe = await probe_network(sim.url, TlsOptions(), timeout_s=WORKING)

    assert probe.ok and probe.http_status == 404  # reachable: the verdict is the doctor's
    assert "v18" in probe.steps[3].detail


async def test_unusable_address_is_raised_before_any_traffic() -> None:
    with pytest.raises(AddressError):
        await probe_network("https://pbx example.com", TlsOptions())


async def test_https_to_a_plain_http_port_fails_the_handshake(make_sim: SimFactory) -> None:
    sim = await make_sim()  # plain HTTP on this port
    url = sim.url.replace("http://", "https://")
    probe = await probe_network(url, TlsOptions(), timeout_s=WORKING)

    step, error = failure(probe)
    assert step.step is ProbeStep.TLS
    # Checked on the wire, so the engineer reads the scheme, not "handshake failed".
    assert isinstance(error, SchemeMismatch)
    assert f"port {port_of(sim)} speaks plain HTTP, not HTTPS" in error.message
    assert "443" in error.next_step
    assert probe.certificate is None


async def test_http_to_a_tls_port_names_the_scheme(make_sim: SimFactory) -> None:
    sim = await make_sim(tls=True)
    url = sim.url.replace("https://", "http://")
    probe = await probe_network(url, TlsOptions(), timeout_s=WORKING)

    step, error = failure(probe)
    assert step.step is ProbeStep.HTTP
    assert isinstance(error, SchemeMismatch)
    assert f"use https://127.0.0.1:{port_of(sim)}" in error.message
    assert (
        error.next_step
        == f"Change the PBX address to https://127.0.0.1:{port_of(sim)} and run again."
    )


async def test_a_port_that_closes_at_once_is_not_called_https(loopback_server) -> None:
    async def closes(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.close()

    port = await loopback_server(closes)
    probe = await probe_network(f"http://127.0.0.1:{port}", TlsOptions(), timeout_s=WORKING)

    _, error = failure(probe)
    assert not isinstance(error, SchemeMismatch)
    assert isinstance(error, Unreachable) and error.kind is UnreachableKind.NETWORK
