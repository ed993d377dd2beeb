"""The settings file: connections and preferences as versioned JSON, written atomically.

``settings.json`` lives in ``paths.config_dir()``. It never holds a secret: a connection's key
is in the OS keyring under the connection id (see ``app.services.connections.secrets``).

What can go wrong with the file is reported, never silently lost:

- not JSON, not a settings document or unreadable: the file is renamed
  ``settings.json.corrupt-<timestamp>`` and the app starts with defaults;
- written by a newer app (a higher ``schema``): the file is left untouched, the app runs with
  defaults in memory and refuses to save over it;
- one connection entry (or preference) that does not validate: the others load, the problem
  names the entry, and the file as it was is copied to ``settings.json.rejected-<timestamp>``
  before the clean version replaces it.

Every function here blocks on the file system. The GUI calls them through
``asyncio.to_thread`` (``ConnectionStore`` does this); the CLI may call them directly.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import shutil
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Final

from app.domain.activity_columns import ActivityColumns, ActivityColumnsError
from app.domain.addresses import AddressError, parse_pbx_address
from app.domain.business_hours import BusinessHours
from app.domain.connection import (
    CheckStatusSummary,
    ConnectionProfile,
    LastCheck,
    parse_tags,
    tag_problem,
)
from app.domain.phones import NumberError, validate_region
from app.services import paths
from app.services.atomic_files import free_sibling, write_text_atomically
from app.services.settings.contacts import (
    ContactsEntryError,
    decode_bridge,
    decode_columns,
    encode_bridge,
    encode_columns,
)
from app.services.settings.hours import (
    HoursEntryError,
    decode_hours,
    encode_hours,
    migrate_entry_hours_to_v2,
)
from app.threecx.tls import normalise_fingerprint

log = logging.getLogger(__name__)

FILE_NAME: Final = "settings.json"
SCHEMA_VERSION: Final = 2

Migration = Callable[[dict[str, Any]], dict[str, Any]]


def _hours_with_source(body: dict[str, Any]) -> dict[str, Any]:
    """1 -> 2: business hours gain breaks, holidays and where they came from."""
    connections = body.get("connections")
    if isinstance(connections, list):
        body = {**body, "connections": [migrate_entry_hours_to_v2(c) for c in connections]}
    return body


# version N -> the function that turns a schema-N document into a schema-(N+1) one. A new
# schema adds an entry here; loading runs the chain from the file's version up to ours.
MIGRATIONS: Final[dict[int, Migration]] = {1: _hours_with_source}

_STAMP_FORMAT: Final = "%Y%m%dT%H%M%S"
_MIN_HISTORY: Final = 1_000
_MAX_HISTORY: Final = 1_000_000


class SettingsError(Exception):
    """The settings could not be saved; the message says why and what to do."""


def settings_path() -> Path:
    return paths.config_dir() / FILE_NAME


@dataclass(frozen=True)
class Settings:
    """Everything the app remembers between runs, except secrets."""

    connections: tuple[ConnectionProfile, ...] = ()  # never a demo connection when saved
    presenter_mode: bool = False
    large_type: bool = False
    engineer_name: str = ""  # shown on reports
    logo_path: str | None = None  # the MSP's logo for reports
    report_mask_details: bool | None = None  # None: mask in reports when presenter mode is on
    key_age_warning_days: int = 180
    feed_history_limit: int = 50_000
    webhook_listen: str | None = None  # "127.0.0.1:8765"; None: the webhook receiver is off
    last_connection_id: str | None = None

    def replace(self, **changes: Any) -> Settings:
        return dataclasses.replace(self, **changes)

    @property
    def masks_report_details(self) -> bool:
        if self.report_mask_details is None:
            return self.presenter_mode
        return self.report_mask_details

    def connection(self, connection_id: str) -> ConnectionProfile | None:
        return next((c for c in self.connections if c.id == connection_id), None)

    def with_connection(self, profile: ConnectionProfile) -> Settings:
        """Add ``profile``, or replace the connection with its id in place."""
        if self.connection(profile.id) is None:
            return self.replace(connections=(*self.connections, profile))
        return self.replace(
            connections=tuple(profile if c.id == profile.id else c for c in self.connections)
        )

    def without_connection(self, connection_id: str) -> Settings:
        last = None if self.last_connection_id == connection_id else self.last_connection_id
        return self.replace(
            connections=tuple(c for c in self.connections if c.id != connection_id),
            last_connection_id=last,
        )


# Preferences a caller may change with ``Settings.replace``, each with its check.
PREFERENCE_FIELDS: Final = (
    "presenter_mode",
    "large_type",
    "engineer_name",
    "logo_path",
    "report_mask_details",
    "key_age_warning_days",
    "feed_history_limit",
    "webhook_listen",
    "last_connection_id",
)


@dataclass(frozen=True)
class SettingsProblem:
    """One thing wrong with the settings file, in words for the engineer.

    ``entry`` is the raw JSON of a connection that was left out (it holds no secret), so the
    UI can show it and nothing the engineer entered is lost.
    """

    message: str
    moved_to: Path | None = None
    entry: Mapping[str, Any] | None = None


@dataclass(frozen=True)
class LoadedSettings:
    settings: Settings
    problems: tuple[SettingsProblem, ...] = ()
    # False when the file belongs to a newer app: keep running, but never write over it.
    writable: bool = True


# ---- listen address ----------------------------------------------------------------------------


def parse_listen_address(text: str) -> tuple[str, int]:
    """``"127.0.0.1:8765"`` -> ("127.0.0.1", 8765); ``[::1]:8765`` for IPv6. ValueError names it."""
    raw = text.strip()
    host, sep, port_text = raw.rpartition(":")
    host = host.strip("[]")
    if not sep or not host or not port_text.isdigit():
        raise ValueError(f"Webhook listen address {raw!r} must be host:port, like 127.0.0.1:8765.")
    port = int(port_text)
    if not 1 <= port <= 65535:
        raise ValueError(f"Webhook listen port {port} must be between 1 and 65535.")
    return host, port


def check_preferences(settings: Settings) -> None:
    """Raise ValueError naming the first preference that cannot be used."""
    for name in ("presenter_mode", "large_type"):
        if not isinstance(getattr(settings, name), bool):
            raise ValueError(f"{name} must be true or false.")
    if settings.report_mask_details is not None and not isinstance(
        settings.report_mask_details, bool
    ):
        raise ValueError("report_mask_details must be true, false or null.")
    if not isinstance(settings.engineer_name, str):
        raise ValueError("engineer_name must be text.")
    for name in ("logo_path", "last_connection_id"):
        value = getattr(settings, name)
        if value is not None and (not isinstance(value, str) or not value):
            raise ValueError(f"{name} must be non-empty text or null.")
    days = settings.key_age_warning_days
    if isinstance(days, bool) or not isinstance(days, int) or days < 1:
        raise ValueError("key_age_warning_days must be a whole number of days, at least 1.")
    limit = settings.feed_history_limit
    if isinstance(limit, bool) or not isinstance(limit, int):
        raise ValueError("feed_history_limit must be a whole number of calls.")
    if not _MIN_HISTORY <= limit <= _MAX_HISTORY:
        raise ValueError(
            f"feed_history_limit must be between {_MIN_HISTORY:,} and {_MAX_HISTORY:,} calls."
        )
    if settings.webhook_listen is not None:
        if not isinstance(settings.webhook_listen, str):
            raise ValueError("webhook_listen must be host:port text or null.")
        parse_listen_address(settings.webhook_listen)


# ---- encoding ----------------------------------------------------------------------------------


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def profile_identity(profile: ConnectionProfile) -> dict[str, Any]:
    """The fields that name a connection and its PBX: the settings file and the CLI's JSON."""
    return {
        "id": profile.id,
        "name": profile.name,
        "customer": profile.customer,
        "tags": list(profile.tags),
        "url": profile.url,
        "client_id": profile.client_id,
        "version": profile.version,
        "hosting": profile.hosting,
        "region": profile.region,
    }


