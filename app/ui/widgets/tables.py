"""The read-only results table the panes share: whole rows selected one at a time, sortable,
no editing, no row numbers, and rows as tall as the text needs."""

from __future__ import annotations

from PySide6.QtCore import QAbstractItemModel
from PySide6.QtWidgets import QAbstractItemView, QTableView, QWidget


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
