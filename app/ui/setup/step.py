"""One step of the guided setup: a title, what to do, the step's own widgets, and its work.

A step runs its network work as a task on the window's TaskKeeper, always with an outer time
limit, shows "Checking…" with a Cancel button meanwhile, and reports what it found in a tinted
box: what happened and what to do. Its ``status`` is the mark in the wizard's step list.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import logging
from collections.abc import Coroutine
from typing import Any, ClassVar

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QFont, QIcon, QPalette
from PySide6.QtWidgets import (
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QLayout,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from app.services.connections.store import ConnectionStoreError
from app.services.pbx_access import ThreeCXError
from app.ui.setup.context import SetupContext
from app.ui.theme import Mark, mark_heading, mark_icon, set_box, set_tone

log = logging.getLogger(__name__)

# A service's own timeout answers first; this margin only catches one that does not.
GUARD_MARGIN_S = 3.0


class StepStatus(enum.Enum):
    NOT_STARTED = "not started"
    WORKING = "working"
    OK = "ok"
    WARN = "needs attention"  # worth a look, does not block
    FAIL = "needs attention (blocking)"


# The mark each status shows in the step list and on the Finish step.
STATUS_MARKS = {
    StepStatus.NOT_STARTED: Mark.IDLE,
    StepStatus.WORKING: Mark.RUNNING,
    StepStatus.OK: Mark.PASS,
    StepStatus.WARN: Mark.WARN,
    StepStatus.FAIL: Mark.FAIL,
}


def status_icon(status: StepStatus) -> QIcon:
    """The step's status as a drawn mark in the current colours."""
    return mark_icon(STATUS_MARKS[status])


def hint_label(text: str = "", *, object_name: str = "") -> QLabel:
    label = QLabel(text)
    label.setWordWrap(True)
    set_tone(label, "muted")
    if object_name:
        label.setObjectName(object_name)
    return label


def text_label(text: str = "", *, object_name: str = "") -> QLabel:
    label = QLabel(text)
    label.setWordWrap(True)
    label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    if object_name:
        label.setObjectName(object_name)
    return label


def bold(label: QLabel) -> QLabel:
    font = QFont(label.font())
    font.setBold(True)
    label.setFont(font)
    return label


def heading_label(text: str, *, object_name: str) -> QLabel:
    """A title: the sheet makes it bigger and bold, and scales it with Larger type."""
    label = QLabel(text)
    label.setObjectName(object_name)
    mark_heading(label)
    return label


