"""The admin session against the simulator: sign in, create an API client, generate its key."""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest

from app.domain.addresses import AddressError
from app.domain.clock import utc_now
from app.threecx.connect import open_client
from app.threecx.errors import AuthRejected, Forbidden, TlsFailure, Unreachable, Unsupported
from app.threecx.tls import TlsOptions
from app.threecx.v20.admin import (
    AdminForbidden,
    AdminLoginRejected,
    AdminSessionExpired,
    ClientIdInUse,
    admin_sign_in,
    open_transport,
)
from app.threecx.v20.client import V20Client
from tests.conftest import SimFactory
from tests.support.waiting import until
from tests.threecx.conftest import params_for


async def sign_in(sim, **kw):
    return await admin_sign_in(
        sim.url,
        kw.pop("username", sim.admin_username),
        kw.pop("password", sim.admin_password),
        tls=TlsOptions(ca_file=sim.ca_file),
        timeout_s=kw.pop("timeout_s", 3.0),
        **kw,
    )


async def test_admin_lists_creates_and_keys_a_client_that_has_both_capabilities(
    make_sim: SimFactory,
) -> None:
    sim = await make_sim(tls=True)
    await sim.place_call("inbound", ring_s=0.05, talk_s=0.05)
    async with await sign_in(sim) as session:
        assert str(session.version) == sim.version
        before = await session.service_principals()
        assert [p.number for p in before] == [sim.client_id]
        principal = await session.create_service_principal("905")
        assert (principal.number, principal.xapi, principal.call_control) == ("905", True, True)
        assert "905" in [p.number for p in await session.service_principals()]
        key = await session.generate_app_token(principal.id)

    # The new client signs in with client credentials and holds both capabilities.
    client = await open_client(params_for(sim, client_id="905"), key)
    try:
        await client.authenticate()
        now = utc_now()
        calls = await client.call_history(now - timedelta(days=2), now + timedelta(minutes=1))
        assert calls
        recordings = await client.recordings(limit=1)
        assert recordings
        audio = await client.download_recording(recordings[0].id)
        assert audio.startswith(b"RIFF")
        assert isinstance(client, V20Client)
        assert await client.call_control_snapshot() is not None
    finally:
        await client.aclose()


async def test_a_new_key_replaces_the_old_one(make_sim: SimFactory) -> None:
    sim = await make_sim()
    async with await sign_in(sim) as session:
        principal = await session.create_service_principal("906")
        first = await session.generate_app_token(principal.id)
        second = await session.generate_app_token(principal.id)
    assert first != second
    client = await open_client(params_for(sim, client_id="906"), first)
    try:
        with pytest.raises(AuthRejected):
            await client.authenticate()
    finally:
        await client.aclose()


async def test_a_client_without_call_control_is_refused_call_control(
    make_sim: SimFactory,
) -> None:
    sim = await make_sim()
    async with await sign_in(sim) as session:
        principal = await session.create_service_principal("907", call_control=False)
        key = await session.generate_app_token(principal.id)
    assert principal.call_control is False
    client = await open_client(params_for(sim, client_id="907"), key)
    try:
        await client.authenticate()  # XAPI still works
        assert isinstance(client, V20Client)
        with pytest.raises(Unsupported, match="Call Control API access"):
            await client.call_control_snapshot()
    finally:
        await client.aclose()


async def test_the_api_key_itself_may_not_create_clients(make_sim: SimFactory) -> None:
    sim = await make_sim()
    client = await open_client(params_for(sim), sim.client_secret)
    try:
        assert isinstance(client, V20Client)
        token = await client.bearer()
    finally:
        await client.aclose()
    transport = await open_transport(sim.url, TlsOptions())
    try:
        with pytest.raises(Forbidden):
            await transport.request(
                "POST",
                "/xapi/v1/ServicePrincipals",
                headers={"Authorization": f"Bearer {token}"},
                json_body={"Number": "950"},
            )
    finally:
        await transport.aclose()


@pytest.mark.parametrize("number", ["900", "101", "800"], ids=["api-client", "extension", "queue"])
async def test_a_number_in_use_is_refused(make_sim: SimFactory, number: str) -> None:
    sim = await make_sim()
    async with await sign_in(sim) as session:
        with pytest.raises(ClientIdInUse) as caught:
            await session.create_service_principal(number)
    assert "already in use" in caught.value.message
    assert "no extension, queue or other API client" in caught.value.next_step


