"""The app's log: a bounded, redacted in-memory buffer, and a rotating file beside it."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.services import paths
from app.services.logs.buffer import (
    LOG_FILE_NAME,
    LogBuffer,
    configure_app_logging,
    log_file_path,
)
from app.services.logs.setup import REDACTOR

SECRET = "Zq8vK2mW4xR7tY1uN6pL3sD9"


@pytest.fixture
def root_logging() -> Iterator[logging.Logger]:
    """Put the root logger (and the quietened libraries) back as they were after the test."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    quiet = {name: logging.getLogger(name).level for name in ("httpx", "httpcore", "websockets")}
    yield root
    for handler in root.handlers:
        if handler not in handlers:
            handler.close()
    root.handlers[:] = handlers
    root.setLevel(level)
    for name, old in quiet.items():
        logging.getLogger(name).setLevel(old)


@pytest.fixture
def private_logger() -> Iterator[logging.Logger]:
    logger = logging.getLogger("pbx.test.log_buffer")
    logger.propagate = False
    logger.setLevel(logging.DEBUG)
    yield logger
    logger.handlers.clear()
    logger.propagate = True


def test_the_buffer_keeps_only_the_newest_lines(private_logger: logging.Logger) -> None:
    buffer = LogBuffer(capacity=100)
    private_logger.addHandler(buffer)
    for i in range(250):
        private_logger.info("line %d", i)

    lines = buffer.lines()
    assert len(lines) == 100
    assert [line.seq for line in lines] == list(range(151, 251))
    assert lines[0].text.endswith("line 150") and lines[-1].text.endswith("line 249")
    assert buffer.last_seq == 250
    assert [line.seq for line in buffer.since(240)] == list(range(241, 251))
    assert len(buffer.since(0)) == 100  # what fell off is gone, the rest is all there
    assert buffer.since(250) == []


def test_subscribers_hear_each_line_until_they_unsubscribe(
    private_logger: logging.Logger,
) -> None:
    buffer = LogBuffer(capacity=10)
    private_logger.addHandler(buffer)
    heard: list[int] = []
    unsubscribe = buffer.subscribe(lambda: heard.append(buffer.last_seq))
    private_logger.warning("one")
    private_logger.warning("two")
    unsubscribe()
    private_logger.warning("three")
    assert heard == [1, 2]
    assert buffer.lines()[-1].level == logging.WARNING
    assert buffer.lines()[-1].logger == "pbx.test.log_buffer"


def test_secrets_never_reach_the_file_or_the_buffer(
    root_logging: logging.Logger, tmp_path: Path
) -> None:
    buffer = configure_app_logging(logging.INFO, folder=tmp_path)
    REDACTOR.register(SECRET)
    log = logging.getLogger("pbx.test.secrets")

    log.info(f"signing in with client_secret={SECRET}")
    log.info("posting %s to the token endpoint", ("client_id=900", SECRET))
    try:
        raise ValueError(f"the PBX echoed {SECRET} back")
    except ValueError:
        log.exception("token request failed")
    log.info("header Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiI5MDAifQ.c2lnbmF0dXJl")
    for handler in root_logging.handlers:
        handler.flush()

    written = log_file_path(tmp_path).read_text(encoding="utf-8")
    held = "\n".join(line.text for line in buffer.lines())
    for text in (written, held):
        assert SECRET not in text
        assert "eyJhbGciOiJIUzI1NiJ9" not in text
        assert "signing in with client_secret=***" in text
        assert "('client_id=900', '***')" in text
        assert "ValueError: the PBX echoed *** back" in text  # the traceback, redacted
        assert "Traceback (most recent call last)" in text


def test_a_handler_without_our_formatter_still_gets_a_redacted_traceback(
    private_logger: logging.Logger,
) -> None:
    """The filter redacts the traceback text itself, so any handler after it is clean."""
    REDACTOR.register(SECRET)
    seen: list[str] = []

    class Plain(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            seen.append(logging.Formatter().format(record))

    handler = Plain()
    handler.addFilter(REDACTOR)
    private_logger.addHandler(handler)
    try:
        raise RuntimeError(SECRET)
    except RuntimeError:
        private_logger.exception("failed")
    assert seen and SECRET not in seen[0] and "RuntimeError: ***" in seen[0]


def test_the_file_rotates_at_its_size_limit(root_logging: logging.Logger, tmp_path: Path) -> None:
    configure_app_logging(logging.INFO, folder=tmp_path, max_bytes=2_000, backups=2)
    log = logging.getLogger("pbx.test.rotation")
    for i in range(120):
        log.info("record %03d %s", i, "x" * 80)
    for handler in root_logging.handlers:
        handler.flush()

    files = sorted(p.name for p in tmp_path.iterdir())
    assert files == [LOG_FILE_NAME, f"{LOG_FILE_NAME}.1", f"{LOG_FILE_NAME}.2"]
    for name in files:
        assert (tmp_path / name).stat().st_size <= 2_000
    newest = (tmp_path / LOG_FILE_NAME).read_text(encoding="utf-8")
    assert "record 119" in newest


def test_app_logging_goes_to_the_log_folder_and_keeps_httpx_quiet(
    root_logging: logging.Logger,
) -> None:
    buffer = configure_app_logging(logging.INFO)
    assert buffer in root_logging.handlers
    assert len(root_logging.handlers) == 3
    assert all(REDACTOR in handler.filters for handler in root_logging.handlers)
    assert log_file_path().parent == paths.log_dir()
    assert log_file_path().exists()
    assert logging.getLogger("httpx").getEffectiveLevel() >= logging.WARNING
    logging.getLogger("httpx").info("GET https://pbx.example.com/xapi/v1/Users")
    assert not any("xapi" in line.text for line in buffer.lines())

    again = configure_app_logging(logging.INFO)  # reconfiguring replaces, never doubles
    assert len(root_logging.handlers) == 3 and again in root_logging.handlers
    assert buffer not in root_logging.handlers


def test_records_from_many_threads_are_all_kept_in_order(
    private_logger: logging.Logger,
) -> None:
    buffer = LogBuffer(capacity=1_000)
    private_logger.addHandler(buffer)
    notified = 0
    count_lock = threading.Lock()

    def heard() -> None:
        nonlocal notified
        with count_lock:
            notified += 1

    buffer.subscribe(heard)
    stop = threading.Event()
    read_errors: list[BaseException] = []

    def reader() -> None:
        seen = 0
        try:
            while not stop.is_set():
                fresh = buffer.since(seen)
                if fresh:
                    seqs = [line.seq for line in fresh]
                    assert seqs == list(range(seqs[0], seqs[0] + len(seqs)))
                    assert seqs[0] > seen
                    seen = seqs[-1]
                # Yield the GIL: a pure spin would hold it for whole switch intervals (5 ms)
                # and starve the writers.
                time.sleep(0.0005)
        except BaseException as exc:
            read_errors.append(exc)

    def writer(n: int) -> None:
        for i in range(500):
            private_logger.info("writer %d record %d", n, i)

    reading = threading.Thread(target=reader, name="log-reader")
    writers = [threading.Thread(target=writer, args=(n,), name=f"log-writer-{n}") for n in range(8)]
    reading.start()
    for thread in writers:
        thread.start()
    for thread in writers:
        thread.join()
    stop.set()
    reading.join()

    assert not read_errors
    assert notified == 4_000
    assert buffer.last_seq == 4_000
    lines = buffer.lines()
    assert len(lines) == 1_000
    assert [line.seq for line in lines] == list(range(3_001, 4_001))
