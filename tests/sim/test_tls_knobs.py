"""The certificate knobs: a certificate about to expire, and a renewal with a new chain."""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from datetime import UTC, datetime, timedelta

from cryptography import x509

from app.sim import Simulator


async def served_certificate(sim: Simulator) -> x509.Certificate:
    """The leaf the simulator serves now, verified against the simulator's CA file."""
    assert sim.ca_file is not None
    ctx = ssl.create_default_context(cafile=sim.ca_file)
    port = int(sim.url.rsplit(":", 1)[1])
    _, writer = await asyncio.open_connection("127.0.0.1", port, ssl=ctx)
    try:
        der = writer.get_extra_info("ssl_object").getpeercert(binary_form=True)
    finally:
        writer.close()
        with contextlib.suppress(OSError, ssl.SSLError):
            await writer.wait_closed()
    return x509.load_der_x509_certificate(der)


def names_of(cert: x509.Certificate) -> set[str]:
    san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    return {*san.get_values_for_type(x509.DNSName)} | {
        str(ip) for ip in san.get_values_for_type(x509.IPAddress)
    }


async def test_expiring_certificate_switches_at_runtime(make_sim) -> None:
    sim = await make_sim(tls=True)
    good = await served_certificate(sim)

    sim.faults.enable("tls-expiring=5")
    expiring = await served_certificate(sim)
    left = expiring.not_valid_after_utc - datetime.now(UTC)
    assert timedelta(days=4.9) < left <= timedelta(days=5)
    assert names_of(expiring) == {"localhost", "127.0.0.1", "::1"}
    assert expiring.issuer == good.issuer

    sim.faults.disable("tls-expiring")
    assert await served_certificate(sim) == good


async def test_expiring_defaults_to_a_week(make_sim) -> None:
    sim = await make_sim(tls=True, faults=["tls-expiring"])
    left = (await served_certificate(sim)).not_valid_after_utc - datetime.now(UTC)
    assert timedelta(days=6.9) < left <= timedelta(days=7)


async def test_renewed_certificate_has_a_new_key_and_chain(make_sim) -> None:
    sim = await make_sim(tls=True)
    good = await served_certificate(sim)

    sim.faults.enable("tls-renewed")
    renewed = await served_certificate(sim)  # still verifies with the same CA file
    assert renewed.fingerprint(renewed.signature_hash_algorithm) != good.fingerprint(
        good.signature_hash_algorithm
    )
    assert renewed.serial_number != good.serial_number
    assert renewed.public_key() != good.public_key()
    assert renewed.issuer != good.issuer  # issued through an intermediate: the chain differs
    assert "Renewal Intermediate CA" in renewed.issuer.rfc4514_string()
    assert names_of(renewed) == names_of(good)
    assert await served_certificate(sim) == renewed  # the renewal stays the same certificate

    sim.faults.disable("tls-renewed")
    assert await served_certificate(sim) == good