def encode_last_check(check: LastCheck | None) -> dict[str, Any] | None:
    if check is None:
        return None
    return {"status": check.status.value, "at": check.at.isoformat(), "summary": check.summary}


def encode_connection(profile: ConnectionProfile) -> dict[str, Any]:
    return {
        **profile_identity(profile),
        "ca_file": profile.ca_file,
        "pin_sha256": profile.pin_sha256,
        "business_hours": encode_hours(profile.business_hours),
        "did_sources": dict(profile.did_sources),
        "contacts_csv": profile.contacts_csv,
        "contacts_columns": encode_columns(profile.contacts_columns),
        "activity_columns": (
            profile.activity_columns.as_json() if profile.activity_columns else None
        ),
        "bridge": encode_bridge(profile.bridge),
        "last_check": encode_last_check(profile.last_check),
        "key_rotated_at": _iso(profile.key_rotated_at),
    }


def encode_settings(settings: Settings) -> dict[str, Any]:
    body: dict[str, Any] = {"schema": SCHEMA_VERSION}
    body.update({name: getattr(settings, name) for name in PREFERENCE_FIELDS})
    body["connections"] = [encode_connection(c) for c in settings.connections if not c.demo]
    return body


# ---- decoding ----------------------------------------------------------------------------------


class _BadEntry(ValueError):
    """A connection entry that cannot be used; the message names the field."""


