"""ConnectionStore: profiles in the settings file, keys in a real Secret Service (or memory)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from keyring.backend import KeyringBackend

from app.domain.clock import utc_now
from app.domain.connection import CheckStatusSummary, ConnectionProfile, LastCheck
from app.services.connections.secrets import SERVICE
from app.services.connections.store import (
    ConnectionStore,
    ConnectionStoreError,
    InvalidConnectionError,
    check_profile,
)
from app.services.settings.file import load_settings, settings_path
from app.sim import Simulator
from tests.conftest import SimFactory
from tests.support.secret_service import SecretServiceBus
from tests.support.system_tools import require_programs

KEY = "Zk3q8wX1vN0tPa9Lr2Qm7Yc4"


async def secret_tool(*args: str) -> tuple[int, str]:
    require_programs("secret-tool", packages="libsecret-tools", purpose="Keyring tests")
    process = await asyncio.create_subprocess_exec(
        "secret-tool",
        *args,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL,
    )
    output, _ = await process.communicate()
    return process.returncode or 0, output.decode()


async def keyring_entry(connection_id: str) -> str | None:
    code, output = await secret_tool("lookup", "service", SERVICE, "username", connection_id)
    return output if code == 0 and output else None


def profile(name: str = "Harbour Dental", **changes: object) -> ConnectionProfile:
    fields: dict[str, object] = {
        "id": f"id-{name.lower().replace(' ', '-')}",
        "name": name,
        "url": "https://pbx.harbourdental.com.au:5001/#/office/dashboard",
        "client_id": "900",
        "customer": "Harbour Dental Pty Ltd",
    }
    fields.update(changes)
    return ConnectionProfile(**fields)  # type: ignore[arg-type]


def sim_profile(sim: Simulator, name: str = "Simulated") -> ConnectionProfile:
    return profile(name, url=sim.url, client_id=sim.client_id, ca_file=sim.ca_file)


# Small file helpers: the tests' own file access is instant, but async code must not call
# pathlib directly (ruff ASYNC240).
def file_text(path: Path) -> str:
    return path.read_text(encoding="utf-8")


def file_exists(path: Path) -> bool:
    return path.exists()


def make_folder(path: Path) -> None:
    path.mkdir(parents=True)


def write_text(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


@pytest.fixture
def path() -> Path:
    return settings_path()


@pytest.mark.keyring
class TestWithSecretService:
    async def test_add_keeps_the_key_in_the_keyring_and_the_rest_in_the_file(
        self, keyring_backend: KeyringBackend, path: Path
    ) -> None:
        store = await ConnectionStore.open(path=path)
        assert store.keyring_status.available
        assert store.key_backend == "Secret Service"
        assert not store.session_only

        saved = await store.add(profile(), KEY)
        assert saved.url == "https://pbx.harbourdental.com.au:5001"
        assert saved.key_rotated_at is not None
        assert await keyring_entry(saved.id) == KEY
        assert await store.secret(saved.id) == KEY
        text = file_text(path)
        assert KEY not in text
        assert load_settings(path).settings.connections == (saved,)
        await store.remove(saved.id)

    async def test_update_without_a_key_keeps_it_and_with_one_replaces_it(
        self, keyring_backend: KeyringBackend, path: Path
    ) -> None:
        store = await ConnectionStore.open(path=path)
        saved = await store.add(profile(), KEY)
        check = LastCheck(CheckStatusSummary.PASS, utc_now(), "All seven checks passed")
        await store.record_check(saved.id, check, version="20.0.10.1116", hosting="self-hosted")

        renamed = await store.update(
            ConnectionProfile(
                id=saved.id,
                name="Harbour Dental (Sydney)",
                url=saved.url,
                client_id=" 901 ",
                region="au",
            ),
            None,
        )
        assert (renamed.name, renamed.client_id, renamed.region) == (
            "Harbour Dental (Sydney)",
            "901",
            "AU",
        )
        # What the engineer does not edit stays as the store has it.
        assert renamed.last_check == check
        assert renamed.version == "20.0.10.1116"
        assert renamed.key_rotated_at == saved.key_rotated_at
        assert await keyring_entry(saved.id) == KEY

        rotated = await store.update(renamed, "\n NewKey-42abc \n")
        assert await keyring_entry(saved.id) == "NewKey-42abc"
        assert rotated.key_rotated_at is not None and saved.key_rotated_at is not None
        assert rotated.key_rotated_at >= saved.key_rotated_at

        moved = await store.update(
            rotated.__class__(**{**rotated.__dict__, "url": "pbx2.harbourdental.com.au"}), None
        )
        assert moved.url == "https://pbx2.harbourdental.com.au"
        assert moved.last_check is None and moved.version is None
        await store.remove(saved.id)

    async def test_remove_deletes_the_keyring_entry(
        self, keyring_backend: KeyringBackend, path: Path
    ) -> None:
        store = await ConnectionStore.open(path=path)
        kept = await store.add(profile("Kept"), KEY)
        gone = await store.add(profile("Gone"), KEY + "x")
        await store.set_preferences(last_connection_id=gone.id)
        await store.remove(gone.id)
        assert await keyring_entry(gone.id) is None
        assert await keyring_entry(kept.id) == KEY
        assert [c.id for c in store.connections()] == [kept.id]
        reloaded = load_settings(path).settings
        assert [c.id for c in reloaded.connections] == [kept.id]
        assert reloaded.last_connection_id is None
        await store.remove(kept.id)

    async def test_a_restarted_store_finds_the_connection_and_its_key(
        self, keyring_backend: KeyringBackend, path: Path
    ) -> None:
        first = await ConnectionStore.open(path=path)
        saved = await first.add(profile(), KEY)
        second = await ConnectionStore.open(path=path)
        assert second.get(saved.id) == saved
        assert await second.secret(saved.id) == KEY
        await second.remove(saved.id)

    async def test_open_session_signs_in_to_the_pbx(
        self, keyring_backend: KeyringBackend, path: Path, make_sim: SimFactory
    ) -> None:
        sim = await make_sim(tls=True)
        store = await ConnectionStore.open(path=path)
        saved = await store.add(sim_profile(sim), f"  {sim.client_secret}\r\n")
        session = await store.open_session(saved.id, poll_interval_s=0.5)
        try:
            client = await session.client()
            assert (await client.licence()).active
        finally:
            await session.aclose()
        await store.remove(saved.id)

    async def test_a_keyring_failure_saves_nothing(
        self,
        keyring_backend: KeyringBackend,
        secret_service: SecretServiceBus,
        path: Path,
        monkeypatch: pytest.MonkeyPatch,
    ) -> None:
        store = await ConnectionStore.open(path=path)
        monkeypatch.setenv("DBUS_SESSION_BUS_ADDRESS", f"unix:path={secret_service.root}/gone")
        with pytest.raises(ConnectionStoreError) as caught:
            await store.add(profile(), KEY)
        assert caught.value.field == "secret"
        assert "Could not save the key" in caught.value.message
        assert KEY not in caught.value.message
        assert store.connections() == ()
        assert not file_exists(path)

    async def test_a_settings_write_failure_takes_the_new_key_back_out(
        self, keyring_backend: KeyringBackend, path: Path
    ) -> None:
        store = await ConnectionStore.open(path=path)
        make_folder(path)  # a folder where the file should be: the write fails
        with pytest.raises(ConnectionStoreError, match="Could not write the settings file"):
            await store.add(profile(), KEY)
        assert await keyring_entry(profile().id) is None
        assert store.connections() == ()


class TestWithoutAKeyring:
    """The default test backend is keyring's fail backend: no OS keyring works."""

    @pytest.mark.expect_log("app.services.connections.key_vault", r"^No OS keyring: ")
    async def test_status_says_why_and_adding_a_key_is_refused(self, path: Path) -> None:
        store = await ConnectionStore.open(path=path)
        status = store.keyring_status
        assert status.available is False
        assert "keyring found no usable backend" in status.reason
        assert store.key_backend is None
        with pytest.raises(ConnectionStoreError) as caught:
            await store.add(profile(), KEY)
        assert caught.value.field == "secret"
        assert "Hold keys in memory for this session" in caught.value.message
        assert store.connections() == ()
        assert not file_exists(path)

    @pytest.mark.expect_log("app.services.connections.key_vault", r"^No OS keyring: ")
    async def test_session_only_keys_work_until_the_app_quits(
        self, path: Path, make_sim: SimFactory
    ) -> None:
        sim = await make_sim(tls=True)
        store = await ConnectionStore.open(path=path)
        store.use_session_only()
        assert store.session_only
        assert store.key_backend == "memory (this session only)"
        saved = await store.add(sim_profile(sim), sim.client_secret)
        session = await store.open_session(saved.id)
        try:
            assert (await (await session.client()).licence()).active
        finally:
            await session.aclose()
        assert sim.client_secret not in file_text(path)

        # After a restart the connection is there, its key is not.
        restarted = await ConnectionStore.open(path=path)
        with pytest.raises(ConnectionStoreError, match="No key for Simulated: No OS keyring"):
            await restarted.open_session(saved.id)
        restarted.use_session_only()
        with pytest.raises(ConnectionStoreError) as caught:
            await restarted.open_session(saved.id)
        assert caught.value.message == (
            "No key stored for Simulated: edit the connection and paste the key."
        )

    @pytest.mark.expect_log("app.services.connections.key_vault", r"^No OS keyring: ")
    async def test_pasted_key_is_trimmed_and_a_broken_paste_is_named(self, path: Path) -> None:
        store = await ConnectionStore.open(path=path)
        store.use_session_only()
        saved = await store.add(profile(), f"\u200b\n\t {KEY} \r\n")
        assert await store.secret(saved.id) == KEY
        with pytest.raises(InvalidConnectionError) as caught:
            await store.add(profile("Other"), "Zk3q8wX1 vN0tPa9")
        assert set(caught.value.problems) == {"secret"}
        assert "space or line break inside it" in caught.value.problems["secret"]
        assert "API key:" in caught.value.message
        assert "Zk3q8wX1" not in caught.value.message

    @pytest.mark.expect_log("app.services.connections.key_vault", r"^No OS keyring: ")
    async def test_bad_fields_are_each_named_and_nothing_is_saved(self, path: Path) -> None:
        store = await ConnectionStore.open(path=path)
        store.use_session_only()
        await store.add(profile("Harbour Dental"), KEY)
        bad = profile(
            " harbour dental ",
            id="other",
            url="ftp://pbx.example.com",
            client_id="  ",
            region="Australia",
            pin_sha256="not-a-pin",
            ca_file="/no/such/ca.pem",
            did_sources={"+61 2 9000 1234": "", "call us": "Ads"},
        )
        with pytest.raises(InvalidConnectionError) as caught:
            await store.add(bad, KEY)
        problems = caught.value.problems
        assert problems["name"] == "Another connection is already called 'harbour dental'."
        assert problems["url"] == "The PBX address must start with https:// (got ftp://)."
        assert problems["client_id"].startswith("The Client ID is empty")
        assert problems["region"].startswith("'Australia' is not a region code")
        assert "64 hexadecimal digits" in problems["pin_sha256"]
        assert problems["ca_file"] == "The CA file /no/such/ca.pem does not exist or is not a file."
        assert problems["did_sources"] == "DID +61 2 9000 1234 has no source list."
        assert [c.name for c in store.connections()] == ["Harbour Dental"]
        assert await store.secret("other") is None

        with pytest.raises(InvalidConnectionError) as empty:
            await store.add(profile("", id="x2", url="   "), KEY)
        assert empty.value.problems["name"].startswith("Give the connection a name")
        assert empty.value.problems["url"].startswith("The PBX address is empty")

    def test_check_profile_tidies_what_was_pasted(self) -> None:
        checked, problems = check_profile(
            profile(
                "  Harbour  ",
                url=" HTTPS://PBX.Example.COM:443/#/office ",
                region=" gb ",
                pin_sha256="AB:" * 31 + "AB",
                did_sources={" +61 2 9000 1234 ": " Google Ads "},
            )
        )
        assert problems == {}
        assert checked.name == "Harbour"
        assert checked.url == "https://pbx.example.com"
        assert checked.region == "GB"
        assert checked.pin_sha256 == "ab" * 32
        assert checked.did_sources == {"+61 2 9000 1234": "Google Ads"}

    @pytest.mark.expect_log("app.services.connections.key_vault", r"^No OS keyring: ")
    async def test_demo_connection_is_listed_but_never_saved(self, path: Path) -> None:
        store = await ConnectionStore.open(path=path)
        store.use_session_only()
        demo = profile("Demo PBX", id="demo", demo=True)
        store.add_demo(demo, "demo-secret")
        saved = await store.add(profile(), KEY)
        assert [c.id for c in store.connections()] == [saved.id, "demo"]
        assert await store.secret("demo") == "demo-secret"
        check = LastCheck(CheckStatusSummary.FAIL, utc_now(), "First failure: 1. Licence")
        assert (await store.record_check("demo", check)).last_check == check
        with pytest.raises(ConnectionStoreError, match="demo connection cannot be edited"):
            await store.update(demo, None)
        assert "Demo PBX" not in file_text(path)
        await store.remove("demo")
        assert [c.id for c in store.connections()] == [saved.id]

    @pytest.mark.expect_log("app.services.connections.key_vault", r"^No OS keyring: ")
    async def test_preferences_are_checked_and_saved(self, path: Path) -> None:
        store = await ConnectionStore.open(path=path)
        await store.set_preferences(presenter_mode=True, engineer_name="Sam")
        assert load_settings(path).settings.presenter_mode is True
        with pytest.raises(ConnectionStoreError, match="Unknown setting: colour"):
            await store.set_preferences(colour="blue")
        with pytest.raises(ConnectionStoreError, match="key_age_warning_days"):
            await store.set_preferences(key_age_warning_days=0)
        assert load_settings(path).settings.engineer_name == "Sam"

    @pytest.mark.expect_log("app.services.connections.key_vault", r"^No OS keyring: ")
    @pytest.mark.expect_log("app.services.settings.file", r"has schema 99 \(newer than 2\)$")
    async def test_a_newer_settings_file_is_never_changed(self, path: Path) -> None:
        write_text(path, '{"schema": 99}')
        store = await ConnectionStore.open(path=path)
        store.use_session_only()
        assert not store.writable
        assert "newer PBX Companion" in store.problems[0].message
        with pytest.raises(ConnectionStoreError, match="cannot be added this session") as caught:
            await store.add(profile(), KEY)
        assert caught.value.field == "settings"
        # Preferences still change for this session, in memory only.
        await store.set_preferences(presenter_mode=True)
        assert store.settings.presenter_mode is True
        assert file_text(path) == '{"schema": 99}'
