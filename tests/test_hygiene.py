"""The hygiene checks can fail: a small suite run in a child pytest with this project's fixtures.

One child run (it starts Qt once) holds every case; each case's outcome is then read back.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

pytest_plugins = ["pytester"]

_ROOT = Path(__file__).resolve().parent.parent

_CONFTEST = """
import tests.conftest
import tests.ui.conftest

pytest_plugins = ["tests.conftest", "tests.ui.conftest"]

# The teardown checks give threads a grace before they count; a short one keeps this quick.
tests.conftest._THREAD_GRACE_SECONDS = 0.1
tests.ui.conftest._THREAD_GRACE_MS = 100
"""

_INI = """
[pytest]
asyncio_mode = auto
asyncio_default_fixture_loop_scope = function
filterwarnings = error
markers =
    expect_log: declared log records
"""

_CASES = """
import asyncio
import logging
import threading
import time

import pytest
from PySide6.QtCore import QThread, QTimer

log = logging.getLogger("pbx.hygiene")
kept = []  # keeps what a case leaks alive (a QThread deleted while running aborts the process)


def test_logs_an_unexpected_warning():
    log.warning("disk nearly full")


@pytest.mark.expect_log("pbx.hygiene", r"disk nearly full")
def test_logs_a_declared_warning():
    log.warning("disk nearly full")


@pytest.mark.expect_log("pbx.hygiene", r"is never logged")
def test_declares_a_warning_that_never_comes():
    log.info("is never logged (at WARNING)")


@pytest.mark.expect_log("pbx.hygiene", r"disk")
def test_declares_a_warning_but_logs_an_error():
    log.error("disk failed")


def test_logs_a_warning_from_a_thread():
    worker = threading.Thread(target=log.warning, args=("from a worker thread",), name="worker")
    worker.start()
    worker.join()


async def test_logs_an_error_from_a_task():
    async def fails():
        log.error("from a task")

    await asyncio.create_task(fails())


async def test_logs_a_warning_from_a_to_thread_worker():
    await asyncio.to_thread(log.warning, "from asyncio.to_thread")


@pytest.fixture
def warns_on_teardown():
    yield
    log.warning("while tearing down")


def test_logs_a_warning_in_teardown(warns_on_teardown):
    pass


def test_fails_and_logs_a_warning():
    log.warning("before failing")
    assert False, "its own failure"


def test_leaves_a_qtimer_running(qapp):
    timer = QTimer()
    timer.start(60_000)
    kept.append(timer)


def test_stops_its_qtimer(qapp):
    timer = QTimer()
    timer.start(60_000)
    timer.stop()
    kept.append(timer)


def test_leaves_a_qthread_running(qapp):
    class Slow(QThread):
        def run(self):
            time.sleep(0.5)

    thread = Slow()
    thread.start()
    kept.append(thread)


def test_leaves_a_python_thread_running():
    # Waits on an event nobody sets (a daemon, so the run still ends): left running on any
    # clock, where a sleep could end inside the check's grace when the clock is shifted.
    never = threading.Event()
    thread = threading.Thread(target=never.wait, name="sleeper", daemon=True)
    thread.start()


def test_finishes_cleanly(qapp):
    log.info("only information")
"""


_RANK = {"PASSED": 0, "ERROR": 1, "FAILED": 2}


def _outcomes(text: str) -> dict[str, str]:
    """Each case's worst outcome in the ``-rA`` summary (a passed body with a teardown error is
    listed twice: PASSED, then ERROR)."""
    found: dict[str, str] = {}
    for match in re.finditer(r"^(PASSED|FAILED|ERROR) [^:\n]+::(\w+)", text, re.MULTILINE):
        outcome, name = match.groups()
        if _RANK[outcome] >= _RANK[found.get(name, "PASSED")]:
            found[name] = outcome
    return found


def test_the_checks_fail_what_they_should_and_pass_the_rest(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PYTHONPATH", str(_ROOT))
    pytester.makeconftest(_CONFTEST)
    pytester.makeini(_INI)
    pytester.makepyfile(test_cases=_CASES)
    result = pytester.runpytest_subprocess("-rA", "-p", "no:cacheprovider", timeout=120)
    text = result.stdout.str()
    outcomes = _outcomes(text)
    assert outcomes == {
        "test_logs_an_unexpected_warning": "FAILED",
        "test_logs_a_declared_warning": "PASSED",
        "test_declares_a_warning_that_never_comes": "ERROR",
        "test_declares_a_warning_but_logs_an_error": "FAILED",
        "test_logs_a_warning_from_a_thread": "FAILED",
        "test_logs_an_error_from_a_task": "FAILED",
        "test_logs_a_warning_from_a_to_thread_worker": "FAILED",
        "test_logs_a_warning_in_teardown": "ERROR",
        "test_fails_and_logs_a_warning": "FAILED",
        "test_leaves_a_qtimer_running": "ERROR",
        "test_stops_its_qtimer": "PASSED",
        "test_leaves_a_qthread_running": "ERROR",
        "test_leaves_a_python_thread_running": "ERROR",
        "test_finishes_cleanly": "PASSED",
    }, text
    for line in [
        "*WARNING pbx.hygiene: disk nearly full*",
        "*declared log records never logged*",
        "*WARNING from 'pbx.hygiene' matching 'is never logged'*",
        "*ERROR pbx.hygiene: disk failed*",
        "*WARNING pbx.hygiene [[]thread worker[]]: from a worker thread*",
        "*ERROR pbx.hygiene: from a task*",
        "*WARNING pbx.hygiene [[]thread *]: from asyncio.to_thread*",
        "*unexpected log records at WARNING or above during teardown*",
        "*AssertionError: its own failure*",
        "*WARNING pbx.hygiene: before failing*",
        "*QTimer still active: QTimer (parent: none), every 60000 ms, made at *test_cases.py:*",
        "*QThread still running: Slow (parent: none), made at *test_cases.py:*",
        "*test left threads running: sleeper*",
    ]:
        result.stdout.fnmatch_lines([line])
