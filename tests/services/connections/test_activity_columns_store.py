"""The CRM activity mapping kept with a connection: saved and loaded with the profile, kept
when the connection is edited, and an older settings file without it still loads."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest

from app.domain.activity_columns import ActivityColumns
from app.domain.connection import ConnectionProfile
from app.services.connections.secrets import KeyringStatus
from app.services.connections.store import ConnectionStore
from app.services.settings.file import (
    SCHEMA_VERSION,
    Settings,
    encode_settings,
    load_settings,
    save_settings,
    settings_path,
)

MAPPED = ActivityColumns(time="Started", phone="Customer number", call_id="Ref", day_first=True)
NO_KEYRING = KeyringStatus(False, "", "no keyring in this test")


def harbour(**changes: Any) -> ConnectionProfile:
    fields: dict[str, Any] = {
        "id": "c1",
        "name": "Harbour Dental",
        "url": "https://pbx.harbourdental.com.au:5001",
        "client_id": "901",
    }
    fields.update(changes)
    return ConnectionProfile(**fields)


@pytest.fixture
def path() -> Path:
    return settings_path()


def store_at(path: Path) -> ConnectionStore:
    return ConnectionStore(load_settings(path), None, NO_KEYRING, path=path)


def test_the_mapping_is_saved_and_loaded_with_the_profile(path: Path) -> None:
    save_settings(Settings(connections=(harbour(activity_columns=MAPPED),)), path)
    saved = json.loads(path.read_text(encoding="utf-8"))["connections"][0]["activity_columns"]
    assert saved["phone"] == "Customer number" and saved["day_first"] is True
    loaded = load_settings(path)
    assert not loaded.problems
    assert loaded.settings.connections[0].activity_columns == MAPPED


@pytest.mark.parametrize("schema", [1, SCHEMA_VERSION])
def test_a_settings_file_from_before_the_mapping_loads_with_detection(
    path: Path, schema: int
) -> None:
    body = encode_settings(Settings(connections=(harbour(),)))
    entry = body["connections"][0]
    del entry["activity_columns"]  # as an app before Reconcile wrote it
    if schema == 1:
        del entry["business_hours"]  # schema 1 had no hours; the migration adds them
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({**body, "schema": schema}), encoding="utf-8")
    loaded = load_settings(path)
    assert not loaded.problems
    [profile] = loaded.settings.connections
    assert profile.name == "Harbour Dental" and profile.activity_columns is None


@pytest.mark.expect_log(
    "app.services.settings.file", r"Connection 'Harbour Dental' \(entry 1\) was left out"
)
def test_a_mapping_that_cannot_be_read_names_the_field(path: Path) -> None:
    body = encode_settings(Settings(connections=(harbour(),)))
    body["connections"][0]["activity_columns"] = {"phone": 7}
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(body), encoding="utf-8")
    loaded = load_settings(path)
    assert loaded.settings.connections == ()
    assert any("activity_columns.phone" in p.message for p in loaded.problems)


async def test_the_store_remembers_the_mapping_and_an_edit_keeps_it(path: Path) -> None:
    await asyncio.to_thread(save_settings, Settings(connections=(harbour(),)), path)
    store = store_at(path)
    kept = await store.remember_activity_columns("c1", MAPPED)
    assert kept.activity_columns == MAPPED
    # Another start of the app reads it back from the file.
    assert store_at(path).get("c1") == kept
    # The connection dialog does not edit the mapping: saving an edit keeps it.
    renamed = await store.update(harbour(name="Harbour Dental (Sydney)"), None)
    assert renamed.activity_columns == MAPPED
    assert store_at(path).get("c1") == renamed
    # None goes back to detection, for good.
    await store.remember_activity_columns("c1", None)
    reloaded = store_at(path).get("c1")
    assert reloaded is not None and reloaded.activity_columns is None
