"""The look every pane shares: one style sheet, light or dark as the OS says, one accent,
and the status colours and marks.

A customer watches this window over a screen-share, so colour carries meaning only
(pass/warn/fail) and every status also has a drawn mark (tick, !, cross) for those who
cannot tell red from green. Widgets never carry their own style sheet: they name what they
are (``set_tone``, ``set_box``, ``set_panel``) and this module's sheet says how that looks,
so dark mode and Larger type reach every pane at once.
"""

from __future__ import annotations

import dataclasses
import enum
import functools
import os
from typing import NamedTuple

from PySide6.QtCore import QEvent, QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QFont, QGuiApplication, QIcon, QPainter, QPalette, QPen, QPixmap
from PySide6.QtWidgets import QApplication, QWidget

from app.services.paths import resources_dir

BASE_POINT_SIZE = 10.0
LARGE_FACTOR = 1.3
# Tests and screenshots pick a scheme; otherwise the OS decides (Qt reads it per platform).
SCHEME_ENV = "PBX_COMPANION_COLOUR_SCHEME"


class Tint(NamedTuple):
    """A tinted message box: background, border and text colour."""

    background: str
    border: str
    text: str


@dataclasses.dataclass(frozen=True)
class Colours:
    """Every colour a pane may use, named by meaning; one set for light, one for dark."""

    dark: bool
    window: str
    surface: str  # tables, panels, the setup page
    surface_alt: str  # alternate table rows, headers
    border: str
    text: str
    muted: str
    faint: str  # "no value" cells, not-started steps
    accent: str
    on_accent: str
    selection: str
    link: str
    passed: str
    warn: str
    fail: str
    skip: str
    purple: str  # unreachable, voicemail, deleted by retention
    teal: str  # waiting for 3CX to finish a file
    tints: dict[str, Tint]


LIGHT = Colours(
    dark=False,
    window="#f6f7f9",
    surface="#ffffff",
    surface_alt="#f1f3f5",
    border="#dde1e6",
    text="#111827",
    muted="#5f6b76",
    faint="#8a94a3",
    accent="#1f5f8b",
    on_accent="#ffffff",
    selection="#dbe8f3",
    link="#1f5f8b",
    passed="#2e7d32",
    warn="#a15c00",
    fail="#c62828",
    skip="#6b7280",
    purple="#6d3fa0",
    teal="#00796b",
    tints={
        "info": Tint("#e8f0f7", "#b5cde0", "#163e5c"),
        "pass": Tint("#eaf6ec", "#a9d5b0", "#1b4d20"),
        "warn": Tint("#fff4e5", "#f0c36d", "#5c3b00"),
        "fail": Tint("#fdecea", "#f3b8b3", "#7f1d1d"),
        "neutral": Tint("#f1f3f5", "#d5d9de", "#374151"),
        "purple": Tint("#efe4fa", "#cdb5ea", "#4a2378"),
        "teal": Tint("#dff2ec", "#a5d6c6", "#1b5e50"),
        "orange": Tint("#fdebd3", "#efc08a", "#84460a"),
        "rose": Tint("#f1e6ec", "#d9b9ca", "#6d3455"),
    },
)

DARK = Colours(
    dark=True,
    window="#1b1e23",
    surface="#23272e",
    surface_alt="#2a2f37",
    border="#3a404a",
    text="#e6e9ee",
    muted="#a3acb8",
    faint="#7c8592",
    accent="#4f9bd6",
    on_accent="#0d1620",
    selection="#2f4a63",
    link="#7db8ea",
    passed="#5cc469",
    warn="#e6a23c",
    fail="#f0706a",
    skip="#9aa3ad",
    purple="#b99af0",
    teal="#4fc1ad",
    tints={
        "info": Tint("#1d3347", "#2f5574", "#cfe3f5"),
        "pass": Tint("#1c3523", "#2f6b3c", "#cdeccf"),
        "warn": Tint("#3b2d14", "#7a5a1c", "#f6ddb0"),
        "fail": Tint("#3d1e1e", "#7c3431", "#f8d0cd"),
        "neutral": Tint("#2a2f37", "#3f4652", "#d5dae1"),
        "purple": Tint("#2f2542", "#58467d", "#e1d4f8"),
        "teal": Tint("#173430", "#2d6b60", "#c8ede5"),
        "orange": Tint("#3a2a17", "#7a5527", "#f5d9b5"),
        "rose": Tint("#36242d", "#6b4558", "#f0d3e0"),
    },
)


class _State:
    colours: Colours = LIGHT
    large_type = False
    following_os = False


def colours() -> Colours:
    """The colours in use now: read them when painting, not at import, so dark mode applies."""
    return _State.colours


