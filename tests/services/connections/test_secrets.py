"""The secret store against a real Secret Service (gnome-keyring on a private D-Bus bus)."""

from __future__ import annotations

import asyncio
import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import keyring.backends.fail
import keyring.backends.null
import keyring.backends.SecretService
import pytest
from keyring.backend import KeyringBackend
from keyring.backends.chainer import ChainerBackend
from keyring.compat import properties
from keyring.errors import PasswordSetError

from app.services.connections.secrets import (
    SERVICE,
    KeyringSecretStore,
    KeyringUnavailableError,
    SecretStore,
    SecretStoreError,
    SessionSecretStore,
    keyring_status,
    normalise_pasted_key,
)
from tests.support.secret_service import SecretServiceBus
from tests.support.system_tools import require_programs

SECRET = "k3y-Zq8wX1vN0tPa9Lr2"


class FileLikeKeyring(KeyringBackend):
    """Stands in for keyrings.alt's file backends: not an OS keyring, so it must be refused."""

    @properties.classproperty
    def priority(cls) -> float:
        # Never viable, so keyring's own backend discovery never picks it in this process.
        raise RuntimeError("test double")

    def get_password(self, service: str, username: str) -> str | None:
        raise AssertionError("a refused backend must never be called")

    def set_password(self, service: str, username: str, password: str) -> None:
        raise AssertionError("a refused backend must never be called")

    def delete_password(self, service: str, username: str) -> None:
        raise AssertionError("a refused backend must never be called")


def connection_id() -> str:
    return f"conn-{uuid.uuid4().hex[:12]}"


