"""The v20 client lists, reads and downloads from the simulator over real TLS."""

from __future__ import annotations

import asyncio
import base64
from datetime import timedelta

import pytest

from app.domain.calls import CallDirection, CallOutcome
from app.domain.clock import utc_now
from app.domain.extensions import RecordingMode
from app.domain.licence import Edition
from app.domain.version import PbxVersion
from app.threecx.transport import Transport
from app.threecx.v20.client import V20Client
from app.threecx.v20.tokens import TokenManager, jwt_lifetime_s, sane_lifetime
from tests.support.waiting import until
from tests.threecx.conftest import ClientFactory, SimFactory

NOW = lambda: utc_now()  # noqa: E731


async def test_reads_everything_over_tls(make_sim: SimFactory, connect: ClientFactory) -> None:
    sim = await make_sim(tls=True)
    client = await connect(sim)
    assert client.generation == "v20"
    identity = await client.authenticate()
    assert identity.version == PbxVersion(20, 0, 10, 1116)

    extensions = await client.extensions()
    assert 10 <= len(extensions) <= 30
    assert {e.number for e in extensions} == {e.number for e in sim.tenant.extensions}
    assert all(e.recording is not RecordingMode.UNKNOWN for e in extensions)

    licence = await client.licence()
    assert licence.active and licence.edition is Edition.ENTERPRISE
    assert licence.country_code == "AU"
    plan = await client.numbering_plan()
    assert plan.country_code == "61" and plan.international_prefix == "0011"

    calls = await client.call_history(NOW() - timedelta(days=30), NOW(), limit=200)
    assert calls, "the tenant has a month of history"
    assert len({c.call_id for c in calls}) == len(calls)
    assert {c.direction for c in calls} >= {CallDirection.INBOUND, CallDirection.OUTBOUND}
    assert all(c.started_at is not None for c in calls)
    assert calls == sorted(calls, key=lambda c: c.started_at or NOW(), reverse=True)

    recordings = await client.recordings(limit=10)
    assert len(recordings) == 10
    newest = recordings[0]
    assert await client.recording(newest.id) == newest
    audio = await client.download_recording(newest.id)
    assert audio[:4] == b"RIFF" and audio[8:12] == b"WAVE"

    retention = await client.retention()
    assert retention.auto_delete_days is None or retention.auto_delete_days > 0
    contacts = await client.contacts()
    assert contacts and all(c.phones for c in contacts)


async def test_paging_gives_the_same_answer_as_one_page(
    make_sim: SimFactory, connect: ClientFactory
) -> None:
    sim = await make_sim()
    big = await connect(sim)
    await big.authenticate()
    since, until = NOW() - timedelta(days=60), NOW()
    whole = await big.call_history(since, until, limit=5000)
    small = V20Client(big._transport, sim.client_id, sim.client_secret, page_size=7)  # type: ignore[attr-defined]
    paged = await small.call_history(since, until, limit=5000)
    assert len(whole) > 20
    assert [c.call_id for c in paged] == [c.call_id for c in whole]
    assert len(await small.recordings(limit=23)) == 23


async def test_a_placed_call_appears_with_its_recording(
    make_sim: SimFactory, connect: ClientFactory
) -> None:
    sim = await make_sim(recording_delay_s=0.3)
    client = await connect(sim)
    await client.authenticate()
    placed = await sim.place_call("inbound")
    calls = await client.call_history(NOW() - timedelta(minutes=5), NOW() + timedelta(minutes=1))
    mine = next(c for c in calls if c.call_id == placed.history_id)
    assert mine.direction is CallDirection.INBOUND and mine.outcome is CallOutcome.ANSWERED
    assert mine.recording_ids == ()  # 3CX writes the file after hang-up
    for _ in range(50):
        await asyncio.sleep(0.1)
        calls = await client.call_history(
            NOW() - timedelta(minutes=5), NOW() + timedelta(minutes=1)
        )
        mine = next(c for c in calls if c.call_id == placed.history_id)
        if mine.recording_ids:
            break
    assert mine.recording_ids
    audio = await client.download_recording(mine.recording_ids[0])
    assert audio.startswith(b"RIFF")


async def test_queue_miss_is_one_missed_call_and_voicemail_is_not_missed(
    make_sim: SimFactory, connect: ClientFactory
) -> None:
    sim = await make_sim()
    client = await connect(sim)
    await client.authenticate()
    queue_miss = await sim.place_call("queue", answered=False)
    voicemail = await sim.place_call("voicemail")
    calls = await client.call_history(NOW() - timedelta(minutes=5), NOW() + timedelta(minutes=1))
    by_id = {c.call_id: c for c in calls}
    assert by_id[queue_miss.history_id].outcome is CallOutcome.MISSED
    assert [c.call_id for c in calls].count(queue_miss.history_id) == 1
    assert by_id[voicemail.history_id].outcome is CallOutcome.VOICEMAIL
    assert by_id[voicemail.history_id].answered is False