def status_colour(status: str) -> QColor:
    """A check or step status ("pass", "warn", "fail", "skip", "running") as a colour."""
    c = _State.colours
    named = {"pass": c.passed, "warn": c.warn, "fail": c.fail, "skip": c.skip}
    return QColor(named.get(status, c.accent if status == "running" else c.muted))


def prefers_dark(app: QGuiApplication) -> bool:
    chosen = os.environ.get(SCHEME_ENV, "").strip().lower()
    if chosen in ("dark", "light"):
        return chosen == "dark"
    return app.styleHints().colorScheme() == Qt.ColorScheme.Dark


def style_sheet(c: Colours, *, scale: float = 1.0) -> str:
    """The one sheet: widgets say what they are by property, this says how that looks."""

    def pt(size: float) -> str:
        return f"{size * scale:.1f}pt"

    # A box inside a panel or another box must beat the "labels inside are transparent"
    # rules below, which Qt counts as more specific than a bare property selector.
    boxes = "\n".join(
        f'QLabel[box="{name}"], QFrame[box="{name}"], QFrame[panel="true"] QLabel[box="{name}"], '
        f'QFrame[box] QLabel[box="{name}"] {{ background: {t.background}; '
        f"border: 1px solid {t.border}; border-radius: 4px; color: {t.text}; }}\n"
        f'QFrame[box="{name}"] QLabel {{ color: {t.text}; }}\n'
        f'QLabel[box="{name}"] {{ padding: 8px 10px; }}'
        for name, t in c.tints.items()
    )
    tones = "\n".join(
        f'QLabel[tone="{name}"], QCheckBox[tone="{name}"], QFrame[box] QLabel[tone="{name}"] '
        f"{{ color: {colour}; }}"
        for name, colour in (
            ("muted", c.muted),
            ("faint", c.faint),
            ("pass", c.passed),
            ("warn", c.warn),
            ("fail", c.fail),
            ("accent", c.accent),
        )
    )
    chips = "\n".join(
        f'QLabel[chip="{mark.value}"] {{ color: {"#15171b" if c.dark else "#ffffff"}; '
        f"background: {mark_colour(mark, c)}; border-radius: 3px; padding: 2px 8px; "
        "font-weight: 600; }"
        for mark in Mark
    )
    return f"""
QMainWindow, QDialog {{ background: {c.window}; }}
QToolBar {{ background: {c.surface}; border: none; border-bottom: 1px solid {c.border};
           spacing: 6px; padding: 4px 8px; }}
QToolButton {{ padding: 4px 10px; border-radius: 4px; }}
QToolButton:checked {{ background: {c.accent}; color: {c.on_accent}; }}
QTabWidget::pane {{ border: 1px solid {c.border}; background: {c.surface}; top: -1px; }}
QTabBar::tab {{ padding: 6px 14px; border: 1px solid transparent; color: {c.muted}; }}
QTabBar::tab:selected {{ color: {c.text}; border: 1px solid {c.border};
                         border-bottom-color: {c.surface}; background: {c.surface}; }}
QTableView, QTreeView, QListView {{ background: {c.surface};
              alternate-background-color: {c.surface_alt}; gridline-color: {c.border};
              selection-background-color: {c.selection}; selection-color: {c.text};
              border: 1px solid {c.border}; }}
QHeaderView::section {{ background: {c.surface_alt}; color: {c.text}; padding: 4px 6px;
                        border: none; border-right: 1px solid {c.border};
                        border-bottom: 1px solid {c.border}; }}
QPushButton {{ padding: 4px 12px; }}
QPushButton[primary="true"] {{ background: {c.accent}; color: {c.on_accent};
                               border: 1px solid {c.accent}; border-radius: 4px;
                               padding: 6px 16px; font-weight: 600; }}
QPushButton[primary="true"]:disabled {{ background: {c.border}; color: {c.faint};
                                        border-color: {c.border}; }}
QStatusBar {{ background: {c.surface}; border-top: 1px solid {c.border}; color: {c.muted}; }}
QLabel#welcomeTitle, QLabel[heading="true"] {{ font-size: {pt(15)}; font-weight: 600;
                                               color: {c.text}; }}
QLabel[heading="title"] {{ font-size: {pt(11.5)}; font-weight: 600; }}
QLabel[heading="strong"] {{ font-weight: 600; }}
{chips}
QLabel#banner {{ background: {c.tints["warn"].background};
                 border: 1px solid {c.tints["warn"].border}; border-radius: 4px;
                 padding: 6px 8px; color: {c.tints["warn"].text}; }}
QLabel#presenterBadge {{ background: {c.accent}; color: {c.on_accent}; border-radius: 3px;
                         padding: 2px 8px; font-weight: 600; }}
QFrame[panel="true"] {{ background: {c.surface}; border: 1px solid {c.border}; }}
QTextBrowser[paper="true"] {{ background: #ffffff; color: #111827; }}
QFrame[panel="true"] QLabel {{ background: transparent; }}
QFrame[box] QLabel {{ background: transparent; border: none; }}
QLineEdit[invalid="true"], QComboBox[invalid="true"], QDateTimeEdit[invalid="true"],
QSpinBox[invalid="true"] {{ border: 1px solid {c.fail}; }}
{tones}
QLabel[empty="true"] {{ color: {c.muted}; padding: 32px; font-size: {pt(11)}; }}
{boxes}
"""


