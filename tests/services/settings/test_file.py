"""The settings file: round trip, atomic writes, and every way a bad file is reported, not lost."""

from __future__ import annotations

import json
import re
from datetime import UTC, date, datetime, time, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from app.domain.business_hours import END_OF_DAY, BusinessHours, Holiday, HoursSource, Period
from app.domain.connection import (
    CheckStatusSummary,
    ConnectionProfile,
    ContactColumns,
    LastCheck,
)
from app.services import paths
from app.services.connections.store import ConnectionStore
from app.services.settings.file import (
    SCHEMA_VERSION,
    Settings,
    SettingsError,
    encode_connection,
    load_settings,
    migrate,
    parse_listen_address,
    save_settings,
    settings_path,
)

SECRET = "Zk3q-8wX1vN0tPa9Lr2Qm7"


def full_profile(**changes: Any) -> ConnectionProfile:
    fields: dict[str, Any] = {
        "id": "c0ffee",
        "name": "Harbour Dental – Sydney",
        "url": "https://pbx.harbourdental.com.au:5001",
        "client_id": "900",
        "customer": "Harbour Dental Pty Ltd",
        "version": "20.0.10.1116",
        "hosting": "self-hosted",
        "region": "AU",
        "ca_file": "/etc/ssl/harbour-ca.pem",
        "pin_sha256": "ab" * 32,
        "business_hours": BusinessHours(
            timezone="Europe/London",
            days=(0, 2, 5),
            opens=time(7, 45),
            closes=time(19, 5, 30),
            breaks=(Period(0, time(12, 30), time(13)), Period(2, time(12), time(12, 45))),
            holidays=(
                Holiday("Christmas Day", date(2026, 12, 25), date(2026, 12, 25), recurrent=True),
                Holiday("Stocktake", date(2027, 1, 4), date(2027, 1, 6)),
            ),
            source=HoursSource.PBX,
            periods=(
                Period(0, time(7, 45), time(19, 5, 30)),
                Period(2, time(9), END_OF_DAY),
                Period(5, time(10), time(14)),
            ),
        ),
        "did_sources": {"+61290001234": "Google Ads", "+61290001235": "Website"},
        "contacts_csv": "/home/eng/exports/hubspot.csv",
        "tags": ("north", "Monthly review"),
        "contacts_columns": ContactColumns(
            phone=("Main Line", "Cell"), name=("Full Name",), id="Record", email="E-mail"
        ),
        "last_check": LastCheck(
            CheckStatusSummary.WARN,
            datetime(2026, 11, 21, 10, 15, 3, tzinfo=timezone(timedelta(hours=11))),
            "First warning: 6. Retention",
        ),
        "key_rotated_at": datetime(2026, 5, 1, 9, 0, tzinfo=UTC),
    }
    fields.update(changes)
    return ConnectionProfile(**fields)


def write_json(path: Path, body: object) -> bytes:
    path.parent.mkdir(parents=True, exist_ok=True)
    raw = json.dumps(body).encode()
    path.write_bytes(raw)
    return raw


def good_entry(name: str, id_: str) -> dict[str, Any]:
    return encode_connection(full_profile(id=id_, name=name))


def file_text(path: Path) -> str:
    # Not pathlib inside the async test (ruff ASYNC240); the read is instant.
    return path.read_text(encoding="utf-8")


@pytest.fixture
def path() -> Path:
    return settings_path()


def test_file_lives_in_the_config_folder() -> None:
    assert settings_path() == paths.config_dir() / "settings.json"


def test_missing_file_is_defaults_without_problems(path: Path) -> None:
    loaded = load_settings(path)
    assert loaded.settings == Settings()
    assert loaded.problems == ()
    assert loaded.writable


def test_round_trip_keeps_every_field(path: Path) -> None:
    plain = ConnectionProfile(id="b2", name="Bare", url="https://b.example.com", client_id="7")
    settings = Settings(
        connections=(full_profile(), plain),
        presenter_mode=True,
        large_type=True,
        engineer_name="Sam Engineer",
        logo_path="/home/eng/logo.png",
        report_mask_details=False,
        key_age_warning_days=90,
        feed_history_limit=20_000,
        webhook_listen="127.0.0.1:8765",
        last_connection_id="b2",
    )
    save_settings(settings, path)
    loaded = load_settings(path)
    assert loaded.problems == ()
    assert loaded.settings == settings
    # Aware datetimes keep their offset, not just the instant.
    check = loaded.settings.connections[0].last_check
    assert check is not None and check.at.utcoffset() == timedelta(hours=11)
    body = json.loads(file_text(path))
    assert body["schema"] == SCHEMA_VERSION


