"""Shapes API-NOTES leaves open: the client copes with each one the simulator can produce."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from app.domain.clock import utc_now
from app.threecx.errors import AuthRejected, RecordingFileMissing
from app.threecx.v20.client import V20Client

from .conftest import ClientFactory, SimFactory


def window() -> tuple[datetime, datetime]:
    now = utc_now()
    return now - timedelta(days=60), now


async def everything(client: V20Client) -> tuple[list[str], list[int], list[str], list[str]]:
    calls = await client.call_history(*window(), limit=5000)
    recordings = await client.recordings(limit=5000)
    contacts = await client.contacts()
    extensions = await client.extensions()
    return (
        [c.call_id for c in calls],
        [r.id for r in recordings],
        [c.id for c in contacts],
        [e.number for e in extensions],
    )


@pytest.mark.parametrize(
    "variant",
    ["server-paging=7", "silent-top-cap=20", "top-limit=30", "top-limit=10"],
)
async def test_every_row_however_the_server_pages(
    make_sim: SimFactory, connect: ClientFactory, variant: str
) -> None:
    plain = await connect(await make_sim())
    odd = await connect(await make_sim(faults=[variant]))
    assert isinstance(plain, V20Client) and isinstance(odd, V20Client)
    expected = await everything(plain)
    assert all(len(part) > 10 for part in expected)
    assert await everything(odd) == expected


async def test_next_link_to_another_host_is_not_followed(
    make_sim: SimFactory, connect: ClientFactory
) -> None:
    client = await connect(await make_sim())
    assert isinstance(client, V20Client)
    from app.threecx.errors import MalformedResponse

    with pytest.raises(MalformedResponse, match="another host"):
        client._same_origin("https://evil.example/xapi/v1/Recordings?$skip=50", "/Recordings")
    assert client._same_origin("/xapi/v1/Recordings?$skip=50", "/Recordings") == (
        "/xapi/v1/Recordings?$skip=50"
    )


async def test_wrong_key_as_400_invalid_client(
    make_sim: SimFactory, connect: ClientFactory
) -> None:
    client = await connect(await make_sim(faults=["invalid-client-400"]), secret="wrong-key-0000")
    with pytest.raises(AuthRejected):
        await client.authenticate()


async def test_missing_recording_as_bare_404(make_sim: SimFactory, connect: ClientFactory) -> None:
    sim = await make_sim(faults=["retention-deleted=30", "file-not-found-404"])
    client = await connect(sim)
    with pytest.raises(RecordingFileMissing):
        await client.download_recording(max(sim.tenant.recordings) + 1000)


async def test_no_version_header(make_sim: SimFactory, connect: ClientFactory) -> None:
    sim = await make_sim(pbx_version="20.0.8.500", faults=["no-version-header"])
    client = await connect(sim)
    assert isinstance(client, V20Client)
    identity = await client.authenticate()
    assert str(identity.version) == "20.0.8.500"  # from SystemStatus.Version
    # The token arrived before the version was known; its "60" is re-read as minutes.
    assert client.tokens.lifetime_s == 3600


async def test_v18_expired_licence_is_not_active(
    make_sim: SimFactory, connect: ClientFactory
) -> None:
    # The clean wire sends LicenseActive; older bodies do not (tests/threecx/v18/test_wire.py).
    sim = await make_sim(
        pbx_version="18.0.11.200", faults=["licence-expired"], wire_quirks=frozenset()
    )
    client = await connect(sim)
    await client.authenticate()
    licence = await client.licence()
    assert licence.active is False
    assert (await client.system_status()).licence_active is False
