"""Guided setup: the nine steps a VAR engineer walks through with the customer watching.

A widget for the main window's central area (no dialog, no nested event loop): the steps on
the left, each with a status mark, the current step on the right, Back / Next / Cancel below.
Next stays disabled until the current step's must-haves are green (the address parses, a key
is stored, both capabilities are proven); the informational steps (reachability, recording
audit, contact preview) only warn. The connection's id is made at the start so the key can go
into the keyring at step 3 or 4; Cancel removes it again, Save (step 9) keeps it.
"""

from __future__ import annotations

import logging

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QScrollArea,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from app.services.connections.store import ConnectionStore, ConnectionStoreError
from app.ui.context import UiContext
from app.ui.dialogs import confirm
from app.ui.setup.context import SetupContext, SetupTimeouts
from app.ui.setup.step import SetupStep, StepStatus, heading_label, hint_label, status_icon
from app.ui.setup.steps.address import AddressStep
from app.ui.setup.steps.api_user import ApiUserStep
from app.ui.setup.steps.contacts import ContactsStep
from app.ui.setup.steps.finish import FinishStep
from app.ui.setup.steps.key import KeyStep
from app.ui.setup.steps.prerequisites import PrerequisitesStep
from app.ui.setup.steps.reachability import ReachabilityStep
from app.ui.setup.steps.recording_audit import RecordingAuditStep
from app.ui.setup.steps.verify import VerifyStep
from app.ui.theme import set_panel, set_tone

log = logging.getLogger(__name__)

STEP_LIST_WIDTH = 230