def _text(entry: Mapping[str, Any], key: str, *, required: bool = True) -> str:
    value = entry.get(key)
    if not isinstance(value, str) or (required and not value.strip()):
        raise _BadEntry(f"{key} is missing or not text")
    return value


def _optional_text(entry: Mapping[str, Any], key: str) -> str | None:
    value = entry.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise _BadEntry(f"{key} must be text or null")
    return value or None


def _tags(value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(tag, str) for tag in value):
        raise _BadEntry("tags must be a list of text")
    tags = parse_tags(value)
    if (problem := tag_problem(tags)) is not None:
        raise _BadEntry(f"tags: {problem}")
    return tags


def _aware(value: Any, key: str) -> datetime:
    if not isinstance(value, str):
        raise _BadEntry(f"{key} must be an ISO date and time")
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError as exc:
        raise _BadEntry(f"{key} {value!r} is not an ISO date and time") from exc
    if parsed.tzinfo is None:
        raise _BadEntry(f"{key} {value!r} has no time zone")
    return parsed


def _business_hours(raw: Any) -> BusinessHours:
    try:
        return decode_hours(raw)
    except HoursEntryError as exc:
        raise _BadEntry(str(exc)) from exc


def _last_check(raw: Any) -> LastCheck | None:
    if raw is None:
        return None
    if not isinstance(raw, dict):
        raise _BadEntry("last_check must be an object")
    try:
        status = CheckStatusSummary(str(raw.get("status")))
    except ValueError as exc:
        raise _BadEntry(f"last_check.status {raw.get('status')!r} is not known") from exc
    summary = raw.get("summary", "")
    if not isinstance(summary, str):
        raise _BadEntry("last_check.summary must be text")
    return LastCheck(status=status, at=_aware(raw.get("at"), "last_check.at"), summary=summary)


def _did_sources(raw: Any) -> dict[str, str]:
    if raw is None:
        return {}
    if not isinstance(raw, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in raw.items()
    ):
        raise _BadEntry("did_sources must map DIDs to source list names")
    return dict(raw)


def decode_connection(entry: Any) -> ConnectionProfile:
    """One connection from its JSON; raises ValueError naming the field that is wrong."""
    if not isinstance(entry, dict):
        raise _BadEntry("the entry is not an object")
    url = _text(entry, "url")
    try:
        parse_pbx_address(url)
    except AddressError as exc:
        raise _BadEntry(f"url: {exc}") from exc
    region = _optional_text(entry, "region")
    if region is not None:
        try:
            region = validate_region(region)
        except NumberError as exc:
            raise _BadEntry(f"region: {exc}") from exc
    pin = _optional_text(entry, "pin_sha256")
    if pin is not None:
        try:
            pin = normalise_fingerprint(pin)
        except ValueError as exc:
            raise _BadEntry(f"pin_sha256: {exc}") from exc
    try:
        columns = decode_columns(entry.get("contacts_columns"))
        bridge = decode_bridge(entry.get("bridge"))
        activity = entry.get("activity_columns")  # absent in files before Reconcile kept it
        activity_columns = None if activity is None else ActivityColumns.from_json(activity)
    except (ContactsEntryError, ActivityColumnsError) as exc:
        raise _BadEntry(str(exc)) from exc
    rotated = entry.get("key_rotated_at")
    return ConnectionProfile(
        id=_text(entry, "id"),
        name=_text(entry, "name").strip(),
        url=url,
        client_id=_text(entry, "client_id").strip(),
        customer=_optional_text(entry, "customer") or "",
        tags=_tags(entry.get("tags")),  # absent in files before the fleet's tags
        version=_optional_text(entry, "version"),
        hosting=_optional_text(entry, "hosting"),
        region=region,
        ca_file=_optional_text(entry, "ca_file"),
        pin_sha256=pin,
        business_hours=_business_hours(entry.get("business_hours")),
        did_sources=_did_sources(entry.get("did_sources")),
        contacts_csv=_optional_text(entry, "contacts_csv"),
        contacts_columns=columns,
        activity_columns=activity_columns,
        bridge=bridge,
        last_check=_last_check(entry.get("last_check")),
        key_rotated_at=None if rotated is None else _aware(rotated, "key_rotated_at"),
    )