class FieldGrid(QGridLayout):
    """Labelled fields with their hint lines under them. A grid, not a QFormLayout: a form
    leaves gaps around wrapping labels (it sizes them before it knows their width)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setContentsMargins(0, 0, 0, 0)
        self.setHorizontalSpacing(10)
        self.setVerticalSpacing(6)
        self.setColumnStretch(1, 1)

    def add(self, label: str, field: QWidget | QLayout | None, *hints: QWidget) -> None:
        row = self.rowCount()
        if label:
            caption = QLabel(label)
            self.addWidget(
                caption, row, 0, Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter
            )
        if isinstance(field, QLayout):
            field.setSpacing(8)  # a grid with its own h/v spacing gives nested rows none
            self.addLayout(field, row, 1)
        elif field is not None:
            self.addWidget(field, row, 1)
        for offset, hint in enumerate(hints, start=1):
            self.addWidget(hint, row + offset, 1)

    def add_wide(self, widget: QWidget | QLayout) -> None:
        """A row across both columns (a note, a row of buttons)."""
        row = self.rowCount()
        if isinstance(widget, QLayout):
            widget.setSpacing(8)
            self.addLayout(widget, row, 0, 1, 2)
        else:
            self.addWidget(widget, row, 0, 1, 2)


def error_text(exc: BaseException) -> str:
    """What happened and what to do, for a failure a service let through."""
    if isinstance(exc, ThreeCXError):
        return f"{exc.message} {exc.next_step}".strip()
    if isinstance(exc, ConnectionStoreError):
        return exc.message
    return str(exc) or type(exc).__name__


class SetupStep(QWidget):
    """Base of the nine steps. Subclasses fill ``body`` and override the hooks below."""

    changed = Signal()  # status or must-haves changed: the wizard re-renders its list and buttons
    advanceRequested = Signal()  # the step finished what a press on Next started

    title: ClassVar[str] = ""
    informational: ClassVar[bool] = False  # warnings here never block Next
    grows: ClassVar[bool] = False  # a table in the body takes the spare height

    def __init__(self, ctx: SetupContext, intro: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self._status = StepStatus.NOT_STARTED
        self._task: asyncio.Task[None] | None = None
        self._run = 0  # the current work; a superseded run no longer touches the step
        self._working = False
        self._stopped_by_engineer = False

        # The page is the palette's Base (white, or the dark surface), as the frame around it.
        self.setObjectName(f"setupStep{type(self).__name__}")
        self.setAutoFillBackground(True)
        self.setBackgroundRole(QPalette.ColorRole.Base)

        self.heading = heading_label(self.title, object_name="stepTitle")
        self.intro = text_label(intro, object_name="stepIntro")
        self.body = QVBoxLayout()
        self.body.setSpacing(8)

        self.busy_label = QLabel()
        self.busy_label.setObjectName("stepBusy")
        self.busy_bar = QProgressBar()
        self.busy_bar.setRange(0, 0)
        self.busy_bar.setMaximumWidth(120)
        self.busy_bar.setTextVisible(False)
        self.stop_button = QPushButton("Cancel check")
        self.stop_button.setObjectName("stepStop")
        self.stop_button.clicked.connect(lambda: self.stop_work())
        busy_row = QHBoxLayout()
        busy_row.addWidget(self.busy_bar)
        busy_row.addWidget(self.busy_label, 1)
        busy_row.addWidget(self.stop_button)
        self._busy_widgets = (self.busy_label, self.busy_bar, self.stop_button)

        self.message = text_label(object_name="stepMessage")
        self.message.hide()

        layout = QVBoxLayout(self)
        layout.setContentsMargins(16, 12, 16, 12)
        layout.setSpacing(10)
        layout.addWidget(self.heading)
        layout.addWidget(self.intro)
        layout.addLayout(self.body, 1 if self.grows else 0)
        layout.addLayout(busy_row)
        layout.addWidget(self.message)
        if not self.grows:
            layout.addStretch(1)
        self._show_busy(False)
        self._message_text = ""
        self._message_tone = "info"
        ctx.ui.presenter.changed.connect(self._presenter_changed)

    # ---- what the wizard asks ------------------------------------------------------------------
    @property
    def status(self) -> StepStatus:
        return self._status

    def set_status(self, status: StepStatus) -> None:
        if status is not self._status:
            self._status = status
            self.changed.emit()

    @property
    def busy(self) -> bool:
        return self._working

    def must_haves_met(self) -> bool:
        """Whether Next may leave this step (informational steps: always)."""
        return True

    def passed(self) -> bool:
        """Whether later steps may be opened from the list (Next may still start work)."""
        return self.must_haves_met()

    def why_blocked(self) -> str:
        """One line beside Next when it is disabled."""
        return ""

    def request_next(self) -> bool:
        """Next was pressed: True to move on now; False when the step starts work first and
        emits ``advanceRequested`` once it may go."""
        return self.must_haves_met()

    def entered(self) -> None:
        """The step is on screen: start its checks when they are not current."""

    def left(self) -> None:
        """Another step is now on screen."""

    def summary(self) -> str:
        """One line for the Finish step's list of what was verified."""
        return self._status.value

    def rerender(self) -> None:
        """Re-render texts (presenter mode changed)."""

    async def aclose(self) -> None:
        task = self._task
        if task is not None and not task.done():
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)

    # ---- messages ------------------------------------------------------------------------------
    def _presenter_changed(self) -> None:
        if self._message_text:
            self.show_message(self._message_text, self._message_tone)
        self.rerender()

    def show_message(self, text: str, tone: str = "info") -> None:
        """``text`` in a tinted box; ``tone`` is a theme tint ("info", "pass", "warn", "fail")."""
        self._message_text, self._message_tone = text, tone
        self.message.setText(self.ctx.ui.presenter.text(text))
        set_box(self.message, tone)
        self.message.setVisible(bool(text))

    def clear_message(self) -> None:
        self._message_text = ""
        self.message.setText("")
        set_box(self.message, None)
        self.message.hide()

    # ---- running work --------------------------------------------------------------------------
    def start_work(
        self, what: str, work: Coroutine[Any, Any, None], *, limit_s: float
    ) -> asyncio.Task[None]:
        """Run ``work`` (which renders its own result) with "Checking…" and a time limit."""
        self.stop_work(quietly=True)
        self._stopped_by_engineer = False
        self._run += 1
        self._working = True
        self.busy_label.setText(f"{what}…")
        self._show_busy(True)
        self.set_status(StepStatus.WORKING)
        self.changed.emit()
        task = self.ctx.start(self._guarded(self._run, what, work, limit_s), name=f"setup: {what}")
        self._task = task
        return task

    def stop_work(self, *, quietly: bool = False) -> None:
        """Cancel the work; ``quietly`` when its result no longer matters (nothing is said)."""
        if self._task is None or self._task.done():
            return
        if quietly:
            self._run += 1
            self._working = False
            self._show_busy(False)
        else:
            self._stopped_by_engineer = True
        self._task.cancel()

    async def _guarded(
        self, run: int, what: str, work: Coroutine[Any, Any, None], limit_s: float
    ) -> None:
        failure: str | None = None
        try:
            await asyncio.wait_for(work, limit_s + GUARD_MARGIN_S)
        except TimeoutError:
            failure = (
                f"{what} took longer than {limit_s + GUARD_MARGIN_S:g} s and was stopped: the "
                "PBX accepts the connection but does not answer. Check that the address and "
                "port are the PBX's (443 for 3CX-hosted, usually 5001 self-managed) and that "
                "no proxy or firewall holds the traffic, then try again."
            )
        except asyncio.CancelledError:
            if not self._stopped_by_engineer or run != self._run:
                raise  # the window is closing, or newer work replaced this one
            failure = f"{what}: stopped. Nothing was changed; try again when ready."
        except Exception as exc:  # a service bug must not leave the step spinning
            log.exception("Setup step %r failed", self.title)
            failure = f"{what} failed unexpectedly: {error_text(exc)}"
        finally:
            if run == self._run:
                self._working = False
                with contextlib.suppress(RuntimeError):  # the widget may be gone at shutdown
                    self._show_busy(False)
        if run != self._run:
            return
        if failure is not None:
            self.show_message(failure, "fail")
            self.work_failed()
        self.changed.emit()

    def work_failed(self) -> None:
        """The work timed out, was stopped or broke: the step decides its dot."""
        self.set_status(StepStatus.FAIL)

    def _show_busy(self, busy: bool) -> None:
        for widget in self._busy_widgets:
            widget.setVisible(busy)
