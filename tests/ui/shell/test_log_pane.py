"""The log view: lines arrive coalesced, stay bounded, filter, search, and mask for presenters."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
import shiboken6
from PySide6.QtCore import qWarning
from PySide6.QtWidgets import QApplication, QWidget
from pytestqt.qtbot import QtBot

from app.services.logs.buffer import LogBuffer
from app.ui.context import UiContext
from app.ui.qt_logging import install_qt_message_handler, uninstall_qt_message_handler
from app.ui.shell.log_pane import LogPane
from app.ui.theme import apply_theme
from tests.support.screenshots import distinct_colours, render_scene
from tests.support.waiting import until
from tests.support.xvfb import XvfbDisplay
from tests.ui.widgets.test_presenter_fields import shows_nothing_typed, type_while_presenting

CALLER = "+61 412 345 678"


@pytest.fixture
def logger() -> Iterator[logging.Logger]:
    log = logging.getLogger("pbx.test.log_pane")
    log.propagate = False
    log.setLevel(logging.DEBUG)
    yield log
    log.handlers.clear()
    log.propagate = True


@pytest.fixture
def buffer(logger: logging.Logger) -> LogBuffer:
    held = LogBuffer(capacity=1_000)
    logger.addHandler(held)
    return held


class FakeOpener:
    """Records the folder instead of opening a file manager on the test machine."""

    def __init__(self, works: bool = True) -> None:
        self.opened: list[Path] = []
        self.works = works

    def __call__(self, folder: Path) -> bool:
        self.opened.append(folder)
        return self.works


def make_pane(ui: UiContext, buffer: LogBuffer, **kwargs: object) -> LogPane:
    pane = LogPane(ui, buffer, opener=FakeOpener(), **kwargs)  # type: ignore[arg-type]
    pane.resize(900, 500)
    pane.show()
    return pane


async def test_a_burst_of_lines_arrives_in_one_update(
    ui: UiContext, buffer: LogBuffer, logger: logging.Logger
) -> None:
    pane = make_pane(ui, buffer)
    updates: list[int] = []
    pane.view.textChanged.connect(lambda: updates.append(pane.view.blockCount()))
    for i in range(50):
        logger.info("burst %d", i)
    assert pane.view.toPlainText() == ""  # nothing is drawn per record

    await until(lambda: "burst 49" in pane.view.toPlainText())
    assert len(updates) == 1
    assert pane.view.blockCount() == 50
    await pane.aclose()


async def test_the_view_is_bounded(
    ui: UiContext, buffer: LogBuffer, logger: logging.Logger
) -> None:
    pane = make_pane(ui, buffer, max_blocks=100)
    for i in range(150):
        logger.info("early %d", i)
    await until(lambda: "early 149" in pane.view.toPlainText())
    for i in range(150):
        logger.info("late %d", i)
    await until(lambda: "late 149" in pane.view.toPlainText())
    assert pane.view.blockCount() == 100
    assert "early" not in pane.view.toPlainText()
    assert pane.view.toPlainText().splitlines()[0].endswith("late 50")
    await pane.aclose()


async def test_level_filter_and_search(
    ui: UiContext, buffer: LogBuffer, logger: logging.Logger
) -> None:
    logger.debug("token refreshed")
    logger.info("websocket connected")
    logger.warning("call log answered slowly")
    logger.error("recording download failed")
    pane = make_pane(ui, buffer)

    def shown() -> list[str]:
        return [line.split(": ", 1)[1] for line in pane.view.toPlainText().splitlines()]

    assert shown() == [
        "websocket connected",
        "call log answered slowly",
        "recording download failed",
    ]
    pane.level.setCurrentIndex(0)
    assert shown()[0] == "token refreshed" and len(shown()) == 4
    pane.level.setCurrentIndex(2)
    assert shown() == ["call log answered slowly", "recording download failed"]
    pane.level.setCurrentIndex(3)
    assert shown() == ["recording download failed"]

    pane.level.setCurrentIndex(0)
    pane.search.setText("RECORDING")
    await until(lambda: shown() == ["recording download failed"])
    logger.info("recording 881 ready")
    logger.info("unrelated line")
    await until(lambda: "recording 881 ready" in shown())
    assert "unrelated line" not in shown()
    pane.search.clear()
    await until(lambda: len(shown()) == 6)
    await pane.aclose()


async def test_presenter_mode_masks_numbers_and_names_and_unmasks_when_off(
    ui: UiContext, buffer: LogBuffer, logger: logging.Logger
) -> None:
    ui.presenter.masker.learn_names(["Jane Smith"])
    logger.info("Call from Jane Smith on %s attached to contact 7", CALLER)
    pane = make_pane(ui, buffer)
    assert CALLER in pane.view.toPlainText()

    ui.presenter.set_enabled(True)
    masked = pane.view.toPlainText()
    assert "Jane Smith" not in masked and "J. S." in masked
    assert "412 345" not in masked and "678" in masked
    logger.info("Second call from %s", CALLER)
    await until(lambda: "Second call" in pane.view.toPlainText())
    assert "412 345" not in pane.view.toPlainText()
    pane.search.setText("678")
    await until(lambda: pane.view.blockCount() == 2 and "Second" in pane.view.toPlainText())
    pane.search.setText("412")  # a masked number cannot be found by what is hidden
    await until(lambda: pane.view.toPlainText() == "")
    pane.search.clear()
    await until(lambda: pane.view.blockCount() == 2)

    ui.presenter.set_enabled(False)
    assert "Jane Smith" in pane.view.toPlainText()
    assert pane.view.toPlainText().count(CALLER) == 2
    await pane.aclose()


async def test_what_is_typed_in_the_search_is_hidden_while_presenting(
    ui: UiContext, buffer: LogBuffer, logger: logging.Logger, qtbot: QtBot
) -> None:
    logger.info("Contacts of Harbour Dental read: 412 rows")
    logger.info("Second call from %s", CALLER)
    pane = make_pane(ui, buffer)

    async def search(typed: str, found: str) -> None:
        type_while_presenting(qtbot, pane.search, typed)
        assert shows_nothing_typed(pane.search, typed)
        await until(lambda: pane.view.blockCount() == 1 and found in pane.view.toPlainText())

    ui.presenter.set_enabled(True)
    await search("Harbour Dental", "Contacts of")
    await search("678", "Second call")  # the digits a masked number still shows

    ui.presenter.set_enabled(False)
    assert pane.search.displayText() == "678"
    assert pane.view.toPlainText().count(CALLER) == 1
    await pane.aclose()


async def test_auto_scroll_follows_only_from_the_bottom(
    ui: UiContext, buffer: LogBuffer, logger: logging.Logger
) -> None:
    pane = make_pane(ui, buffer)
    for i in range(200):
        logger.info("first %d", i)
    await until(lambda: "first 199" in pane.view.toPlainText())
    bar = pane.view.verticalScrollBar()
    assert bar.maximum() > 0 and bar.value() == bar.maximum()

    logger.info("followed")
    await until(lambda: "followed" in pane.view.toPlainText())
    assert bar.value() == bar.maximum()

    bar.setValue(0)  # the engineer scrolls up to read
    logger.info("not followed")
    await until(lambda: "not followed" in pane.view.toPlainText())
    assert bar.value() == 0
    await pane.aclose()


async def test_copy_and_open_folder(
    ui: UiContext, buffer: LogBuffer, logger: logging.Logger, tmp_path: Path
) -> None:
    logger.warning("something to copy")
    opener = FakeOpener(works=False)
    pane = LogPane(ui, buffer, folder=tmp_path, opener=opener)
    pane.copy_button.click()
    clipboard = QApplication.clipboard().text()
    assert clipboard == pane.view.toPlainText() and "something to copy" in clipboard

    pane.open_button.click()
    assert opener.opened == [tmp_path]
    assert "Could not open the log folder" in pane.status.text()
    assert str(tmp_path) in pane.status.text()
    await pane.aclose()


async def test_closing_stops_listening(
    ui: UiContext, buffer: LogBuffer, logger: logging.Logger
) -> None:
    pane = make_pane(ui, buffer)
    await pane.aclose()
    logger.info("after close")
    await asyncio.sleep(0.3)
    assert "after close" not in pane.view.toPlainText()


async def test_a_deleted_pane_stops_listening(
    ui: UiContext, buffer: LogBuffer, logger: logging.Logger, capsys: pytest.CaptureFixture[str]
) -> None:
    pane = LogPane(ui, buffer, opener=FakeOpener())
    heard: list[int] = []
    buffer.subscribe(lambda: heard.append(1))
    pane.deleteLater()
    await until(lambda: not shiboken6.isValid(pane))
    logger.error("after the pane is gone")  # must not reach a deleted object
    assert heard == [1]
    assert "after the pane is gone" in buffer.lines()[-1].text
    assert "Logging error" not in capsys.readouterr().err


@pytest.mark.expect_log("qt", r"Point size <= 0")
def test_qt_messages_are_routed_into_logging(caplog: pytest.LogCaptureFixture) -> None:
    install_qt_message_handler()
    try:
        with caplog.at_level(logging.DEBUG, logger="qt"):
            qWarning("QFont::setPointSizeF: Point size <= 0 (-1.000000)")
    finally:
        uninstall_qt_message_handler()
    records = [r for r in caplog.records if r.name == "qt"]
    assert [r.levelno for r in records] == [logging.WARNING]
    assert "Point size <= 0" in records[0].getMessage()


# ---- screenshots -------------------------------------------------------------------------------
async def log_scene(stack: contextlib.AsyncExitStack, ui: UiContext) -> QWidget:
    log = logging.getLogger("pbx.scene")
    log.propagate = False
    log.setLevel(logging.DEBUG)
    buffer = LogBuffer()
    log.addHandler(buffer)
    ui.presenter.masker.learn_names(["Jane Smith"])
    services = logging.getLogger("pbx.scene.services.doctor")
    feed = logging.getLogger("pbx.scene.services.live_feed")
    feed.info("Connected to https://harbour-dental.3cx.com.au:5001 (3CX 20.0.10.1116, v20 XAPI)")
    feed.info("Call Control websocket open; monitoring 14 extensions")
    feed.info("Call 88213 from %s ringing extension 101", CALLER)
    feed.info("Call 88213 answered by Jane Smith on extension 101")
    feed.debug("Recording poll for call 88213: attempt 1 at +2.0 s, not yet written")
    feed.info("Recording for call 88213 ready at +6.4 s")
    services.info("Doctor started for Harbour Dental")
    services.warning("Retention policy keeps recordings 30 days; 90 required")
    try:
        raise TimeoutError("the PBX did not answer within 5 s")
    except TimeoutError:
        services.exception("Reading the call log failed")
    feed.info("Call 88214 from +61 2 9876 5432 missed (rang 25 s, no voicemail)")
    app = QApplication.instance()
    assert isinstance(app, QApplication)
    apply_theme(app, large_type=ui.presenter.large_type)
    pane = LogPane(ui, buffer, opener=FakeOpener())
    pane.level.setCurrentIndex(0)
    await asyncio.sleep(0.3)
    return pane


@pytest.mark.display
def test_log_pane_screenshots(xvfb_display: XvfbDisplay) -> None:
    plain = render_scene(xvfb_display, "tests.ui.shell.test_log_pane:log_scene", "log-pane")
    masked = render_scene(
        xvfb_display, "tests.ui.shell.test_log_pane:log_scene", "log-pane-presenter", presenter=True
    )
    assert distinct_colours(plain) > 10
    assert plain.read_bytes() != masked.read_bytes()
