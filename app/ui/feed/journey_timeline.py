"""The selected call's recording journey, drawn: hang-up, each look, the bridge window, the end.

Time runs on a square-root scale: a bridge's backoff looks often at first (0.5 s, 1.5 s,
3.5 s …) and rarely later, so a linear axis would pile the early looks on top of each other.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from PySide6.QtCore import QEvent, QPointF, QRectF, QSize, Qt, QTimer
from PySide6.QtGui import QColor, QFont, QFontMetrics, QPainter, QPaintEvent, QPen
from PySide6.QtWidgets import QSizePolicy, QWidget

from app.domain.business_hours import BusinessHours, customer_time
from app.domain.clock import utc_now
from app.domain.live import LiveState
from app.services.feed.live_feed import DEFAULT_BRIDGE_WINDOW_S, FeedCall
from app.services.recordings.watcher import JourneyState, RecordingJourney
from app.ui.feed.model import journey_colour
from app.ui.feed.text import journey_summary, seconds_text
from app.ui.presenter import Presenter
from app.ui.theme import colours

EMPTY_TEXT = "Select an ended call to see its recording's journey"
LEGEND = "looked, not there yet · downloadable · where the bridge gives up"
_AXIS_TICKS = (0.0, 1.0, 5.0, 15.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1800.0, 3600.0)
_PAD = 16


_LEGEND_GAP, _LEGEND_MARK = 18.0, 16.0


def _legend_width(metrics: QFontMetrics) -> float:
    labels = LEGEND.split(" · ")
    marks = sum(metrics.horizontalAdvance(t) + _LEGEND_MARK for t in labels)
    return marks + _LEGEND_GAP * (len(labels) - 1)


@dataclass(frozen=True)
class _Inks:
    """The colours of one paint, read from the theme then (dark mode changes them)."""

    ink: QColor
    muted: QColor
    rule: QColor
    look: QColor
    ready: QColor
    missing: QColor
    window: QColor

    @classmethod
    def now(cls) -> _Inks:
        c = colours()
        return cls(
            ink=QColor(c.text),
            muted=QColor(c.muted),
            rule=QColor(c.border),
            look=QColor(journey_colour(JourneyState.POLLING)),
            ready=QColor(journey_colour(JourneyState.READY)),
            missing=QColor(journey_colour(JourneyState.MISSING)),
            window=QColor(c.accent),
        )


@dataclass(frozen=True)
class _Axis:
    """The time axis: where it runs on screen, and the seconds it spans (square-root scale)."""

    left: float
    right: float
    y: float
    span: float

    def x_of(self, seconds: float) -> float:
        return self.left + (self.right - self.left) * math.sqrt(max(seconds, 0.0) / self.span)


class JourneyTimeline(QWidget):
    """Shows one ``FeedCall``'s journey; ``refresh()`` after the call changed."""

    def __init__(
        self,
        presenter: Presenter,
        *,
        window_s: float = DEFAULT_BRIDGE_WINDOW_S,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self._presenter = presenter
        self.window_s = window_s
        self._call: FeedCall | None = None
        self.hours = BusinessHours()  # the customer's clock, for the hang-up time
        self._lines: list[str] = [EMPTY_TEXT]
        self._inks = _Inks.now()  # read again at each paint
        self.setMinimumHeight(150)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.setAccessibleName("Recording journey")
        # While a look is still to come, "now" moves along the axis.
        self._clock = QTimer(self)
        self._clock.setInterval(500)
        self._clock.timeout.connect(self.update)
        presenter.changed.connect(self.refresh)
        self.refresh()

    def sizeHint(self) -> QSize:
        # Six lines of text and the marks between them: 150 px at the normal type size.
        return QSize(720, max(150, 48 + 6 * self.fontMetrics().height()))

    def changeEvent(self, event: QEvent) -> None:
        super().changeEvent(event)
        if event.type() == QEvent.Type.FontChange:  # larger type: taller, nothing overlaps
            self.setMinimumHeight(self.sizeHint().height())
            self.updateGeometry()

    @property
    def call(self) -> FeedCall | None:
        return self._call

    def set_hours(self, hours: BusinessHours) -> None:
        self.hours = hours
        self.refresh()

    def set_call(self, call: FeedCall | None) -> None:
        self._call = call
        self.refresh()

    def visible_text(self) -> list[str]:
        """Every string this widget paints (for presenter-mode checks and accessibility)."""
        return list(self._lines)

    def refresh(self) -> None:
        self._lines = self._texts()
        self.setAccessibleDescription("\n".join(self._lines))
        journey = self._call.journey if self._call is not None else None
        waiting = journey is not None and journey.state in (
            JourneyState.PENDING,
            JourneyState.POLLING,
        )
        if waiting and not self._clock.isActive():
            self._clock.start()
        elif not waiting:
            self._clock.stop()
        self.update()

    # ---- text ------------------------------------------------------------------------------
    def _title(self, call: FeedCall) -> str:
        parts = [f"Recording of call {call.call_id}"]
        if call.extension:
            parts.append(f"extension {call.extension}")
        if call.number:
            who = self._presenter.number(call.e164 or call.number)
            name = call.contact_name
            parts.append(f"{who} ({self._presenter.name(name)})" if name else who)
        if call.journey is not None:  # on the customer's clock, zone named
            parts.append(
                f"hung up {customer_time(call.journey.hung_up_at, self.hours, '%H:%M:%S')}"
            )
        return " · ".join(parts)

    def _texts(self) -> list[str]:
        call = self._call
        if call is None:
            return [EMPTY_TEXT]
        journey = call.journey
        if journey is None:
            return [self._title(call), self._why_no_journey(call)]
        lines = [self._title(call), journey_summary(call, self.window_s), "hang-up"]
        lines += [self._look_label(n, journey) for n in range(len(journey.attempts))]
        lines.append(f"bridge window {self.window_s:g} s")
        lines.append(LEGEND)
        lines.append("time since hang-up (square-root scale)")
        return lines

    def _why_no_journey(self, call: FeedCall) -> str:
        if call.journey_note:
            return call.journey_note[0].upper() + call.journey_note[1:] + "."
        if call.state in (LiveState.RINGING, LiveState.CONNECTED):
            return "The recording's journey starts when this call hangs up."
        if call.state is LiveState.MISSED:
            return "Missed call: nobody talked, so there is no recording to follow."
        if call.state is LiveState.VOICEMAIL:
            return "The call went to voicemail: there is no call recording to follow."
        if call.internal:
            return "Internal call: a CRM bridge attaches only outside calls."
        return "Not answered: there is no recording to follow."

    @staticmethod
    def _look_label(n: int, journey: RecordingJourney) -> str:
        attempt = journey.attempts[n]
        if attempt.found:
            return f"ready +{seconds_text(attempt.after_s)} s"
        return f"+{seconds_text(attempt.after_s)} s"

    # ---- painting --------------------------------------------------------------------------
    def paintEvent(self, event: QPaintEvent) -> None:
        self._inks = _Inks.now()
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        frame = QRectF(self.rect()).adjusted(0.5, 0.5, -0.5, -0.5)
        painter.setPen(QPen(self._inks.rule, 1))
        painter.setBrush(self.palette().base())
        painter.drawRoundedRect(frame, 6, 6)
        call = self._call
        if call is None or call.journey is None:
            self._paint_message(painter)
        else:
            if len(self._lines) < 4:  # the journey began since the last refresh()
                self._lines = self._texts()
            self._paint_journey(painter, call, call.journey)
        painter.end()

    def _paint_message(self, painter: QPainter) -> None:
        area = QRectF(self.rect()).adjusted(_PAD, _PAD, -_PAD, -_PAD)
        if len(self._lines) == 1:
            painter.setPen(self._inks.muted)
            painter.drawText(area, Qt.AlignmentFlag.AlignCenter, self._lines[0])
            return
        bold = QFont(self.font())
        bold.setBold(True)
        painter.setFont(bold)
        painter.setPen(self._inks.ink)
        line = QFontMetrics(bold).height()
        painter.drawText(
            area, Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop, self._lines[0]
        )
        painter.setFont(self.font())
        painter.setPen(self._inks.muted)
        painter.drawText(
            area.adjusted(0, line + 8, 0, 0),
            Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop | Qt.TextFlag.TextWordWrap,
            self._lines[1],
        )

    def _paint_legend(self, painter: QPainter, metrics: QFontMetrics, area: QRectF) -> None:
        """Right-aligned at the bottom: what the marks mean."""
        labels = LEGEND.split(" · ")
        gap, mark = _LEGEND_GAP, _LEGEND_MARK
        x = area.right() - _legend_width(metrics)
        y = area.bottom() - metrics.descent()
        mid = y - metrics.ascent() / 2 + 1
        for n, label in enumerate(labels):
            centre = QPointF(x + 5, mid)
            if n == 0:
                painter.setPen(QPen(self._inks.look, 2))
                painter.setBrush(self.palette().base())
                painter.drawEllipse(centre, 4, 4)
            elif n == 1:
                painter.setPen(Qt.PenStyle.NoPen)
                painter.setBrush(self._inks.ready)
                painter.drawEllipse(centre, 5, 5)
            else:
                painter.setPen(QPen(self._inks.window, 1.5, Qt.PenStyle.DashLine))
                painter.drawLine(QPointF(x + 5, mid - 7), QPointF(x + 5, mid + 7))
            painter.setPen(self._inks.muted)
            painter.drawText(QPointF(x + mark, y), label)
            x += mark + metrics.horizontalAdvance(label) + gap

    def _paint_journey(self, painter: QPainter, call: FeedCall, journey: RecordingJourney) -> None:
        font = self.font()
        metrics = QFontMetrics(font)
        bold = QFont(font)
        bold.setBold(True)
        area = QRectF(self.rect()).adjusted(_PAD, 10, -_PAD, -8)
        self._paint_heading(painter, journey, area, bold)
        painter.setFont(font)

        line = metrics.height()
        elapsed = (utc_now() - journey.hung_up_at).total_seconds()
        last = max([a.after_s for a in journey.attempts], default=0.0)
        open_ended = journey.state in (JourneyState.PENDING, JourneyState.POLLING)
        axis = _Axis(
            left=area.left() + 8,
            right=area.right() - metrics.horizontalAdvance("missing") / 2 - 4,
            y=area.top() + line * 2 + 22,
            span=max(self.window_s, last, elapsed if open_ended else 0.0, 1.0) * 1.06,
        )
        self._paint_axis(painter, metrics, area, axis)
        self._paint_legend(painter, metrics, area)
        self._paint_window(painter, metrics, area, axis)
        labels_right = self._paint_hang_up(painter, metrics, axis)
        if open_ended:
            now_x = axis.x_of(elapsed)
            painter.setPen(QPen(self._inks.muted, 1, Qt.PenStyle.DotLine))
            painter.drawLine(QPointF(now_x, axis.y - 8), QPointF(now_x, axis.y + 8))
        self._paint_looks(painter, journey, axis, (font, bold), labels_right)
        if journey.state in (JourneyState.MISSING, JourneyState.BLOCKED):
            x = axis.x_of(
                max(last, self.window_s if journey.state is JourneyState.MISSING else last)
            )
            painter.setPen(QPen(self._inks.missing, 2.5))
            painter.drawLine(QPointF(x - 6, axis.y - 6), QPointF(x + 6, axis.y + 6))
            painter.drawLine(QPointF(x - 6, axis.y + 6), QPointF(x + 6, axis.y - 6))

    def _paint_heading(
        self, painter: QPainter, journey: RecordingJourney, area: QRectF, bold: QFont
    ) -> None:
        """Title left, summary right (the summary wins the space: it is the answer)."""
        summary = self._lines[1]
        summary_colour = QColor(journey_colour(journey.state))
        painter.setFont(bold)
        summary_width = QFontMetrics(bold).horizontalAdvance(summary)
        painter.setPen(summary_colour)
        painter.drawText(area, Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignTop, summary)
        painter.setPen(self._inks.ink)
        title_rect = area.adjusted(0, 0, -(summary_width + 24), 0)
        title = QFontMetrics(bold).elidedText(
            self._lines[0], Qt.TextElideMode.ElideRight, int(title_rect.width())
        )
        painter.drawText(title_rect, Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop, title)

    def _paint_axis(
        self, painter: QPainter, metrics: QFontMetrics, area: QRectF, axis: _Axis
    ) -> None:
        """The axis with a few round ticks below it, and its caption at the bottom left."""
        painter.setPen(QPen(self._inks.rule, 2))
        painter.drawLine(QPointF(axis.left, axis.y), QPointF(axis.right, axis.y))
        painter.setPen(self._inks.muted)
        tick_labels_right = -1e9
        for tick in _AXIS_TICKS:
            if tick > axis.span:
                break
            x = axis.x_of(tick)
            painter.drawLine(QPointF(x, axis.y + 3), QPointF(x, axis.y + 7))
            label = "0" if tick == 0 else f"{tick:g} s"
            width = metrics.horizontalAdvance(label)
            if x - width / 2 > tick_labels_right + 6:
                painter.drawText(QPointF(x - width / 2, axis.y + 8 + metrics.ascent()), label)
                tick_labels_right = x + width / 2
        caption = self._lines[-1]
        bottom = area.bottom() - metrics.descent()
        caption_right = axis.left + metrics.horizontalAdvance(caption) + _LEGEND_GAP
        if caption_right > area.right() - _legend_width(metrics):  # one line up, beside no one
            bottom -= metrics.height()
        painter.drawText(QPointF(axis.left, bottom), caption)

    def _paint_window(
        self, painter: QPainter, metrics: QFontMetrics, area: QRectF, axis: _Axis
    ) -> None:
        """The bridge window: where a bridge that gives up stops looking."""
        line = metrics.height()
        window_x = axis.x_of(self.window_s)
        painter.setPen(QPen(self._inks.window, 1.5, Qt.PenStyle.DashLine))
        painter.drawLine(QPointF(window_x, axis.y - line - 14), QPointF(window_x, axis.y + 10))
        painter.setPen(self._inks.window)
        window_label = self._lines[-3]
        width = metrics.horizontalAdvance(window_label)
        painter.drawText(
            QPointF(
                min(window_x - width / 2, area.right() - width),
                axis.y + 10 + line + metrics.ascent(),
            ),
            window_label,
        )

    def _paint_hang_up(self, painter: QPainter, metrics: QFontMetrics, axis: _Axis) -> float:
        """Hang-up at zero; returns where its label ends, so the looks' labels start after it."""
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(self._inks.ink)
        painter.drawEllipse(QPointF(axis.x_of(0), axis.y), 5, 5)
        painter.setPen(self._inks.ink)
        painter.drawText(QPointF(axis.x_of(0) - 4, axis.y - 12), "hang-up")
        return axis.x_of(0) - 4 + metrics.horizontalAdvance("hang-up")

    def _paint_looks(
        self,
        painter: QPainter,
        journey: RecordingJourney,
        axis: _Axis,
        fonts: tuple[QFont, QFont],
        labels_right: float,
    ) -> None:
        """Each look: hollow while nothing was there, filled green once it was. Labels that
        would collide are left out, but never the one that found the file."""
        font, bold = fonts
        metrics, bold_metrics = QFontMetrics(font), QFontMetrics(bold)
        found_left = self._found_label_left(journey, axis, bold_metrics)
        for n, attempt in enumerate(journey.attempts):
            x = axis.x_of(attempt.after_s)
            colour = self._inks.ready if attempt.found else self._inks.look
            painter.setPen(QPen(colour, 2))
            painter.setBrush(colour if attempt.found else self.palette().base())
            radius = 6.0 if attempt.found else 4.0
            painter.drawEllipse(QPointF(x, axis.y), radius, radius)
            label = self._lines[3 + n]
            width = (bold_metrics if attempt.found else metrics).horizontalAdvance(label)
            start = max(x - width / 2, labels_right + 6) if attempt.found else x - width / 2
            fits = start > labels_right + 6 and start + width + 6 < found_left
            if attempt.found or fits:
                painter.setFont(bold if attempt.found else font)
                painter.setPen(colour)
                painter.drawText(QPointF(start, axis.y - 12), label)
                painter.setFont(font)
                labels_right = start + width

    def _found_label_left(
        self, journey: RecordingJourney, axis: _Axis, bold_metrics: QFontMetrics
    ) -> float:
        """Where the (last) finding look's label starts; the other labels stay left of it."""
        found_left = math.inf
        for n, attempt in enumerate(journey.attempts):
            if attempt.found:
                width = bold_metrics.horizontalAdvance(self._lines[3 + n])
                found_left = axis.x_of(attempt.after_s) - width / 2
        return found_left
