"""The app's own helper processes start without a console window on Windows (the windowed
app has none: each would flash one over a screen-share), and as before elsewhere.

Windows cannot run here: its flag is checked as the value Windows documents, and the
arguments are checked to start a real process on this machine."""

from __future__ import annotations

import subprocess
import sys

from app.services.worker_processes import quiet_start

CREATE_NO_WINDOW = 0x08000000  # Windows' process creation flag, as documented


def test_on_windows_a_worker_starts_with_no_console_window() -> None:
    assert quiet_start("win32") == {"creationflags": CREATE_NO_WINDOW}


def test_elsewhere_nothing_is_added_and_a_worker_starts_as_before() -> None:
    assert quiet_start("linux") == {} and quiet_start("darwin") == {}
    done = subprocess.run(
        [sys.executable, "-c", "print('counted')"],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
        **quiet_start(),
    )
    assert done.stdout.strip() == "counted"
