"""`make bench`: the size of the frozen one-dir bundle `make package` builds, against its target.

Only measured, never built here: PyInstaller takes minutes and belongs to `make package`.
Used by build/bench.py; run alone with ``.venv/bin/python build/bench_bundle.py``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bench import Figure

ROOT = Path(__file__).resolve().parents[1]
BUNDLE = ROOT / "build" / "dist" / "pbx-companion"
TARGET_MB = 150
MB = 1_000_000


def bundle_bytes(folder: Path) -> tuple[int, int]:
    """Bytes and file count under ``folder``; a symlink counts as itself, not its target."""
    total = files = 0
    for parent, _dirs, names in os.walk(folder):
        for name in names:
            total += os.lstat(os.path.join(parent, name)).st_size
            files += 1
    return total, files


def bench_bundle(folder: Path = BUNDLE) -> Figure:
    from bench import Figure

    name = f"frozen one-dir bundle ({os.path.relpath(folder, ROOT)})"
    target = f"{TARGET_MB} MB target"
    if not folder.is_dir():
        return Figure(name, "not built (run make package)", target, "-")
    size, files = bundle_bytes(folder)
    return Figure(
        name,
        f"{size / MB:.1f} MB",
        target,
        f"{size / (TARGET_MB * MB):.2f}x the target",
        f"{files:,} files, their sizes summed (MB = 10^6 bytes)",
        value=round(size / MB, 1),
        unit="MB",
        baseline=float(TARGET_MB),
        baseline_is="target",
    )


def main() -> None:
    from bench import print_table

    print_table([bench_bundle()])


if __name__ == "__main__":
    main()
