"""How the app starts its own helper processes (a bridge log's counting worker, a fleet
sweep's shards): quietly, on every OS.

On Windows a console program started from the windowed app (``pbx-companion.exe`` has no
console) opens a console window of its own for as long as it runs: a black box flashing over
the engineer's screen-share. ``CREATE_NO_WINDOW`` starts it without one. Elsewhere nothing is
needed.
"""

from __future__ import annotations

import subprocess
import sys
from typing import Any


def quiet_start(platform: str = sys.platform) -> dict[str, Any]:
    """Keyword arguments for ``subprocess.Popen`` or ``asyncio.create_subprocess_exec``."""
    if platform == "win32":
        # The flag exists only in Windows' subprocess module; its documented value otherwise.
        return {"creationflags": getattr(subprocess, "CREATE_NO_WINDOW", 0x08000000)}
    return {}
