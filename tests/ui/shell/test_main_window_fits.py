"""The real window on a 1366 x 768 laptop screen stays inside it, at Larger type too.

The "no text cut off" screenshots render each pane alone at a fixed size, so they never saw the
window itself grow: Qt widens a window to its minimum size and never narrows it back. At Larger
type the connections list beside the widest tab once asked for 1,424 px: Reconcile's two time
zone boxes, and the Doctor's heading holding the customer's whole name.

A child process starts the app as ``pbx-companion --demo`` does, on a private Xvfb the size of
the screen, with the demo's calls coming in, and says the window's width at each step.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.system_tools import require_programs
from tests.support.xvfb import Xvfb, XvfbDisplay

LAPTOP = (1366, 768)

# Each step waits a second of the demo (calls arriving, panes fitting their columns), then
# prints the window's frame width and whether the connections list shows.
_CHILD = r"""
import json, sys
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication
import app.ui.shell.main_window as shell

populate = shell.MainWindow.populate
STEPS = sys.argv[1].split(",")

def report(window, steps, seen):
    if steps:
        step = steps[0]
        if step == "larger":
            window.large_type_action.setChecked(True)
        elif step == "normal":
            window.large_type_action.setChecked(False)
        elif step == "sidebar":
            window.sidebar_action.setChecked(True)
        elif step == "tabs":  # each tab once: a tab first shown is styled, and may grow
            for index in range(window.tabs.count()):
                window.tabs.setCurrentIndex(index)
                QApplication.processEvents()
            window.tabs.setCurrentWidget(window.reconcile)
        QTimer.singleShot(1000, lambda: report(window, steps[1:], seen + [{
            "step": step,
            "width": window.frameGeometry().width(),
            "screen": window.screen().availableGeometry().width(),
            "sidebar": window.connections.isVisible(),
            "large": window.ui.presenter.large_type,
        }]))
    else:
        print(json.dumps(seen), flush=True)
        window.close()

def populate_then_report(window, *args, **kwargs):
    populate(window, *args, **kwargs)
    QTimer.singleShot(1000, lambda: report(window, STEPS, []))

shell.MainWindow.populate = populate_then_report
from app.cli.entry import main
sys.exit(main(["--demo"]))
"""


@pytest.fixture(scope="module")
def laptop() -> Iterator[XvfbDisplay]:
    require_programs("Xvfb", packages="xvfb", purpose="Window size tests")
    with Xvfb(*LAPTOP) as display:
        yield display


def _widths(display: XvfbDisplay, home: Path, large_type: bool, steps: str) -> list[dict]:
    (home / "config").mkdir(parents=True)
    (home / "config" / "settings.json").write_text(
        json.dumps({"schema": 2, "large_type": large_type})
    )
    env = {
        **os.environ,
        "DISPLAY": display.display,
        "QT_QPA_PLATFORM": "xcb",
        "PBX_COMPANION_HOME": str(home),
    }
    done = subprocess.run(
        [sys.executable, "-c", _CHILD, steps],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    lines = [line for line in done.stdout.splitlines() if line.startswith("[")]
    assert lines, done.stdout[-2000:] + done.stderr[-2000:]
    seen: list[dict] = json.loads(lines[-1])
    return seen


@pytest.mark.display
def test_at_larger_type_the_window_opens_inside_a_laptop_screen(
    laptop: XvfbDisplay, tmp_path: Path
) -> None:
    seen = _widths(laptop, tmp_path / "home", True, "start,tabs,sidebar")
    assert [step["step"] for step in seen] == ["start", "tabs", "sidebar"]
    for step in seen:
        assert step["screen"] == LAPTOP[0]
        assert step["width"] <= LAPTOP[0], step
    # Larger type on a laptop hides the list for the calls; shown again, it still fits.
    assert [step["sidebar"] for step in seen] == [False, False, True]
    assert all(step["large"] for step in seen)


@pytest.mark.display
def test_turning_larger_type_on_and_off_keeps_the_window_inside_the_screen(
    laptop: XvfbDisplay, tmp_path: Path
) -> None:
    seen = _widths(laptop, tmp_path / "home", False, "start,tabs,larger,sidebar,normal")
    for step in seen:
        assert step["width"] <= LAPTOP[0], step
    assert [step["sidebar"] for step in seen] == [True, True, False, True, True]
    assert [step["large"] for step in seen] == [False, False, True, True, False]
