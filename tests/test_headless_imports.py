"""The core runs with no display and never loads Qt (DESIGN: the core never imports Qt)."""

import os
import subprocess
import sys

PROBE = """
import pkgutil, importlib, sys
import app.domain, app.threecx, app.services
for package in (app.domain, app.threecx, app.services):
    for module in pkgutil.walk_packages(package.__path__, package.__name__ + "."):
        importlib.import_module(module.name)
loaded = sorted(m for m in sys.modules if m.split(".")[0] in ("PySide6", "shiboken6", "qasync"))
print(",".join(loaded) or "none")
"""


def test_core_imports_without_a_display_or_qt() -> None:
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")
    }
    done = subprocess.run(
        [sys.executable, "-c", PROBE], capture_output=True, text=True, env=env, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "none"
