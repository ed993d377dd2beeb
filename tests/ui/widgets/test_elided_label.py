"""A heading with a long customer name shortens with "…" instead of widening the window."""

from __future__ import annotations

from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QWidget
from pytestqt.qtbot import QtBot

from app.ui.widgets.elided_label import ElidedLabel

LONG = "Doctor: Harbourside Plumbing & Gas Pty Ltd (Newcastle and Lake Macquarie branches)"


def test_a_long_name_asks_for_little_width_where_a_plain_label_asks_for_all(qtbot: QtBot) -> None:
    plain, elided = QLabel(LONG), ElidedLabel(LONG)
    qtbot.addWidget(plain)
    qtbot.addWidget(elided)
    whole = plain.fontMetrics().horizontalAdvance(LONG)
    assert plain.minimumSizeHint().width() >= whole
    assert elided.minimumSizeHint().width() < whole / 3
    assert elided.sizeHint().width() >= whole  # wide where there is room


def test_squeezed_it_shows_the_start_and_an_ellipsis_and_the_whole_on_hover(
    qtbot: QtBot,
) -> None:
    row = QWidget()
    qtbot.addWidget(row)
    layout = QHBoxLayout(row)
    label = ElidedLabel()
    label.setText(LONG)
    layout.addWidget(label, 1)
    layout.addWidget(QPushButton("Run doctor"))
    row.resize(360, 40)
    row.show()
    qtbot.waitExposed(row)
    shown = label.elided_text()
    assert shown.endswith("…") and LONG.startswith(shown[:-1]) and len(shown) > 10
    assert label.toolTip() == LONG

    row.resize(1400, 40)
    qtbot.waitUntil(lambda: label.width() > label.fontMetrics().horizontalAdvance(LONG))
    assert label.elided_text() == LONG and label.toolTip() == ""

    label.setText("Doctor: Acme")  # short enough: nothing hidden, no tooltip
    assert label.toolTip() == "" and label.text() == "Doctor: Acme"