def _entry_label(index: int, entry: Any) -> str:
    name = entry.get("name") if isinstance(entry, dict) else None
    if isinstance(name, str) and name.strip():
        return f"Connection {name.strip()!r} (entry {index})"
    return f"Connection entry {index}"


def _decode_settings(body: dict[str, Any]) -> tuple[Settings, list[SettingsProblem]]:
    """Settings from a current-schema document: every usable part, and what was left out."""
    problems: list[SettingsProblem] = []
    settings = Settings()
    for name in PREFERENCE_FIELDS:
        if name not in body:
            continue
        candidate = settings.replace(**{name: body[name]})
        try:
            check_preferences(candidate)
        except ValueError as exc:
            problems.append(SettingsProblem(f"Setting {name} was reset to its default: {exc}"))
            continue
        settings = candidate

    raw_connections = body.get("connections", [])
    if not isinstance(raw_connections, list):
        problems.append(SettingsProblem("The connections list is not a list; none were loaded."))
        raw_connections = []
    loaded: list[ConnectionProfile] = []
    for index, entry in enumerate(raw_connections, start=1):
        label = _entry_label(index, entry)
        kept = entry if isinstance(entry, dict) else {"value": entry}
        try:
            profile = decode_connection(entry)
        except (ValueError, TypeError) as exc:
            problems.append(SettingsProblem(f"{label} was left out: {exc}.", entry=kept))
            continue
        if any(other.id == profile.id for other in loaded):
            problems.append(
                SettingsProblem(
                    f"{label} was left out: its id {profile.id!r} is used by another entry.",
                    entry=kept,
                )
            )
            continue
        loaded.append(profile)
    settings = settings.replace(connections=tuple(loaded))
    if settings.last_connection_id and settings.connection(settings.last_connection_id) is None:
        settings = settings.replace(last_connection_id=None)
    return settings, problems


def migrate(
    body: dict[str, Any],
    *,
    migrations: Mapping[int, Migration] = MIGRATIONS,
    target: int = SCHEMA_VERSION,
) -> dict[str, Any]:
    """Bring a document up to schema ``target`` by running each migration in turn."""
    version = body.get("schema")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise ValueError(f"its schema {version!r} is not a version number")
    while version < target:
        step = migrations.get(version)
        if step is None:
            raise ValueError(f"no migration from schema {version} to {version + 1}")
        body = step(body)
        version += 1
        body["schema"] = version
    return body


# ---- the file ----------------------------------------------------------------------------------


def _stamp() -> str:
    return datetime.now().strftime(_STAMP_FORMAT)


def _free_name(path: Path, tag: str) -> Path:
    return free_sibling(path, tag, _stamp())


def _set_aside(path: Path, why: str) -> SettingsProblem:
    target = _free_name(path, "corrupt")
    try:
        path.rename(target)
    except OSError as exc:
        log.warning("Settings file %s is %s and cannot be set aside (%s)", path, why, exc)
        return SettingsProblem(
            f"The settings file {path} is {why} and could not be moved aside ({exc}); "
            "PBX Companion is running with default settings. Move or repair the file, then "
            "restart."
        )
    log.warning("Settings file %s is %s; set aside as %s", path, why, target.name)
    return SettingsProblem(
        f"The settings file was {why}, so PBX Companion started with default settings. The old "
        f"file was kept as {target}: nothing in it was deleted.",
        moved_to=target,
    )


