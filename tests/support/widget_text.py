"""Everything a person could read in a window: the texts of every visible widget.

Used by the presenter-mode test to prove that no phone number, contact name or secret is on
screen. It reads what is displayed, not what the code meant to display: labels, buttons,
editable fields (except password fields, which show bullets), text views, tab titles, combo
items, tooltips, window titles, and every cell and header of every visible item view.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

from PySide6.QtCore import QAbstractItemModel, QAbstractListModel, QModelIndex, Qt
from PySide6.QtWidgets import (
    QAbstractButton,
    QAbstractItemView,
    QComboBox,
    QGroupBox,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QStatusBar,
    QTabBar,
    QTextEdit,
    QWidget,
)

_ROLES = (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.ToolTipRole)


@dataclass(frozen=True)
class SeenText:
    where: str  # the widget's class and object name
    text: str


def _name(widget: QWidget) -> str:
    return f"{type(widget).__name__}({widget.objectName() or '-'})"


def _columns(model: QAbstractItemModel, parent: QModelIndex) -> int:
    # A list model (QListWidget's) keeps columnCount private: it has one column.
    return 1 if isinstance(model, QAbstractListModel) else model.columnCount(parent)


def _model_texts(model: QAbstractItemModel, parent: QModelIndex, depth: int = 0) -> Iterator[str]:
    for row in range(model.rowCount(parent)):
        for column in range(_columns(model, parent)):
            index = model.index(row, column, parent)
            for role in _ROLES:
                value = model.data(index, role)
                if value not in (None, ""):
                    yield str(value)
            if depth < 3 and model.rowCount(index) > 0:
                yield from _model_texts(model, index, depth + 1)
    for column in range(_columns(model, parent)):
        for role in _ROLES:
            value = model.headerData(column, Qt.Orientation.Horizontal, role)
            if value not in (None, ""):
                yield str(value)


def _own_texts(widget: QWidget) -> Iterator[str]:
    yield widget.toolTip()
    yield widget.windowTitle()
    yield widget.accessibleName()
    if isinstance(widget, QLabel | QAbstractButton):
        yield widget.text()
    elif isinstance(widget, QLineEdit):
        if widget.echoMode() == QLineEdit.EchoMode.Normal:
            yield widget.text()
        yield widget.placeholderText()
    elif isinstance(widget, QPlainTextEdit | QTextEdit):
        yield widget.toPlainText()
    elif isinstance(widget, QTabBar):
        for i in range(widget.count()):
            yield widget.tabText(i)
            yield widget.tabToolTip(i)
    elif isinstance(widget, QComboBox):
        for i in range(widget.count()):
            yield widget.itemText(i)
    elif isinstance(widget, QGroupBox):
        yield widget.title()
    elif isinstance(widget, QStatusBar):
        yield widget.currentMessage()
    elif isinstance(widget, QAbstractItemView) and widget.model() is not None:
        yield from _model_texts(widget.model(), QModelIndex())


def visible_texts(root: QWidget) -> list[SeenText]:
    """Texts of ``root`` and every descendant that is visible on screen."""
    seen: list[SeenText] = []
    for widget in [root, *root.findChildren(QWidget)]:
        if not widget.isVisible():
            continue
        for text in _own_texts(widget):
            if text:
                seen.append(SeenText(_name(widget), text))
    return seen


_DIGIT_RUN = re.compile(r"\d[\d ().-]*\d")


def digit_runs(text: str) -> list[str]:
    """The digits of each number-like run, separators removed ("0412 345 678" -> "0412345678")."""
    return [re.sub(r"\D", "", run) for run in _DIGIT_RUN.findall(text)]
