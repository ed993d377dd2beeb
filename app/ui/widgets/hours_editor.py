"""The customer's time zone and office hours as the engineer edits them (setup and Edit).

The editor shows the simple form (zone, days, opens, closes). Hours read from the PBX may
hold more (per-day periods, breaks, holidays): those are kept while the engineer leaves the
simple form alone, and the source becomes "set by the engineer" as soon as anything changes.
"""

from __future__ import annotations

import asyncio
import contextlib
import zoneinfo
from datetime import time
from typing import Final

from PySide6.QtCore import QStringListModel, Qt, QTime, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QCompleter,
    QHBoxLayout,
    QLabel,
    QTimeEdit,
    QVBoxLayout,
    QWidget,
)

from app.domain.business_hours import (
    DAY_NAMES,
    BusinessHours,
    HoursSource,
    describe_hours,
    edited_hours,
)

COMMON_ZONES: Final = (
    "Australia/Sydney",
    "Australia/Melbourne",
    "Australia/Brisbane",
    "Australia/Adelaide",
    "Australia/Perth",
    "Pacific/Auckland",
    "Europe/London",
    "Europe/Dublin",
    "Europe/Berlin",
    "America/New_York",
    "America/Chicago",
    "America/Los_Angeles",
    "UTC",
)


def hours_source_text(hours: BusinessHours) -> str:
    """Where these hours came from and what that means, for the engineer editing them."""
    described = describe_hours(hours)
    if hours.source is HoursSource.PBX:
        return (
            f"Read from the PBX: {described}. Breaks and holidays are kept; changing the zone, "
            "days or times makes them set by you, and the PBX's own are then not used."
        )
    if hours.source is HoursSource.ENGINEER:
        return f"Set by the engineer: {described}. These are used even where the PBX has its own."
    if hours.source is HoursSource.REGION:
        return (
            f"The region's usual zone, not read from the PBX: {described}. Confirm them with "
            "the customer."
        )
    return (
        f"Not set: assumed {described}. The PBX's own office hours are used where it has "
        "them; otherwise set the customer's zone and hours here."
    )


def to_qtime(value: time) -> QTime:
    return QTime(value.hour, value.minute, value.second)


def from_qtime(value: QTime) -> time:
    return time(value.hour(), value.minute(), value.second())


async def all_zone_names() -> list[str]:
    # Listing the tz database walks folders on disk: off the GUI thread.
    return await asyncio.to_thread(lambda: sorted(zoneinfo.available_timezones()))


class HoursEditor(QWidget):
    """Zone (any tz name, completed as typed), business days, opening and closing time.

    ``edited`` is emitted for the engineer's changes only, never for ``set_hours``.
    """

    edited = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.base = BusinessHours()
        self.timezone_combo = QComboBox()
        self.timezone_combo.setObjectName("field_timezone")
        self.timezone_combo.setEditable(True)
        self.timezone_combo.setInsertPolicy(QComboBox.InsertPolicy.NoInsert)
        self.timezone_combo.addItems(COMMON_ZONES)
        self.timezone_combo.setMinimumContentsLength(22)
        self.zone_model = QStringListModel(list(COMMON_ZONES), self)
        completer = QCompleter(self.zone_model, self)
        completer.setCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        completer.setFilterMode(Qt.MatchFlag.MatchContains)
        self.timezone_combo.setCompleter(completer)
        self.day_boxes: list[QCheckBox] = []
        days_row = QHBoxLayout()
        days_row.setContentsMargins(0, 0, 0, 0)
        for name in DAY_NAMES:
            box = QCheckBox(name)
            box.setObjectName(f"day_{name}")
            self.day_boxes.append(box)
            days_row.addWidget(box)
        days_row.addStretch(1)
        self.opens_edit = QTimeEdit()
        self.opens_edit.setObjectName("field_opens")
        self.closes_edit = QTimeEdit()
        self.closes_edit.setObjectName("field_closes")
        times = QHBoxLayout()
        times.setContentsMargins(0, 0, 0, 0)
        times.addWidget(QLabel("Opens"))
        times.addWidget(self.opens_edit)
        times.addWidget(QLabel("closes"))
        times.addWidget(self.closes_edit)
        times.addStretch(1)
        zone_row = QHBoxLayout()
        zone_row.setContentsMargins(0, 0, 0, 0)
        zone_row.addWidget(self.timezone_combo)
        zone_row.addStretch(1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(zone_row)
        layout.addLayout(days_row)
        layout.addLayout(times)

        self.timezone_combo.editTextChanged.connect(self._edited)
        for box in self.day_boxes:
            box.toggled.connect(self._edited)
        for edit in (self.opens_edit, self.closes_edit):
            edit.setDisplayFormat("HH:mm")
            edit.timeChanged.connect(self._edited)

    def set_hours(self, hours: BusinessHours) -> None:
        """Show ``hours``, the base that unchanged fields keep (no ``edited`` signal)."""
        self.base = hours
        widgets: list[QWidget] = [
            self.timezone_combo,
            *self.day_boxes,
            self.opens_edit,
            self.closes_edit,
        ]
        for widget in widgets:
            widget.blockSignals(True)
        try:
            self.timezone_combo.setEditText(hours.timezone)
            for day, box in enumerate(self.day_boxes):
                box.setChecked(day in hours.days)
            self.opens_edit.setTime(to_qtime(hours.opens))
            self.closes_edit.setTime(to_qtime(hours.closes))
        finally:
            for widget in widgets:
                widget.blockSignals(False)

    def hours(self) -> BusinessHours:
        """What the editor shows, as hours; raises ``BusinessHoursError`` naming the problem."""
        return edited_hours(
            self.base,
            timezone=self.timezone_combo.currentText().strip(),
            days=tuple(day for day, box in enumerate(self.day_boxes) if box.isChecked()),
            opens=from_qtime(self.opens_edit.time()),
            closes=from_qtime(self.closes_edit.time()),
        )

    def field_value(self) -> tuple[object, ...]:
        """The fields as typed, to tell whether the engineer changed anything since."""
        return (
            self.timezone_combo.currentText(),
            tuple(box.isChecked() for box in self.day_boxes),
            self.opens_edit.time().toString(),
            self.closes_edit.time().toString(),
        )

    async def load_all_zones(self) -> None:
        zones = await all_zone_names()
        with contextlib.suppress(RuntimeError):  # closed and deleted meanwhile
            if zones:
                self.zone_model.setStringList(zones)

    def _edited(self, *_: object) -> None:
        self.edited.emit()
