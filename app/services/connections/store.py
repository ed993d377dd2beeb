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
from pathlib import Path
from typing import Any

from app.domain.activity_columns import ActivityColumns
from app.domain.clock import utc_now
from app.domain.connection import CheckStatusSummary, ConnectionProfile, LastCheck
from app.domain.diagnosis import CheckId, CheckStatus, Diagnosis
from app.services.connections.key_rotation import (
    BRIDGES_REMINDER,
    KeyRotation,
    KeyRotationRejected,
    VerifyKey,
    rejection,
    verify_against_profile,
)
from app.services.connections.key_vault import (
    KeyVault,
    OpenKeyring,
    forget_key,
    open_secret_store,
    restore_key,
    stored_key,
)
from app.services.connections.secrets import (
    SERVICE,
    KeyringStatus,
    SecretStore,
    SecretStoreError,
)
from app.services.connections.validation import (
    FIELD_LABELS,
    ConnectionStoreError,
    InvalidConnectionError,
    check_key,
    check_profile,
    file_problems,
)
from app.services.doctor.text import summary_line
from app.services.logs.setup import REDACTOR
from app.services.session import PbxSession
from app.services.settings.file import (
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

log = logging.getLogger(__name__)

# Callers import the connection errors, checks and rotation types from here, beside the store.
__all__ = [
    "BRIDGES_REMINDER",
    "FIELD_LABELS",
    "ConnectionStore",
    "ConnectionStoreError",
    "InvalidConnectionError",
    "KeyRotation",
    "KeyRotationRejected",
    "check_key",
    "check_profile",
    "file_problems",
    "last_check_of",
]


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
        self._keys = KeyVault(secrets, keyring_status, path)
        self._path = path
        self._demo: dict[str, tuple[ConnectionProfile, str]] = {}
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
        secrets, status = await open_secret_store(open_keyring)
        store = cls(loaded, secrets, status, path=path)
        await store._keys.sweep_staged(lambda id_: store._settings.connection(id_) is not None)
        return store

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
        return self._keys.status

    @property
    def session_only(self) -> bool:
        return self._keys.session_only

    @property
    def key_backend(self) -> str | None:
        """Where new keys go, in words ("Secret Service", "memory (this session only)")."""
        return self._keys.backend

    @property
    def _secrets(self) -> SecretStore | None:
        # Where the keys are now; kept under this name for the tests that reach into it.
        return self._keys.secrets

    def use_session_only(self) -> None:
        """With no OS keyring: hold keys in memory until the app quits (the UI must say so)."""
        self._keys.use_session_only()

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
            if secret is None and profile.id not in self._keys.staged:
                raise ConnectionStoreError(
                    "No API key was pasted for this connection: paste the key 3CX showed when "
                    "the API client was created.",
                    field="secret",
                )
            checked, key = await self._validated(profile, secret, except_id=None)
            secrets = self._keys.require()
            checked = dataclasses.replace(checked, key_rotated_at=utc_now(), last_check=None)
            if key is not None:
                REDACTOR.register(key)
                self._keys.staged.discard(checked.id)
                try:
                    await secrets.set(checked.id, key)
                except SecretStoreError as exc:
                    raise ConnectionStoreError(str(exc), field="secret") from None
            updated = self._settings.with_connection(checked)
            try:
                await self._save(updated)
            except ConnectionStoreError:
                if key is not None:
                    await forget_key(secrets, checked.id)
                raise
            self._settings = updated
            if checked.id in self._keys.staged:
                self._keys.staged.discard(checked.id)
                await self._keys.journal_staged()
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
            await self._keys.stage(connection_id, cleaned)

    async def staged_key(self, connection_id: str) -> str | None:
        """The key staged under ``connection_id`` (to verify it; never to show), or None."""
        if connection_id not in self._keys.staged:
            return None
        return await self.secret(connection_id)

    async def discard_staged_key(self, connection_id: str) -> None:
        """Remove a staged key (the guided setup was cancelled); no staged key is no error."""
        async with self._lock:
            await self._keys.discard_staged(connection_id)

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
                # Mapped in the Reconcile pane (remember_activity_columns), not in the dialog.
                activity_columns=current.activity_columns,
            )
            if checked.url != current.url:
                checked = dataclasses.replace(checked, last_check=None, version=None, hosting=None)
            previous: str | None = None
            secrets: SecretStore | None = None
            if key is not None:
                secrets = self._keys.require()
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
                    await restore_key(secrets, checked.id, previous)
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
            if self._keys.secrets is None:
                log.warning(
                    "No keyring: a key stored earlier for %r stays under %r / %r",
                    profile.name,
                    SERVICE,
                    connection_id,
                )
            else:
                try:
                    await self._keys.secrets.delete(connection_id)
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
        secrets = self._keys.require()
        if await stored_key(secrets, connection_id) == key:
            raise ConnectionStoreError(
                f"That is the key already stored for {profile.name}: paste the new key.",
                field="secret",
            )
        # Verified outside the lock: the PBX may take seconds, and nothing is changed yet.
        report = await (verify or verify_against_profile)(profile, key)
        if not (report.key_accepted and report.both_capabilities):
            raise KeyRotationRejected(rejection(profile, report), report)
        async with self._lock:
            current = self._require(connection_id)  # edited or removed meanwhile?
            previous = await stored_key(secrets, connection_id)
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
                await restore_key(secrets, connection_id, previous)
                if isinstance(exc, SecretStoreError):
                    raise ConnectionStoreError(
                        f"The key for {profile.name} was not rotated: {exc}", field="secret"
                    ) from None
                raise
            self._settings = updated
        log.info("Key for %r rotated after the PBX accepted it", rotated.name)
        return KeyRotation(rotated, report)

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
            return await self._keep_locked(changed)

    async def remember_activity_columns(
        self, connection_id: str, columns: ActivityColumns | None
    ) -> ConnectionProfile:
        """Keep the CRM activity export's columns as the engineer mapped them (None: detect).

        The demo's mapping lasts the session; a file owned by a newer app is left untouched
        and the mapping holds for this session only, like a doctor run's outcome.
        """
        async with self._lock:
            current = self._require(connection_id)
            if current.activity_columns == columns:
                return current
            log.info("Connection %r: the CRM activity columns were mapped", current.name)
            return await self._keep_locked(dataclasses.replace(current, activity_columns=columns))

    async def _keep_locked(self, changed: ConnectionProfile) -> ConnectionProfile:
        """Keep a changed profile (the lock held): the demo's in memory, a saved one in the
        file when the file is ours to write (else for this session only)."""
        demo = self._demo.get(changed.id)
        if demo is not None:
            self._demo[changed.id] = (changed, demo[1])
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
        return await self._keys.get(connection_id)

    async def open_session(self, connection_id: str, *, poll_interval_s: float = 5.0) -> PbxSession:
        """A session for the connection (not yet signed in: ``await session.client()`` does)."""
        profile = self._require(connection_id)
        secret = await self.secret(connection_id)
        if secret is None:
            if self._keys.secrets is None:
                raise ConnectionStoreError(
                    f"No key for {profile.name}: {self._keys.status.reason}.", field="secret"
                )
            raise ConnectionStoreError(
                f"No key stored for {profile.name}: edit the connection and paste the key.",
                field="secret",
            )
        return PbxSession(profile, secret, poll_interval_s=poll_interval_s)
