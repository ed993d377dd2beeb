"""The toolbar's drawn icons: one ink, the text's colour, light or dark, and the accent's
contrast colour on a checked button."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from PySide6.QtCore import QSize
from PySide6.QtGui import QColor, QIcon
from PySide6.QtWidgets import QApplication, QMainWindow

from app.ui.shell.toolbar import MainToolbar
from app.ui.shell.toolbar_icons import ToolIcon, tool_icon
from app.ui.theme import SCHEME_ENV, apply_theme, colours


@pytest.fixture
def themed(qapp: QApplication, monkeypatch: pytest.MonkeyPatch) -> Iterator[QApplication]:
    yield qapp
    monkeypatch.delenv(SCHEME_ENV, raising=False)
    apply_theme(qapp, large_type=False)


def _inks(icon: QIcon, state: QIcon.State) -> set[str]:
    image = icon.pixmap(QSize(24, 24), 2.0, QIcon.Mode.Normal, state).toImage()
    return {
        image.pixelColor(x, y).name()
        for x in range(image.width())
        for y in range(image.height())
        if image.pixelColor(x, y).alpha() == 255
    }


@pytest.mark.parametrize("which", list(ToolIcon))
def test_every_tool_icon_is_drawn_in_one_ink_per_state(qapp: QApplication, which: ToolIcon) -> None:
    icon = tool_icon(which, "#112233", "#fefefe")
    assert _inks(icon, QIcon.State.Off) == {"#112233"}
    assert _inks(icon, QIcon.State.On) == {"#fefefe"}


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_the_toolbar_inks_its_icons_with_the_schemes_text(
    themed: QApplication, monkeypatch: pytest.MonkeyPatch, qtbot: object, scheme: str
) -> None:
    monkeypatch.setenv(SCHEME_ENV, "light")
    apply_theme(themed)
    window = QMainWindow()
    bar = MainToolbar(window)
    monkeypatch.setenv(SCHEME_ENV, scheme)
    apply_theme(themed)  # the OS switched: the palette change reaches the toolbar
    themed.processEvents()
    for action in bar.actions():
        if action.icon().isNull():
            continue  # the spacer and the presenter badge
        assert _inks(action.icon(), QIcon.State.Off) == {QColor(colours().text).name()}
    window.close()