def test_demo_connections_are_never_saved(path: Path) -> None:
    demo = ConnectionProfile(
        id="demo", name="Demo", url="https://localhost:1", client_id="1", demo=True
    )
    save_settings(Settings(connections=(demo, full_profile())), path)
    loaded = load_settings(path)
    assert [c.id for c in loaded.settings.connections] == ["c0ffee"]
    text = file_text(path)
    assert '"Demo"' not in text and "localhost:1" not in text


def test_report_masking_follows_presenter_mode_unless_set() -> None:
    assert Settings(presenter_mode=True).masks_report_details is True
    assert Settings(presenter_mode=False).masks_report_details is False
    assert Settings(presenter_mode=True, report_mask_details=False).masks_report_details is False


def test_atomic_writes_leave_only_the_settings_file(path: Path) -> None:
    for days in (30, 60, 90):
        save_settings(Settings(key_age_warning_days=days), path)
    assert sorted(p.name for p in path.parent.iterdir()) == ["settings.json"]
    assert load_settings(path).settings.key_age_warning_days == 90


def test_failed_write_keeps_the_old_file_and_no_temp_file(tmp_path: Path) -> None:
    target = tmp_path / "settings.json"
    target.mkdir()  # replacing a folder with a file fails, after the temp file was written
    (target / "keep").write_text("x")
    with pytest.raises(SettingsError, match="Could not write the settings file"):
        save_settings(Settings(engineer_name="Sam"), target)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["settings.json"]
    assert (target / "keep").read_text() == "x"


