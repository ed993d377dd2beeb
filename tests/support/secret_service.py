"""A private Secret Service: its own D-Bus session bus and an unlocked gnome-keyring-daemon.

Everything lives in a throwaway directory (HOME, XDG dirs, bus socket, keyring files), so the
tests never see or touch the real user's keyring, and the bus has no service activation, so
nothing but the daemons started here can appear on it.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Mapping
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from tests.support.system_tools import BackgroundDaemons, read_line, stop_process_group

SECRETS_BUS_NAME = "org.freedesktop.secrets"
_START_TIMEOUT = 15.0
# Not a secret: it only unlocks a throwaway keyring that dies with the test session.
_KEYRING_PASSWORD = b"pbx-companion-tests"

_BUS_CONFIG = """<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>unix:dir={directory}</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
</busconfig>
"""


class SecretServiceStartError(RuntimeError):
    """The private bus or keyring daemon did not come up; the message carries their logs."""


@dataclass(frozen=True)
class SecretServiceBus:
    """A running private Secret Service: the bus address and an environment for subprocesses."""

    address: str
    root: Path
    env: Mapping[str, str] = field(repr=False)

    @property
    def keyrings_dir(self) -> Path:
        return self.root / "data" / "keyrings"


def _read_line(stream: IO[bytes], deadline: float) -> bytes:
    return read_line(stream.fileno(), deadline)


class PrivateSecretService(BackgroundDaemons[SecretServiceBus]):
    """Context manager that starts the bus and the keyring daemon and stops both on exit."""

    def __init__(self) -> None:
        super().__init__()
        self._root: Path | None = None

    def _log_tail(self, name: str) -> str:
        assert self._root is not None
        path = self._root / name
        text = path.read_text(errors="replace") if path.exists() else ""
        return text[-2000:] or "(empty)"

    def _start(self) -> SecretServiceBus:
        # Short path under the temp dir: a unix socket path must stay under 108 bytes.
        root = Path(tempfile.mkdtemp(prefix="pbx-ss-"))
        self._root = root
        self._stack.callback(shutil.rmtree, root, ignore_errors=True)
        for sub in ("home", "data", "config", "cache", "runtime"):
            (root / sub).mkdir(mode=0o700)
        config = root / "bus.conf"
        config.write_text(_BUS_CONFIG.format(directory=root))

        address = self._start_bus(config)
        env = self._environment(root, address)
        daemon = self._start_keyring(env)
        self._wait_for_owner(address, daemon)
        self._check_default_collection(address)
        return SecretServiceBus(address=address, root=root, env=env)

    def _start_bus(self, config: Path) -> str:
        assert self._root is not None
        with (self._root / "dbus-daemon.log").open("wb") as log:
            bus = subprocess.Popen(
                [
                    "dbus-daemon",
                    f"--config-file={config}",
                    "--nofork",
                    "--nopidfile",
                    "--print-address=1",
                ],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=log,
                start_new_session=True,
            )
        self._stack.callback(stop_process_group, bus)
        assert bus.stdout is not None
        address = _read_line(bus.stdout, time.monotonic() + _START_TIMEOUT).decode()
        if not address:
            raise SecretServiceStartError(
                f"dbus-daemon printed no address: {self._log_tail('dbus-daemon.log')}"
            )
        return address

    @staticmethod
    def _environment(root: Path, address: str) -> dict[str, str]:
        env = {
            key: value
            for key, value in os.environ.items()
            # No display: gnome-keyring must never try to pop up a prompt.
            if key not in {"DISPLAY", "WAYLAND_DISPLAY", "GNOME_KEYRING_CONTROL", "SSH_AUTH_SOCK"}
        }
        env.update(
            DBUS_SESSION_BUS_ADDRESS=address,
            HOME=str(root / "home"),
            XDG_DATA_HOME=str(root / "data"),
            XDG_CONFIG_HOME=str(root / "config"),
            XDG_CACHE_HOME=str(root / "cache"),
            XDG_RUNTIME_DIR=str(root / "runtime"),
        )
        return env

    def _start_keyring(self, env: dict[str, str]) -> subprocess.Popen[bytes]:
        assert self._root is not None
        with (self._root / "gnome-keyring.log").open("wb") as log:
            # --unlock reads the password from stdin and creates the "login" collection,
            # unlocked and aliased as "default", on first start.
            daemon = subprocess.Popen(
                ["gnome-keyring-daemon", "--foreground", "--components=secrets", "--unlock"],
                stdin=subprocess.PIPE,
                stdout=log,
                stderr=log,
                env=env,
                start_new_session=True,
            )
        # Stopped before the bus (ExitStack unwinds last-in first-out).
        self._stack.callback(stop_process_group, daemon)
        assert daemon.stdin is not None
        daemon.stdin.write(_KEYRING_PASSWORD)
        daemon.stdin.close()
        return daemon

    def _wait_for_owner(self, address: str, daemon: subprocess.Popen[bytes]) -> None:
        from jeepney.bus_messages import message_bus
        from jeepney.io.blocking import Proxy, open_dbus_connection

        deadline = time.monotonic() + _START_TIMEOUT
        with closing(open_dbus_connection(bus=address)) as connection:
            bus = Proxy(message_bus, connection)
            while True:
                (owned,) = bus.NameHasOwner(SECRETS_BUS_NAME)
                if owned:
                    return
                if daemon.poll() is not None or time.monotonic() > deadline:
                    raise SecretServiceStartError(
                        f"gnome-keyring-daemon never took {SECRETS_BUS_NAME} "
                        f"(exit code {daemon.poll()}): {self._log_tail('gnome-keyring.log')}"
                    )
                time.sleep(0.05)

    @staticmethod
    def _check_default_collection(address: str) -> None:
        import secretstorage
        from jeepney.io.blocking import open_dbus_connection

        with closing(open_dbus_connection(bus=address)) as connection:
            try:
                collection = secretstorage.Collection(connection)
            except secretstorage.exceptions.ItemNotFoundException as error:
                raise SecretServiceStartError(
                    "gnome-keyring has no default collection; --unlock should have created it"
                ) from error
            if collection.is_locked():
                raise SecretServiceStartError("gnome-keyring's default collection is locked")
