"""The read-only results table the panes share: whole rows selected one at a time, sortable,
no editing, no row numbers, and rows as tall as the text needs."""

from __future__ import annotations

from PySide6.QtCore import QAbstractItemModel, QModelIndex, QPersistentModelIndex
from PySide6.QtGui import QPainter
from PySide6.QtWidgets import (
    QAbstractItemView,
    QStyle,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QTableView,
    QWidget,
)


def read_only_table(object_name: str, model: QAbstractItemModel) -> QTableView:
    """A sortable, single-row-selection table over ``model`` that cannot be edited."""
    table = QTableView()
    table.setObjectName(object_name)
    table.setModel(model)
    table.setSortingEnabled(True)
    table.setAlternatingRowColors(True)
    table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
    table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    table.setWordWrap(False)
    table.verticalHeader().setVisible(False)
    table.horizontalHeader().setHighlightSections(False)
    return table


def fit_rows(table: QTableView, font_of: QWidget) -> None:
    """Rows as tall as the text needs (the style's default leaves a lot of air); the table
    inherits ``font_of``'s font."""
    table.verticalHeader().setDefaultSectionSize(font_of.fontMetrics().height() + 8)


def draw_cell_without_text(
    delegate: QStyledItemDelegate,
    painter: QPainter,
    option: QStyleOptionViewItem,
    index: QModelIndex | QPersistentModelIndex,
) -> None:
    """A cell's background and selection as the style draws them, but not its text: for a
    delegate that draws its own status (a pill, a row of dots) over it."""
    opt = QStyleOptionViewItem(option)
    delegate.initStyleOption(opt, index)
    opt.text = ""
    style = opt.widget.style() if opt.widget is not None else None
    if style is not None:
        style.drawControl(QStyle.ControlElement.CE_ItemViewItem, opt, painter, opt.widget)
