"""The engineer's connections: profiles in the settings file, keys in the OS keyring.

``ConnectionStore`` is the one place that adds, edits and removes a connection, so a profile
and its key change together: when the keyring refuses a key nothing is saved, and removing a
connection removes its keyring entry. All file and keyring work runs in worker threads (the
settings functions through ``asyncio.to_thread``, the secret store through its own async API),
so the GUI can await every method directly.

With no working OS keyring the store says why (``keyring_status``) and, once the engineer
agrees, holds keys in memory for this session only (``use_session_only()``). There is no
plaintext fallback.

A key can reach the keyring before its connection is saved (``stage_key``: the guided setup
stores the pasted key at once, the profile only at the end), and a saved connection's key is
replaced only through ``rotate_key``, which proves the new key against the PBX first.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from app.domain.addresses import AddressError, parse_pbx_address
from app.domain.clock import utc_now
from app.domain.connection import CheckStatusSummary, ConnectionProfile, LastCheck
from app.domain.diagnosis import CheckId, CheckStatus, Diagnosis
from app.domain.phones import NumberError, validate_region
from app.services.doctor.text import summary_line
from app.services.log_setup import REDACTOR
from app.services.secrets import (
    SERVICE,
    KeyringSecretStore,
    KeyringStatus,
    KeyringUnavailableError,
    SecretStore,
    SecretStoreError,
    SessionSecretStore,
    normalise_pasted_key,
)
from app.services.session import PbxSession, connection_params
from app.services.settings import (
    PREFERENCE_FIELDS,
    LoadedSettings,
    Settings,
    SettingsError,
    SettingsProblem,
    check_preferences,
    load_settings,
    save_settings,
    settings_path,
)
from app.services.setup.capabilities import CapabilityReport, verify_capabilities
from app.services.staged_keys import FILE_NAME as STAGED_FILE_NAME
from app.services.staged_keys import StagedKeyJournal
from app.threecx.tls import normalise_fingerprint

log = logging.getLogger("pbx.services.connections")

# The words the dialog uses for each field, so a message names what the engineer sees.
FIELD_LABELS: Final[dict[str, str]] = {
    "name": "Name",
    "customer": "Customer",
    "url": "PBX address",
    "client_id": "Client ID",
    "secret": "API key",
    "region": "Region",
    "ca_file": "CA file",
    "pin_sha256": "Certificate pin",
    "business_hours": "Business hours",
    "did_sources": "DID source lists",
    "contacts_csv": "CRM contacts CSV",
    "settings": "Settings",
}

_PHONE_CHARS: Final = frozenset("+0123456789 -().")
_MIN_DID_DIGITS: Final = 3

OpenKeyring = Callable[[], Awaitable[SecretStore]]
VerifyKey = Callable[[ConnectionProfile, str], Awaitable[CapabilityReport]]

# Cause 7 of the field docs: a rotated key silently breaks every bridge still holding the old one.
BRIDGES_REMINDER: Final = (
    "Give the new key to every bridge, poller and CRM integration that holds the old one: 3CX "
    "accepts only the key it generated last, and a bridge left on the old key stops syncing "
    "calls and recordings without warning (cause 7, the API key is rejected)."
)


class ConnectionStoreError(Exception):
    """A connection could not be added, changed, removed or opened. Never contains a key.

    ``field`` is the dialog field the message is about (a key of FIELD_LABELS), if any.
    """

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class InvalidConnectionError(ConnectionStoreError):
    """What the engineer entered cannot be used: one message per field."""

    def __init__(self, problems: Mapping[str, str]) -> None:
        self.problems = dict(problems)
        text = "; ".join(f"{FIELD_LABELS.get(f, f)}: {m}" for f, m in self.problems.items())
        super().__init__(text, field=next(iter(self.problems), None))


class KeyRotationRejected(ConnectionStoreError):
    """The PBX did not accept the new key (or it lacks a capability); the old key stays.

    ``report`` holds every probe's tick, detail and fix for the engineer.
    """

    def __init__(self, message: str, report: CapabilityReport) -> None:
        super().__init__(message, field="secret")
        self.report = report


@dataclass(frozen=True)
class KeyRotation:
    """A verified rotation: the profile as saved (with ``key_rotated_at``) and the proof."""

    profile: ConnectionProfile
    report: CapabilityReport
    bridges_reminder: str = BRIDGES_REMINDER


def last_check_of(diagnosis: Diagnosis) -> LastCheck:
    """The connection list's status: unreachable beats fail beats warn beats pass."""
    statuses = {r.status for r in diagnosis.checks}
    if diagnosis.result(CheckId.REACHABILITY).status is CheckStatus.FAIL:
        status = CheckStatusSummary.UNREACHABLE
    elif CheckStatus.FAIL in statuses:
        status = CheckStatusSummary.FAIL
    elif CheckStatus.WARN in statuses:
        status = CheckStatusSummary.WARN
    else:
        status = CheckStatusSummary.PASS
    return LastCheck(status, diagnosis.started_at, summary_line(diagnosis))


