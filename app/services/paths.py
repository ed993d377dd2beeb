"""Where the app keeps its files: platformdirs, or one folder when PBX_COMPANION_HOME is set.

The override keeps tests and portable installs away from the engineer's real profile.
No secret is ever written under any of these folders.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from types import ModuleType

APP_NAME = "pbx-companion"
HOME_ENV = "PBX_COMPANION_HOME"


def _platformdirs() -> ModuleType:
    # Imported when a folder is first asked for, not with this module: the window's frame
    # imports the theme, which imports this, before its first paint (startup time).
    import platformdirs

    return platformdirs


def _home() -> Path | None:
    raw = os.environ.get(HOME_ENV, "").strip()
    return Path(raw) if raw else None


def config_dir() -> Path:
    home = _home()
    return home / "config" if home else Path(_platformdirs().user_config_dir(APP_NAME, False))


def state_dir() -> Path:
    home = _home()
    return home / "state" if home else Path(_platformdirs().user_state_dir(APP_NAME, False))


def data_dir() -> Path:
    """The app's own data (the reconciliation ledger): kept, not a cache or a log."""
    home = _home()
    return home / "data" if home else Path(_platformdirs().user_data_dir(APP_NAME, False))


def log_dir() -> Path:
    home = _home()
    return home / "logs" if home else Path(_platformdirs().user_log_dir(APP_NAME, False))


def resources_dir() -> Path:
    """The shipped resources (report template, schemas, icons), also inside a frozen build."""
    frozen = getattr(sys, "_MEIPASS", None)  # a PyInstaller bundle unpacks resources here
    if frozen:
        return Path(frozen) / "resources"
    return Path(__file__).resolve().parents[2] / "resources"