class SetupWizard(QWidget):
    """``finished(connection_id)`` once saved and closed; ``cancelled()`` when abandoned."""

    finished = Signal(str)
    cancelled = Signal()

    def __init__(
        self,
        ui: UiContext,
        store: ConnectionStore,
        parent: QWidget | None = None,
        *,
        timeouts: SetupTimeouts | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("setupWizard")
        self.ctx = SetupContext(ui, store, timeouts)
        self._closing = False
        self.address = AddressStep(self.ctx)
        self.prerequisites = PrerequisitesStep(self.ctx)
        self.api_user = ApiUserStep(self.ctx)
        self.key = KeyStep(self.ctx)
        self.verify = VerifyStep(self.ctx)
        self.reachability = ReachabilityStep(self.ctx)
        self.recording_audit = RecordingAuditStep(self.ctx)
        self.contacts = ContactsStep(self.ctx)
        self.finish = FinishStep(self.ctx, self._step_summaries)
        self.steps: tuple[SetupStep, ...] = (
            self.address,
            self.prerequisites,
            self.api_user,
            self.key,
            self.verify,
            self.reachability,
            self.recording_audit,
            self.contacts,
            self.finish,
        )
        self._build()
        for step in self.steps:
            step.changed.connect(self._render)
            step.advanceRequested.connect(lambda s=step: self._advance_from(s))
        self.finish.saved.connect(self._render)
        ui.presenter.changed.connect(self._render)
        self._current = 0
        self.go_to(0)

    # ---- layout --------------------------------------------------------------------------------
    def _build(self) -> None:
        title = heading_label("Set up a PBX", object_name="setupTitle")
        self.subtitle = hint_label(object_name="setupSubtitle")
        self._build_step_list()
        page_frame = self._build_pages()
        self._build_buttons()
        self._lay_out(title, page_frame)

    def _build_step_list(self) -> None:
        """The steps, numbered, on the left; clicking one goes there when it is reachable."""
        self.step_list = QListWidget()
        self.step_list.setObjectName("setupSteps")
        self.step_list.setFixedWidth(STEP_LIST_WIDTH)
        self.step_list.setIconSize(QSize(14, 14))
        self.step_list.setSpacing(2)
        self.step_list.setFrameShape(QFrame.Shape.NoFrame)
        for number, step in enumerate(self.steps, start=1):
            QListWidgetItem(f"{number}. {step.title}", self.step_list)
        self.step_list.currentRowChanged.connect(self._list_clicked)

    def _build_pages(self) -> QFrame:
        """One scrolling page a step, stacked in a white frame; returns the frame."""
        self.pages = QStackedWidget()
        self.pages.setObjectName("setupPages")
        for step in self.steps:
            scroll = QScrollArea()
            scroll.setWidgetResizable(True)
            scroll.setFrameShape(QFrame.Shape.NoFrame)
            scroll.setWidget(step)
            self.pages.addWidget(scroll)
        page_frame = QFrame()
        page_frame.setObjectName("setupPageFrame")
        set_panel(page_frame)
        frame_layout = QVBoxLayout(page_frame)
        frame_layout.setContentsMargins(1, 1, 1, 1)
        frame_layout.addWidget(self.pages)
        return page_frame

    def _build_buttons(self) -> None:
        """Why Next is blocked, then Cancel, Back and Next."""
        self.blocked_label = QLabel()
        self.blocked_label.setObjectName("setupBlocked")
        self.blocked_label.setWordWrap(True)
        set_tone(self.blocked_label, "muted")
        self.cancel_button = QPushButton("Cancel setup")
        self.cancel_button.setObjectName("setupCancel")
        self.back_button = QPushButton("Back")
        self.back_button.setObjectName("setupBack")
        self.next_button = QPushButton("Next")
        self.next_button.setObjectName("setupNext")
        self.next_button.setDefault(True)
        self.cancel_button.clicked.connect(self._cancel_clicked)
        self.back_button.clicked.connect(self.back)
        self.next_button.clicked.connect(self.next)

    def _lay_out(self, title: QLabel, page_frame: QFrame) -> None:
        """The title and step list on the left; the page with the buttons below on the right."""
        left = QVBoxLayout()
        left.addWidget(title)
        left.addWidget(self.subtitle)
        left.addSpacing(6)
        left.addWidget(self.step_list, 1)
        buttons = QHBoxLayout()
        buttons.addWidget(self.blocked_label, 1)
        buttons.addWidget(self.cancel_button)
        buttons.addSpacing(12)
        buttons.addWidget(self.back_button)
        buttons.addWidget(self.next_button)
        right = QVBoxLayout()
        right.addWidget(page_frame, 1)
        right.addLayout(buttons)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(12, 12, 12, 12)
        layout.setSpacing(12)
        layout.addLayout(left)
        layout.addLayout(right, 1)

    # ---- navigation ----------------------------------------------------------------------------
    @property
    def current(self) -> SetupStep:
        return self.steps[self._current]

    @property
    def current_index(self) -> int:
        return self._current

    def reachable(self, index: int) -> bool:
        """A step can be opened once every step before it has passed."""
        return all(step.passed() for step in self.steps[:index])

    def go_to(self, index: int) -> None:
        if not 0 <= index < len(self.steps) or not self.reachable(index) or self.ctx.saved:
            self._render()
            return
        if index != self._current:
            self.current.left()
        self._current = index
        self.pages.setCurrentIndex(index)
        self._render()
        self.current.entered()

    def next(self) -> None:
        if self.ctx.saved and self.current is self.finish:
            self.finished.emit(self.ctx.connection_id)
            return
        step = self.current
        if step.busy or not step.must_haves_met():
            return
        if step.request_next():
            self.go_to(self._current + 1)

    def back(self) -> None:
        if self._current > 0:
            self.go_to(self._current - 1)

    def _advance_from(self, step: SetupStep) -> None:
        if step is self.current and step.must_haves_met():
            self.go_to(self._current + 1)

    def _list_clicked(self, row: int) -> None:
        if row != self._current:
            self.go_to(row)

    def _step_summaries(self) -> list[tuple[str, StepStatus, str]]:
        return [(step.title, step.status, step.summary()) for step in self.steps[:-1]]

    # ---- rendering -----------------------------------------------------------------------------
    def _render(self) -> None:
        if self._closing:
            return
        presenter = self.ctx.ui.presenter
        self.step_list.blockSignals(True)
        try:
            for index, step in enumerate(self.steps):
                item = self.step_list.item(index)
                item.setIcon(status_icon(step.status))
                item.setToolTip(step.status.value.capitalize())
                # Once saved the list stays readable; go_to() refuses to move.
                flags = Qt.ItemFlag.ItemIsSelectable
                if self.reachable(index):
                    flags |= Qt.ItemFlag.ItemIsEnabled
                item.setFlags(flags)
            self.step_list.setCurrentRow(self._current)
        finally:
            self.step_list.blockSignals(False)
        detection = self.ctx.detection
        self.subtitle.setText(presenter.text(detection.host) if detection else "A new connection")

        step = self.current
        saved = self.ctx.saved
        last = step is self.finish
        self.back_button.setEnabled(self._current > 0 and not saved)
        self.cancel_button.setVisible(not saved)
        if last:
            self.next_button.setText("Done" if saved else "Next")
            self.next_button.setVisible(saved)
            self.next_button.setEnabled(saved)
            self.blocked_label.setText("")
            return
        self.next_button.setVisible(True)
        self.next_button.setText("Next")
        ready = step.must_haves_met() and not step.busy
        self.next_button.setEnabled(ready)
        if step.busy:
            self.blocked_label.setText("Checking… (Cancel check to stop it)")
        elif not step.must_haves_met():
            self.blocked_label.setText(presenter.text(step.why_blocked()))
        elif step.informational and step.status in (StepStatus.WARN, StepStatus.FAIL):
            self.blocked_label.setText("Warnings here do not stop the setup.")
        else:
            self.blocked_label.setText("")

    # ---- cancel and close ----------------------------------------------------------------------
    def _cancel_clicked(self) -> None:
        self.ctx.start(self.cancel_setup(ask=True), name="setup: cancel")

    async def cancel_setup(self, *, ask: bool = False) -> bool:
        """Abandon the setup: the staged key is removed. Returns False when the engineer
        chose to stay (only asked when something was already done)."""
        if self.ctx.saved:
            self.finished.emit(self.ctx.connection_id)
            return True
        if ask and (self.ctx.key_staged or self.ctx.created_client_id):
            created = self.ctx.created_client_id
            text = "The API key stored for this setup will be removed from the keyring."
            if created:
                text += (
                    f" The API client {created} created on the PBX stays there: delete it in "
                    "the admin console (Integrations > API) if it is not wanted."
                )
            if not await confirm(
                self, "Stop the guided setup?", text, destructive="Stop setup", keep="Keep going"
            ):
                return False
        self._closing = True
        await self._shutdown()
        self.cancelled.emit()
        return True

    async def _shutdown(self) -> None:
        for step in self.steps:
            await step.aclose()
        try:
            await self.ctx.discard()
        except ConnectionStoreError as exc:
            log.error("The staged key could not be removed: %s", exc.message)
        await self.ctx.aclose()

    async def aclose(self) -> None:
        """Stop every check; an unsaved setup leaves no key behind."""
        if self._closing:
            return
        self._closing = True
        await self._shutdown()