async def test_token_lifetime_in_minutes_before_20_0_9(
    make_sim: SimFactory, connect: ClientFactory
) -> None:
    old = await make_sim(pbx_version="20.0.8.500")
    client = await connect(old)
    await client.authenticate()
    assert isinstance(client, V20Client)
    assert client.tokens.lifetime_s == 60 * 60  # "60" meant minutes

    new = await make_sim(faults=["token-lifetime=90"])
    client = await connect(new)
    await client.authenticate()
    assert isinstance(client, V20Client)
    assert client.tokens.lifetime_s == 90  # seconds from 20.0.9


async def test_refresh_is_scheduled_from_the_jwt_exp_when_it_is_sooner(
    make_sim: SimFactory, connect: ClientFactory
) -> None:
    # expires_in says an hour; the token itself (exp - iat) says 2 s, and the PBX means it.
    sim = await make_sim(faults=["token-lifetime=2", "token-expires-in-says=3600"])
    client = await connect(sim)
    await client.authenticate()
    assert isinstance(client, V20Client)
    assert client.tokens.lifetime_s == 2
    first = client.tokens.requests
    await until(lambda: client.tokens.refresh_due, "the token's refresh to fall due", 10)
    await client.extensions()  # no 401 first: the token is renewed before the PBX drops it
    assert client.tokens.requests == first + 1


class FakeMonotonic:
    """A monotonic clock the test moves by hand, so a token ages without waiting."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


async def test_token_refreshed_at_80_percent_of_its_lifetime(make_sim: SimFactory) -> None:
    sim = await make_sim(faults=["token-lifetime=100"])
    clock = FakeMonotonic()
    transport = Transport(sim.url)
    tokens = TokenManager(transport, sim.client_id, sim.client_secret, clock=clock)
    try:
        first = await tokens.token()
        assert tokens.lifetime_s == 100 and tokens.requests == 1
        clock.advance(79)
        assert await tokens.token() == first and tokens.requests == 1
        clock.advance(1)  # 80 % of the lifetime: the next request gets a new token first
        assert await tokens.token() != first and tokens.requests == 2
    finally:
        await transport.aclose()


async def test_rejected_token_is_dropped_and_retried_once_on_401(
    make_sim: SimFactory, connect: ClientFactory
) -> None:
    sim = await make_sim()
    client = await connect(sim)
    assert isinstance(client, V20Client)
    await client.authenticate()
    first = client.tokens.requests
    sim.tokens.revoke_subject(sim.client_id)  # the PBX no longer accepts the token it issued
    assert await client.extensions()
    assert client.tokens.requests == first + 1


async def test_token_requests_are_serialised(make_sim: SimFactory, connect: ClientFactory) -> None:
    sim = await make_sim(faults=["single-token"])
    client = await connect(sim)
    assert isinstance(client, V20Client)
    results = await asyncio.gather(*(client.extensions() for _ in range(8)))
    assert all(len(r) == len(results[0]) for r in results)
    assert client.tokens.requests == 1


async def test_over_privileged_token_claims_are_visible(
    make_sim: SimFactory, connect: ClientFactory
) -> None:
    sim = await make_sim(faults=["over-privileged"])
    client = await connect(sim)
    assert isinstance(client, V20Client)
    await client.authenticate()
    claims = client.tokens.claims()
    roles = claims.get("role")
    assert isinstance(roles, list) and "Admin" in roles

    healthy = await make_sim()
    normal = await connect(healthy)
    assert isinstance(normal, V20Client)
    await normal.authenticate()
    assert "Admin" not in str(normal.tokens.claims().get("role"))


@pytest.mark.parametrize(
    ("said", "read"),
    [(3600, 3600), (0, 60), (-60, 60), (float("nan"), 60), (float("inf"), 60), (1e12, 86400)],
)
def test_a_token_lifetime_is_read_within_sane_bounds(said: float, read: float) -> None:
    assert sane_lifetime(said) == read


def test_jwt_claims_that_overflow_or_lie_give_no_lifetime() -> None:
    def jwt(claims: str) -> str:
        body = base64.urlsafe_b64encode(claims.encode()).decode().rstrip("=")
        return f"e30.{body}.sig"

    assert jwt_lifetime_s(jwt('{"iat": 100, "exp": 160}')) == 60
    assert jwt_lifetime_s(jwt('{"iat": 100, "exp": 1' + "0" * 400 + "}")) is None
    assert jwt_lifetime_s(jwt('{"iat": 100, "exp": 50}')) is None
    assert jwt_lifetime_s(jwt('{"iat": "100", "exp": 160}')) is None
    assert jwt_lifetime_s("not a token") is None


# ---- issue 18 (verdicts only from evidence): absurd expires_in never crashes nor goes negative --
# (A number of many digits is refused earlier, by the JSON reader, as an unreadable answer.)
@pytest.mark.parametrize("says", ["0", "-60", "99999999"])
async def test_an_absurd_expires_in_falls_back_to_the_jwt_lifetime(
    make_sim: SimFactory, connect: ClientFactory, says: str
) -> None:
    sim = await make_sim(faults=[f"token-expires-in-says={says}", "token-lifetime=600"])
    client = await connect(sim)
    assert isinstance(client, V20Client)
    await client.authenticate()
    # The JWT's exp - iat (600 s) is the PBX's own word when expires_in is not a sane number.
    assert client.tokens.lifetime_s == 600
    assert client.tokens.revocations == 0
