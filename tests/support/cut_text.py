"""Text a window cuts off: labels and buttons narrower than their text, wrapped labels shorter
than their lines, and scroll areas that scroll sideways. The screenshot tests at 1366 x 768 ask
this of every window they render.

Tables have their own check (``tests/ui/feed/fit_checks.py``): their cells are measured there.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import Qt as GuiQt  # mightBeRichText lives on QtGui's Qt
from PySide6.QtWidgets import (
    QAbstractButton,
    QAbstractScrollArea,
    QComboBox,
    QLabel,
    QLineEdit,
    QStyle,
    QStyleOptionComboBox,
    QTableView,
    QWidget,
)

SLACK = 2  # px: rounding between the style's size hint and the laid-out width


def _name(widget: QWidget) -> str:
    text = widget.text() if isinstance(widget, (QLabel, QAbstractButton)) else ""
    return f"{type(widget).__name__}#{widget.objectName() or '?'} {text[:60]!r}"


def _label_cut(label: QLabel) -> bool:
    if not label.text():
        return False
    if label.wordWrap():  # wrapped text is cut when its lines need more height than it has
        return label.heightForWidth(label.width()) > label.height() + SLACK
    if label.textFormat() == Qt.TextFormat.RichText or GuiQt.mightBeRichText(label.text()):
        return False  # rich text lays itself out; its hint is not its need
    return label.minimumSizeHint().width() > label.width() + SLACK


def _button_cut(button: QAbstractButton) -> bool:
    return bool(button.text()) and button.sizeHint().width() > button.width() + SLACK


def _placeholder_cut(edit: QLineEdit) -> bool:
    """An empty field whose grey hint is wider than the field shows it."""
    hint = edit.placeholderText()
    if edit.text() or not hint:
        return False
    room = edit.contentsRect().width() - 8  # the style's text margins
    return edit.fontMetrics().horizontalAdvance(hint) > room + SLACK


def _combo_cut(combo: QComboBox) -> bool:
    """The chosen item's text wider than the box leaves it (beside the arrow)."""
    if combo.isEditable() or not combo.currentText():
        return False
    option = QStyleOptionComboBox()
    combo.initStyleOption(option)
    room = combo.style().subControlRect(
        QStyle.ComplexControl.CC_ComboBox, option, QStyle.SubControl.SC_ComboBoxEditField, combo
    )
    return combo.fontMetrics().horizontalAdvance(combo.currentText()) > room.width() + SLACK


def _scrolls_sideways(area: QAbstractScrollArea) -> bool:
    if isinstance(area, QTableView):
        return False  # a table's columns are checked cell by cell
    bar = area.horizontalScrollBar()
    return bar.isVisible() and bar.maximum() > 0


def cut_text(window: QWidget) -> list[str]:
    """Every visible widget in ``window`` whose text does not fit, said as text."""
    problems: list[str] = []
    for widget in window.findChildren(QWidget):
        if not widget.isVisibleTo(window) or not widget.isVisible():
            continue
        if isinstance(widget, QLabel) and _label_cut(widget):
            problems.append(f"cut label {_name(widget)}: {widget.width()} px")
        elif isinstance(widget, QAbstractButton) and _button_cut(widget):
            problems.append(f"cut button {_name(widget)}: {widget.width()} px")
        elif isinstance(widget, QLineEdit) and _placeholder_cut(widget):
            problems.append(f"cut hint in {_name(widget)} {widget.placeholderText()[:60]!r}")
        elif isinstance(widget, QComboBox) and _combo_cut(widget):
            problems.append(f"cut choice {_name(widget)} {widget.currentText()[:60]!r}")
        elif isinstance(widget, QAbstractScrollArea) and _scrolls_sideways(widget):
            problems.append(f"sideways scroll in {_name(widget)}")
    return problems
