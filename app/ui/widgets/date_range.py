"""A period picked as two date edits, its days on the customer's clock."""

from __future__ import annotations

from datetime import date, timedelta, tzinfo

from PySide6.QtCore import QDate
from PySide6.QtWidgets import QDateEdit

from app.domain.clock import utc_now


def date_edit(name: str) -> QDateEdit:
    """A day chooser with a calendar, written the ISO way (2026-11-18) on every screen."""
    edit = QDateEdit()
    edit.setObjectName(name)
    edit.setCalendarPopup(True)
    edit.setDisplayFormat("yyyy-MM-dd")
    return edit


class DateRange:
    """``from_date`` and ``to_date``, by default the last ``days`` days up to the customer's
    today."""

    def __init__(self, from_date: QDateEdit, to_date: QDateEdit, days: int) -> None:
        self._from_date = from_date
        self._to_date = to_date
        self._days = days

    def default(self, zone: tzinfo) -> tuple[date, date]:
        today = utc_now().astimezone(zone).date()  # the customer's today
        return today - timedelta(days=self._days), today

    def reset(self, zone: tzinfo) -> None:
        start, today = self.default(zone)
        self._from_date.setDate(QDate(start.year, start.month, start.day))
        self._to_date.setDate(QDate(today.year, today.month, today.day))

    def is_default(self, zone: tzinfo) -> bool:
        """True while the engineer has not changed the dates the form started with."""
        return self.dates() == self.default(zone)

    def dates(self) -> tuple[date, date]:
        first: date = self._from_date.date().toPython()  # type: ignore[assignment]
        last: date = self._to_date.date().toPython()  # type: ignore[assignment]
        return first, last