async def test_wrong_password_is_rejected_without_echoing_it(
    make_sim: SimFactory, caplog: pytest.LogCaptureFixture
) -> None:
    sim = await make_sim()
    caplog.set_level(logging.DEBUG)
    with pytest.raises(AdminLoginRejected) as caught:
        await sign_in(sim, password="Wrong-Password-123")
    assert isinstance(caught.value, AuthRejected)
    assert "admin sign-in" in caught.value.message
    assert "user name and password" in caught.value.next_step
    assert "Wrong-Password-123" not in str(caught.value)
    assert "Wrong-Password-123" not in caplog.text


async def test_empty_fields_are_named(make_sim: SimFactory) -> None:
    sim = await make_sim()
    with pytest.raises(ValueError, match="admin user name is empty"):
        await sign_in(sim, username="  ")
    with pytest.raises(ValueError, match="admin password is empty"):
        await sign_in(sim, password="")
    with pytest.raises(AddressError):
        await admin_sign_in("", "a", "b", tls=TlsOptions())


async def test_v18_needs_the_guided_steps(make_sim: SimFactory) -> None:
    sim = await make_sim(pbx_version="18.0.11.200")
    with pytest.raises(Unsupported, match="use the guided steps"):
        await sign_in(sim)


async def test_expired_admin_session_says_sign_in_again(make_sim: SimFactory) -> None:
    # Only when the refresh token is refused too: otherwise the session renews itself.
    sim = await make_sim(faults=["admin-refresh-refused"])
    session = await sign_in(sim)
    try:
        sim.tokens.revoke_subject(sim.admin_username)
        with pytest.raises(AdminSessionExpired, match="expired") as caught:
            await session.service_principals()
        assert "Sign in again" in caught.value.next_step
    finally:
        await session.aclose()
    with pytest.raises(AdminSessionExpired):
        await session.service_principals()  # closed: the token is gone


async def test_a_plain_user_may_not_manage_api_clients(make_sim: SimFactory) -> None:
    sim = await make_sim()
    session = await sign_in(sim)
    try:
        # A console user without admin rights: simulated by a token that is not an admin's.
        session._token = sim.tokens.issue(
            "102", lifetime_s=60, roles=["Reports"], admin=False, single=False
        ).value
        with pytest.raises(AdminForbidden) as caught:
            await session.create_service_principal("908")
        assert "System Owner" in caught.value.next_step
    finally:
        await session.aclose()


async def test_session_repr_holds_no_token(make_sim: SimFactory) -> None:
    sim = await make_sim()
    async with await sign_in(sim) as session:
        assert session._token not in repr(session)
        assert sim.admin_password not in repr(session)


async def test_tls_problems_and_unreachable_pbx_are_typed(make_sim: SimFactory) -> None:
    sim = await make_sim(tls=True, faults=["tls-expired"])
    with pytest.raises(TlsFailure):
        await sign_in(sim)
    with pytest.raises(TlsFailure, match="SHA-256"):
        await admin_sign_in(
            sim.url, "101", "x", tls=TlsOptions(ca_file=sim.ca_file, pin_sha256="ab" * 32)
        )
    with pytest.raises(Unreachable):
        await admin_sign_in("https://127.0.0.1:9", "101", "x", tls=TlsOptions(), timeout_s=2)


async def test_an_admin_sign_in_that_lapses_mid_wizard_is_renewed_without_the_password(
    make_sim: SimFactory,
) -> None:
    # The admin console's tokens lived 60 s on 20.0.8 (API-NOTES §9.2); here 1 s.
    sim = await make_sim(tls=True, faults=["admin-token-lifetime=1"])
    session = await sign_in(sim, timeout_s=10.0)
    async with session:
        assert [p.number for p in await session.service_principals()] == [sim.client_id]
        sim.tokens.revoke_subject(sim.admin_username)  # lapsed while the engineer read the page
        created = await session.create_service_principal("906")  # the engineer's next click
        assert created.number == "906"
        assert session.renewals == 1
        await until(lambda: session.renewals == 1 and session.renew_due, "renewal due", 10)
        await session.service_principals()  # renewed before the PBX turned it away
        assert session.renewals == 2
