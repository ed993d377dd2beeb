"""The connections' API keys: the OS keyring (or memory, once the engineer agrees) and the keys
staged there before their connection is saved.

``ConnectionStore`` decides when a key changes; this says where keys live and turns the
keyring's failures into ``ConnectionStoreError`` for the dialog's "API key" field.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from pathlib import Path

from app.services.connections.secrets import (
    KeyringSecretStore,
    KeyringStatus,
    KeyringUnavailableError,
    SecretStore,
    SecretStoreError,
    SessionSecretStore,
)
from app.services.connections.staged_keys import FILE_NAME as STAGED_FILE_NAME
from app.services.connections.staged_keys import StagedKeyJournal
from app.services.connections.validation import ConnectionStoreError

# The store's logger: the keys are part of what the connections log tells.
log = logging.getLogger(__name__)

OpenKeyring = Callable[[], Awaitable[SecretStore]]


async def open_secret_store(opener: OpenKeyring | None) -> tuple[SecretStore | None, KeyringStatus]:
    """The OS keyring and its status; None with the reason when no keyring works."""
    try:
        secrets = await (opener or KeyringSecretStore.open)()
    except KeyringUnavailableError as exc:
        log.warning("No OS keyring: %s", exc.status.reason)
        return None, exc.status
    return secrets, KeyringStatus(
        True, secrets.backend_name, f"Keys are kept in {secrets.backend_name}."
    )


class KeyVault:
    """Where keys live (``secrets`` None: nowhere yet) and which ones are only staged."""

    def __init__(
        self, secrets: SecretStore | None, status: KeyringStatus, settings_file: Path
    ) -> None:
        self.secrets = secrets
        self.status = status
        self.staged: set[str] = set()  # ids whose key is in the store before the profile is
        self._journal = StagedKeyJournal(settings_file.with_name(STAGED_FILE_NAME))

    @property
    def session_only(self) -> bool:
        return self.secrets is not None and not self.secrets.persistent

    @property
    def backend(self) -> str | None:
        return self.secrets.backend_name if self.secrets is not None else None

    def use_session_only(self) -> None:
        if self.status.available:
            raise ConnectionStoreError("The OS keyring works; keys are kept there.")
        if self.secrets is None:
            self.secrets = SessionSecretStore()
            log.info("Keys are held in memory for this session only")

    def require(self) -> SecretStore:
        """The store new keys go to; without one, an error saying how to get one."""
        if self.secrets is None:
            raise ConnectionStoreError(
                f'{self.status.reason}. Choose "Hold keys in memory for this session" '
                "to use a key until PBX Companion quits.",
                field="secret",
            )
        return self.secrets

    # ---- staged keys -----------------------------------------------------------------------
    async def sweep_staged(self, is_saved: Callable[[str], bool]) -> None:
        """Remove keys an unfinished guided setup (a crash, a kill) left in the keyring."""
        pending = await asyncio.to_thread(self._journal.read)
        if not pending or self.secrets is None:
            return
        left: set[str] = set()
        for connection_id in pending:
            if is_saved(connection_id):
                continue  # saved after all: its key is in use
            try:
                await self.secrets.delete(connection_id)
                log.info("Removed a key left by an unfinished guided setup (%s)", connection_id)
            except SecretStoreError as exc:
                log.warning("A key left by an unfinished guided setup stays: %s", exc)
                left.add(connection_id)
        await asyncio.to_thread(self._journal.write, left)

    async def journal_staged(self) -> None:
        await asyncio.to_thread(self._journal.write, set(self.staged))

    async def stage(self, connection_id: str, key: str) -> None:
        secrets = self.require()
        self.staged.add(connection_id)
        await self.journal_staged()  # first: a crash after the keyring write is swept
        try:
            await secrets.set(connection_id, key)
        except (SecretStoreError, ValueError) as exc:
            raise ConnectionStoreError(str(exc), field="secret") from None

    async def discard_staged(self, connection_id: str) -> None:
        if connection_id not in self.staged:
            return
        if self.secrets is not None:
            try:
                await self.secrets.delete(connection_id)
            except SecretStoreError as exc:
                raise ConnectionStoreError(str(exc), field="secret") from None
        self.staged.discard(connection_id)
        await self.journal_staged()

    # ---- one key ---------------------------------------------------------------------------
    async def get(self, connection_id: str) -> str | None:
        """The stored key, or None (also with no store at all)."""
        if self.secrets is None:
            return None
        return await stored_key(self.secrets, connection_id)


async def stored_key(secrets: SecretStore, connection_id: str) -> str | None:
    try:
        return await secrets.get(connection_id)
    except SecretStoreError as exc:
        raise ConnectionStoreError(str(exc), field="secret") from None


async def forget_key(secrets: SecretStore, connection_id: str) -> None:
    """Undo a key written for a connection that was then not saved."""
    try:
        await secrets.delete(connection_id)
    except SecretStoreError as exc:
        log.error("A key saved for a connection that was not added stays behind: %s", exc)


async def restore_key(secrets: SecretStore, connection_id: str, previous: str | None) -> None:
    """Put back the key a failed change replaced (or remove it if there was none)."""
    try:
        if previous is None:
            await secrets.delete(connection_id)
        else:
            await secrets.set(connection_id, previous)
    except SecretStoreError as exc:
        log.error("The previous key could not be put back: %s", exc)
