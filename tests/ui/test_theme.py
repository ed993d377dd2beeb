"""The one style sheet: widgets say what they are, the theme decides how it looks, light or
dark as the OS asks, at either type size."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from PySide6.QtGui import QColor, QImage, QPalette
from PySide6.QtWidgets import QApplication, QFrame, QLabel, QLineEdit, QWidget

from app.ui import theme
from app.ui.theme import (
    DARK,
    LIGHT,
    SCHEME_ENV,
    Mark,
    apply_theme,
    colours,
    mark_icon,
    set_box,
    set_invalid,
    set_tone,
)
from tests.support.screenshots import render_scene
from tests.support.xvfb import XvfbDisplay


@pytest.fixture
def app(monkeypatch: pytest.MonkeyPatch, qapp: QApplication) -> Iterator[QApplication]:
    yield qapp
    monkeypatch.delenv(SCHEME_ENV, raising=False)
    apply_theme(qapp, large_type=False)  # as the other tests expect it


def _text_colour(widget: QWidget) -> QColor:
    widget.ensurePolished()
    return widget.palette().color(QPalette.ColorRole.WindowText)


def _painted(widget: QWidget) -> QImage:
    widget.resize(widget.sizeHint())
    return widget.grab().toImage()


def test_the_os_dark_mode_gives_the_dark_colours(
    app: QApplication, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(SCHEME_ENV, "dark")
    apply_theme(app)
    assert colours() is DARK
    window = app.palette().color(QPalette.ColorRole.Window)
    assert window.lightness() < 60, window.name()
    assert app.palette().color(QPalette.ColorRole.WindowText).lightness() > 180
    monkeypatch.setenv(SCHEME_ENV, "light")
    apply_theme(app)
    assert colours() is LIGHT
    assert app.palette().color(QPalette.ColorRole.Window).lightness() > 200


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_a_tone_colours_the_text_from_the_scheme(
    app: QApplication, monkeypatch: pytest.MonkeyPatch, qtbot: object, scheme: str
) -> None:
    monkeypatch.setenv(SCHEME_ENV, scheme)
    apply_theme(app)
    label = QLabel("Not saved: the folder does not exist")
    set_tone(label, "fail")
    assert _text_colour(label).name() == colours().fail
    set_tone(label, "muted")
    assert _text_colour(label).name() == colours().muted
    set_tone(label, None)
    assert label.property("tone") is None
    assert _text_colour(label).name() == colours().text


def test_a_box_paints_its_tint_and_follows_a_scheme_change(
    app: QApplication, monkeypatch: pytest.MonkeyPatch, qtbot: object
) -> None:
    monkeypatch.setenv(SCHEME_ENV, "light")
    apply_theme(app)
    label = QLabel("Retention deletes recordings after 30 days")
    set_box(label, "fail")
    corner = _painted(label).pixelColor(4, label.height() // 2)
    assert corner.name() == LIGHT.tints["fail"].background
    monkeypatch.setenv(SCHEME_ENV, "dark")
    app.styleHints().colorSchemeChanged.emit(app.styleHints().colorScheme())  # as the OS does
    corner = _painted(label).pixelColor(4, label.height() // 2)
    assert corner.name() == DARK.tints["fail"].background


@pytest.mark.parametrize("outer", ["panel", "box"])
def test_a_box_inside_a_panel_or_a_box_keeps_its_tint(
    app: QApplication, qtbot: object, outer: str
) -> None:
    apply_theme(app)
    frame = QFrame()
    if outer == "panel":
        theme.set_panel(frame)
    else:
        set_box(frame, "warn")
    label = QLabel("The certificate has expired", frame)
    set_box(label, "fail")
    frame.resize(400, 80)
    label.setGeometry(10, 10, 300, 40)
    inside = frame.grab().toImage().pixelColor(16, 30)
    assert inside.name() == colours().tints["fail"].background


def test_a_box_set_on_a_shown_label_makes_room_for_its_padding(
    app: QApplication, qtbot: object
) -> None:
    apply_theme(app)
    label = QLabel("Rotated: the new key signs in")
    label.show()
    plain = label.sizeHint().height()
    set_box(label, "pass")
    assert label.sizeHint().height() >= plain + 16  # 8 px padding above and below
    label.close()


def test_text_in_a_tinted_frame_takes_the_tints_colour(app: QApplication, qtbot: object) -> None:
    apply_theme(app)
    frame = QFrame()
    set_box(frame, "warn")
    plain = QLabel("Keys cannot be stored", frame)
    hint = QLabel("Install gnome-keyring", frame)
    set_tone(hint, "muted")
    assert _text_colour(plain).name() == colours().tints["warn"].text
    assert _text_colour(hint).name() == colours().muted


def test_larger_type_scales_the_sheets_headings(app: QApplication, qtbot: object) -> None:
    heading = QLabel("Set up a PBX")
    theme.mark_heading(heading)
    apply_theme(app, large_type=False)
    heading.ensurePolished()
    normal = heading.font().pointSizeF()
    apply_theme(app, large_type=True)
    app.processEvents()
    heading.ensurePolished()
    assert heading.font().pointSizeF() == pytest.approx(normal * theme.LARGE_FACTOR, rel=0.02)


def test_an_invalid_field_gets_a_red_border_and_loses_it(app: QApplication, qtbot: object) -> None:
    apply_theme(app)
    edit = QLineEdit("+61 8 8835 903")
    set_invalid(edit, True)
    assert edit.property("invalid") == "true"
    edge = _painted(edit).pixelColor(0, edit.height() // 2)
    assert edge.name() == colours().fail
    set_invalid(edit, False)
    assert _painted(edit).pixelColor(0, edit.height() // 2).name() != colours().fail


def _close(a: QColor, b: QColor) -> bool:
    return max(abs(a.red() - b.red()), abs(a.green() - b.green()), abs(a.blue() - b.blue())) < 12


@pytest.mark.parametrize("mark", list(Mark))
def test_every_status_mark_is_drawn_in_its_colour(app: QApplication, mark: Mark) -> None:
    apply_theme(app)
    image = mark_icon(mark, 14).pixmap(28, 28).toImage()
    colour = QColor(theme.mark_colour(mark))
    pixels = [
        image.pixelColor(x, y)
        for x in range(image.width())
        for y in range(image.height())
        if image.pixelColor(x, y).alpha() > 200
    ]
    assert any(_close(p, colour) for p in pixels), f"{mark} is not drawn in {colour.name()}"
    glyph = [p for p in pixels if p.lightness() > 235]
    assert (not glyph) if mark is Mark.IDLE else glyph, f"{mark}: glyph drawn = {bool(glyph)}"


async def dark_window_scene(stack: object, ui: object) -> QWidget:
    """The demo window as a dark-mode OS shows it: the README's second screenshot."""
    from tests.ui.shell.test_main_window import readme_scene

    return await readme_scene(stack, ui)  # type: ignore[arg-type]


@pytest.mark.display
def test_the_window_in_dark_mode(xvfb_display: XvfbDisplay) -> None:
    png = render_scene(
        xvfb_display, f"{__name__}:dark_window_scene", "main-window-dark", dark=True, size="native"
    )
    image = QImage(str(png))
    background = image.pixelColor(200, image.height() // 2)  # the empty connections list
    assert background.lightness() < 80, f"the window is not dark: {background.name()}"
