"""A 401 right after a good sign-in is a withdrawn token, never a wrong key or a missing role.

3CX keeps one access token per API client (API-NOTES §2): another program signing in with the
same client (a bridge, a second doctor) withdraws ours. Two PBXs play it: the simulator with
its ``single-token`` knob (real sign-ins racing), and a tiny loopback server below that withdraws
every token at once (the worst case, deterministic), since the simulator has no knob for that.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator

import pytest
from aiohttp import web

from app.domain.causes.api_answers import REVOKED, REVOKED_FIX
from app.domain.causes.reachability import CallControl
from app.domain.diagnosis import CheckId, CheckStatus
from app.services.doctor import Doctor
from app.services.doctor.text import render_text
from app.services.setup.capabilities import CALL_HISTORY, TOKEN, verify_capabilities
from app.threecx.connect import ConnectionParams, open_client
from app.threecx.errors import AuthRejected, TokenRevoked
from app.threecx.transport import RetryPolicy
from app.threecx.v20.callcontrol_probe import probe_call_control
from app.threecx.v20.client import V20Client
from tests.support.timeouts import ROOMY
from tests.threecx.conftest import ClientFactory, SimFactory, params_for

ROLE_WORDS = ("role is assigned", "Neither role", "role 1 of 2", "role 2 of 2", "Assign the")


class Withdrawing:
    """A PBX whose token endpoint accepts the key and whose XAPI then refuses every token."""

    def __init__(self) -> None:
        self.tokens_issued = 0
        self.refused = 0

    async def token(self, request: web.Request) -> web.Response:
        self.tokens_issued += 1
        body = {
            "token_type": "Bearer",
            "expires_in": 3600,
            "access_token": f"t{self.tokens_issued}",
        }
        return web.json_response(body, headers={"X-3CX-Version": "20.0.10.1116"})

    async def xapi(self, request: web.Request) -> web.Response:
        self.refused += "Authorization" in request.headers  # not the generation probe
        return web.json_response({"error": "unauthorized"}, status=401)


@pytest.fixture
async def withdrawing() -> AsyncIterator[tuple[str, Withdrawing]]:
    pbx = Withdrawing()
    app = web.Application()
    app.router.add_post("/connect/token", pbx.token)
    app.router.add_route("*", "/xapi/v1/{tail:.*}", pbx.xapi)
    app.router.add_route("*", "/callcontrol{tail:.*}", pbx.xapi)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        yield f"http://127.0.0.1:{port}", pbx
    finally:
        await runner.cleanup()


def plain(url: str) -> ConnectionParams:
    return ConnectionParams(url=url, client_id="900", timeouts=ROOMY, retry=RetryPolicy(attempts=1))


async def test_a_second_401_after_a_fresh_token_is_a_withdrawn_token(
    withdrawing: tuple[str, Withdrawing],
) -> None:
    url, pbx = withdrawing
    client = await open_client(plain(url), "key")
    try:
        assert isinstance(client, V20Client)
        with pytest.raises(TokenRevoked) as caught:
            await client.extensions()
        # Signed in, refused, signed in again (once), refused again: then it says so.
        assert pbx.tokens_issued == 2 and pbx.refused == 2
        assert client.tokens.revocations == 1
        assert not isinstance(caught.value, AuthRejected)
        assert "another program signed in with the same api client" in (
            caught.value.next_step.lower()
        )
        assert "not a missing role" in caught.value.next_step
    finally:
        await client.aclose()


async def test_a_401_on_the_token_endpoint_stays_a_rejected_key(
    make_sim: SimFactory, connect: ClientFactory
) -> None:
    sim = await make_sim(faults=["bad-key"])
    client = await connect(sim)
    with pytest.raises(AuthRejected) as caught:
        await client.authenticate()
    assert not isinstance(caught.value, TokenRevoked)
    assert "Client ID or key" in caught.value.message
    # The first move is to check both as the console shows them; regenerating comes last.
    step = caught.value.next_step
    assert step.startswith("The Client ID or key is wrong")
    assert step.index("Admin console > Integrations > API") < step.index("Regenerate")
    assert "only if it is lost" in step


async def test_the_doctor_names_a_withdrawn_token_in_text_and_json(
    withdrawing: tuple[str, Withdrawing],
) -> None:
    url, _ = withdrawing
    diagnosis = await Doctor(plain(url), "key").run()
    reach = diagnosis.result(CheckId.REACHABILITY)
    assert reach.status is CheckStatus.WARN
    assert reach.finding == REVOKED and reach.fix == REVOKED_FIX
    text = render_text(diagnosis)
    document = json.dumps(diagnosis.as_json())
    for shown in (text, document):
        assert "another program signed in with the same API client" in shown
        assert not any(words in shown for words in ROLE_WORDS)
        assert "rejected the Client ID" not in shown


async def test_setup_shows_a_withdrawn_token_not_a_bad_key(
    withdrawing: tuple[str, Withdrawing],
) -> None:
    url, _ = withdrawing
    report = await verify_capabilities(plain(url), "key", timeout_s=ROOMY.connect)
    token = report.check(TOKEN)
    assert token.ok is False and token.detail == REVOKED and token.fix == REVOKED_FIX
    assert report.check(CALL_HISTORY).ok is None
    assert report.verdict.status is CheckStatus.WARN
    assert REVOKED in report.verdict.finding and report.verdict.fix == REVOKED_FIX


async def test_two_doctors_sharing_one_api_client_never_blame_a_role(
    make_sim: SimFactory,
) -> None:
    """Two doctors at once, one token per client: each sign-in withdraws the other's token.
    Whatever the race gives, check 2 is never "a role is missing"."""
    sim = await make_sim(tls=True, faults=["single-token"])
    params = params_for(sim)
    for _ in range(3):
        runs = await asyncio.gather(
            Doctor(params, sim.client_secret).run(), Doctor(params, sim.client_secret).run()
        )
        for diagnosis in runs:
            roles = diagnosis.result(CheckId.API_ROLES)
            assert roles.status is not CheckStatus.FAIL, roles.finding
            shown = render_text(diagnosis)
            assert not any(words in shown for words in ROLE_WORDS), shown


async def test_a_websocket_401_after_another_sign_in_is_a_withdrawn_token(
    make_sim: SimFactory, connect: ClientFactory
) -> None:
    """The reachability probe's websocket step: our token was withdrawn by a second sign-in with
    the same API client, so the upgrade's 401 is said as that, never as a wrong key."""
    sim = await make_sim(tls=True, faults=["single-token"])
    ours = await connect(sim)
    assert isinstance(ours, V20Client)
    await ours.authenticate()
    other = await connect(sim)
    await other.authenticate()  # one token per client: ours is now withdrawn

    facts = await probe_call_control(ours, sim.url, params_for(sim).tls, timeout_s=ROOMY.read)

    assert facts.answer is CallControl.REVOKED and facts.status == 401


async def test_re_signs_in_once_then_says_so_instead_of_a_tug_of_war(
    make_sim: SimFactory, connect: ClientFactory
) -> None:
    """Two clients sharing one API client: each may take the token back once; the one whose
    token is taken again says so and stops signing in, so the other can keep working."""
    sim = await make_sim(tls=True, faults=["single-token"])
    a, b = await connect(sim), await connect(sim)
    assert isinstance(a, V20Client) and isinstance(b, V20Client)
    await a.authenticate()
    await b.authenticate()  # withdraws a's token

    await a.system_status()  # 401, signs in once more: withdraws b's
    await b.system_status()  # 401, signs in once more: withdraws a's
    assert (a.tokens.requests, b.tokens.requests) == (2, 2)

    with pytest.raises(TokenRevoked):
        await a.system_status()  # a second withdrawal this soon: said, not fought over
    with pytest.raises(TokenRevoked):
        await a.system_status()  # and no new sign-in while the other program works
    assert a.tokens.requests == 2
    assert (a.tokens.withdrawals, a.tokens.revocations) == (2, 1)
    await b.system_status()  # b kept its token
    assert b.tokens.requests == 2
