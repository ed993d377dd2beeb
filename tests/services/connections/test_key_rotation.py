"""A connection's key lifecycle in a real Secret Service: staged before saving, then rotated.

Rotation proves the new key against the simulator first; the old key stays in the keyring until
then and is put back on any failure. New keys come from the simulator's admin API
(``Pbx.GenerateAppToken``), as an engineer signed in as admin would get them.
"""

from __future__ import annotations

import dataclasses
import shutil
from datetime import timedelta
from pathlib import Path

import pytest
from keyring.backend import KeyringBackend

from app.domain.clock import utc_now
from app.domain.connection import ConnectionProfile
from app.services.connections.store import (
    BRIDGES_REMINDER,
    ConnectionStore,
    ConnectionStoreError,
    InvalidConnectionError,
    KeyRotationRejected,
)
from app.services.settings.file import load_settings, save_settings, settings_path
from app.services.setup.capabilities import CALL_HISTORY, RECORDING_LIST, TOKEN
from app.sim import Simulator
from app.threecx.tls import TlsOptions
from app.threecx.v20.admin import admin_sign_in
from tests.conftest import SimFactory
from tests.services.connections.test_store import (
    file_text,
    keyring_entry,
    make_folder,
    profile,
    sim_profile,
)

pytestmark = pytest.mark.keyring

WRONG = "Wr0ngKeyWr0ngKeyWr0ngKey42"


async def generate_key(sim: Simulator) -> str:
    """A new key for the sim's API client, through its admin API (the old key stops working)."""
    async with await admin_sign_in(
        sim.url, sim.admin_username, sim.admin_password, tls=TlsOptions(ca_file=sim.ca_file)
    ) as admin:
        principal = next(p for p in await admin.service_principals() if p.number == sim.client_id)
        return await admin.generate_app_token(principal.id)


async def signs_in(store: ConnectionStore, connection_id: str) -> bool:
    session = await store.open_session(connection_id)
    try:
        return (await (await session.client()).licence()).active
    finally:
        await session.aclose()


def remove_folder(path: Path) -> None:
    shutil.rmtree(path)


def break_settings_file(path: Path) -> None:
    """A folder where the settings file should be: the next save fails."""
    path.unlink()
    path.mkdir()


@pytest.fixture
def path() -> Path:
    return settings_path()


@pytest.fixture
async def added(
    keyring_backend: KeyringBackend, path: Path, make_sim: SimFactory
) -> tuple[ConnectionStore, ConnectionProfile, Simulator]:
    sim = await make_sim(tls=True)
    store = await ConnectionStore.open(path=path)
    saved = await store.add(sim_profile(sim), sim.client_secret)
    # As if the key was stored long ago (only a rotation changes the date), then reopened.
    old = dataclasses.replace(saved, key_rotated_at=utc_now() - timedelta(days=400))
    save_settings(store.settings.with_connection(old), path)
    store = await ConnectionStore.open(path=path)
    return store, old, sim


class TestRotation:
    async def test_a_rejected_key_leaves_the_old_one_stored_and_working(
        self, added: tuple[ConnectionStore, ConnectionProfile, Simulator], path: Path
    ) -> None:
        store, saved, sim = added
        before = file_text(path)
        with pytest.raises(KeyRotationRejected) as caught:
            await store.rotate_key(saved.id, f"  {WRONG}\n")
        error = caught.value
        assert error.field == "secret"
        assert error.message.startswith(
            "The new key for Simulated was not rotated in; the old key stays."
        )
        assert "(401)" in error.message and WRONG not in error.message
        assert error.report.first_problem is not None
        assert error.report.first_problem.key == TOKEN
        assert await keyring_entry(saved.id) == sim.client_secret
        assert await store.secret(saved.id) == sim.client_secret
        assert store.get(saved.id) == saved
        assert file_text(path) == before
        assert await signs_in(store, saved.id)  # the old key still works
        await store.remove(saved.id)

    async def test_a_verified_key_is_swapped_in_and_dated(
        self, added: tuple[ConnectionStore, ConnectionProfile, Simulator], path: Path
    ) -> None:
        store, saved, sim = added
        old_key = sim.client_secret
        new_key = await generate_key(sim)
        assert new_key != old_key

        rotation = await store.rotate_key(saved.id, new_key)
        assert rotation.report.key_accepted and rotation.report.both_capabilities
        assert rotation.bridges_reminder == BRIDGES_REMINDER
        assert "every bridge" in rotation.bridges_reminder
        assert "cause 7" in rotation.bridges_reminder
        rotated = rotation.profile
        assert saved.key_rotated_at is not None and rotated.key_rotated_at is not None
        assert rotated.key_rotated_at > saved.key_rotated_at + timedelta(days=399)
        assert rotated.version == "20.0.10.1116"
        assert await keyring_entry(saved.id) == new_key
        assert store.get(saved.id) == rotated
        assert load_settings(path).settings.connection(saved.id) == rotated
        text = file_text(path)
        assert new_key not in text and old_key not in text
        assert await signs_in(store, saved.id)
        await store.remove(saved.id)

    async def test_a_key_missing_a_capability_is_not_swapped_in(
        self, added: tuple[ConnectionStore, ConnectionProfile, Simulator]
    ) -> None:
        store, saved, sim = added
        old_key = sim.client_secret
        sim.faults.enable("missing-recording-role")
        new_key = await generate_key(sim)
        with pytest.raises(KeyRotationRejected) as caught:
            await store.rotate_key(saved.id, new_key)
        report = caught.value.report
        assert report.key_accepted and not report.both_capabilities
        assert report.first_problem is not None
        assert report.first_problem.key == RECORDING_LIST
        assert report.check(CALL_HISTORY).ok is True
        assert "Recording Manager" in caught.value.message
        assert await keyring_entry(saved.id) == old_key
        assert store.get(saved.id) == saved
        await store.remove(saved.id)

    async def test_a_failed_save_puts_the_old_key_back(
        self, added: tuple[ConnectionStore, ConnectionProfile, Simulator], path: Path
    ) -> None:
        store, saved, sim = added
        old_key = sim.client_secret
        new_key = await generate_key(sim)
        break_settings_file(path)
        with pytest.raises(ConnectionStoreError, match="Could not write the settings file"):
            await store.rotate_key(saved.id, new_key)
        assert await keyring_entry(saved.id) == old_key
        assert store.get(saved.id) == saved
        remove_folder(path)
        await store.remove(saved.id)

    async def test_the_same_key_or_a_broken_paste_is_refused_before_any_call(
        self, added: tuple[ConnectionStore, ConnectionProfile, Simulator]
    ) -> None:
        store, saved, sim = added
        calls: list[str] = []

        async def never(profile: ConnectionProfile, key: str) -> object:
            calls.append(key)
            raise AssertionError("verification must not run")

        with pytest.raises(ConnectionStoreError, match="already stored for Simulated"):
            await store.rotate_key(saved.id, f" {sim.client_secret} ", verify=never)  # type: ignore[arg-type]
        with pytest.raises(InvalidConnectionError) as caught:
            await store.rotate_key(saved.id, "abc def", verify=never)  # type: ignore[arg-type]
        assert set(caught.value.problems) == {"secret"}
        with pytest.raises(ConnectionStoreError, match="no connection with id"):
            await store.rotate_key("nope", "NewKey12345", verify=never)  # type: ignore[arg-type]
        assert calls == []
        await store.remove(saved.id)


