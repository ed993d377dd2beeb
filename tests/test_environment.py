"""The test environment itself: the private Xvfb and Secret Service really work."""

from __future__ import annotations

import asyncio
import os
import struct
import sys
from pathlib import Path

import pytest

from tests.support.secret_service import SECRETS_BUS_NAME, SecretServiceBus
from tests.support.xvfb import XvfbDisplay

# Runs in a child process: QApplication is process-global and pytest-qt owns this process's one.
_SCREENSHOT_SCRIPT = """
import sys
from pathlib import Path
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QPalette
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QWidget

out = Path(sys.argv[1])
app = QApplication([])
window = QWidget()
window.setWindowTitle("PBX Companion environment check")
palette = window.palette()
palette.setColor(QPalette.ColorRole.Window, QColor("#1e90ff"))
window.setPalette(palette)
window.setAutoFillBackground(True)
window.resize(320, 200)
window.show()
if not QTest.qWaitForWindowExposed(window, 5000):
    sys.exit("window was never exposed")
QTest.qWait(100)
screen = app.primaryScreen()
if not screen.grabWindow(0).save(str(out / "screen.png")):
    sys.exit("could not save the screen grab")
if not screen.grabWindow(window.winId()).save(str(out / "window.png")):
    sys.exit("could not save the window grab")
print(app.platformName())
"""


def png_size(path: Path) -> tuple[int, int]:
    header = path.read_bytes()[:24]
    assert header[:8] == b"\x89PNG\r\n\x1a\n", f"{path.name} is not a PNG"
    width, height = struct.unpack(">II", header[16:24])
    return width, height


@pytest.mark.display
async def test_xvfb_shows_a_real_qt_window(xvfb_display: XvfbDisplay, tmp_path: Path) -> None:
    env = {**os.environ, "DISPLAY": xvfb_display.display, "QT_QPA_PLATFORM": "xcb"}
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        _SCREENSHOT_SCRIPT,
        str(tmp_path),
        env=env,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    stdout, stderr = await asyncio.wait_for(process.communicate(), timeout=60)
    assert process.returncode == 0, stderr.decode(errors="replace")
    assert stdout.decode().strip() == "xcb"
    assert png_size(tmp_path / "screen.png") == (xvfb_display.width, xvfb_display.height)
    assert png_size(tmp_path / "window.png") == (320, 200)


@pytest.mark.keyring
async def test_secret_service_is_private_and_unlocked(secret_service: SecretServiceBus) -> None:
    from jeepney.bus_messages import message_bus
    from jeepney.io.asyncio import open_dbus_router

    assert os.environ["DBUS_SESSION_BUS_ADDRESS"] == secret_service.address
    async with open_dbus_router(bus=secret_service.address) as router:
        reply = await router.send_and_get_reply(message_bus.NameHasOwner(SECRETS_BUS_NAME))
    assert reply.body == (True,)
    # gnome-keyring keeps its files in the throwaway directory, not in the real home.
    assert (secret_service.keyrings_dir / "login.keyring").exists()
    assert secret_service.env["HOME"].startswith(str(secret_service.root))


def test_qt_bindings_do_not_leak_references_to_none() -> None:
    """PySide6 6.12.0 dropped a reference to None on every void call, so a long session
    aborted with "none_dealloc" on Python 3.11; pyproject pins below it. This keeps it out."""
    from PySide6.QtCore import QObject

    probe = QObject()
    before = sys.getrefcount(None)
    for _ in range(200):
        probe.setObjectName("probe")
    assert sys.getrefcount(None) - before >= 0