def _rejection(profile: ConnectionProfile, report: CapabilityReport) -> str:
    problem = report.first_problem
    what = f"{problem.label}: {problem.detail}" if problem else "the PBX did not prove both roles"
    return f"The new key for {profile.name} was not rotated in; the old key stays. {what}"


async def _verify_against_profile(profile: ConnectionProfile, key: str) -> CapabilityReport:
    return await verify_capabilities(connection_params(profile), key)


# ---- validation (pure: the dialog runs it on every keystroke) ----------------------------------


def _check_dids(did_sources: Mapping[str, str]) -> tuple[dict[str, str], str | None]:
    cleaned: dict[str, str] = {}
    for did, source in did_sources.items():
        number, target = did.strip(), source.strip()
        if not number:
            return cleaned, f"a DID is empty (its source list is {target!r})"
        digits = sum(ch.isdigit() for ch in number)
        if any(ch not in _PHONE_CHARS for ch in number) or digits < _MIN_DID_DIGITS:
            return cleaned, f"{number!r} is not a phone number"
        if not target:
            return cleaned, f"DID {number} has no source list"
        if number in cleaned:
            return cleaned, f"DID {number} is listed twice"
        cleaned[number] = target
    return cleaned, None


def check_profile(
    profile: ConnectionProfile, *, taken_names: Iterable[str] = ()
) -> tuple[ConnectionProfile, dict[str, str]]:
    """The profile with its fields tidied (trimmed, normalised URL, upper-case region) and a
    message per field that cannot be used. Pure and fast: no file or network access.
    """
    problems: dict[str, str] = {}
    changes: dict[str, Any] = {}

    name = profile.name.strip()
    if not name:
        problems["name"] = "Give the connection a name, e.g. the customer's site."
    elif name.casefold() in {taken.strip().casefold() for taken in taken_names}:
        problems["name"] = f"Another connection is already called {name!r}."
    changes["name"] = name
    changes["customer"] = profile.customer.strip()

    try:
        changes["url"] = parse_pbx_address(profile.url).base_url
    except AddressError as exc:
        problems["url"] = str(exc)

    client_id = profile.client_id.strip()
    if not client_id:
        problems["client_id"] = (
            "The Client ID is empty: copy it from the API client in the 3CX admin console."
        )
    changes["client_id"] = client_id

    region = (profile.region or "").strip()
    if region:
        try:
            changes["region"] = validate_region(region)
        except NumberError as exc:
            problems["region"] = f"{exc}, or leave it empty to use the PBX's own country."
    else:
        changes["region"] = None

    pin = (profile.pin_sha256 or "").strip()
    if pin:
        try:
            changes["pin_sha256"] = normalise_fingerprint(pin)
        except ValueError as exc:
            problems["pin_sha256"] = str(exc)
    else:
        changes["pin_sha256"] = None

    for path_field in ("ca_file", "contacts_csv"):
        value = (getattr(profile, path_field) or "").strip()
        changes[path_field] = value or None

    dids, did_problem = _check_dids(profile.did_sources)
    if did_problem:
        problems["did_sources"] = did_problem[0].upper() + did_problem[1:] + "."
    changes["did_sources"] = dids

    return dataclasses.replace(profile, **changes), problems