class TestStagedKeys:
    async def test_a_staged_key_is_in_the_keyring_before_the_profile_is_saved(
        self, keyring_backend: KeyringBackend, path: Path
    ) -> None:
        store = await ConnectionStore.open(path=path)
        draft = profile("Staged")
        await store.stage_key(draft.id, "\u200b StagedKey-123abc \n")
        assert await keyring_entry(draft.id) == "StagedKey-123abc"
        assert await store.staged_key(draft.id) == "StagedKey-123abc"
        assert store.connections() == ()

        await store.stage_key(draft.id, "StagedKey-456def")  # pasted again: replaces it
        saved = await store.add(draft, None)
        assert saved.key_rotated_at is not None
        assert await store.secret(saved.id) == "StagedKey-456def"
        assert await store.staged_key(saved.id) is None  # no longer staged: it is saved
        assert "StagedKey" not in file_text(path)
        with pytest.raises(ConnectionStoreError, match="rotate its key instead"):
            await store.stage_key(saved.id, "Another-Key-789")
        await store.remove(saved.id)

    async def test_a_discarded_key_leaves_nothing_behind(
        self, keyring_backend: KeyringBackend, path: Path
    ) -> None:
        store = await ConnectionStore.open(path=path)
        await store.stage_key("draft-1", "StagedKey-123abc")
        await store.discard_staged_key("draft-1")
        assert await keyring_entry("draft-1") is None
        assert await store.staged_key("draft-1") is None
        await store.discard_staged_key("draft-1")  # twice is fine
        with pytest.raises(ConnectionStoreError) as caught:
            await store.add(profile("Draft", id="draft-1"), None)
        assert caught.value.field == "secret"
        assert caught.value.message.startswith("No API key was pasted for this connection")

    async def test_a_key_left_by_an_unfinished_setup_is_swept_at_the_next_start(
        self, keyring_backend: KeyringBackend, path: Path
    ) -> None:
        store = await ConnectionStore.open(path=path)
        kept = await store.add(profile("Kept"), "KeptKey-123abc")
        await store.stage_key("draft-crash", "StagedKey-123abc")
        journal = path.with_name("staged-keys.json")
        assert "draft-crash" in journal.read_text() and "StagedKey" not in journal.read_text()
        # The app dies here: no add, no discard. The next start removes the orphan only.
        again = await ConnectionStore.open(path=path)
        assert await keyring_entry("draft-crash") is None
        assert await again.secret(kept.id) == "KeptKey-123abc"
        assert not journal.exists()
        await again.remove(kept.id)

    async def test_a_broken_paste_is_named_and_nothing_is_stored(
        self, keyring_backend: KeyringBackend, path: Path
    ) -> None:
        store = await ConnectionStore.open(path=path)
        with pytest.raises(ConnectionStoreError) as caught:
            await store.stage_key("draft-2", "Staged Key")
        assert caught.value.field == "secret"
        assert "space or line break inside it" in caught.value.message
        assert await keyring_entry("draft-2") is None

    async def test_a_failed_save_keeps_the_staged_key_for_another_try(
        self, keyring_backend: KeyringBackend, path: Path
    ) -> None:
        store = await ConnectionStore.open(path=path)
        draft = profile("Retry")
        await store.stage_key(draft.id, "StagedKey-123abc")
        make_folder(path)
        with pytest.raises(ConnectionStoreError, match="Could not write the settings file"):
            await store.add(draft, None)
        assert await store.staged_key(draft.id) == "StagedKey-123abc"
        remove_folder(path)
        saved = await store.add(draft, None)
        assert await keyring_entry(saved.id) == "StagedKey-123abc"
        await store.remove(saved.id)
