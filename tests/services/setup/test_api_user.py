"""Creating the API user: the guided steps' content and the automatic path against the simulator."""

from __future__ import annotations

import pytest

from app.services.logs.setup import REDACTOR
from app.services.setup.api_user import (
    ApiUserError,
    check_client_id,
    create_api_user,
    guided_steps,
)
from app.threecx.connect import open_client
from app.threecx.tls import TlsOptions
from app.threecx.v20.admin import admin_sign_in
from tests.conftest import SimFactory
from tests.threecx.conftest import params_for


def text_of(generation: str) -> str:
    return "\n".join(f"{s.title}: {s.text}" for s in guided_steps(generation))


def test_v20_steps_walk_the_real_admin_console() -> None:
    text = text_of("v20")
    for phrase in (
        "Integrations, then API, and click Add",
        "Client ID",
        "XAPI Access",
        "Call Control API Access",
        "Extensions to Monitor",
        "Department",
        "System Wide forces the role User",
        "Role",
        '"Reports User" (call history)',
        '"Recording Manager" (recording fetch)',
        "not your own admin account",
        "blast radius",
        "keys to the PBX",
        "shown only once",
        "OS keyring",
    ):
        assert phrase in text, phrase
    titles = [s.title for s in guided_steps("v20")]
    # Why a dedicated user comes first; the key, shown once, comes last.
    assert titles[0].startswith("Use a dedicated API user")
    assert "shown only once" in titles[-1]


def test_v18_steps_differ_where_v18_does() -> None:
    text = text_of("v18")
    assert "build 11" in text
    assert "Users" in text and "rights group" in text
    assert '"Reports User": call history' in text
    assert '"Recording Manager": recording fetch' in text
    assert "Automatic setup needs v20" in text
    assert "Integrations" not in text  # a v20 screen
    assert "blast radius" in text


def test_unknown_generation_is_refused() -> None:
    with pytest.raises(ValueError, match="v20 or v18"):
        guided_steps("v16")


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("", "empty"),
        ("  ", "empty"),
        ("9 00", "space"),
        ("9\u200b00", "invisible"),
        ("9" * 65, "long"),
    ],
)
def test_bad_client_ids_name_the_field(text: str, words: str) -> None:
    with pytest.raises(ApiUserError, match=words) as caught:
        check_client_id(text)
    assert caught.value.field == "client_id"


def test_client_id_is_trimmed() -> None:
    assert check_client_id(" 905\n") == "905"


async def test_automatic_setup_creates_a_working_client_without_showing_the_key(
    make_sim: SimFactory,
) -> None:
    sim = await make_sim(tls=True)
    tls = TlsOptions(ca_file=sim.ca_file)
    async with await admin_sign_in(
        sim.url, sim.admin_username, sim.admin_password, tls=tls
    ) as session:
        created = await create_api_user(session, " 910 ")
    assert created.client_id == "910"
    assert created.secret not in repr(created)
    assert "secret" not in repr(created)
    assert REDACTOR.redact(f"key={created.secret}") != f"key={created.secret}"
    assert created.secret not in created.follow_up
    client = await open_client(params_for(sim, client_id="910"), created.secret)
    try:
        await client.authenticate()
    finally:
        await client.aclose()


async def test_without_call_control_there_is_nothing_to_monitor(make_sim: SimFactory) -> None:
    sim = await make_sim()
    async with await admin_sign_in(
        sim.url, sim.admin_username, sim.admin_password, tls=TlsOptions()
    ) as session:
        created = await create_api_user(session, "911", call_control=False)
    assert created.call_control is False
    assert created.follow_up == (
        "Done: client 911 in department DEFAULT, role System Owner. The key check in the next "
        "step proves both capabilities."
    )
    assert "Monitor" not in created.follow_up
    assert (created.monitored, created.left) == (0, ())


@pytest.mark.parametrize("taken", ["900", "101"], ids=["api-client", "extension"])
async def test_a_taken_client_id_gets_a_clear_message(make_sim: SimFactory, taken: str) -> None:
    sim = await make_sim()
    async with await admin_sign_in(
        sim.url, sim.admin_username, sim.admin_password, tls=TlsOptions()
    ) as session:
        with pytest.raises(ApiUserError) as caught:
            await create_api_user(session, taken)
    assert caught.value.field == "client_id"
    assert f"Client ID {taken} is already used" in caught.value.message
    assert "regenerate its key under Admin console > Integrations > API" in caught.value.message


def test_one_role_story_names_the_role_to_pick() -> None:
    text = text_of("v20")
    assert "pick the Role System Owner" in text
    assert "System Administrator is refused recordings and call reports" in text
    assert "also works" not in text  # the old guidance offered both roles
