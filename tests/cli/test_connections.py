"""``connections add/list/remove``, ``keys rotate`` and ``doctor --connection``, as run headless.

The commands run through ``main()`` in a worker thread (their own event loop), while the test's
loop serves the simulator; keys go to a real Secret Service on a private D-Bus session.
"""

from __future__ import annotations

import asyncio
import io
import json
import os
import pty
import select
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Protocol

import pytest
from keyring.backend import KeyringBackend

from app.cli.entry import main
from app.domain.causes.api_answers import KEY_FIX
from app.domain.clock import utc_now
from app.domain.connection import CheckStatusSummary
from app.services.connections.store import ConnectionStore
from app.services.settings.file import load_settings, save_settings, settings_path
from app.sim import Simulator
from tests.conftest import SimFactory
from tests.services.connections.test_key_rotation import generate_key
from tests.services.connections.test_store import file_exists, file_text, keyring_entry
from tests.support.sim_process import COMMAND

pytestmark = pytest.mark.keyring
TERMINAL_TIMEOUT_S = 60


@dataclass(frozen=True)
class Run:
    code: int
    out: str
    err: str


class Cli(Protocol):
    async def __call__(self, *args: str, stdin: str = "") -> Run: ...


@pytest.fixture
def cli(
    keyring_backend: KeyringBackend,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> Cli:
    """Runs ``pbx-companion ARGS`` with ``stdin`` as its standard input."""

    async def run(*args: str, stdin: str = "") -> Run:
        monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
        code = await asyncio.to_thread(main, list(args))
        captured = capsys.readouterr()
        return Run(code, captured.out, captured.err)

    return run


def add_args(sim: Simulator, name: str = "Harbour Dental", *extra: str) -> list[str]:
    assert sim.ca_file is not None
    return [
        "connections",
        "add",
        name,
        "--url",
        sim.url,
        "--client-id",
        sim.client_id,
        "--secret-stdin",
        "--ca-file",
        sim.ca_file,
        "--customer",
        "Harbour Dental Pty Ltd",
        *extra,
    ]


async def saved_store() -> ConnectionStore:
    return await ConnectionStore.open()


def assert_secret_free(run: Run, *keys: str) -> None:
    for key in keys:
        assert key not in run.out + run.err


async def test_add_verifies_then_stores_the_key_in_the_keyring(
    cli: Cli, make_sim: SimFactory
) -> None:
    sim = await make_sim(tls=True)
    done = await cli(
        *add_args(sim, "Harbour Dental", "--region", "au"), stdin=f"  {sim.client_secret} \r\n"
    )
    assert done.code == 0, done.err
    assert "[ OK ] API key accepted (access token)" in done.out
    assert "[ OK ] Recording download (Recording Manager)" in done.out
    assert "Saved Harbour Dental: the key is in Secret Service" in done.out
    assert_secret_free(done, sim.client_secret)

    (profile,) = load_settings(settings_path()).settings.connections
    assert (profile.name, profile.region, profile.version) == (
        "Harbour Dental",
        "AU",
        "20.0.10.1116",
    )
    assert profile.key_rotated_at is not None
    assert await keyring_entry(profile.id) == sim.client_secret
    assert sim.client_secret not in file_text(settings_path())

    again = await cli(*add_args(sim, " harbour dental "), stdin=sim.client_secret)
    assert again.code == 2
    assert again.err.startswith("pbx-companion: NAME: Another connection is already called")


async def test_a_rejected_key_is_not_saved_unless_told(cli: Cli, make_sim: SimFactory) -> None:
    sim = await make_sim(tls=True)
    wrong = "Wr0ngKeyWr0ngKey42"
    done = await cli(*add_args(sim), stdin=wrong)
    assert done.code == 1
    assert "[FAIL] API key accepted (access token)" in done.out
    assert "Harbour Dental was not saved" in done.err
    assert f"What to do: {KEY_FIX}" in done.err  # the doctor's fix for the same 401
    assert "--no-verify" in done.err
    assert load_settings(settings_path()).settings.connections == ()
    assert_secret_free(done, wrong)

    saved = await cli(*add_args(sim, "Harbour Dental", "--no-verify"), stdin=wrong)
    assert saved.code == 0 and "Checking" not in saved.out
    (profile,) = load_settings(settings_path()).settings.connections
    assert await keyring_entry(profile.id) == wrong


async def test_a_key_missing_a_role_is_saved_with_the_fix(cli: Cli, make_sim: SimFactory) -> None:
    sim = await make_sim(tls=True, faults=["missing-recording-role"])
    done = await cli(*add_args(sim), stdin=sim.client_secret)
    assert done.code == 0, done.err
    assert "[ OK ] Call history (Reports User)" in done.out
    assert "[FAIL] Recording list (Recording Manager): Recordings list: 403 forbidden" in done.out
    assert "Saved Harbour Dental" in done.out
    assert "What to do: Assign the missing role (Recording Manager" in done.out
    assert "Then run: pbx-companion doctor --connection 'Harbour Dental'" in done.out
    (profile,) = load_settings(settings_path()).settings.connections
    assert await keyring_entry(profile.id) == sim.client_secret


@pytest.mark.parametrize(
    ("stdin", "extra", "named"),
    [
        ("", (), "--secret-stdin: The API key is empty"),
        ("abcd efgh", (), "--secret-stdin: The API key has a space or line break inside it"),
        ("GoodKey12345", ("--url", "ftp://pbx.example.com"), "--url: The PBX address must"),
        ("GoodKey12345", ("--region", "Australia"), "--region: 'Australia' is not a region"),
        ("GoodKey12345", ("--ca-file", "/nonexistent/ca.pem"), "--ca-file: cannot read"),
        ("GoodKey12345", ("--contacts", "/no/crm.csv"), "--contacts: The CRM contacts file"),
    ],
)
async def test_bad_input_exits_2_naming_it(
    cli: Cli, make_sim: SimFactory, stdin: str, extra: Sequence[str], named: str
) -> None:
    sim = await make_sim(tls=True)
    args = add_args(sim)
    for flag, value in zip(extra[::2], extra[1::2], strict=True):
        if flag in args:
            args[args.index(flag) + 1] = value
        else:
            args += [flag, value]
    done = await cli(*args, stdin=stdin)
    assert done.code == 2
    assert done.err.startswith(f"pbx-companion: {named}"), done.err
    assert "abcd" not in done.err
    assert load_settings(settings_path()).settings.connections == ()


async def test_list_shows_key_age_and_warns_past_the_limit(cli: Cli, make_sim: SimFactory) -> None:
    empty = await cli("connections", "list")
    assert empty.code == 0 and empty.out.startswith("No saved connections.")

    sim = await make_sim(tls=True)
    assert (await cli(*add_args(sim, "Fresh"), stdin=sim.client_secret)).code == 0
    stale_args = add_args(sim, "Stale", "--no-verify", "--tag", "north, monthly", "--tag", "NORTH")
    assert (await cli(*stale_args, stdin=sim.client_secret)).code == 0
    path = settings_path()
    settings = load_settings(path).settings
    stale = next(c for c in settings.connections if c.name == "Stale")
    old = stale.__class__(**{**stale.__dict__, "key_rotated_at": utc_now() - timedelta(days=200)})
    save_settings(settings.with_connection(old).replace(key_age_warning_days=90), path)

    listed = await cli("connections", "list")
    assert listed.code == 0
    lines = listed.out.splitlines()
    assert lines[0].split() == [
        "NAME",
        "CUSTOMER",
        "TAGS",
        "URL",
        "VERSION",
        "KEY",
        "LAST",
        "CHECK",
    ]
    fresh_line = next(line for line in lines if line.startswith("Fresh"))
    stale_line = next(line for line in lines if line.startswith("Stale"))
    assert "set today" in fresh_line and "20.0.10.1116" in fresh_line
    assert "set 200 days ago (old)" in stale_line and "not checked" in stale_line
    assert "north, monthly" in stale_line  # a repeat in another case kept once
    assert "Warning: The API key for Stale was set 200 days ago, past the 90 days" in listed.out

    as_json = await cli("connections", "list", "--json")
    rows = {row["name"]: row for row in json.loads(as_json.out)}
    assert rows["Stale"]["key_age_days"] == 200
    assert rows["Stale"]["key_age_warning"].startswith("The API key for Stale")
    assert rows["Fresh"]["key_age_warning"] is None
    assert rows["Fresh"]["version"] == "20.0.10.1116"
    assert rows["Fresh"]["last_check"] is None
    assert rows["Stale"]["tags"] == ["north", "monthly"] and rows["Fresh"]["tags"] == []
    assert_secret_free(listed, sim.client_secret)
    assert_secret_free(as_json, sim.client_secret)


async def test_remove_deletes_the_key_and_names_an_unknown_connection(
    cli: Cli, make_sim: SimFactory
) -> None:
    sim = await make_sim(tls=True)
    assert (await cli(*add_args(sim, "Gone"), stdin=sim.client_secret)).code == 0
    (profile,) = load_settings(settings_path()).settings.connections
    unknown = await cli("connections", "remove", "Nope")
    assert unknown.code == 2
    assert (
        unknown.err == "pbx-companion: NAME: no saved connection is called 'Nope' (saved: 'Gone')\n"
    )
    removed = await cli("connections", "remove", "gone")
    assert removed.code == 0
    assert removed.out == "Removed Gone and deleted its key from Secret Service.\n"
    assert await keyring_entry(profile.id) is None
    assert load_settings(settings_path()).settings.connections == ()


async def test_rotate_swaps_a_verified_key_and_keeps_the_old_on_rejection(
    cli: Cli, make_sim: SimFactory
) -> None:
    sim = await make_sim(tls=True)
    old_key = sim.client_secret
    assert (await cli(*add_args(sim), stdin=old_key)).code == 0
    (profile,) = load_settings(settings_path()).settings.connections

    wrong = "Wr0ngKeyWr0ngKey42"
    rejected = await cli("keys", "rotate", "Harbour Dental", "--secret-stdin", stdin=wrong)
    assert rejected.code == 1
    assert "[FAIL] API key accepted" in rejected.out
    assert "the old key stays" in rejected.err and "What to do:" in rejected.err
    assert await keyring_entry(profile.id) == old_key
    assert load_settings(settings_path()).settings.connection(profile.id) == profile
    assert_secret_free(rejected, wrong, old_key)

    new_key = await generate_key(sim)
    rotated = await cli("keys", "rotate", "Harbour Dental", "--secret-stdin", stdin=new_key + "\n")
    assert rotated.code == 0, rotated.err
    assert "Key rotated for Harbour Dental" in rotated.out
    assert "Next: Give the new key to every bridge" in rotated.out
    assert await keyring_entry(profile.id) == new_key
    after = load_settings(settings_path()).settings.connection(profile.id)
    assert after is not None and after.key_rotated_at is not None and profile.key_rotated_at
    assert after.key_rotated_at > profile.key_rotated_at
    assert_secret_free(rotated, new_key, old_key)

    unknown = await cli("keys", "rotate", "Nope", "--secret-stdin", stdin=new_key)
    assert unknown.code == 2 and "NAME: no saved connection is called 'Nope'" in unknown.err


async def test_doctor_reads_the_saved_connection_and_remembers_the_result(
    cli: Cli, make_sim: SimFactory, tmp_path: Path
) -> None:
    sim = await make_sim(tls=True, faults=["retention-deleted=30"])
    assert (
        await cli(*add_args(sim, "Harbour Dental", "--region", "GB"), stdin=sim.client_secret)
    ).code == 0
    report = tmp_path / "report.json"
    done = await cli("doctor", "--connection", "harbour dental", "--json", "--report", str(report))
    assert done.code == 1, done.err  # retention fails (cause 6)
    document = json.loads(done.out)
    assert document["first_failure"] == "retention"
    assert document["pbx"]["region"] == "GB"  # from the profile, not the PBX's AU
    written = json.loads(file_text(report))
    assert written["connection"] == "Harbour Dental"
    assert written["customer"] == "Harbour Dental Pty Ltd"
    (profile,) = load_settings(settings_path()).settings.connections
    assert profile.last_check is not None
    assert profile.last_check.status is CheckStatusSummary.FAIL
    assert profile.last_check.summary.startswith("First failure: 6.")
    assert_secret_free(done, sim.client_secret)
    assert sim.client_secret not in file_text(report)

    listed = await cli("connections", "list")
    assert "fail " in listed.out and "First failure: 6." in listed.out


async def test_doctor_connection_problems_exit_2_with_a_clear_message(
    cli: Cli, make_sim: SimFactory
) -> None:
    unknown = await cli("doctor", "--connection", "Nope")
    assert unknown.code == 2
    assert "--connection: no saved connection is called 'Nope' (none are saved yet)" in unknown.err

    nothing = await cli("doctor")
    assert nothing.code == 2
    assert "give --connection NAME" in nothing.err

    sim = await make_sim(tls=True)
    assert (await cli(*add_args(sim), stdin=sim.client_secret)).code == 0
    mixed = await cli("doctor", "--connection", "Harbour Dental", "--client-id", "901")
    assert mixed.code == 2 and mixed.err.startswith("pbx-companion: --client-id: the saved")

    store = await saved_store()
    (profile,) = store.connections()
    assert store._secrets is not None
    await store._secrets.delete(profile.id)  # the keyring entry went missing
    no_key = await cli("doctor", "--connection", "Harbour Dental")
    assert no_key.code == 2
    assert "no key is stored for Harbour Dental in Secret Service" in no_key.err
    assert "pbx-companion keys rotate 'Harbour Dental' --secret-stdin" in no_key.err


async def test_without_a_keyring_the_commands_say_why(
    make_sim: SimFactory, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """No keyring_backend fixture here: keyring's fail backend stands for "no OS keyring"."""
    sim = await make_sim(tls=True)
    monkeypatch.setattr("sys.stdin", io.StringIO(sim.client_secret))
    code = await asyncio.to_thread(main, add_args(sim))
    err = capsys.readouterr().err
    assert code == 2
    assert "No OS keyring is available" in err
    assert "--secret-env VAR" in err
    assert not file_exists(settings_path())


def test_a_key_typed_at_a_terminal_is_not_echoed(keyring_backend: KeyringBackend) -> None:
    """At a real terminal (a pty), the key is read with echo off: it never shows on screen."""
    key = "TypedKeyTypedKey12345"
    command = [*COMMAND, "connections", "add", "Typed", "--url", "https://pbx.example.com:5001",
               "--client-id", "900", "--secret-stdin", "--no-verify"]  # fmt: skip
    pid, terminal = pty.fork()
    if pid == 0:  # the child: a session leader whose controlling terminal is the pty
        os.execvpe(command[0], command, os.environ)
    screen = b""
    try:
        while b"not shown" not in screen:
            screen += _read_terminal(terminal)
        os.write(terminal, key.encode() + b"\r")
        while chunk := _read_terminal(terminal):
            screen += chunk
    finally:
        _, status = os.waitpid(pid, 0)
        os.close(terminal)
    text = screen.decode(errors="replace")
    assert os.waitstatus_to_exitcode(status) == 0, text
    assert "API key (not shown):" in text and "Saved Typed" in text
    assert key not in text
    (profile,) = load_settings(settings_path()).settings.connections
    assert keyring_backend.get_password("pbx-companion", profile.id) == key


def _read_terminal(terminal: int) -> bytes:
    ready, _, _ = select.select([terminal], [], [], TERMINAL_TIMEOUT_S)
    assert ready, "the command stopped answering"
    try:
        return os.read(terminal, 4096)
    except OSError:  # EIO: the command exited and closed the terminal
        return b""
