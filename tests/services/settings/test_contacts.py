"""The customer's bridge in the settings file: kept with the connection, optional, named if bad."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.domain.bridge import Bridge, ContactStore, NumberMatch
from app.services.settings.file import (
    SCHEMA_VERSION,
    Settings,
    load_settings,
    save_settings,
    settings_path,
)
from tests.services.settings.test_file import file_text, full_profile, good_entry, write_json


@pytest.fixture
def path() -> Path:
    return settings_path()


@pytest.mark.parametrize("match", list(NumberMatch))
def test_the_bridge_is_saved_with_the_connection(path: Path, match: NumberMatch) -> None:
    profile = full_profile(bridge=Bridge.for_match(match))
    save_settings(Settings(connections=(profile,)), path)
    assert f'"match": "{match.value}"' in file_text(path)
    loaded = load_settings(path)
    assert loaded.problems == ()
    assert loaded.settings.connections == (profile,)


def test_a_file_from_before_the_bridge_reads_as_the_field_docs_bridge(path: Path) -> None:
    entry = good_entry("Older", "o1")
    del entry["bridge"]
    write_json(path, {"schema": SCHEMA_VERSION, "connections": [entry]})
    loaded = load_settings(path)
    assert loaded.problems == ()
    (profile,) = loaded.settings.connections
    assert profile.bridge == Bridge(NumberMatch.E164, ContactStore.CRM)


@pytest.mark.expect_log(
    "app.services.settings.file",
    r": Connection 'Fuzzy Dental' \(entry 1\) was left out: bridge\.match 'fuzzy'",
)
def test_a_bad_bridge_is_named_and_the_other_connections_load(path: Path) -> None:
    bad = good_entry("Fuzzy Dental", "b1")
    bad["bridge"] = {"match": "fuzzy"}
    write_json(path, {"schema": SCHEMA_VERSION, "connections": [bad, good_entry("Good", "g1")]})
    loaded = load_settings(path)
    assert [c.name for c in loaded.settings.connections] == ["Good"]
    assert any(
        "'Fuzzy Dental'" in p.message and "bridge.match 'fuzzy' is not one of" in p.message
        for p in loaded.problems
    )