async def secret_tool(*args: str) -> tuple[int, str]:
    require_programs("secret-tool", packages="libsecret-tools", purpose="Keyring tests")
    process = await asyncio.create_subprocess_exec(
        "secret-tool",
        *args,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    output, _ = await process.communicate()
    return process.returncode or 0, output.decode()


@contextmanager
def chain_of(*backends: KeyringBackend) -> Iterator[ChainerBackend]:
    """A keyring chain over exactly these backends.

    Not monkeypatch: it reads the old value through the class property, which would run
    keyring's backend discovery against the developer's real session bus.
    """
    original = vars(ChainerBackend)["backends"]
    ChainerBackend.backends = list(backends)
    try:
        yield ChainerBackend()
    finally:
        ChainerBackend.backends = original


@pytest.fixture
def fail_keyring() -> Iterator[None]:
    # The root conftest already forces keyring's fail backend; say so explicitly here.
    previous = keyring.get_keyring()
    keyring.set_keyring(keyring.backends.fail.Keyring())
    yield
    keyring.set_keyring(previous)


@pytest.mark.keyring
class TestKeyringSecretStore:
    async def test_round_trip(self, keyring_backend: KeyringBackend) -> None:
        store = await KeyringSecretStore.open()
        conn = connection_id()
        assert store.backend_name == "Secret Service"
        assert store.persistent is True

        await store.set(conn, SECRET)
        assert await store.get(conn) == SECRET
        await store.delete(conn)
        assert await store.get(conn) is None

    async def test_entry_is_under_the_pbx_companion_service(
        self, keyring_backend: KeyringBackend
    ) -> None:
        store = await KeyringSecretStore.open()
        conn = connection_id()
        await store.set(conn, SECRET)

        code, output = await secret_tool("lookup", "service", SERVICE, "username", conn)
        assert (code, output) == (0, SECRET)
        code, output = await secret_tool("search", "--all", "service", SERVICE, "username", conn)
        assert code == 0
        assert f"label = Password for '{conn}' on 'pbx-companion'" in output
        await store.delete(conn)

    async def test_reads_an_entry_written_by_another_secret_service_client(
        self, keyring_backend: KeyringBackend
    ) -> None:
        conn = connection_id()
        process = await asyncio.create_subprocess_exec(
            "secret-tool",
            "store",
            "--label=written by secret-tool",
            "service",
            SERVICE,
            "username",
            conn,
            stdin=asyncio.subprocess.PIPE,
        )
        await process.communicate(SECRET.encode())
        assert process.returncode == 0

        store = await KeyringSecretStore.open()
        assert await store.get(conn) == SECRET
        await store.delete(conn)
        assert await secret_tool("lookup", "service", SERVICE, "username", conn) == (1, "")

    async def test_overwrite_keeps_one_entry(self, keyring_backend: KeyringBackend) -> None:
        store = await KeyringSecretStore.open()
        conn = connection_id()
        await store.set(conn, "first-key")
        await store.set(conn, SECRET)

        assert await store.get(conn) == SECRET
        _, output = await secret_tool("search", "--all", "service", SERVICE, "username", conn)
        assert output.count("secret = ") == 1
        await store.delete(conn)

    async def test_one_entry_per_connection(self, keyring_backend: KeyringBackend) -> None:
        store = await KeyringSecretStore.open()
        first, second = connection_id(), connection_id()
        await store.set(first, "key-for-first")
        await store.set(second, "key-for-second")
        await store.delete(first)

        assert await store.get(first) is None
        assert await store.get(second) == "key-for-second"
        await store.delete(second)

    async def test_missing_entry_reads_as_none_and_deletes_quietly(
        self, keyring_backend: KeyringBackend
    ) -> None:
        store = await KeyringSecretStore.open()
        conn = connection_id()
        assert await store.get(conn) is None
        await store.delete(conn)

    async def test_status_reports_the_secret_service(self, keyring_backend: KeyringBackend) -> None:
        status = await asyncio.to_thread(keyring_status)
        assert status.available is True
        assert status.backend_name == "Secret Service"

    async def test_chain_uses_only_the_os_keyring(self, keyring_backend: KeyringBackend) -> None:
        with chain_of(FileLikeKeyring(), keyring_backend) as chain:
            store = await KeyringSecretStore.open(chain)
        conn = connection_id()
        await store.set(conn, SECRET)
        assert await store.get(conn) == SECRET
        await store.delete(conn)

    async def test_backend_error_never_carries_the_secret(
        self, keyring_backend: KeyringBackend, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        def leaky_set(service: str, username: str, password: str) -> None:
            raise PasswordSetError(f"could not store {password!r} for {username}")

        store = await KeyringSecretStore.open()
        monkeypatch.setattr(keyring_backend, "set_password", leaky_set)
        conn = connection_id()
        with pytest.raises(SecretStoreError) as caught:
            await store.set(conn, SECRET)

        message = str(caught.value)
        assert SECRET not in message
        assert conn in message
        assert "Secret Service" in message
        # The backend's own exception, which does hold the key, is not chained for tracebacks.
        assert caught.value.__cause__ is None
        assert caught.value.__context__ is None

    async def test_unreachable_secret_service_is_a_clear_error(
        self,
        keyring_backend: KeyringBackend,
        secret_service: SecretServiceBus,
        monkeypatch: pytest.MonkeyPatch,
    ) -> None:
        store = await KeyringSecretStore.open()
        dead_socket = secret_service.root / "no-such-bus"
        monkeypatch.setenv("DBUS_SESSION_BUS_ADDRESS", f"unix:path={dead_socket}")
        conn = connection_id()
        with pytest.raises(SecretStoreError) as caught:
            await store.set(conn, SECRET)

        message = str(caught.value)
        assert SECRET not in message
        assert message.startswith(f"Could not save the key for connection {conn!r}")
        assert "running and unlocked" in message

    async def test_reprs_never_show_the_secret(self, keyring_backend: KeyringBackend) -> None:
        store = await KeyringSecretStore.open()
        conn = connection_id()
        await store.set(conn, SECRET)
        status = await asyncio.to_thread(keyring_status)
        assert SECRET not in repr(store)
        assert SECRET not in repr(status)
        await store.delete(conn)


class TestRefusedBackends:
    @pytest.mark.parametrize(
        "backend",
        [keyring.backends.fail.Keyring(), keyring.backends.null.Keyring(), FileLikeKeyring()],
        ids=["fail", "null", "file"],
    )
    def test_status_is_unavailable_with_advice(self, backend: KeyringBackend) -> None:
        status = keyring_status(backend)
        assert status.available is False
        assert status.reason.startswith("No OS keyring is available")
        assert status.reason.endswith("keys can be held in memory for this session only")

    @pytest.mark.parametrize(
        ("platform", "advice"),
        [
            ("linux", "on Linux install and unlock gnome-keyring or KWallet"),
            ("darwin", "on macOS unlock the login Keychain"),
            ("win32", "on Windows make sure Credential Manager is available"),
        ],
    )
    def test_reason_says_what_to_do_on_each_platform(
        self, platform: str, advice: str, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setattr(sys, "platform", platform)
        assert advice in keyring_status(keyring.backends.fail.Keyring()).reason

    def test_unreachable_secret_service_is_unavailable(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setenv("DBUS_SESSION_BUS_ADDRESS", f"unix:path={tmp_path / 'no-bus'}")
        status = keyring_status(keyring.backends.SecretService.Keyring())
        assert status.available is False
        assert status.backend_name == "Secret Service"
        assert "Secret Service cannot be used" in status.reason

    @pytest.mark.usefixtures("fail_keyring")
    def test_forced_fail_backend_is_reported(self) -> None:
        status = keyring_status()
        assert status.available is False
        assert status.backend_name == "keyring.backends.fail.Keyring"
        assert "keyring found no usable backend" in status.reason

    @pytest.mark.usefixtures("fail_keyring")
    async def test_open_refuses_with_the_status(self) -> None:
        with pytest.raises(KeyringUnavailableError) as caught:
            await KeyringSecretStore.open()
        assert caught.value.status.available is False
        assert str(caught.value) == caught.value.status.reason

    def test_constructor_refuses_a_file_backend(self) -> None:
        with pytest.raises(KeyringUnavailableError, match="No OS keyring is available"):
            KeyringSecretStore(FileLikeKeyring())

    def test_chain_of_refused_backends_is_unavailable(self) -> None:
        with chain_of(FileLikeKeyring()) as chain:
            status = keyring_status(chain)
        assert status.available is False
        assert "FileLikeKeyring" in status.reason


class TestSessionSecretStore:
    async def test_round_trip(self) -> None:
        store: SecretStore = SessionSecretStore()
        assert store.persistent is False
        assert "this session only" in store.backend_name

        await store.set("conn-1", SECRET)
        await store.set("conn-2", "other-key")
        assert await store.get("conn-1") == SECRET
        await store.set("conn-1", "replaced-key")
        assert await store.get("conn-1") == "replaced-key"
        await store.delete("conn-1")
        await store.delete("conn-1")
        assert await store.get("conn-1") is None
        assert await store.get("conn-2") == "other-key"

    async def test_repr_never_shows_the_secret(self) -> None:
        store = SessionSecretStore()
        await store.set("conn-1", SECRET)
        assert SECRET not in repr(store)
        assert repr(store) == "SessionSecretStore(entries=1)"

    async def test_rejects_empty_key_and_bad_connection_id(self) -> None:
        store = SessionSecretStore()
        with pytest.raises(ValueError, match="empty"):
            await store.set("conn-1", "")
        with pytest.raises(ValueError, match="connection id"):
            await store.set(" ", SECRET)


class TestNormalisePastedKey:
    @pytest.mark.parametrize(
        ("pasted", "expected"),
        [
            (SECRET, SECRET),
            (f"  {SECRET}\n", SECRET),
            (f"\t{SECRET}\r\n", SECRET),
            (f"\u00a0{SECRET}\u00a0", SECRET),
            (f"\ufeff{SECRET}\u200b", SECRET),
            (f"{SECRET[:5]}\u200b{SECRET[5:]}", SECRET),
            (f"{SECRET[:5]}\u00ad{SECRET[5:]}\u2060", SECRET),
        ],
        ids=["clean", "spaces-newline", "tab-crlf", "nbsp", "bom-zwsp", "inner-zwsp", "shy"],
    )
    def test_cleans_what_a_paste_picks_up(self, pasted: str, expected: str) -> None:
        assert normalise_pasted_key(pasted) == expected

    @pytest.mark.parametrize("pasted", ["", "   ", "\n\t", "\u200b\ufeff"])
    def test_empty_is_rejected(self, pasted: str) -> None:
        with pytest.raises(ValueError, match="The API key is empty"):
            normalise_pasted_key(pasted)

    @pytest.mark.parametrize(
        ("pasted", "problem", "where"),
        [
            ("k3y-Zq8w X1vN0tPa9", "space or line break inside it", "character 9 of 18"),
            ("k3y-Zq8w\nX1vN0tPa9", "space or line break inside it", "character 9 of 18"),
            ("k3y-Zq8w\u00a0X1vN0tPa9", "space or line break inside it", "character 9 of 18"),
            ("k3y-Zq8w\x00X1vN0tPa9", "invisible control character", "character 9 of 18"),
            ("k3y-Zq8w\x1bX1vN0tPa9", "invisible control character", "character 9 of 18"),
        ],
        ids=["space", "newline", "nbsp", "nul", "escape"],
    )
    def test_inner_problem_is_named_without_echoing_the_key(
        self, pasted: str, problem: str, where: str
    ) -> None:
        with pytest.raises(ValueError) as caught:
            normalise_pasted_key(pasted)
        message = str(caught.value)
        assert problem in message
        assert where in message
        assert "k3y" not in message
        assert "X1vN" not in message
