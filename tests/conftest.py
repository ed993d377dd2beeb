"""Shared fixtures: real daemons for the tests that need them, and guards for every test.

- ``secret_service``: a private D-Bus session bus with an unlocked gnome-keyring (session scope).
- ``keyring_backend``: keyring pointed at that Secret Service for one test, then restored.
- ``xvfb_display``: a private Xvfb server (session scope) for screenshot tests.
Missing system programs skip these tests on a developer machine and fail them in CI.

Every test runs with keyring set to its fail backend, so nothing reaches the developer's real
keyring by accident, and fails if it leaves a thread running or logs an unexpected warning
(tests/support/unexpected_logs.py: declare an expected one with ``@pytest.mark.expect_log``).
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import keyring
import keyring.backends.fail
import keyring.backends.SecretService
import pytest
from hypothesis import settings
from keyring.backend import KeyringBackend

from app.domain.clock import CLOCK_ENV, RunningClock
from app.sim import SimConfig, Simulator
from tests.support.clock import PINNED_START
from tests.support.secret_service import PrivateSecretService, SecretServiceBus
from tests.support.system_tools import require_programs, unavailable
from tests.support.unexpected_logs import UnexpectedLogs
from tests.support.xvfb import Xvfb, XvfbDisplay

_THREAD_GRACE_SECONDS = 2.0


@pytest.fixture(scope="session", autouse=True)
def _no_real_keyring() -> Iterator[None]:
    """No test (nor a subprocess it starts) may read or write the developer's own keyring."""
    # Set, not detected: detecting would already talk to the developer's real session bus.
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("PYTHON_KEYRING_BACKEND", "keyring.backends.fail.Keyring")
        keyring.set_keyring(keyring.backends.fail.Keyring())
        yield


_PINNED = RunningClock(PINNED_START, anchor=time.time())

# No wall-clock limit per example: a busy CI machine is not a failing property.
settings.register_profile("pbx-companion", deadline=None)
settings.load_profile("pbx-companion")


def pytest_configure(config: pytest.Config) -> None:
    """Pin every process of the run (the app, the simulator, CLI children) to one clock, before
    collection, so module-level test data computed from "now" sees the pinned instant too."""
    os.environ[CLOCK_ENV] = _PINNED.setting()
    config.pluginmanager.register(UnexpectedLogs(), "unexpected-logs")


@pytest.fixture(scope="session")
def pinned_clock() -> RunningClock:
    """The clock every test runs on (Wednesday 18 Nov 2026, 11:00 in Adelaide, then onward)."""
    return _PINNED


@pytest.fixture(autouse=True)
def _private_app_home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Settings, state and logs of the app under test go to a fresh folder, never the real one."""
    home = tmp_path_factory.mktemp("app-home")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("PBX_COMPANION_HOME", str(home))
        yield home


@pytest.fixture(scope="session")
def secret_service() -> Iterator[SecretServiceBus]:
    """A private, unlocked Secret Service; DBUS_SESSION_BUS_ADDRESS points at it meanwhile."""
    require_programs(
        "dbus-daemon",
        "gnome-keyring-daemon",
        packages="dbus-daemon gnome-keyring",
        purpose="Secret Service tests",
    )
    try:
        import secretstorage  # noqa: F401  (keyring's Secret Service backend needs it)
    except ImportError:
        unavailable("Secret Service tests need the secretstorage package (keyring's Linux extra)")
    with PrivateSecretService() as bus, pytest.MonkeyPatch.context() as patch:
        patch.setenv("DBUS_SESSION_BUS_ADDRESS", bus.address)
        yield bus


@pytest.fixture
def keyring_backend(secret_service: SecretServiceBus) -> Iterator[KeyringBackend]:
    """keyring's Secret Service backend on the private bus, for this test only."""
    backend = keyring.backends.SecretService.Keyring()
    previous = keyring.get_keyring()
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("PYTHON_KEYRING_BACKEND", "keyring.backends.SecretService.Keyring")
        keyring.set_keyring(backend)
        try:
            yield backend
        finally:
            keyring.set_keyring(previous)


@pytest.fixture(scope="session")
def xvfb_display() -> Iterator[XvfbDisplay]:
    """A private Xvfb server (1440x900x24, room for a 1366 x 768 window) on a free display."""
    require_programs("Xvfb", packages="xvfb", purpose="Screenshot tests")
    with Xvfb(1440, 900) as display:
        yield display


@pytest.fixture(autouse=True)
def _logging_as_it_was() -> Iterator[None]:
    """Put the root logger back as each test found it.

    The CLI's entry point and the window's start-up configure logging for the whole process
    (a stderr handler, the level). Run in-process by a test, that handler keeps pytest's
    captured stderr of that test, closed once the test ends: every later warning would print
    "Logging error" instead, and the next test would run with another test's logging.
    """
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    for handler in list(root.handlers):
        # pytest's capture handlers come and go with each phase, and the unexpected-logs
        # check puts its own back before each phase: only the app's are strays.
        harness = type(handler).__module__.startswith(("_pytest", "tests."))
        if handler not in handlers and not harness:
            root.removeHandler(handler)
            handler.close()
    root.setLevel(level)


@pytest.fixture(autouse=True)
def _no_leaked_threads() -> Iterator[None]:
    """Fail a test that leaves a Python thread running (after a short grace to finish)."""
    before = set(threading.enumerate())
    yield
    deadline = time.monotonic() + _THREAD_GRACE_SECONDS
    leaked = [
        thread
        for thread in threading.enumerate()
        if thread not in before
        # Dummy threads stand for foreign (e.g. Qt) threads that once ran Python code; they
        # are never removed, so they say nothing about this test.
        and not isinstance(thread, threading._DummyThread)
        # asyncio.to_thread workers belong to the loop, which joins them when it closes; with a
        # module- or session-scoped loop they idle between tests by design.
        and not thread.name.startswith("asyncio_")
    ]
    # Polled rather than join(timeout): under libfaketime (make test-clocks) a timed join waits
    # until the thread ends, so a leaked thread would hang the run instead of failing the test.
    while any(thread.is_alive() for thread in leaked) and time.monotonic() < deadline:
        time.sleep(0.02)
    alive = [thread.name for thread in leaked if thread.is_alive()]
    if alive:
        pytest.fail(f"test left threads running: {', '.join(alive)}", pytrace=False)


SimFactory = Callable[..., Awaitable[Simulator]]


@pytest.fixture
async def make_sim() -> AsyncIterator[SimFactory]:
    """Starts simulated PBXs (no background traffic unless asked) and stops them all after."""
    started: list[Simulator] = []

    async def factory(**kwargs: Any) -> Simulator:
        kwargs.setdefault("calls_per_minute", 0)
        kwargs.setdefault("recording_delay_s", 0.2)
        sim = Simulator(SimConfig(**kwargs))
        await sim.start()
        started.append(sim)
        return sim

    yield factory
    for sim in started:
        await sim.stop()