def check_key(text: str) -> str:
    """The pasted key, trimmed; raises InvalidConnectionError for the "secret" field."""
    try:
        return normalise_pasted_key(text)
    except ValueError as exc:
        raise InvalidConnectionError({"secret": str(exc)}) from None


def file_problems(profile: ConnectionProfile) -> dict[str, str]:
    """Blocking: whether the files a profile names exist (run in a worker thread)."""
    problems: dict[str, str] = {}
    for path_field, what in (("ca_file", "CA file"), ("contacts_csv", "CRM contacts file")):
        value = getattr(profile, path_field)
        if value and not Path(value).is_file():
            problems[path_field] = f"The {what} {value} does not exist or is not a file."
    return problems


# ---- the store ---------------------------------------------------------------------------------


class ConnectionStore:
    """Connections (saved ones and this session's demo) and their keys."""

    def __init__(
        self,
        loaded: LoadedSettings,
        secrets: SecretStore | None,
        keyring_status: KeyringStatus,
        *,
        path: Path,
    ) -> None:
        """Prefer ``await ConnectionStore.open()``; ``secrets`` None means no keyring works."""
        self._settings = loaded.settings
        self._problems = loaded.problems
        self._writable = loaded.writable
        self._secrets = secrets
        self._keyring_status = keyring_status
        self._path = path
        self._demo: dict[str, tuple[ConnectionProfile, str]] = {}
        self._staged: set[str] = set()  # ids whose key is in the store before the profile is
        self._journal = StagedKeyJournal(path.with_name(STAGED_FILE_NAME))
        self._lock = asyncio.Lock()  # one change at a time, so saves land in order

    @classmethod
    async def open(
        cls, *, path: Path | None = None, open_keyring: OpenKeyring | None = None
    ) -> ConnectionStore:
        """Load the settings and open the OS keyring, both in worker threads.

        ``open_keyring`` defaults to ``KeyringSecretStore.open``; when it raises
        KeyringUnavailableError the store opens anyway and reports ``keyring_status``.
        """
        path = path or settings_path()
        loaded = await asyncio.to_thread(load_settings, path)
        secrets: SecretStore | None
        try:
            secrets = await (open_keyring or KeyringSecretStore.open)()
            status = KeyringStatus(
                True, secrets.backend_name, f"Keys are kept in {secrets.backend_name}."
            )
        except KeyringUnavailableError as exc:
            log.warning("No OS keyring: %s", exc.status.reason)
            secrets, status = None, exc.status
        store = cls(loaded, secrets, status, path=path)
        await store._sweep_staged_keys()
        return store

    async def _sweep_staged_keys(self) -> None:
        """Remove keys an unfinished guided setup (a crash, a kill) left in the keyring."""
        pending = await asyncio.to_thread(self._journal.read)
        if not pending or self._secrets is None:
            return
        left: set[str] = set()
        for connection_id in pending:
            if self._settings.connection(connection_id) is not None:
                continue  # saved after all: its key is in use
            try:
                await self._secrets.delete(connection_id)
                log.info("Removed a key left by an unfinished guided setup (%s)", connection_id)
            except SecretStoreError as exc:
                log.warning("A key left by an unfinished guided setup stays: %s", exc)
                left.add(connection_id)
        await asyncio.to_thread(self._journal.write, left)

    async def _journal_staged(self) -> None:
        await asyncio.to_thread(self._journal.write, set(self._staged))

    # ---- state -----------------------------------------------------------------------------
    @property
    def path(self) -> Path:
        return self._path

    @property
    def settings(self) -> Settings:
        return self._settings

    @property
    def problems(self) -> tuple[SettingsProblem, ...]:
        """What was wrong with the settings file when it was loaded (for a banner)."""
        return self._problems

    @property
    def writable(self) -> bool:
        """False when the settings file belongs to a newer app or could not be read."""
        return self._writable

    @property
    def keyring_status(self) -> KeyringStatus:
        """The OS keyring as found at start-up (``available`` False: ``reason`` says why)."""
        return self._keyring_status

    @property
    def session_only(self) -> bool:
        return self._secrets is not None and not self._secrets.persistent

    @property
    def key_backend(self) -> str | None:
        """Where new keys go, in words ("Secret Service", "memory (this session only)")."""
        return self._secrets.backend_name if self._secrets is not None else None

    def use_session_only(self) -> None:
        """With no OS keyring: hold keys in memory until the app quits (the UI must say so)."""
        if self._keyring_status.available:
            raise ConnectionStoreError("The OS keyring works; keys are kept there.")
        if self._secrets is None:
            self._secrets = SessionSecretStore()
            log.info("Keys are held in memory for this session only")

    def connections(self) -> tuple[ConnectionProfile, ...]:
        """Saved connections in the order added, then this session's demo connections."""
        return (*self._settings.connections, *(p for p, _ in self._demo.values()))

    def get(self, connection_id: str) -> ConnectionProfile | None:
        demo = self._demo.get(connection_id)
        return demo[0] if demo else self._settings.connection(connection_id)

    def find(self, name_or_id: str) -> ConnectionProfile | None:
        """The connection with this id, or called this (case and outer spaces ignored)."""
        wanted = name_or_id.strip().casefold()
        for profile in self.connections():
            if profile.id == name_or_id or profile.name.casefold() == wanted:
                return profile
        return None

    def add_demo(self, profile: ConnectionProfile, secret: str) -> None:
        """A demo connection (the in-process simulator): in memory only, never saved."""
        if not profile.demo:
            raise ValueError("add_demo() takes a profile with demo=True")
        REDACTOR.register(secret)
        self._demo[profile.id] = (profile, secret)

    def _taken_names(self, except_id: str | None) -> list[str]:
        return [c.name for c in self.connections() if c.id != except_id]

    def _require(self, connection_id: str) -> ConnectionProfile:
        profile = self.get(connection_id)
        if profile is None:
            raise ConnectionStoreError(f"There is no connection with id {connection_id!r}.")
        return profile

    def _require_writable(self, action: str) -> None:
        if not self._writable:
            why = self._problems[0].message if self._problems else "the settings file is locked"
            raise ConnectionStoreError(
                f"Connections cannot be {action} this session: {why}", field="settings"
            )

    def _require_secrets(self) -> SecretStore:
        if self._secrets is None:
            raise ConnectionStoreError(
                f'{self._keyring_status.reason}. Choose "Hold keys in memory for this session" '
                "to use a key until PBX Companion quits.",
                field="secret",
            )
        return self._secrets

    async def _validated(
        self, profile: ConnectionProfile, secret: str | None, *, except_id: str | None
    ) -> tuple[ConnectionProfile, str | None]:
        checked, problems = check_profile(profile, taken_names=self._taken_names(except_id))
        key: str | None = None
        if secret is not None:
            try:
                key = check_key(secret)
            except InvalidConnectionError as exc:
                problems.update(exc.problems)
        problems.update(
            {k: v for k, v in (await asyncio.to_thread(file_problems, checked)).items()}
        )
        if problems:
            raise InvalidConnectionError(problems)
        return checked, key

    async def _save(self, settings: Settings) -> None:
        try:
            await asyncio.to_thread(save_settings, settings, self._path)
        except SettingsError as exc:
            raise ConnectionStoreError(str(exc), field="settings") from None

    # ---- changes ---------------------------------------------------------------------------
    async def add(self, profile: ConnectionProfile, secret: str | None) -> ConnectionProfile:
        """Validate, store the key, then save the profile; returns the profile as saved.

        ``secret`` None uses the key staged under ``profile.id`` (``stage_key``). Raises
        InvalidConnectionError (a message per field) or ConnectionStoreError. When the keyring
        or the file refuses, nothing of the connection is left behind, except a staged key,
        which stays staged for another try (``discard_staged_key`` removes it).
        """
        if profile.demo:
            raise ConnectionStoreError("Demo connections are not saved; use add_demo().")
        async with self._lock:
            self._require_writable("added")
            if self.get(profile.id) is not None:
                raise ConnectionStoreError(f"A connection with id {profile.id!r} already exists.")
            if secret is None and profile.id not in self._staged:
                raise ConnectionStoreError(
                    "No API key was pasted for this connection: paste the key 3CX showed when "
                    "the API client was created.",
                    field="secret",
                )
            checked, key = await self._validated(profile, secret, except_id=None)
            secrets = self._require_secrets()
            checked = dataclasses.replace(checked, key_rotated_at=utc_now(), last_check=None)
            if key is not None:
                REDACTOR.register(key)
                self._staged.discard(checked.id)
                try:
                    await secrets.set(checked.id, key)
                except SecretStoreError as exc:
                    raise ConnectionStoreError(str(exc), field="secret") from None
            updated = self._settings.with_connection(checked)
            try:
                await self._save(updated)
            except ConnectionStoreError:
                if key is not None:
                    await self._forget_key(secrets, checked.id)
                raise
            self._settings = updated
            if checked.id in self._staged:
                self._staged.discard(checked.id)
                await self._journal_staged()
            log.info("Connection %r added (key in %s)", checked.name, secrets.backend_name)
            return checked

    async def stage_key(self, connection_id: str, key: str) -> None:
        """Put a pasted key in the keyring before its connection is saved (the guided setup).

        Replaces a key staged earlier under the same id. Raises ConnectionStoreError with
        ``field="secret"`` for a broken paste, no keyring, or a keyring failure.
        """
        cleaned = check_key(key)
        REDACTOR.register(cleaned)
        async with self._lock:
            if self.get(connection_id) is not None:
                raise ConnectionStoreError(
                    f"A connection with id {connection_id!r} already exists: rotate its key "
                    "instead.",
                    field="secret",
                )
            secrets = self._require_secrets()
            self._staged.add(connection_id)
            await self._journal_staged()  # first: a crash after the keyring write is swept
            try:
                await secrets.set(connection_id, cleaned)
            except (SecretStoreError, ValueError) as exc:
                raise ConnectionStoreError(str(exc), field="secret") from None

    async def staged_key(self, connection_id: str) -> str | None:
        """The key staged under ``connection_id`` (to verify it; never to show), or None."""
        if connection_id not in self._staged:
            return None
        return await self.secret(connection_id)

    async def discard_staged_key(self, connection_id: str) -> None:
        """Remove a staged key (the guided setup was cancelled); no staged key is no error."""
        async with self._lock:
            if connection_id not in self._staged:
                return
            if self._secrets is not None:
                try:
                    await self._secrets.delete(connection_id)
                except SecretStoreError as exc:
                    raise ConnectionStoreError(str(exc), field="secret") from None
            self._staged.discard(connection_id)
            await self._journal_staged()

    async def update(self, profile: ConnectionProfile, new_secret: str | None) -> ConnectionProfile:
        """Save the engineer's edits; ``new_secret`` None keeps the stored key.

        The last check, detected version and hosting stay as the store has them (a doctor run
        may have updated them while the dialog was open); they are cleared when the address
        changes, because they described another PBX.
        """
        async with self._lock:
            current = self._require(profile.id)
            if current.demo:
                raise ConnectionStoreError("The demo connection cannot be edited.")
            self._require_writable("changed")
            checked, key = await self._validated(profile, new_secret, except_id=profile.id)
            checked = dataclasses.replace(
                checked,
                last_check=current.last_check,
                version=current.version,
                hosting=current.hosting,
                key_rotated_at=current.key_rotated_at,
            )
            if checked.url != current.url:
                checked = dataclasses.replace(checked, last_check=None, version=None, hosting=None)
            previous: str | None = None
            secrets: SecretStore | None = None
            if key is not None:
                secrets = self._require_secrets()
                REDACTOR.register(key)
                try:
                    previous = await secrets.get(checked.id)
                    if previous != key:
                        await secrets.set(checked.id, key)
                        checked = dataclasses.replace(checked, key_rotated_at=utc_now())
                except SecretStoreError as exc:
                    raise ConnectionStoreError(str(exc), field="secret") from None
            updated = self._settings.with_connection(checked)
            try:
                await self._save(updated)
            except ConnectionStoreError:
                if secrets is not None and key is not None and previous != key:
                    await self._restore_key(secrets, checked.id, previous)
                raise
            self._settings = updated
            log.info("Connection %r changed%s", checked.name, " (new key)" if key else "")
            return checked

    async def remove(self, connection_id: str) -> None:
        """Forget a connection and delete its key from the keyring.

        The key goes first: a failed save then leaves a connection without a key (paste it
        again), never a key nobody can see.
        """
        async with self._lock:
            if self._demo.pop(connection_id, None) is not None:
                return
            profile = self._require(connection_id)
            self._require_writable("removed")
            if self._secrets is None:
                log.warning(
                    "No keyring: a key stored earlier for %r stays under %r / %r",
                    profile.name,
                    SERVICE,
                    connection_id,
                )
            else:
                try:
                    await self._secrets.delete(connection_id)
                except SecretStoreError as exc:
                    raise ConnectionStoreError(
                        f"{profile.name} was not removed: {exc}", field="secret"
                    ) from None
            updated = self._settings.without_connection(connection_id)
            await self._save(updated)
            self._settings = updated
            log.info("Connection %r removed", profile.name)

    async def rotate_key(
        self, connection_id: str, new_key: str, *, verify: VerifyKey | None = None
    ) -> KeyRotation:
        """Prove ``new_key`` against the PBX, then swap it in and record when (never the key).

        ``verify`` defaults to ``verify_capabilities`` with the profile's address and TLS
        settings. Only a key that signs in and proves both capabilities replaces the stored
        one; until then, and after any failure of the swap, the old key stays in the keyring.
        Raises KeyRotationRejected (with the probes' report) or ConnectionStoreError.
        """
        profile = self._require(connection_id)
        if profile.demo:
            raise ConnectionStoreError("The demo connection's key cannot be rotated.")
        self._require_writable("changed")
        key = check_key(new_key)
        REDACTOR.register(key)
        secrets = self._require_secrets()
        if await self._stored_key(secrets, connection_id) == key:
            raise ConnectionStoreError(
                f"That is the key already stored for {profile.name}: paste the new key.",
                field="secret",
            )
        # Verified outside the lock: the PBX may take seconds, and nothing is changed yet.
        report = await (verify or _verify_against_profile)(profile, key)
        if not (report.key_accepted and report.both_capabilities):
            raise KeyRotationRejected(_rejection(profile, report), report)
        async with self._lock:
            current = self._require(connection_id)  # edited or removed meanwhile?
            previous = await self._stored_key(secrets, connection_id)
            rotated = dataclasses.replace(
                current,
                key_rotated_at=utc_now(),
                version=report.version or current.version,
            )
            updated = self._settings.with_connection(rotated)
            try:
                await secrets.set(connection_id, key)
                await self._save(updated)
            except BaseException as exc:  # cancelled too: the old key must be back
                await self._restore_key(secrets, connection_id, previous)
                if isinstance(exc, SecretStoreError):
                    raise ConnectionStoreError(
                        f"The key for {profile.name} was not rotated: {exc}", field="secret"
                    ) from None
                raise
            self._settings = updated
        log.info("Key for %r rotated after the PBX accepted it", rotated.name)
        return KeyRotation(rotated, report)

    async def _stored_key(self, secrets: SecretStore, connection_id: str) -> str | None:
        try:
            return await secrets.get(connection_id)
        except SecretStoreError as exc:
            raise ConnectionStoreError(str(exc), field="secret") from None

    async def _forget_key(self, secrets: SecretStore, connection_id: str) -> None:
        try:
            await secrets.delete(connection_id)
        except SecretStoreError as exc:
            log.error("A key saved for a connection that was not added stays behind: %s", exc)

    async def _restore_key(
        self, secrets: SecretStore, connection_id: str, previous: str | None
    ) -> None:
        try:
            if previous is None:
                await secrets.delete(connection_id)
            else:
                await secrets.set(connection_id, previous)
        except SecretStoreError as exc:
            log.error("The previous key could not be put back: %s", exc)

    async def record_check(
        self,
        connection_id: str,
        check: LastCheck,
        *,
        version: str | None = None,
        hosting: str | None = None,
    ) -> ConnectionProfile:
        """Remember a doctor run's outcome (and what it detected) for the status column."""
        async with self._lock:
            current = self._require(connection_id)
            changed = dataclasses.replace(
                current,
                last_check=check,
                version=version or current.version,
                hosting=hosting or current.hosting,
            )
            demo = self._demo.get(connection_id)
            if demo is not None:
                self._demo[connection_id] = (changed, demo[1])
                return changed
            updated = self._settings.with_connection(changed)
            if self._writable:
                await self._save(updated)
            self._settings = updated
            return changed

    async def set_preferences(self, **changes: Any) -> Settings:
        """Change preferences (presenter_mode, large_type, engineer_name, ...) and save them.

        Raises ConnectionStoreError naming an unknown or unusable preference. When the file
        belongs to a newer app the change holds for this session only.
        """
        unknown = sorted(set(changes) - set(PREFERENCE_FIELDS))
        if unknown:
            raise ConnectionStoreError(f"Unknown setting: {', '.join(unknown)}.", field="settings")
        async with self._lock:
            updated = self._settings.replace(**changes)
            try:
                check_preferences(updated)
            except ValueError as exc:
                raise ConnectionStoreError(str(exc), field="settings") from None
            if (
                updated.last_connection_id
                and self._settings.connection(updated.last_connection_id) is None
            ):
                # The demo (or a removed connection) is not worth reopening next time.
                updated = updated.replace(last_connection_id=self._settings.last_connection_id)
            if updated == self._settings:
                return updated
            if self._writable:
                await self._save(updated)
            self._settings = updated
            return updated

    # ---- keys and sessions -----------------------------------------------------------------
    async def secret(self, connection_id: str) -> str | None:
        """The stored key, or None. Raises ConnectionStoreError when the keyring fails."""
        demo = self._demo.get(connection_id)
        if demo is not None:
            return demo[1]
        if self._secrets is None:
            return None
        try:
            return await self._secrets.get(connection_id)
        except SecretStoreError as exc:
            raise ConnectionStoreError(str(exc), field="secret") from None

    async def open_session(self, connection_id: str, *, poll_interval_s: float = 5.0) -> PbxSession:
        """A session for the connection (not yet signed in: ``await session.client()`` does)."""
        profile = self._require(connection_id)
        secret = await self.secret(connection_id)
        if secret is None:
            if self._secrets is None:
                raise ConnectionStoreError(
                    f"No key for {profile.name}: {self._keyring_status.reason}.", field="secret"
                )
            raise ConnectionStoreError(
                f"No key stored for {profile.name}: edit the connection and paste the key.",
                field="secret",
            )
        return PbxSession(profile, secret, poll_interval_s=poll_interval_s)
