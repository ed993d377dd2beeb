"""``pbx-companion --self-test``: each part against the real simulator, in a process of its own.

A subprocess, as an engineer or the release build runs it: the self-test makes its own
QApplication and qasync loop and must leave the settings of the home it was given alone.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

import pytest

from app.cli.self_test import REQUIRE_KEYRING_ENV
from tests.support.secret_service import SecretServiceBus

ROOT = Path(__file__).resolve().parents[2]
TIMEOUT_S = 180


def _run(code: str, env: Mapping[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env=dict(env if env is not None else os.environ),
        capture_output=True,
        text=True,
        timeout=TIMEOUT_S,
    )


def _cli(env: Mapping[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return _run("import sys; from app.cli import main; sys.exit(main(['--self-test']))", env)


def _lines(done: subprocess.CompletedProcess[str]) -> dict[str, str]:
    """Part name -> its line ("ok    qt: ..."), from the self-test's output."""
    parts = {}
    for line in done.stdout.splitlines():
        status, _, rest = line.partition(" ")
        if status in ("ok", "warn", "FAIL") and ":" in rest:
            parts[rest.strip().split(":", 1)[0]] = line
    return parts


def test_every_part_passes_on_a_sound_installation(_private_app_home: Path) -> None:
    done = _cli()  # the tests' keyring is keyring's "fail" backend: no OS keyring
    assert done.returncode == 0, done.stdout + done.stderr
    parts = _lines(done)
    assert list(parts) == ["qt", "resources", "keyring", "phone numbers", "simulator", "doctor"]
    assert parts["qt"].startswith("ok    qt: main window opened")
    assert "offscreen platform" in parts["qt"]
    assert "app icon (9 sizes)" in parts["resources"]
    # No keyring is reported, but only fails when asked to (the app still works without one).
    assert parts["keyring"].startswith("warn  keyring: No OS keyring is available")
    assert REQUIRE_KEYRING_ENV in parts["keyring"]
    assert "+61 2 9876 5432" in parts["phone numbers"]
    assert "(TLS); a call arrived live over its websocket" in parts["simulator"]
    assert parts["doctor"].startswith("ok    doctor: 7 checks ran against the simulator")
    assert done.stdout.splitlines()[-1] == "self-test passed (6 parts)"
    # It ran on a throwaway home of its own: the home it was started with is untouched.
    assert list(_private_app_home.iterdir()) == []


def test_a_doctor_failure_fails_the_self_test_with_its_reason() -> None:
    # The simulator's expired-licence fault: the doctor's round trip now reports a failure.
    done = _run(
        "import sys; from app.cli.self_test import run_self_test; "
        "sys.exit(run_self_test(sim_faults=['licence-expired']))"
    )
    assert done.returncode == 1, done.stdout + done.stderr
    parts = _lines(done)
    assert parts["simulator"].startswith("ok ")
    assert parts["doctor"].startswith("FAIL  doctor: check 1 (licence) failed")
    verdict = done.stdout.splitlines()[-1]
    assert verdict.startswith("self-test FAILED: doctor: check 1 (licence) failed")
    assert "licence is not active" in verdict


def test_a_missing_keyring_fails_when_one_is_required() -> None:
    done = _cli({**os.environ, REQUIRE_KEYRING_ENV: "1"})
    assert done.returncode == 1, done.stdout + done.stderr
    parts = _lines(done)
    assert parts["keyring"].startswith("FAIL  keyring: No OS keyring is available")
    assert parts["doctor"].startswith("ok ")
    assert done.stdout.splitlines()[-1].startswith("self-test FAILED: keyring: No OS keyring")


def test_a_broken_simulator_fails_and_the_doctor_is_not_run() -> None:
    # "bad-key": the simulator refuses its own key, so its API cannot be used at all.
    done = _run(
        "import sys; from app.cli.self_test import run_self_test; "
        "sys.exit(run_self_test(sim_faults=['bad-key']))"
    )
    assert done.returncode == 1, done.stdout + done.stderr
    parts = _lines(done)
    assert parts["simulator"].startswith("FAIL  simulator: ")
    assert "401" in parts["simulator"]
    assert parts["doctor"] == "FAIL  doctor: not run: the simulator did not work"


@pytest.mark.keyring
def test_a_running_secret_service_is_found_and_named(secret_service: SecretServiceBus) -> None:
    env = {**secret_service.env, REQUIRE_KEYRING_ENV: "1"}
    env.pop("PYTHON_KEYRING_BACKEND", None)  # keyring detects its backend, as installed
    done = _cli(env)
    assert done.returncode == 0, done.stdout + done.stderr
    assert _lines(done)["keyring"] == "ok    keyring: Secret Service"