def _palette(c: Colours) -> QPalette:
    palette = QPalette()
    roles = QPalette.ColorRole
    for role, colour in (
        (roles.Window, c.window),
        (roles.WindowText, c.text),
        (roles.Base, c.surface),
        (roles.AlternateBase, c.surface_alt),
        (roles.Text, c.text),
        (roles.Button, c.surface_alt if c.dark else "#eef0f3"),
        (roles.ButtonText, c.text),
        (roles.ToolTipBase, c.surface),
        (roles.ToolTipText, c.text),
        (roles.PlaceholderText, c.faint),
        (roles.Highlight, c.selection),
        (roles.HighlightedText, c.text),
        (roles.Link, c.link),
        (roles.BrightText, c.fail),
        (roles.Light, "#4a515c" if c.dark else "#ffffff"),
        (roles.Midlight, "#3a404a" if c.dark else "#e5e7eb"),
        (roles.Mid, "#2f343c" if c.dark else "#c9ced4"),
        (roles.Dark, "#15171b" if c.dark else "#9aa3ad"),
        (roles.Shadow, "#000000"),
    ):
        palette.setColor(role, QColor(colour))
    disabled = QPalette.ColorGroup.Disabled
    for role in (roles.WindowText, roles.Text, roles.ButtonText):
        palette.setColor(disabled, role, QColor(c.faint))
    return palette


def apply_theme(app: QApplication, *, large_type: bool | None = None) -> None:
    """Fusion with our palette and sheet; call again when Larger type toggles.

    ``large_type=None`` keeps the current size (the OS switching light/dark calls this).
    """
    if large_type is not None:
        _State.large_type = large_type
    _State.colours = DARK if prefers_dark(app) else LIGHT
    app.setStyle("Fusion")
    app.setPalette(_palette(_State.colours))
    set_type_size(app, large_type=_State.large_type)
    scale = LARGE_FACTOR if _State.large_type else 1.0
    app.setStyleSheet(style_sheet(_State.colours, scale=scale))
    if not _State.following_os:
        _State.following_os = True
        app.styleHints().colorSchemeChanged.connect(lambda _scheme: apply_theme(app))


def set_type_size(app: QApplication, *, large_type: bool) -> None:
    font = QFont(app.font())
    font.setPointSizeF(BASE_POINT_SIZE * (LARGE_FACTOR if large_type else 1.0))
    app.setFont(font)


def _repolish(widget: QWidget) -> None:
    # A dynamic property only restyles once the style polishes the widget again.
    # The StyleChange lets a new padding or border count toward the widget's size hint on a
    # widget already on screen (polish alone repaints colours but keeps the old geometry).
    style = widget.style()
    style.unpolish(widget)
    style.polish(widget)
    QApplication.sendEvent(widget, QEvent(QEvent.Type.StyleChange))
    widget.updateGeometry()
    widget.update()


def _set(widget: QWidget, name: str, value: str | None) -> None:
    if widget.property(name) == (value or None):
        return
    widget.setProperty(name, value or None)
    _repolish(widget)


def set_tone(widget: QWidget, tone: str | None) -> None:
    """Text coloured by meaning: "muted", "faint", "pass", "warn", "fail", "accent" or None."""
    _set(widget, "tone", tone)


def set_box(widget: QWidget, tint: str | None) -> None:
    """A tinted message box (see ``Colours.tints``): "info", "pass", "warn", "fail", …"""
    _set(widget, "box", tint)


def set_paper(widget: QWidget) -> None:
    """A printed page's preview: dark text on white whatever the OS scheme."""
    _set(widget, "paper", "true")


def set_panel(widget: QWidget) -> None:
    """A plain raised surface with a border (the details under a table, the setup page)."""
    _set(widget, "panel", "true")


def set_invalid(widget: QWidget, invalid: bool) -> None:
    """A red border on an input the engineer must correct."""
    _set(widget, "invalid", "true" if invalid else None)


def mark_heading(widget: QWidget, level: str = "true") -> None:
    """A pane's title ("true"), a section title ("title") or a bold caption ("strong").

    Through the sheet, not ``setFont``, so Larger type scales it with everything else.
    """
    _set(widget, "heading", level)


