"""The UI plumbing every pane relies on: the qasync loop in tests, tasks, dialogs, presenter."""

from __future__ import annotations

import asyncio
import contextlib

import pytest
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QDialog, QLabel, QWidget

from app.services.session import PbxSession
from app.ui.context import UiContext
from app.ui.dialogs import run_dialog
from app.ui.presenter import Presenter
from app.ui.tasks import TaskKeeper
from tests.support.screenshots import distinct_colours, render_scene
from tests.support.xvfb import XvfbDisplay


async def test_ui_tests_run_on_the_qt_event_loop() -> None:
    fired = asyncio.get_running_loop().create_future()
    QTimer.singleShot(10, lambda: fired.set_result("qt timer ran"))
    assert await asyncio.wait_for(fired, 2) == "qt timer ran"


async def test_dialog_result_is_awaited_without_a_nested_loop(qtbot: object) -> None:
    parent = QWidget()
    dialog = QDialog(parent)
    QTimer.singleShot(20, dialog.accept)
    assert await asyncio.wait_for(run_dialog(dialog), 5) == QDialog.DialogCode.Accepted


async def test_task_keeper_cancels_everything_on_close() -> None:
    keeper = TaskKeeper()
    started = asyncio.Event()

    async def forever() -> None:
        started.set()
        await asyncio.sleep(3600)

    task = keeper.start(forever(), name="forever")
    await started.wait()
    await keeper.aclose()
    assert task.cancelled()
    with pytest.raises(RuntimeError, match="closing"):
        keeper.start(forever(), name="too late")


def test_presenter_masks_only_when_on() -> None:
    presenter = Presenter()
    seen: list[bool] = []
    presenter.changed.connect(lambda: seen.append(presenter.enabled))
    assert presenter.number("+61412345678") == "+61412345678"
    presenter.set_enabled(True)
    assert presenter.number("+61412345678") == "+••••••••678"
    assert presenter.name("Jane Smith") == "J. S."
    presenter.masker.learn_names(["Jane Smith"])
    assert presenter.text("Call from Jane Smith on 0412 345 678 at 2026-11-21 10:15") == (
        "Call from J. S. on •••• ••• 678 at 2026-11-21 10:15"
    )
    assert seen == [True]


async def test_session_signs_in_once_and_shares_the_client(
    session: PbxSession, ui: UiContext
) -> None:
    first, second = await asyncio.gather(session.client(), session.client())
    assert first is second
    contacts = await session.contact_matcher()
    assert len(contacts) > 0
    assert session.secret not in repr(session)


async def label_scene(stack: contextlib.AsyncExitStack, ui: UiContext) -> QWidget:
    label = QLabel(ui.presenter.number("+61412345678"))
    label.setStyleSheet("font-size: 40px; background: white; color: #123;")
    return label


@pytest.mark.display
def test_scene_renders_in_a_real_x_window(xvfb_display: XvfbDisplay) -> None:
    plain = render_scene(xvfb_display, "tests.ui.test_foundation:label_scene", "foundation")
    masked = render_scene(
        xvfb_display, "tests.ui.test_foundation:label_scene", "foundation-presenter", presenter=True
    )
    assert distinct_colours(plain) > 2
    assert plain.read_bytes() != masked.read_bytes()
