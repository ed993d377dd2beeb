"""Build the frozen app for this system, then prove it: ``--self-test`` and the bundle's size.

    .venv/bin/python build/package.py [--self-test] [--skip-build] [--max-mb 150]

PyInstaller runs build/pbx-companion.spec with its work and dist folders under build/ (both
git-ignored). ``--self-test`` starts the frozen executable with ``--self-test`` and fails when
it does; with ``--max-mb`` a bundle above that size fails too. ``make package`` and the release
workflow run this script.

On Linux, when dbus-daemon and gnome-keyring-daemon are installed, the frozen self-test runs
against a private, unlocked Secret Service (the tests' own helper) and must find it: that
proves the bundle carries keyring's backends and their D-Bus stack. Elsewhere the keyring is
required when PBX_COMPANION_SELF_TEST_REQUIRE_KEYRING=1 is set (the release workflow sets it).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SPEC = ROOT / "build" / "pbx-companion.spec"
DIST = ROOT / "build" / "dist"
WORK = ROOT / "build" / "work"
REQUIRE_KEYRING_ENV = "PBX_COMPANION_SELF_TEST_REQUIRE_KEYRING"  # app.cli.self_test reads it
SELF_TEST_TIMEOUT_S = 300
MB = 1_000_000


def bundle() -> Path:
    """What ships: the .app on macOS, the one-dir folder elsewhere."""
    if sys.platform == "darwin":
        return DIST / "PBX Companion.app"
    return DIST / "pbx-companion"


def executable() -> Path:
    """The console executable inside the bundle (the one that takes --self-test)."""
    if sys.platform == "darwin":
        return bundle() / "Contents" / "MacOS" / "pbx-companion"
    if sys.platform == "win32":
        return bundle() / "pbx-companion.exe"
    return bundle() / "pbx-companion"


def size_bytes(folder: Path) -> int:
    """Bytes of every file under ``folder``, each counted once (links are not followed)."""
    total = 0
    for path in folder.rglob("*"):
        if path.is_file() and not path.is_symlink():
            total += path.stat().st_size
    return total


def build() -> float:
    """Run PyInstaller; returns the seconds it took."""
    started = time.monotonic()
    subprocess.run(
        [
            sys.executable,
            "-m",
            "PyInstaller",
            "--noconfirm",
            "--log-level=WARN",
            f"--distpath={DIST}",
            f"--workpath={WORK}",
            str(SPEC),
        ],
        cwd=ROOT,
        check=True,
    )
    return time.monotonic() - started


@contextlib.contextmanager
def keyring_environment() -> Iterator[Mapping[str, str]]:
    """The environment for the frozen self-test: a private Secret Service where Linux can run one."""
    env = {"QT_QPA_PLATFORM": "offscreen", **os.environ}
    # keyring picks its backend itself, as in the installed app.
    env.pop("PYTHON_KEYRING_BACKEND", None)
    if not sys.platform.startswith("linux") or not all(
        shutil.which(program) for program in ("dbus-daemon", "gnome-keyring-daemon")
    ):
        yield env
        return
    sys.path.insert(0, str(ROOT))
    from tests.support.secret_service import PrivateSecretService

    with PrivateSecretService() as bus:
        private = {**env, **bus.env, REQUIRE_KEYRING_ENV: "1"}
        private.pop("PYTHON_KEYRING_BACKEND", None)
        yield private


def self_test() -> int:
    program = executable()
    if not program.is_file():
        print(f"package: no frozen executable at {program}; build first", file=sys.stderr)
        return 1
    print(f"$ {program} --self-test", flush=True)
    with keyring_environment() as env:
        try:
            done = subprocess.run(
                [str(program), "--self-test"], env=dict(env), timeout=SELF_TEST_TIMEOUT_S
            )
        except subprocess.TimeoutExpired:
            print(f"package: the self-test ran over {SELF_TEST_TIMEOUT_S} s", file=sys.stderr)
            return 1
    return done.returncode


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--self-test", action="store_true", help="run the frozen --self-test")
    parser.add_argument("--skip-build", action="store_true", help="check the existing bundle")
    parser.add_argument("--max-mb", type=float, default=None, help="fail above this bundle size")
    args = parser.parse_args(argv)

    if not args.skip_build:
        seconds = build()
        print(f"package: built {bundle()} in {seconds:.0f} s", flush=True)
    if not bundle().is_dir():
        print(f"package: {bundle()} does not exist", file=sys.stderr)
        return 1
    if args.self_test and (code := self_test()) != 0:
        print(f"package: the frozen self-test failed (exit code {code})", file=sys.stderr)
        return 1
    size = size_bytes(bundle()) / MB
    limit = f" (limit {args.max_mb:.0f} MB)" if args.max_mb is not None else ""
    print(f"package: bundle size {size:.1f} MB{limit}: {bundle()}", flush=True)
    if args.max_mb is not None and size > args.max_mb:
        print(f"package: the bundle is {size - args.max_mb:.1f} MB over", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
