"""Where a connection's 3CX API key lives: the OS keyring, or memory for this session only.

A key is stored under the service ``pbx-companion`` with the connection id as the user name, one
entry per connection. Only real OS keyrings are accepted (Secret Service, KWallet, macOS
Keychain, Windows Credential Manager); keyring backends that write files (keyrings.alt's
plaintext or "encrypted" files, and any backend this module does not know) are refused, because
the house rule is that a key is never written to disk by us. Keyring calls can block on D-Bus or
an unlock prompt, so every one runs in a worker thread.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final, Protocol, TypeVar

import keyring
from keyring.backend import KeyringBackend
from keyring.backends.chainer import ChainerBackend
from keyring.errors import KeyringLocked, PasswordDeleteError

from app.domain.connection import paste_flaw, tidy_paste

SERVICE: Final = "pbx-companion"

# Fully qualified class name of each OS keyring backend we trust, with a name for engineers.
# An exact-type allowlist: a subclass or an unknown plugin could keep keys in a plain file.
_OS_KEYRINGS: Final[dict[str, str]] = {
    "keyring.backends.SecretService.Keyring": "Secret Service",
    "keyring.backends.libsecret.Keyring": "Secret Service (libsecret)",
    "keyring.backends.kwallet.DBusKeyring": "KWallet",
    "keyring.backends.kwallet.DBusKeyringKWallet4": "KWallet 4",
    "keyring.backends.macOS.Keyring": "macOS Keychain",
    "keyring.backends.Windows.WinVaultKeyring": "Windows Credential Manager",
}

# keyring's placeholders for "nothing usable" and "switched off", described as such.
_PLACEHOLDERS: Final[dict[str, str]] = {
    "keyring.backends.fail.Keyring": "keyring found no usable backend",
    "keyring.backends.null.Keyring": "keyring is switched off by its null backend",
}

_DETAIL_LIMIT: Final = 300

_T = TypeVar("_T")


class SecretStoreError(Exception):
    """A key could not be read, saved or removed. The message never contains the key."""


class KeyringUnavailableError(SecretStoreError):
    """No OS keyring can be used; ``status.reason`` says why and what to do."""

    def __init__(self, status: KeyringStatus) -> None:
        super().__init__(status.reason)
        self.status = status


@dataclass(frozen=True)
class KeyringStatus:
    """Whether the OS keyring can hold keys, which one it is, and (if not) why and what to do."""

    available: bool
    backend_name: str
    reason: str


class SecretStore(Protocol):
    """Holds one secret (the 3CX API key) per connection id."""

    @property
    def backend_name(self) -> str:
        """Where keys go, in words for the engineer ("Secret Service", "memory ...")."""
        ...

    @property
    def persistent(self) -> bool:
        """True when a key survives restarting the app."""
        ...

    async def get(self, connection_id: str) -> str | None: ...

    async def set(self, connection_id: str, secret: str) -> None: ...

    async def delete(self, connection_id: str) -> None:
        """Remove the key; removing a key that is not there is not an error."""
        ...


def _no_keyring_reason(found: str) -> str:
    if sys.platform == "darwin":
        fix = "on macOS unlock the login Keychain and allow PBX Companion to use it"
    elif sys.platform == "win32":
        fix = "on Windows make sure Credential Manager is available for your account"
    else:
        fix = "on Linux install and unlock gnome-keyring or KWallet"
    return (
        f"No OS keyring is available ({found}): {fix}; "
        "until then keys can be held in memory for this session only"
    )


def _class_path(backend: KeyringBackend) -> str:
    cls = type(backend)
    return f"{cls.__module__}.{cls.__qualname__}"


def _refused(path: str) -> KeyringStatus:
    found = _PLACEHOLDERS.get(path) or f"the keyring backend {path} is not an OS keyring"
    return KeyringStatus(False, path, _no_keyring_reason(found))


@dataclass(frozen=True)
class _Assessment:
    status: KeyringStatus
    backend: KeyringBackend | None


def _viability_problem(backend: KeyringBackend) -> str | None:
    """Why an OS keyring cannot be used right now, or None. May talk to D-Bus."""
    try:
        priority = float(type(backend).priority)
    except OSError as error:
        return f"it cannot be reached ({_detail(error)})"
    except Exception as error:  # keyring signals "not usable here" by raising from priority
        return _detail(error)
    if priority <= 0:
        return "it reports that it cannot be used here"
    return None


def _assess(backend: KeyringBackend) -> _Assessment:
    if isinstance(backend, ChainerBackend):
        # keyring chains every viable backend when there are several; writes go to the first
        # one, so keep only the OS keyrings and use the best of them directly.
        chained: list[KeyringBackend] = list(backend.backends)
        trusted = [item for item in chained if _class_path(item) in _OS_KEYRINGS]
        if not trusted:
            refused = ", ".join(_class_path(item) for item in chained) or "nothing"
            found = f"the keyring chain holds no OS keyring, only {refused}"
            return _Assessment(KeyringStatus(False, "none", _no_keyring_reason(found)), None)
        backend = trusted[0]

    path = _class_path(backend)
    name = _OS_KEYRINGS.get(path)
    if name is None:
        return _Assessment(_refused(path), None)
    problem = _viability_problem(backend)
    if problem is not None:
        found = f"{name} cannot be used: {problem}"
        return _Assessment(KeyringStatus(False, name, _no_keyring_reason(found)), None)
    return _Assessment(KeyringStatus(True, name, f"Keys are kept in {name}."), backend)


def keyring_status(backend: KeyringBackend | None = None) -> KeyringStatus:
    """Whether the OS keyring (keyring's chosen backend, or ``backend``) can hold keys.

    Blocking: it may talk to D-Bus. From the GUI, use ``await asyncio.to_thread(keyring_status)``.
    """
    return _assess(keyring.get_keyring() if backend is None else backend).status


def _detail(error: BaseException, secret: str | None = None) -> str:
    """A short description of a backend error that is safe to show, log and report."""
    text = " ".join(str(error).split())
    if secret and secret in text:
        text = "details withheld because they contained the key"
    if len(text) > _DETAIL_LIMIT:
        text = text[: _DETAIL_LIMIT - 1] + "…"
    return f"{type(error).__name__}: {text}" if text else type(error).__name__


def _check_connection_id(connection_id: str) -> None:
    if not connection_id or not connection_id.strip() or not connection_id.isprintable():
        raise ValueError("A connection id must be non-empty printable text.")


class KeyringSecretStore:
    """Keys in the OS keyring: service ``pbx-companion``, user name = connection id."""

    def __init__(self, backend: KeyringBackend) -> None:
        """Use ``backend`` as it is; prefer ``await KeyringSecretStore.open()``, which checks it.

        Raises KeyringUnavailableError for a backend that is not an OS keyring.
        """
        path = _class_path(backend)
        name = _OS_KEYRINGS.get(path)
        if name is None:
            raise KeyringUnavailableError(_refused(path))
        self._backend = backend
        self._name = name

    @classmethod
    async def open(cls, backend: KeyringBackend | None = None) -> KeyringSecretStore:
        """The store over keyring's chosen backend (or ``backend``), checked in a worker thread.

        Raises KeyringUnavailableError, whose status says why and what to do; the caller can
        then offer a SessionSecretStore.
        """

        def assess() -> _Assessment:
            return _assess(keyring.get_keyring() if backend is None else backend)

        assessment = await asyncio.to_thread(assess)
        if assessment.backend is None:
            raise KeyringUnavailableError(assessment.status)
        return cls(assessment.backend)

    @property
    def backend_name(self) -> str:
        return self._name

    @property
    def persistent(self) -> bool:
        return True

    def __repr__(self) -> str:
        return f"KeyringSecretStore(backend={self._name!r}, service={SERVICE!r})"

    async def get(self, connection_id: str) -> str | None:
        _check_connection_id(connection_id)
        return await self._run(
            "read", connection_id, None, lambda: self._backend.get_password(SERVICE, connection_id)
        )

    async def set(self, connection_id: str, secret: str) -> None:
        _check_connection_id(connection_id)
        if not secret:
            raise ValueError("The key is empty; there is nothing to save.")
        await self._run(
            "save",
            connection_id,
            secret,
            lambda: self._backend.set_password(SERVICE, connection_id, secret),
        )

    async def delete(self, connection_id: str) -> None:
        _check_connection_id(connection_id)
        await self._run("remove", connection_id, None, lambda: self._delete(connection_id))

    def _delete(self, connection_id: str) -> None:
        try:
            self._backend.delete_password(SERVICE, connection_id)
        except PasswordDeleteError:
            # Backends raise this both for "not there" and for real failures.
            if self._backend.get_password(SERVICE, connection_id) is not None:
                raise

    async def _run(
        self, action: str, connection_id: str, secret: str | None, call: Callable[[], _T]
    ) -> _T:
        try:
            return await asyncio.to_thread(call)
        except Exception as error:  # any backend failure becomes one error with a safe message
            failure = self._error(action, connection_id, error, secret)
        # Raised outside the except block so the backend's exception (and the frames that hold
        # the key) is not attached as __context__ for a traceback to print.
        raise failure

    def _error(
        self, action: str, connection_id: str, error: Exception, secret: str | None
    ) -> SecretStoreError:
        if isinstance(error, KeyringLocked):
            advice = f"{self._name} is locked: unlock it (or log in again) and retry"
        else:
            advice = f"check that {self._name} is running and unlocked, then retry"
        return SecretStoreError(
            f"Could not {action} the key for connection {connection_id!r} in {self._name} "
            f"({_detail(error, secret)}): {advice}."
        )


class SessionSecretStore:
    """Keys held in memory only, for when no OS keyring works: gone when the app quits."""

    def __init__(self) -> None:
        self._secrets: dict[str, str] = {}

    @property
    def backend_name(self) -> str:
        return "memory (this session only)"

    @property
    def persistent(self) -> bool:
        return False

    def __repr__(self) -> str:
        return f"SessionSecretStore(entries={len(self._secrets)})"

    async def get(self, connection_id: str) -> str | None:
        _check_connection_id(connection_id)
        return self._secrets.get(connection_id)

    async def set(self, connection_id: str, secret: str) -> None:
        _check_connection_id(connection_id)
        if not secret:
            raise ValueError("The key is empty; there is nothing to save.")
        self._secrets[connection_id] = secret

    async def delete(self, connection_id: str) -> None:
        _check_connection_id(connection_id)
        self._secrets.pop(connection_id, None)


def normalise_pasted_key(text: str) -> str:
    """The key as pasted, minus surrounding whitespace and invisible characters.

    Raises ValueError naming the problem (never echoing the key) when nothing is left or when
    whitespace or a control character sits inside the key.
    """
    cleaned = tidy_paste(text)
    if not cleaned:
        raise ValueError(
            "The API key is empty: paste the key 3CX showed when the API client was created."
        )
    flaw = paste_flaw(cleaned)
    if flaw is not None and flaw.space:
        raise ValueError(
            f"The API key has a space or line break inside it ({flaw.where}); 3CX keys never "
            "do, so copy the key again in one piece."
        )
    if flaw is not None:
        raise ValueError(
            f"The API key contains an invisible control character ({flaw.where}); copy the key "
            "again, or paste it into a plain-text editor first."
        )
    return cleaned