@pytest.mark.parametrize(
    ("raw", "why"),
    [
        (b'{"schema": 1, "connections": [', "not valid JSON"),
        (b"\xff\xfe garbage", "not valid JSON"),
        (b"[1, 2, 3]", "not a settings document"),
        (b'{"schema": "one"}', "not usable"),
        (b'{"connections": []}', "not usable"),
    ],
)
@pytest.mark.expect_log(
    "app.services.settings.file", r"; set aside as settings\.json\.corrupt-\S+$"
)
def test_corrupt_file_is_set_aside_and_reported(path: Path, raw: bytes, why: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(raw)
    loaded = load_settings(path)
    assert loaded.settings == Settings()
    assert loaded.writable
    [problem] = loaded.problems
    assert why in problem.message
    assert problem.moved_to is not None
    assert re.fullmatch(r"settings\.json\.corrupt-\d{8}T\d{6}", problem.moved_to.name)
    assert problem.moved_to.read_bytes() == raw
    assert str(problem.moved_to) in problem.message
    assert not path.exists()
    # The next save starts a fresh file; the set-aside one stays.
    save_settings(Settings(engineer_name="Sam"), path)
    assert problem.moved_to.read_bytes() == raw


@pytest.mark.expect_log(
    "app.services.settings.file",
    r" is not valid JSON .*; set aside as settings\.json\.corrupt-\S+$",
)
def test_two_corrupt_files_in_one_second_both_survive(path: Path) -> None:
    moved = []
    for raw in (b"{one", b"{two"):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(raw)
        [problem] = load_settings(path).problems
        assert problem.moved_to is not None
        moved.append(problem.moved_to)
    assert {p.read_bytes() for p in moved} == {b"{one", b"{two"}


@pytest.mark.expect_log("app.services.settings.file", r": Connection .* was left out: ")
def test_one_bad_connection_is_reported_by_name_and_the_others_load(path: Path) -> None:
    bad = good_entry("Broken Dental", "bad1")
    bad["url"] = "ftp://pbx.broken.example"
    naive = good_entry("Naive Clock", "bad2")
    naive["last_check"]["at"] = "2026-11-21T10:15:00"
    unmapped = good_entry("No Phone Column", "bad3")
    unmapped["contacts_columns"] = {"phone": [], "name": ["Full Name"]}
    tagged = good_entry("Tag Paste", "bad4")
    tagged["tags"] = "north"  # not a list
    untagged = good_entry("Before Tags", "a3")
    del untagged["tags"]  # files written before connections had tags
    raw = write_json(
        path,
        {
            "schema": 1,
            "presenter_mode": True,
            "connections": [
                good_entry("First", "a1"),
                bad,
                naive,
                unmapped,
                "not an object",
                tagged,
                untagged,
                good_entry("Last", "a2"),
                good_entry("Duplicate", "a1"),
            ],
        },
    )
    loaded = load_settings(path)
    assert [c.name for c in loaded.settings.connections] == ["First", "Before Tags", "Last"]
    assert loaded.settings.connections[1].tags == ()
    assert loaded.settings.connections[0].tags == ("north", "Monthly review")
    assert loaded.settings.presenter_mode is True
    assert loaded.writable
    messages = [p.message for p in loaded.problems]
    assert any("'Broken Dental'" in m and "url" in m and "https://" in m for m in messages)
    assert any("'Naive Clock'" in m and "last_check.at" in m and "time zone" in m for m in messages)
    assert any("'No Phone Column'" in m and "names no phone column" in m for m in messages)
    assert any("entry 5" in m for m in messages)
    assert any("'Tag Paste'" in m and "tags must be a list of text" in m for m in messages)
    assert any("'Duplicate'" in m and "'a1'" in m for m in messages)
    # The left-out entries travel with the report, so the UI can show them.
    entries = [p.entry for p in loaded.problems if p.entry is not None]
    assert bad in entries and naive in entries
    # The file as it was is kept; the rewritten file loads cleanly next time.
    [backup] = [p.moved_to for p in loaded.problems if p.moved_to is not None]
    assert re.fullmatch(r"settings\.json\.rejected-\d{8}T\d{6}", backup.name)
    assert backup.read_bytes() == raw
    assert str(backup) in loaded.problems[-1].message
    again = load_settings(path)
    assert again.problems == ()
    assert again.settings == loaded.settings


@pytest.mark.expect_log("app.services.settings.file", r": Setting \w+ was reset to its default: ")
def test_bad_preference_is_reset_and_reported(path: Path) -> None:
    write_json(
        path,
        {
            "schema": 1,
            "large_type": True,
            "feed_history_limit": "lots",
            "webhook_listen": "localhost",
            "connections": [good_entry("Kept", "k1")],
        },
    )
    loaded = load_settings(path)
    assert loaded.settings.large_type is True
    assert loaded.settings.feed_history_limit == Settings().feed_history_limit
    assert loaded.settings.webhook_listen is None
    messages = " | ".join(p.message for p in loaded.problems)
    assert "feed_history_limit" in messages
    assert "Webhook listen address 'localhost' must be host:port" in messages
    assert [c.name for c in loaded.settings.connections] == ["Kept"]


@pytest.mark.expect_log("app.services.settings.file", r" has schema 3 \(newer than 2\)$")
def test_future_schema_is_left_untouched_and_never_overwritten(path: Path) -> None:
    raw = write_json(path, {"schema": SCHEMA_VERSION + 1, "connections": [{"new": "shape"}]})
    loaded = load_settings(path)
    assert loaded.settings == Settings()
    assert loaded.writable is False
    [problem] = loaded.problems
    assert "newer PBX Companion" in problem.message
    assert f"schema {SCHEMA_VERSION + 1}" in problem.message
    assert problem.moved_to is None
    with pytest.raises(SettingsError, match="newer PBX Companion"):
        save_settings(Settings(engineer_name="Sam"), path)
    assert path.read_bytes() == raw
    assert sorted(p.name for p in path.parent.iterdir()) == ["settings.json"]


def test_migrations_run_in_order_up_to_the_target() -> None:
    def one_to_two(body: dict[str, Any]) -> dict[str, Any]:
        body["large_type"] = body.pop("big_font")
        return body

    def two_to_three(body: dict[str, Any]) -> dict[str, Any]:
        body["steps"] = [*body.get("steps", []), 3]
        return body

    migrated = migrate(
        {"schema": 1, "big_font": True}, migrations={1: one_to_two, 2: two_to_three}, target=3
    )
    assert migrated == {"schema": 3, "large_type": True, "steps": [3]}
    with pytest.raises(ValueError, match="no migration from schema 2 to 3"):
        migrate({"schema": 1, "big_font": True}, migrations={1: one_to_two}, target=3)


def schema_1_entry(name: str, id_: str, hours: object) -> dict[str, Any]:
    entry = good_entry(name, id_)
    entry["business_hours"] = hours
    return entry


def test_schema_1_hours_are_migrated_as_not_set(path: Path) -> None:
    # Schema 1 kept only zone, days and times: a silent default or a guess, never "read from
    # the PBX". They load as UNSET, so the app reads the PBX (or asks) instead of trusting them.
    old_hours = {"timezone": "Australia/Sydney", "days": [0, 1, 2, 3, 4]}
    old_hours |= {"opens": "08:30:00", "closes": "17:30:00"}
    write_json(
        path,
        {
            "schema": 1,
            "connections": [
                schema_1_entry("Sydney default", "s1", old_hours),
                schema_1_entry("Never set", "s2", None),
            ],
        },
    )
    loaded = load_settings(path)
    assert loaded.problems == ()
    first, second = loaded.settings.connections
    assert first.business_hours == BusinessHours(
        timezone="Australia/Sydney", source=HoursSource.UNSET
    )
    assert second.business_hours == BusinessHours()
    assert second.business_hours.source is HoursSource.UNSET
    # Saved again, the file is at the current schema with the source written out.
    save_settings(loaded.settings, path)
    body = json.loads(file_text(path))
    assert body["schema"] == SCHEMA_VERSION == 2
    hours = body["connections"][0]["business_hours"]
    assert hours["source"] == "unset"
    assert hours["breaks"] == [] and hours["holidays"] == [] and hours["periods"] == []


def test_hours_source_is_written_by_name(path: Path) -> None:
    save_settings(Settings(connections=(full_profile(),)), path)
    hours = json.loads(file_text(path))["connections"][0]["business_hours"]
    assert hours["source"] == "pbx"
    assert hours["breaks"][0] == {"day": 0, "start": "12:30:00", "stop": "13:00:00"}
    assert hours["holidays"][0] == {
        "name": "Christmas Day",
        "first": "2026-12-25",
        "last": "2026-12-25",
        "recurrent": True,
    }


@pytest.mark.parametrize(
    ("change", "named"),
    [
        ({"source": "guessed"}, "business_hours.source 'guessed' is not one of"),
        ({"timezone": "Mars/Olympus"}, "business_hours: Time zone 'Mars/Olympus' is not known"),
        ({"opens": "half eight"}, "business_hours.opens 'half eight' is not a time"),
        ({"breaks": {"day": 0}}, "business_hours.breaks must be a list of objects"),
        (
            {"breaks": [{"day": 0, "start": "12:30", "stop": "13:00"}, {"day": "Mon"}]},
            "business_hours.breaks[1].day must be a day number",
        ),
        (
            {"breaks": [{"day": 1, "start": "13:00", "stop": "12:30"}]},
            "business_hours.breaks[0]: Closing time must be after opening time",
        ),
        (
            {"periods": [{"day": 1, "start": "9am", "stop": "17:00"}]},
            "business_hours.periods[0].start '9am' is not a time",
        ),
        (
            {"holidays": [{"name": "Xmas", "first": "25/12/2026"}]},
            "business_hours.holidays[0].first '25/12/2026' is not a date",
        ),
        (
            {"holidays": [{"name": "Xmas", "first": "2026-12-25", "recurrent": "yes"}]},
            "business_hours.holidays[0].recurrent must be true or false",
        ),
        (
            {"holidays": [{"name": "Back", "first": "2026-12-25", "last": "2026-12-20"}]},
            "business_hours.holidays[0]: the last day is before the first",
        ),
    ],
)
@pytest.mark.expect_log(
    "app.services.settings.file",
    r": Connection 'Odd Hours' \(entry 1\) was left out: business_hours",
)
def test_bad_business_hours_name_the_field(path: Path, change: dict[str, Any], named: str) -> None:
    bad = good_entry("Odd Hours", "h1")
    bad["business_hours"] = {**bad["business_hours"], **change}
    write_json(path, {"schema": SCHEMA_VERSION, "connections": [bad, good_entry("Fine", "h2")]})
    loaded = load_settings(path)
    assert [c.name for c in loaded.settings.connections] == ["Fine"]
    message = loaded.problems[0].message
    assert "'Odd Hours'" in message and named in message, message
    assert loaded.problems[0].entry == bad


def test_listen_address() -> None:
    assert parse_listen_address("127.0.0.1:8765") == ("127.0.0.1", 8765)
    assert parse_listen_address("[::1]:9000") == ("::1", 9000)
    with pytest.raises(ValueError, match="between 1 and 65535"):
        parse_listen_address("127.0.0.1:70000")


@pytest.mark.expect_log("app.services.connections.key_vault", r"^No OS keyring: ")
async def test_a_key_added_through_the_store_never_reaches_the_file(path: Path) -> None:
    # keyring is on its fail backend in every test: keys are held in memory for the session.
    store = await ConnectionStore.open(path=path)
    store.use_session_only()
    profile = ConnectionProfile(
        id="k1", name="Keyed", url="pbx.keyed.example:5001", client_id="900"
    )
    await store.add(profile, f"  {SECRET}\n")
    await store.set_preferences(presenter_mode=True)
    assert await store.secret("k1") == SECRET
    text = file_text(path)
    assert SECRET not in text
    assert SECRET[:8] not in text
    assert "Keyed" in text
    assert [p.name for p in path.parent.iterdir()] == ["settings.json"]
