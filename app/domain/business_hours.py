"""The customer's clock: their time zone, office hours, breaks and holidays.

The PBX is the authority (v20 ``GET /OfficeHours``); the engineer's laptop is not. Every pane,
the trigger preview, the doctor and the reports judge "in hours" through ``BusinessHours`` and
show times with ``customer_time``, naming the zone.
"""

from __future__ import annotations

import dataclasses
import enum
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

MONDAY_TO_FRIDAY = (0, 1, 2, 3, 4)
DAY_NAMES = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
END_OF_DAY = time(23, 59, 59, 999999)  # 3CX writes a period that runs to midnight as 00:00

# A country's usual zone, where the PBX did not say: the most populous zone of a country that
# spans several. Always shown as a guess for the engineer to confirm.
REGION_ZONES: dict[str, str] = {
    "AU": "Australia/Sydney",
    "NZ": "Pacific/Auckland",
    "US": "America/New_York",
    "CA": "America/Toronto",
    "GB": "Europe/London",
    "IE": "Europe/Dublin",
    "DE": "Europe/Berlin",
    "AT": "Europe/Vienna",
    "CH": "Europe/Zurich",
    "FR": "Europe/Paris",
    "NL": "Europe/Amsterdam",
    "BE": "Europe/Brussels",
    "ES": "Europe/Madrid",
    "IT": "Europe/Rome",
    "PT": "Europe/Lisbon",
    "GR": "Europe/Athens",
    "CY": "Asia/Nicosia",
    "MT": "Europe/Malta",
    "SE": "Europe/Stockholm",
    "NO": "Europe/Oslo",
    "DK": "Europe/Copenhagen",
    "FI": "Europe/Helsinki",
    "PL": "Europe/Warsaw",
    "CZ": "Europe/Prague",
    "ZA": "Africa/Johannesburg",
    "AE": "Asia/Dubai",
    "IN": "Asia/Kolkata",
    "SG": "Asia/Singapore",
    "HK": "Asia/Hong_Kong",
    "JP": "Asia/Tokyo",
    "BR": "America/Sao_Paulo",
    "MX": "America/Mexico_City",
}


class BusinessHoursError(ValueError):
    """Opening hours that cannot be used; the message names the field."""


class HoursSource(enum.StrEnum):
    """Where a connection's hours came from, so every screen can say how sure it is."""

    PBX = "read from the PBX"
    REGION = "the region's usual zone, not read from the PBX"
    ENGINEER = "set by the engineer"
    UNSET = "not set: assumed"


class HoursState(enum.StrEnum):
    OPEN = "open"
    CLOSED = "closed"
    BREAK = "break"
    HOLIDAY = "holiday"


@dataclass(frozen=True)
class Period:
    """One opening (or break) span on one weekday, in the customer's zone."""

    day: int  # 0 = Monday, as datetime.weekday()
    start: time
    stop: time

    def __post_init__(self) -> None:
        if self.day not in range(7):
            raise BusinessHoursError("Business days must be 0 (Monday) to 6 (Sunday).")
        if self.stop <= self.start:
            raise BusinessHoursError("Closing time must be after opening time.")

    def covers(self, local: datetime) -> bool:
        return local.weekday() == self.day and self.start <= local.time() < self.stop


@dataclass(frozen=True)
class Holiday:
    """A day or run of days the office is closed (3CX ``OfficeHolidays``); ends inclusive."""

    name: str
    first: date
    last: date
    recurrent: bool = False  # every year on the same dates

    def covers(self, day: date) -> bool:
        if not self.recurrent:
            return self.first <= day <= self.last
        key = (day.month, day.day)
        first, last = (self.first.month, self.first.day), (self.last.month, self.last.day)
        if first <= last:
            return first <= key <= last
        return key >= first or key <= last  # wraps over New Year, e.g. 24 Dec – 2 Jan


@dataclass(frozen=True)
class BusinessHours:
    """When a customer's phones are staffed, in the customer's own time zone.

    The simple form (``days``, ``opens``, ``closes``) is what the engineer edits. Hours read
    from the PBX may differ by day; then ``periods`` hold them and are the truth, and the
    simple form summarises them.
    """

    timezone: str = "UTC"
    days: tuple[int, ...] = MONDAY_TO_FRIDAY
    opens: time = time(8, 30)
    closes: time = time(17, 30)
    breaks: tuple[Period, ...] = ()
    holidays: tuple[Holiday, ...] = ()
    source: HoursSource = HoursSource.UNSET
    periods: tuple[Period, ...] = ()

    def __post_init__(self) -> None:
        zone_of(self.timezone)
        if any(day not in range(7) for day in self.days):
            raise BusinessHoursError("Business days must be 0 (Monday) to 6 (Sunday).")
        if self.closes <= self.opens:
            raise BusinessHoursError("Closing time must be after opening time.")

    @property
    def zone(self) -> ZoneInfo:
        return zone_of(self.timezone)

    def openings(self) -> tuple[Period, ...]:
        """Every weekly opening span (the periods, else the simple form)."""
        if self.periods:
            return self.periods
        return tuple(Period(day, self.opens, self.closes) for day in self.days)

    def holiday_on(self, day: date) -> Holiday | None:
        return next((h for h in self.holidays if h.covers(day)), None)

    def state_at(self, at: datetime) -> tuple[HoursState, Holiday | None]:
        """Open, closed, on a break or on a holiday at ``at`` (timezone-aware)."""
        local = at.astimezone(self.zone)
        holiday = self.holiday_on(local.date())
        if holiday is not None:
            return HoursState.HOLIDAY, holiday
        if not any(p.covers(local) for p in self.openings()):
            return HoursState.CLOSED, None
        if any(b.covers(local) for b in self.breaks):
            return HoursState.BREAK, None
        return HoursState.OPEN, None

    def is_open(self, at: datetime) -> bool:
        """Whether ``at`` (timezone-aware) falls inside the hours, in the customer's zone."""
        return self.state_at(at)[0] is HoursState.OPEN

    def is_business_day(self, day: date) -> bool:
        return self.holiday_on(day) is None and any(p.day == day.weekday() for p in self.openings())

    def next_opening(self, at: datetime) -> datetime | None:
        """The next time the phones are staffed after ``at``, in the customer's zone."""
        local = at.astimezone(self.zone)
        spans = sorted(
            [(p.start, p.day) for p in self.openings()] + [(b.stop, b.day) for b in self.breaks]
        )
        for offset in range(370):  # a year of holidays is the longest a search can need
            day = local.date() + timedelta(days=offset)
            if self.holiday_on(day) is not None:
                continue
            for start, weekday in spans:
                if weekday != day.weekday():
                    continue
                candidate = datetime.combine(day, start, tzinfo=self.zone)
                if candidate > local and self.is_open(candidate):
                    return candidate
        return None