def load_settings(path: Path | None = None) -> LoadedSettings:
    """Read the settings file (blocking). Never raises for a bad file: problems are returned."""
    path = path or settings_path()
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return LoadedSettings(Settings())
    except OSError as exc:
        return _unreadable(path, exc)
    try:
        body = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        return LoadedSettings(Settings(), (_set_aside(path, f"not valid JSON ({exc})"),))
    if not isinstance(body, dict):
        return LoadedSettings(Settings(), (_set_aside(path, "not a settings document"),))

    version = body.get("schema")
    if isinstance(version, int) and not isinstance(version, bool) and version > SCHEMA_VERSION:
        return _from_newer_app(path, version)
    try:
        body = migrate(body)
    except ValueError as exc:
        return LoadedSettings(Settings(), (_set_aside(path, f"not usable: {exc}"),))

    settings, problems = _decode_settings(body)
    if not problems:
        return LoadedSettings(settings)
    return _repaired(path, settings, problems)


def _unreadable(path: Path, exc: OSError) -> LoadedSettings:
    # Unreadable now (permissions, a locked file): report it and leave the file alone.
    log.warning("Settings file %s cannot be read: %s", path, exc)
    problem = SettingsProblem(
        f"The settings file {path} cannot be read ({exc}); PBX Companion is running "
        "with default settings and will not save over it until it can be read."
    )
    return LoadedSettings(Settings(), (problem,), writable=False)


def _from_newer_app(path: Path, version: int) -> LoadedSettings:
    log.warning("Settings file %s has schema %s (newer than %s)", path, version, SCHEMA_VERSION)
    problem = SettingsProblem(
        f"The settings file {path} was written by a newer PBX Companion (settings "
        f"schema {version}; this version understands {SCHEMA_VERSION}). It was left "
        "untouched: this session runs with default settings and saves nothing. "
        "Install the newer version to use your connections."
    )
    return LoadedSettings(Settings(), (problem,), writable=False)


def _repaired(path: Path, settings: Settings, problems: list[SettingsProblem]) -> LoadedSettings:
    """Keep the file exactly as it was, then write the usable part so the next start is
    clean."""
    backup = _free_name(path, "rejected")
    try:
        shutil.copy2(path, backup)
        save_settings(settings, path)
    except (OSError, SettingsError) as exc:
        log.warning("Settings file %s: could not keep a copy or rewrite it: %s", path, exc)
        unrepaired = SettingsProblem(
            f"The settings file could not be repaired ({exc}); it was left as it is and "
            "nothing will be saved over it this session."
        )
        return LoadedSettings(settings, (*problems, unrepaired), writable=False)
    for problem in problems:
        log.warning("Settings file %s: %s", path, problem.message)
    note = SettingsProblem(
        f"The settings file as it was is kept at {backup}, so nothing was lost.", moved_to=backup
    )
    return LoadedSettings(settings, (*problems, note))


def _schema_on_disk(path: Path) -> int | None:
    try:
        body = json.loads(path.read_bytes().decode("utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return None
    version = body.get("schema") if isinstance(body, dict) else None
    return version if isinstance(version, int) and not isinstance(version, bool) else None


def save_settings(settings: Settings, path: Path | None = None) -> None:
    """Write the settings atomically (blocking): a temp file in the same folder, fsync, replace.

    Raises SettingsError when the file cannot be written or belongs to a newer app.
    """
    path = path or settings_path()
    on_disk = _schema_on_disk(path)
    if on_disk is not None and on_disk > SCHEMA_VERSION:
        raise SettingsError(
            f"The settings file {path} belongs to a newer PBX Companion (schema {on_disk}); "
            "it was not overwritten."
        )
    text = json.dumps(encode_settings(settings), indent=2, ensure_ascii=False) + "\n"
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        write_text_atomically(path, text, sync_folder=True)
    except OSError as exc:
        raise SettingsError(f"Could not write the settings file {path}: {exc}.") from exc
