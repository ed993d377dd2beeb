"""A private Xvfb X server on a free display number, for screenshot tests of real windows."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from tests.support.system_tools import BackgroundDaemons, read_line, stop_process_group

SCREEN_WIDTH = 1280
SCREEN_HEIGHT = 800
_START_TIMEOUT = 15.0


class XvfbStartError(RuntimeError):
    """Xvfb did not come up; the message carries its log."""


@dataclass(frozen=True)
class XvfbDisplay:
    display: str
    width: int = SCREEN_WIDTH
    height: int = SCREEN_HEIGHT


def _read_display_number(fd: int, deadline: float) -> str:
    """Xvfb writes the display number and a newline to -displayfd once it accepts clients."""
    return read_line(fd, deadline).decode()


class Xvfb(BackgroundDaemons[XvfbDisplay]):
    """Context manager: start Xvfb, yield its DISPLAY, kill it on exit."""

    def __init__(self, width: int = SCREEN_WIDTH, height: int = SCREEN_HEIGHT) -> None:
        super().__init__()
        self._size = (width, height)

    def _start(self) -> XvfbDisplay:
        root = Path(tempfile.mkdtemp(prefix="pbx-xvfb-"))
        self._stack.callback(shutil.rmtree, root, ignore_errors=True)
        log_path = root / "xvfb.log"
        read_fd, write_fd = os.pipe()
        try:
            with log_path.open("wb") as log:
                process = subprocess.Popen(
                    [
                        "Xvfb",
                        "-displayfd",
                        str(write_fd),
                        "-screen",
                        "0",
                        f"{self._size[0]}x{self._size[1]}x24",
                        "-nolisten",
                        "tcp",
                        "-noreset",
                    ],
                    pass_fds=(write_fd,),
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=log,
                    start_new_session=True,
                )
            self._stack.callback(stop_process_group, process)
            os.close(write_fd)
            write_fd = -1
            number = _read_display_number(read_fd, time.monotonic() + _START_TIMEOUT)
        finally:
            os.close(read_fd)
            if write_fd >= 0:
                os.close(write_fd)
        if not number.isdigit():
            log = log_path.read_text(errors="replace")[-2000:]
            raise XvfbStartError(f"Xvfb reported no display number (exit {process.poll()}): {log}")
        return XvfbDisplay(display=f":{number}", width=self._size[0], height=self._size[1])