def edited_hours(
    base: BusinessHours, *, timezone: str, days: tuple[int, ...], opens: time, closes: time
) -> BusinessHours:
    """``base`` with the engineer's zone, days and times; raises ``BusinessHoursError``.

    Unchanged, it is ``base`` itself (its source stays). Breaks and holidays are kept; per-day
    periods read from the PBX are kept only while days and times are left as they were.
    """
    days = tuple(sorted(set(days)))
    same_times = (days, opens, closes) == (tuple(sorted(set(base.days))), base.opens, base.closes)
    if same_times and timezone == base.timezone:
        return base
    return dataclasses.replace(
        base,
        timezone=timezone,
        days=days,
        opens=opens,
        closes=closes,
        periods=base.periods if same_times else (),
        source=HoursSource.ENGINEER,
    )


def zone_of(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as error:
        raise BusinessHoursError(
            f"Time zone {name!r} is not known (use a name like Europe/London)."
        ) from error


def region_hours(region: str | None) -> BusinessHours:
    """Mon–Fri 08:30–17:30 in the region's usual zone: the guess when the PBX says nothing."""
    zone = REGION_ZONES.get((region or "").upper())
    if zone is None:
        return BusinessHours()
    return BusinessHours(timezone=zone, source=HoursSource.REGION)


def resolve_customer_hours(
    pbx: BusinessHours | None, saved: BusinessHours | None, country: str | None
) -> BusinessHours:
    """Whose clock a check, pane or report uses, decided once.

    Hours the engineer set by hand win (they know something the PBX does not); then the PBX's
    own OfficeHours; then hours saved with the connection; then the licence country's usual
    zone, named as a guess.
    """
    if saved is not None and saved.source is HoursSource.ENGINEER:
        return saved
    if pbx is not None:
        return pbx
    if saved is not None and saved.source is not HoursSource.UNSET:
        return saved
    guess = region_hours(country)
    if guess.source is HoursSource.REGION or saved is None:
        return guess
    return saved


def describe_days(days: tuple[int, ...]) -> str:
    """(0, 1, 2, 3, 4) → "Mon–Fri"; (0, 2, 4) → "Mon, Wed, Fri"."""
    if not days:
        return "no days"
    runs: list[list[int]] = []
    for day in sorted(set(days)):
        if runs and day == runs[-1][-1] + 1:
            runs[-1].append(day)
        else:
            runs.append([day])
    parts: list[str] = []
    for run in runs:
        if len(run) >= 3:
            parts.append(f"{DAY_NAMES[run[0]]}–{DAY_NAMES[run[-1]]}")
        else:
            parts.extend(DAY_NAMES[d] for d in run)
    return ", ".join(parts)


def _span(start: time, stop: time) -> str:
    end = "24:00" if stop == END_OF_DAY else f"{stop:%H:%M}"
    return f"{start:%H:%M}–{end}"


def _describe_spans(periods: tuple[Period, ...]) -> str:
    by_spans: dict[tuple[tuple[time, time], ...], list[int]] = {}
    for day in range(7):
        spans = tuple(sorted((p.start, p.stop) for p in periods if p.day == day))
        if spans:
            by_spans.setdefault(spans, []).append(day)
    return "; ".join(
        f"{describe_days(tuple(days))} {', '.join(_span(a, b) for a, b in spans)}"
        for spans, days in by_spans.items()
    )


def describe_hours(hours: BusinessHours, *, with_zone: bool = True) -> str:
    """ "Mon–Fri 08:30–17:30, break 12:30–13:00 (Pacific/Auckland)"."""
    text = _describe_spans(hours.openings()) or "never open"
    if hours.breaks:
        spans = sorted({_span(b.start, b.stop) for b in hours.breaks})
        text += f", break {', '.join(spans)}"
    if hours.holidays:
        count = len(hours.holidays)
        text += f", {count} holiday{'' if count == 1 else 's'}"
    return f"{text} ({hours.timezone})" if with_zone else text


def customer_time(at: datetime, hours: BusinessHours, fmt: str = "%d %b %Y %H:%M") -> str:
    """``at`` on the customer's clock, with the zone's abbreviation: "07 Dec 2026 07:00 NZDT"."""
    local = at.astimezone(hours.zone)
    return f"{local:{fmt}} {local.tzname() or hours.timezone}".strip()
