"""Step 1: address normalisation, version detection without a key, hosting and region hints."""

from __future__ import annotations

import pytest
from aiohttp import web

from app.domain.addresses import AddressError
from app.services.setup.detect import (
    HOSTED,
    SELF_HOSTED,
    UNKNOWN,
    detect_pbx,
    hosting_for,
    refine_region,
    region_guess,
)
from app.threecx.connect import open_client
from app.threecx.tls import TlsOptions
from tests.conftest import SimFactory
from tests.threecx.conftest import params_for


@pytest.mark.parametrize(
    "pasted",
    [
        "{hostport}",
        "https://{hostport}",
        "https://{hostport}/",
        "  https://{hostport}/#/office/dashboard  ",
        "{hostport}/webclient/#/people",
        "HTTPS://{hostport}/xapi/v1/Defs?$select=Id",
    ],
)
async def test_whatever_is_pasted_normalises_and_detects_v20(
    make_sim: SimFactory, pasted: str
) -> None:
    sim = await make_sim(tls=True)
    hostport = sim.url.removeprefix("https://")
    found = await detect_pbx(
        pasted.format(hostport=hostport), tls=TlsOptions(ca_file=sim.ca_file), timeout_s=3
    )
    assert found.problem is None
    assert found.url == sim.url
    assert (found.host, found.port) == ("127.0.0.1", int(hostport.split(":")[1]))
    assert (found.generation, found.version) == ("v20", "20.0.10.1116")


async def test_v18_is_told_apart_and_its_build_waits_for_the_key(make_sim: SimFactory) -> None:
    sim = await make_sim(pbx_version="18.0.11.200")
    found = await detect_pbx(sim.url, tls=TlsOptions(), timeout_s=3)
    assert (found.generation, found.version, found.problem) == ("v18", None, None)


async def test_v20_without_version_header_still_detects_v20(make_sim: SimFactory) -> None:
    sim = await make_sim(faults=["no-version-header"])
    found = await detect_pbx(sim.url, tls=TlsOptions(), timeout_s=3)
    assert (found.generation, found.version) == ("v20", None)


async def test_unusable_address_raises_before_any_network() -> None:
    with pytest.raises(AddressError, match="empty"):
        await detect_pbx("   ", tls=TlsOptions())
    with pytest.raises(AddressError, match="https://"):
        await detect_pbx("ftp://pbx.example.com", tls=TlsOptions())


async def test_nothing_listening_gives_a_port_hint() -> None:
    found = await detect_pbx("https://127.0.0.1:9", tls=TlsOptions(), timeout_s=2)
    assert found.generation is None
    assert found.problem is not None
    assert "refused" in found.problem.lower()
    assert "443 for 3CX-hosted, usually 5001 self-managed" in found.problem


async def test_expired_certificate_is_the_problem(make_sim: SimFactory) -> None:
    sim = await make_sim(tls=True, faults=["tls-expired"])
    found = await detect_pbx(sim.url, tls=TlsOptions(ca_file=sim.ca_file), timeout_s=3)
    assert found.generation is None
    assert found.problem is not None
    assert "certificate has expired: renew it in the 3CX admin console" in found.problem


async def test_untrusted_certificate_offers_the_ca_file_or_a_pin(make_sim: SimFactory) -> None:
    sim = await make_sim(tls=True)
    found = await detect_pbx(sim.url, tls=TlsOptions(), timeout_s=3)
    assert found.problem is not None and found.generation is None
    assert "choose their CA file" in found.problem
    assert "reachability step" not in found.problem and "_ssl.c" not in found.problem
    trouble = found.certificate_trouble
    assert trouble is not None and trouble.pinnable and trouble.certificate is not None
    assert "CERTIFICATE_VERIFY_FAILED" in trouble.raw

    pinned = await detect_pbx(
        sim.url, tls=TlsOptions(pin_sha256=trouble.certificate.sha256), timeout_s=3
    )
    assert pinned.problem is None and pinned.generation == "v20"
    assert pinned.certificate_trouble is None


async def test_a_hanging_pbx_times_out(make_sim: SimFactory) -> None:
    sim = await make_sim(faults=["hang"])
    found = await detect_pbx(sim.url, tls=TlsOptions(), timeout_s=0.5)
    assert found.problem is not None
    assert "did not answer in time" in found.problem


async def test_a_web_server_that_is_not_3cx() -> None:
    async def not_found(request: web.Request) -> web.Response:
        return web.Response(status=404)

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", not_found)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        found = await detect_pbx(f"http://127.0.0.1:{port}", tls=TlsOptions(), timeout_s=3)
    finally:
        await runner.cleanup()
    assert found.generation is None
    assert found.problem is not None
    assert "is this a 3CX PBX?" in found.problem


@pytest.mark.parametrize(
    ("host", "port", "mode", "words"),
    [
        ("harbourside.my3cx.com.au", 443, HOSTED, "3CX-hosted domain"),
        ("acme.3cx.us", 443, HOSTED, "PBX Express"),
        ("acme.3cx.co", 5001, SELF_HOSTED, "3CX-provided name"),
        ("x.3cx.eu", 5001, SELF_HOSTED, "self-managed"),
        ("pbx.acme.com", 5001, SELF_HOSTED, "Port 5001"),
        ("pbx.acme.com", 443, UNKNOWN, "try https://pbx.acme.com:5001"),
        ("pbx.acme.com", 8443, UNKNOWN, "neither 443"),
        ("acme.3cx.us", 8443, HOSTED, "not 8443"),
    ],
)
def test_hosting_hint(host: str, port: int, mode: str, words: str) -> None:
    got, hint = hosting_for(host, port)
    assert got == mode
    assert words in hint


def test_pbx_express_is_flagged_unconfirmed() -> None:
    _, hint = hosting_for("acme.my3cx.de", 443)
    assert "PBX Express" in hint and "UNCONFIRMED" in hint


@pytest.mark.parametrize(
    ("host", "region"),
    [
        ("pbx.acme.com.au", "AU"),
        ("harbourside.my3cx.com.au", "AU"),
        ("pbx.acme.co.uk", "GB"),
        ("acme.3cx.uk", "GB"),
        ("pbx.acme.co.nz", "NZ"),
        ("acme.3cx.us", "US"),
        ("pbx.acme.de", "DE"),
        ("pbx.acme.com", None),
        ("acme.3cx.eu", None),
        ("acme.3cx.co", None),
        ("pbx.acme.io", None),
        ("127.0.0.1", None),
        ("localhost", None),
    ],
)
def test_region_guess_from_the_domain(host: str, region: str | None) -> None:
    got, hint = region_guess(host)
    assert got == region
    assert "replaces this guess" in hint
    if region:
        assert hint.startswith("A guess from the address")


async def test_the_pbx_licence_replaces_the_guess(make_sim: SimFactory) -> None:
    sim = await make_sim(scenarios=["gb"])
    found = await detect_pbx(sim.url, tls=TlsOptions(), timeout_s=3)
    assert found.region is None
    client = await open_client(params_for(sim), sim.client_secret)
    try:
        await client.authenticate()
        refined = await refine_region(found, client)
    finally:
        await client.aclose()
    assert refined.region == "GB"
    assert "the PBX licence (CountryCode GB)" in refined.region_hint


async def test_v18_keeps_the_guess(make_sim: SimFactory) -> None:
    sim = await make_sim(pbx_version="18.0.11.200")
    found = await detect_pbx(sim.url, tls=TlsOptions(), timeout_s=3)
    client = await open_client(params_for(sim), sim.client_secret)
    try:
        assert await refine_region(found, client) == found
    finally:
        await client.aclose()
