"""Startup to the first painted main window, against a bare PySide6 window, in the same run.

Each measurement is a fresh Python process (imports are most of a cold start), timed from
just before the process is spawned until it reports the window's first paint event.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# Runs in the child: paint-watch a window, print when it first paints, then close it.
_CHILD = r"""
import sys
from PySide6.QtCore import QEvent, QObject, QTimer
from PySide6.QtWidgets import QApplication, QWidget

app = QApplication(sys.argv[:1])

class FirstPaint(QObject):
    def __init__(self, wanted):
        super().__init__()
        self.wanted = wanted
        self.done = False

    def eventFilter(self, obj, event):
        if (not self.done and event.type() == QEvent.Type.Paint
                and obj.isWidgetType() and obj.window().objectName() == self.wanted):
            self.done = True
            print("painted", flush=True)
            QTimer.singleShot(0, obj.window().close)
        return False

kind = sys.argv[1]
if kind == "bare":
    watcher = FirstPaint("bare")
    app.installEventFilter(watcher)
    window = QWidget()
    window.setObjectName("bare")
    window.resize(1280, 800)
    window.show()
    app.aboutToQuit.connect(lambda: None)
    QTimer.singleShot(20000, app.quit)
    window.destroyed.connect(app.quit)
    app.setQuitOnLastWindowClosed(True)
    sys.exit(app.exec())
else:
    watcher = FirstPaint("mainWindow")
    app.installEventFilter(watcher)
    from app.main import GuiOptions, run_gui
    sys.exit(run_gui(GuiOptions(quit_after_s=20)))
"""


def _one(kind: str, env: dict[str, str]) -> float:
    began = time.perf_counter()
    child = subprocess.Popen(
        [sys.executable, "-c", _CHILD, kind],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    assert child.stdout is not None
    line = child.stdout.readline()
    elapsed = time.perf_counter() - began
    try:
        child.wait(timeout=30)
    except subprocess.TimeoutExpired:
        child.kill()
        child.wait()
    child.stdout.close()
    if line.strip() != "painted":
        raise RuntimeError(f"the {kind} window never painted")
    return elapsed


def measure_startup(repeats: int = 5) -> tuple[float, float]:
    """Median seconds to first paint: (our main window, a bare PySide6 window)."""
    with tempfile.TemporaryDirectory(prefix="pbx-bench-home-") as home:
        env = {
            **os.environ,
            "PBX_COMPANION_HOME": home,  # a first start: no connections, fresh settings
            "QT_QPA_PLATFORM": os.environ.get("QT_QPA_PLATFORM")
            or ("xcb" if os.environ.get("DISPLAY") else "offscreen"),
            "PYTHON_KEYRING_BACKEND": os.environ.get(
                "PYTHON_KEYRING_BACKEND", "keyring.backends.fail.Keyring"
            ),
        }
        _one("bare", env)  # warm the OS file cache for both
        _one("app", env)
        ours = [_one("app", env) for _ in range(repeats)]
        bare = [_one("bare", env) for _ in range(repeats)]
    return statistics.median(ours), statistics.median(bare)
