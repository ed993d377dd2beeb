"""Startup to the first painted main window, against a bare PySide6 window, in the same run.

Each measurement is a fresh Python process (imports are most of a cold start), timed from
just before the process is spawned until it reports the window's first paint event. The app
starts as ``pbx-companion`` does (``app.cli.entry.main``, no command). Beside it, "ready": the
first paint of the work page's tabs, once the panes the window builds after its first paint
are on screen.

    .venv/bin/python build/bench_startup.py [--repeats N]   # on a private Xvfb, as ``make bench``
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# Runs in the child: paint-watch a window, print when it first paints, then close it.
_CHILD = r"""
import sys
from PySide6.QtCore import QEvent, QObject, QTimer
from PySide6.QtWidgets import QApplication, QTabBar, QWidget

app = QApplication(sys.argv[:1])

class FirstPaint(QObject):
    def __init__(self, wanted, ready_too):
        super().__init__()
        self.wanted = wanted
        self.ready_too = ready_too  # then also the tabs' first paint: the panes are built
        self.painted = self.done = False

    def eventFilter(self, obj, event):
        if (self.done or event.type() != QEvent.Type.Paint or not obj.isWidgetType()
                or obj.window().objectName() != self.wanted):
            return False
        if not self.painted:
            self.painted = True
            print("painted", flush=True)
        # The panes are on screen: the tabs, or on a first start the welcome page beside
        # the connections list (no connection is open yet).
        if not self.ready_too or isinstance(obj, QTabBar) or obj.objectName() == "welcomePage":
            self.done = True
            if self.ready_too:
                print("ready", flush=True)
            QTimer.singleShot(0, obj.window().close)
        return False

kind = sys.argv[1]
if kind == "bare":
    watcher = FirstPaint("bare", False)
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
    watcher = FirstPaint("mainWindow", True)
    app.installEventFilter(watcher)
    from app.cli.entry import main
    sys.exit(main(["--demo-seconds", "20"]))
"""


def _one(kind: str, env: dict[str, str]) -> tuple[float, float]:
    """Seconds to the first paint, and to the tabs' first paint (the same for the bare one)."""
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
    painted = time.perf_counter() - began
    ready = painted
    if kind == "app" and line.strip() == "painted":
        line = child.stdout.readline()  # the first paint was the frame: then the tabs
        ready = time.perf_counter() - began
    try:
        child.wait(timeout=30)
    except subprocess.TimeoutExpired:
        child.kill()
        child.wait()
    child.stdout.close()
    if line.strip() not in ("painted", "ready"):
        raise RuntimeError(f"the {kind} window never painted")
    return painted, ready


def _compile_bytecode() -> None:
    """Compile the app's modules, as an install does (pip, or the frozen build's archive).

    An editable checkout caches bytecode on its first run, unless PYTHONDONTWRITEBYTECODE is
    set (as on some CI machines): then every start would compile the whole app from source,
    which no installed copy does, and the figure would measure the compiler."""
    import compileall

    compileall.compile_dir(ROOT / "app", quiet=1)


@contextlib.contextmanager
def _screen() -> Iterator[dict[str, str]]:
    """The display to start the windows on: the session's, else a private Xvfb the size of
    a laptop screen (as the screenshot tests use), else Qt's offscreen platform.

    "On screen" is what the engineer sees. Offscreen skips the X connection that both windows
    pay on a real display, so it shrinks the bare window more than ours and overstates the
    ratio (1.7x offscreen against 1.35x on Xvfb, same machine, same run of the code)."""
    if os.environ.get("QT_QPA_PLATFORM") or os.environ.get("DISPLAY"):
        yield {"QT_QPA_PLATFORM": os.environ.get("QT_QPA_PLATFORM") or "xcb"}
        return
    if shutil.which("Xvfb") is None:
        yield {"QT_QPA_PLATFORM": "offscreen"}
        return
    sys.path.insert(0, str(ROOT))
    from tests.support.xvfb import Xvfb

    with Xvfb(1366, 768) as display:
        yield {"QT_QPA_PLATFORM": "xcb", "DISPLAY": display.display}


def screen_name() -> str:
    """Where ``measure_startup`` draws, for the figure's note."""
    if os.environ.get("QT_QPA_PLATFORM"):
        return os.environ["QT_QPA_PLATFORM"]
    if os.environ.get("DISPLAY"):
        return "the session's display"
    return "a private Xvfb" if shutil.which("Xvfb") else "offscreen (no Xvfb)"


def measure_startup_and_ready(repeats: int = 5) -> tuple[float, float, float]:
    """Median seconds: (our first paint, our tabs' first paint, a bare PySide6 window's)."""
    with tempfile.TemporaryDirectory(prefix="pbx-bench-home-") as home, _screen() as screen:
        env = {
            **os.environ,
            **screen,
            "PBX_COMPANION_HOME": home,  # a first start: no connections, fresh settings
            "PYTHON_KEYRING_BACKEND": os.environ.get(
                "PYTHON_KEYRING_BACKEND", "keyring.backends.fail.Keyring"
            ),
        }
        _compile_bytecode()
        _one("bare", env)  # warm the OS file cache for both
        _one("app", env)
        # Interleaved, so a machine that slows down or speeds up mid-run (another job, a
        # neighbour on the host) weighs on both alike rather than on whichever ran then.
        ours: list[tuple[float, float]] = []
        bare: list[float] = []
        for _ in range(repeats):
            ours.append(_one("app", env))
            bare.append(_one("bare", env)[0])
    return (
        statistics.median(t for t, _ in ours),
        statistics.median(r for _, r in ours),
        statistics.median(bare),
    )


def measure_startup(repeats: int = 5) -> tuple[float, float]:
    """Median seconds to first paint: (our main window, a bare PySide6 window)."""
    ours, _, bare = measure_startup_and_ready(repeats)
    return ours, bare


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=5)
    ours, ready, bare = measure_startup_and_ready(parser.parse_args().repeats)
    print(
        f"on {screen_name()}: first paint {ours * 1000:.0f} ms, {ours / bare:.2f}x a bare window "
        f"({bare * 1000:.0f} ms); panes on screen {ready * 1000:.0f} ms, {ready / bare:.2f}x"
    )


if __name__ == "__main__":
    main()
