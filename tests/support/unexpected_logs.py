"""A test that logs an unexpected WARNING (or worse) fails, like qutebrowser's.

What the harness itself causes (offscreen Qt, the fail keyring) is allowed once, in HARNESS.

One handler on the root logger, for the whole run, collects every record at WARNING or above from
any thread (an ``asyncio.to_thread`` worker, a Qt thread, a task on the loop: logging hands each
record to the root's handlers in the thread that logs it). After each phase of a test (setup,
call, teardown) the records of that phase are checked against what the test declared:

    @pytest.mark.expect_log("app.services.known_certificates", r"set aside as .*, starting afresh$")
    def test_a_corrupt_store_is_set_aside(...): ...

The marker names the logger (a record from it or from one of its children matches), a regular
expression searched in the message, and optionally ``level`` (default ``"WARNING"``; matched
exactly, so an ERROR where a WARNING was expected still fails). Stack the marker for several.
It is also an assertion: a declared record that never comes fails the test, so a declaration
cannot outlive the behaviour it excused.

Why not honour ``caplog.set_level`` like qutebrowser does: tests raise caplog's level for reasons
unrelated to warnings (reading DEBUG records to prove a secret is absent), and that would
silently excuse every warning in them.

Loggers with ``propagate = False`` never reach the root; tests use them for private loggers only.
"""

from __future__ import annotations

import logging
import re
import threading
from collections import Counter
from collections.abc import Generator, Iterable
from dataclasses import dataclass

import pytest

MARKER = "expect_log"  # registered in pyproject.toml

_seen_key = pytest.StashKey[set[int]]()
_call_passed_key = pytest.StashKey[bool]()
_expected_key = pytest.StashKey[list["Expected"]]()


@dataclass(frozen=True)
class Expected:
    logger: str
    match: re.Pattern[str]
    level: int

    def accepts(self, record: logging.LogRecord) -> bool:
        return (
            (record.name == self.logger or record.name.startswith(self.logger + "."))
            and record.levelno == self.level
            and self.match.search(record.getMessage()) is not None
        )

    def describe(self) -> str:
        return f"{logging.getLevelName(self.level)} from {self.logger!r} matching {self.match.pattern!r}"


# Records the harness itself causes in every test that meets them, each with why. A test about
# one of them still declares it, to require it.
HARNESS = (
    # The offscreen platform the UI tests run on (QT_QPA_PLATFORM=offscreen) cannot pass size
    # hints to a window manager; every shown window says so. A real platform does not.
    Expected(
        "qt", re.compile(r"^This plugin does not support propagateSizeHints\(\)$"), logging.WARNING
    ),
    # Every test runs on keyring's fail backend (tests/conftest.py, _no_real_keyring), so every
    # connection store opened says, once, that no OS keyring works. The reason is the fail
    # backend's own: a store on a real but broken keyring still fails the test.
    Expected(
        "app.services.connections.key_vault",
        re.compile(
            r"^No OS keyring: No OS keyring is available \(keyring found no usable backend\)"
        ),
        logging.WARNING,
    ),
)


def declared(item: pytest.Item) -> list[Expected]:
    expected = []
    for mark in item.iter_markers(MARKER):
        if len(mark.args) != 2 or set(mark.kwargs) - {"level"}:
            raise TypeError(
                f"{item.nodeid}: use @pytest.mark.{MARKER}(logger, match, level='WARNING')"
            )
        logger, pattern = mark.args
        level = mark.kwargs.get("level", logging.WARNING)
        if isinstance(level, str):
            level = logging.getLevelNamesMapping()[level.upper()]
        expected.append(Expected(logger, re.compile(pattern), level))
    return expected


def describe(record: logging.LogRecord) -> str:
    where = f"{record.pathname}:{record.lineno}"
    thread = f" [thread {record.threadName}]" if record.threadName != "MainThread" else ""
    text = f"{record.levelname} {record.name}{thread}: {record.getMessage()}  ({where})"
    if record.exc_info and record.exc_info[1] is not None:
        text += f"\n    {type(record.exc_info[1]).__name__}: {record.exc_info[1]}"
    return text


def _counted(lines: Iterable[str]) -> list[str]:
    """One line per distinct record, with how many times it came (a retry loop repeats one)."""
    counts = Counter(lines)
    return [f"  {line}" + (f"  [x{n}]" if n > 1 else "") for line, n in counts.items()]


class _Collector(logging.Handler):
    """Keeps the records; a record may come from any thread, hence the lock."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self._records: list[logging.LogRecord] = []
        self._guard = threading.Lock()

    def emit(self, record: logging.LogRecord) -> None:
        with self._guard:
            self._records.append(record)

    def drain(self) -> list[logging.LogRecord]:
        with self._guard:
            records, self._records = self._records, []
        return records


class UnexpectedLogs:
    """The plugin: registered once by tests/conftest.py."""

    def __init__(self) -> None:
        self._collector = _Collector()

    def _attach(self) -> None:
        # Again before every phase: a test that replaces the root's handlers wholesale (the
        # app's own logging setup does) must not switch the check off for the rest of the run.
        root = logging.getLogger()
        if self._collector not in root.handlers:
            root.addHandler(self._collector)

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_setup(self, item: pytest.Item) -> None:
        # Whatever was logged between tests (nothing should be) goes to this test's setup.
        self._attach()
        item.stash[_seen_key] = set()
        item.stash[_call_passed_key] = False
        item.stash[_expected_key] = declared(item)

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_call(self, item: pytest.Item) -> None:
        self._attach()

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_teardown(self, item: pytest.Item) -> None:
        self._attach()

    def pytest_unconfigure(self, config: pytest.Config) -> None:
        logging.getLogger().removeHandler(self._collector)

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_makereport(
        self, item: pytest.Item, call: pytest.CallInfo[None]
    ) -> Generator[None, pytest.TestReport, pytest.TestReport]:
        report = yield
        records = self._collector.drain()
        expected = item.stash.get(_expected_key, [])
        seen = item.stash.setdefault(_seen_key, set())
        unexpected = []
        for record in records:
            matched = [i for i, e in enumerate(expected) if e.accepts(record)]
            if matched:
                seen.update(matched)
            elif not any(allowed.accepts(record) for allowed in HARNESS):
                unexpected.append(record)
        problems = []
        if unexpected:
            problems.append(
                f"unexpected log records at WARNING or above during {call.when} "
                f"(if the test means them, declare them with @pytest.mark.{MARKER}):\n"
                + "\n".join(_counted(describe(r) for r in unexpected))
            )
        # Absent declared records are judged once the whole test ran, and only if its body
        # passed: a test that failed or skipped early may never have reached the code that logs.
        if call.when == "teardown" and item.stash.get(_call_passed_key, False):
            missing = [e for i, e in enumerate(expected) if i not in seen]
            if missing:
                problems.append(
                    "declared log records never logged (fix the test or drop the marker):\n"
                    + "\n".join("  " + e.describe() for e in missing)
                )
        if problems:
            text = "\n".join(problems)
            if report.passed:
                report.outcome = "failed"
                report.longrepr = text
            else:
                report.sections.append(("log records", text))
        if call.when == "call":
            item.stash[_call_passed_key] = report.passed
        return report
