"""Screenshot tests: render a scene in a real window under Xvfb, keep the PNG as an artifact.

PNGs go to ``test-artifacts/screenshots/`` (or ``$PBX_TEST_ARTIFACTS/screenshots``) so a
developer can look at them after a run.
"""

from __future__ import annotations

import os
import struct
import subprocess
import sys
from pathlib import Path

from tests.support.xvfb import XvfbDisplay

ROOT = Path(__file__).resolve().parents[2]
RENDER_TIMEOUT_S = 90


def artifacts_dir() -> Path:
    base = Path(os.environ.get("PBX_TEST_ARTIFACTS", ROOT / "test-artifacts"))
    folder = base / "screenshots"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def png_size(path: Path) -> tuple[int, int]:
    header = path.read_bytes()[:24]
    assert header[:8] == b"\x89PNG\r\n\x1a\n", f"{path.name} is not a PNG"
    width, height = struct.unpack(">II", header[16:24])
    return width, height


def render_scene(
    display: XvfbDisplay,
    scene: str,
    name: str,
    *,
    presenter: bool = False,
    large: bool = False,
    dark: bool = False,
    size: str | None = None,
) -> Path:
    """Run ``scene`` ("tests.ui.x:scene") in a real X window; returns the saved PNG's path.

    ``size`` is "WxH" for a top-level scene (default 1200x760) or "native" to keep its own.
    """
    out, _ = _render(display, scene, name, [*_flags(presenter, large, dark, size)])
    return out


def render_fitting(
    display: XvfbDisplay,
    scene: str,
    name: str,
    *,
    presenter: bool = False,
    large: bool = False,
    dark: bool = False,
    size: str = "1366x768",
) -> Path:
    """``render_scene``, and fail if any label, button or scroll area cuts its text."""
    flags = [*_flags(presenter, large, dark, size), "--check-fit"]
    out, stderr = _render(display, scene, name, flags)
    cut = [line[5:] for line in stderr.splitlines() if line.startswith("CUT: ")]
    assert not cut, f"{name}: text cut off at {size}:\n" + "\n".join(cut)
    return out


def _flags(presenter: bool, large: bool, dark: bool, size: str | None) -> list[str]:
    named = {"--presenter": presenter, "--large": large, "--dark": dark}
    flags = [flag for flag, on in named.items() if on]
    return [*flags, "--size", size] if size else flags


def _render(display: XvfbDisplay, scene: str, name: str, flags: list[str]) -> tuple[Path, str]:
    out = artifacts_dir() / f"{name}.png"
    out.unlink(missing_ok=True)
    env = {
        **os.environ,
        "DISPLAY": display.display,
        "QT_QPA_PLATFORM": "xcb",
        "PYTHONPATH": str(ROOT),
    }
    command = [sys.executable, "-m", "tests.support.render_scene", scene, str(out), *flags]
    done = subprocess.run(
        command, env=env, cwd=ROOT, capture_output=True, text=True, timeout=RENDER_TIMEOUT_S
    )
    assert done.returncode == 0, f"rendering {scene} failed:\n{done.stderr[-4000:]}"
    width, height = png_size(out)
    assert width >= 400 and height >= 300, f"{name}.png is only {width}x{height}"
    return out, done.stderr


def distinct_colours(path: Path) -> int:
    """How many colours the PNG has: a blank or failed paint has one or two."""
    from PySide6.QtGui import QImage

    image = QImage(str(path))
    seen: set[int] = set()
    step = max(1, image.width() // 200)
    for y in range(0, image.height(), step):
        for x in range(0, image.width(), step):
            seen.add(image.pixel(x, y))
            if len(seen) > 50:
                return len(seen)
    return len(seen)
