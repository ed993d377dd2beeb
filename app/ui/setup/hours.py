"""The customer's clock in the guided setup (shown at step 5, once the key works).

The zone and office hours read from the PBX, or the region's usual zone when the PBX has none
to give, named with where they came from; the engineer confirms them or changes them. What
is shown here is what the connection keeps (``SetupContext.customer_hours``).
"""

from __future__ import annotations

import dataclasses

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from app.domain.business_hours import (
    BusinessHours,
    BusinessHoursError,
    HoursSource,
    describe_hours,
)
from app.domain.clock import utc_now
from app.ui.setup.context import SetupContext
from app.ui.setup.step import bold, hint_label, text_label
from app.ui.theme import set_box, set_tone
from app.ui.widgets.hours_editor import HoursEditor

SOURCE_WORDS = {
    HoursSource.PBX: "read from the PBX",
    HoursSource.ENGINEER: "set by you",
    HoursSource.REGION: "the region's usual zone — confirm",
    HoursSource.UNSET: "not known — set it",
}


def clock_now_text(hours: BusinessHours) -> str:
    """ "It is Wed 13:30 NZDT there (your time: Tue 16:30 PST)." """
    now = utc_now()
    there = now.astimezone(hours.zone)
    here = now.astimezone()  # the engineer's own zone, labelled as such
    return (
        f"It is {there:%a %H:%M} {there.tzname()} there (your time: {here:%a %H:%M} "
        f"{here.tzname()})."
    )


def clock_summary(hours: BusinessHours, problem: str | None) -> tuple[str, str]:
    """(text, tone) for the box: the zone and hours, where they came from, what to do."""
    zone = hours.timezone
    described = describe_hours(hours, with_zone=False)
    if hours.source is HoursSource.PBX:
        return (
            f"{zone}, read from the PBX: {described}. {clock_now_text(hours)} Missed calls, "
            "times on every tab and the reports use this clock.",
            "pass",
        )
    if hours.source is HoursSource.ENGINEER:
        return f"{zone}, set by you: {described}. {clock_now_text(hours)}", "pass"
    why = f" {problem}" if problem else ""
    if hours.source is HoursSource.REGION:
        return (
            f"{zone} ({described}) is the region's usual zone, not read from the PBX.{why} "
            f"Confirm them with the customer, or change them below. {clock_now_text(hours)}",
            "warn",
        )
    return (
        f"The customer's zone is not known ({zone} is assumed).{why} Set the zone and the "
        "office hours below.",
        "warn",
    )


class CustomerClockBox(QFrame):
    """Zone and hours with their source, the editor, and Confirm for a guess.

    ``changed`` when the hours became usable or unusable (the step's Next depends on it).
    """

    changed = Signal()

    def __init__(self, ctx: SetupContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("customerClock")
        self.ctx = ctx
        self.error: str | None = None
        self._editing = False
        self.title = bold(QLabel("The customer's clock"))
        self.summary = text_label(object_name="customerClockSummary")
        self.source_label = hint_label(object_name="customerClockSource")
        self.edit_hint = hint_label(
            "Not the customer's? Change the zone, days or times: they are then yours, and "
            "the PBX's own are not used for this connection.",
            object_name="customerClockHint",
        )
        self.editor = HoursEditor()
        self.editor.setObjectName("customerHours")
        self.editor.edited.connect(self._edited)
        self.error_label = text_label(object_name="customerClockError")
        set_tone(self.error_label, "fail")
        self.error_label.hide()
        self.confirm_button = QPushButton("Confirm zone and hours")
        self.confirm_button.setObjectName("confirmHours")
        self.confirm_button.setToolTip("The customer agrees: keep these for the connection")
        self.confirm_button.clicked.connect(self.confirm)
        buttons = QHBoxLayout()
        buttons.addWidget(self.confirm_button)
        buttons.addStretch(1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 6, 0, 0)
        layout.setSpacing(6)
        heading = QHBoxLayout()
        heading.addWidget(self.title)
        heading.addWidget(self.source_label, 1)
        layout.addLayout(heading)
        layout.addWidget(self.summary)
        layout.addWidget(self.edit_hint)
        layout.addWidget(self.editor)
        layout.addWidget(self.error_label)
        layout.addLayout(buttons)
        ctx.hoursChanged.connect(self.refresh)
        self._zones_loading = False
        self.refresh()

    def refresh(self) -> None:
        hours = self.ctx.customer_hours
        self.setVisible(hours is not None)
        if hours is None:
            self.error = None
            return
        if not self._editing:
            self.editor.set_hours(hours)
            self.error = None
            self.error_label.hide()
        text, tone = clock_summary(hours, self.ctx.hours_problem)
        self.summary.setText(text)
        set_box(self.summary, tone)
        self.source_label.setText(f"({SOURCE_WORDS[hours.source]})")
        self.confirm_button.setVisible(hours.source in (HoursSource.REGION, HoursSource.UNSET))
        if not self._zones_loading:
            self._zones_loading = True
            self.ctx.start(self.editor.load_all_zones(), name="setup: time zones")

    def confirm(self) -> None:
        """The engineer (with the customer) vouches for these hours: they are theirs now."""
        hours = self.ctx.customer_hours
        if hours is None or self.error is not None:
            return
        if hours.source in (HoursSource.REGION, HoursSource.UNSET):
            self.ctx.set_customer_hours(dataclasses.replace(hours, source=HoursSource.ENGINEER))

    def _edited(self) -> None:
        try:
            hours = self.editor.hours()
        except BusinessHoursError as exc:
            self.error = str(exc)
            self.error_label.setText(f"Office hours: {exc}")
            self.error_label.show()
            self.changed.emit()  # Next waits until they can be used
            return
        self.error = None
        self.error_label.hide()
        self._editing = True  # the editor keeps what is typed; only the texts follow
        try:
            self.ctx.set_customer_hours(hours, self.ctx.hours_problem)
        finally:
            self._editing = False
        self.changed.emit()
