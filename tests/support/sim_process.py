"""``pbx-companion sim`` in its own process, as a technician starts it."""

from __future__ import annotations

import contextlib
import json
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

ENTRY = shutil.which("pbx-companion", path=str(Path(sys.executable).parent))
COMMAND = [ENTRY] if ENTRY else [sys.executable, "-m", "app.cli"]


@contextlib.contextmanager
def sim_process(*options: str) -> Iterator[dict[str, Any]]:
    """Yields the simulator's JSON line; on exit interrupts it and checks it stopped cleanly."""
    proc = subprocess.Popen(
        [*COMMAND, "sim", "--tls", "--calls-per-minute", "0", *options],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    try:
        info: dict[str, Any] = json.loads(proc.stdout.readline())
        yield info
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=10) == 0
    finally:
        proc.kill()
        proc.wait(timeout=10)
        proc.stdout.close()
        if proc.stderr:
            proc.stderr.close()