def set_chip(widget: QWidget, mark: Mark | None) -> None:
    """A small label in white on the status colour (the doctor's "Fail · 0.4 s")."""
    _set(widget, "chip", mark.value if mark else None)


def mark_empty_state(widget: QWidget) -> None:
    """The large grey sentence a pane shows before it has anything."""
    _set(widget, "empty", "true")


class Mark(enum.Enum):
    """A status drawn as a glyph on a coloured disc, so it reads without colour too."""

    PASS = "pass"
    WARN = "warn"
    FAIL = "fail"
    SKIP = "skip"
    RUNNING = "running"
    IDLE = "idle"

    @property
    def words(self) -> str:
        """What the mark says, in every pane that draws it (doctor rows, fleet dots)."""
        return MARK_WORDS[self]


MARK_WORDS: dict[Mark, str] = {
    Mark.PASS: "Pass",
    Mark.WARN: "Warning",
    Mark.FAIL: "Fail",
    Mark.SKIP: "Not checked",
    Mark.RUNNING: "Checking…",
    Mark.IDLE: "Not run yet",
}


def mark_colour(mark: Mark, c: Colours | None = None) -> str:
    c = c or _State.colours
    return {
        Mark.PASS: c.passed,
        Mark.WARN: c.warn,
        Mark.FAIL: c.fail,
        Mark.SKIP: c.skip,
        Mark.RUNNING: c.accent,
        Mark.IDLE: c.faint,
    }[mark]


def mark_icon(mark: Mark, size: int = 14) -> QIcon:
    """The status mark in the current colours (needs a QGuiApplication)."""
    return _mark_icon(mark, size, _State.colours.dark)


@functools.cache
def _mark_icon(mark: Mark, size: int, _dark: bool) -> QIcon:
    scale = 2  # drawn at twice the size so it stays crisp on HiDPI screens
    pixmap = QPixmap(size * scale, size * scale)
    pixmap.fill(Qt.GlobalColor.transparent)
    painter = QPainter(pixmap)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.scale(scale, scale)
    colour = QColor(mark_colour(mark))
    disc = QRectF(1, 1, size - 2, size - 2)
    if mark is Mark.IDLE:
        painter.setPen(QPen(colour, 1.5))
        painter.setBrush(Qt.BrushStyle.NoBrush)
        painter.drawEllipse(disc.adjusted(0.75, 0.75, -0.75, -0.75))
    else:
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(colour)
        painter.drawEllipse(disc)
    pen = QPen(QColor("#ffffff"), max(1.4, size / 8))
    pen.setCapStyle(Qt.PenCapStyle.RoundCap)
    pen.setJoinStyle(Qt.PenJoinStyle.RoundJoin)
    painter.setPen(pen)
    _draw_glyph(painter, mark, size)
    painter.end()
    pixmap.setDevicePixelRatio(scale)
    return QIcon(pixmap)


def _draw_glyph(painter: QPainter, mark: Mark, size: int) -> None:
    s = size / 14  # glyphs are laid out on a 14-unit grid

    def p(x: float, y: float) -> QPointF:
        return QPointF(x * s, y * s)

    if mark is Mark.PASS:
        painter.drawPolyline([p(4.2, 7.3), p(6.2, 9.3), p(9.8, 5.0)])
    elif mark is Mark.FAIL:
        painter.drawLine(p(4.8, 4.8), p(9.2, 9.2))
        painter.drawLine(p(9.2, 4.8), p(4.8, 9.2))
    elif mark is Mark.WARN:
        painter.drawLine(p(7, 3.8), p(7, 7.8))
        painter.drawPoint(p(7, 10.2))
    elif mark is Mark.SKIP:
        painter.drawLine(p(4.5, 7), p(9.5, 7))
    elif mark is Mark.RUNNING:
        for x in (4.6, 7.0, 9.4):
            painter.drawPoint(p(x, 7))


def dot_icon(colour: str, diameter: int = 10) -> QIcon:
    """A filled dot for states that are not pass/warn/fail (ringing, voicemail, …)."""
    return _dot_icon(colour, diameter)


@functools.cache
def _dot_icon(colour: str, diameter: int) -> QIcon:
    size = 12
    pixmap = QPixmap(size, size)
    pixmap.fill(Qt.GlobalColor.transparent)
    painter = QPainter(pixmap)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.setPen(Qt.PenStyle.NoPen)
    painter.setBrush(QColor(colour))
    inset = (size - diameter) // 2
    painter.drawEllipse(inset, inset, diameter, diameter)
    painter.end()
    return QIcon(pixmap)


def app_icon() -> QIcon:
    """The app's icon in every size resources/icons holds (window, taskbar, dock)."""
    icon = QIcon()
    for path in sorted((resources_dir() / "icons").glob("pbx-companion-*.png")):
        icon.addFile(str(path))
    return icon
